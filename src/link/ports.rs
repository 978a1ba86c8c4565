//! Lists the serial ports a device could be on, with USB descriptions.

use super::transport::SIM_PORT;

/// A port the user can pick.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortEntry {
    /// What to pass as `--port` (`sim` for the simulated drive).
    pub name: String,
    /// A human description: USB product, vendor and VID:PID where known.
    pub description: String,
}

/// The simulated drive first, then every serial port the system reports.
/// A failure to enumerate is returned as text for the status line.
pub fn list_ports() -> (Vec<PortEntry>, Option<String>) {
    let mut entries = vec![PortEntry {
        name: SIM_PORT.into(),
        description: "Simulated drive (built in)".into(),
    }];
    let error = match serialport::available_ports() {
        Ok(ports) => {
            entries.extend(ports.into_iter().map(|port| PortEntry {
                description: describe(&port.port_type),
                name: port.port_name,
            }));
            None
        }
        Err(e) => Some(format!("could not list serial ports: {e}")),
    };
    (entries, error)
}

fn describe(kind: &serialport::SerialPortType) -> String {
    match kind {
        serialport::SerialPortType::UsbPort(usb) => {
            let mut text = String::new();
            if let Some(product) = &usb.product {
                text.push_str(product);
            }
            if let Some(maker) = &usb.manufacturer {
                if !text.is_empty() {
                    text.push_str(" — ");
                }
                text.push_str(maker);
            }
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(&format!("(USB {:04x}:{:04x})", usb.vid, usb.pid));
            text
        }
        serialport::SerialPortType::BluetoothPort => "Bluetooth serial".into(),
        serialport::SerialPortType::PciPort => "PCI serial".into(),
        serialport::SerialPortType::Unknown => "serial port".into(),
    }
}
