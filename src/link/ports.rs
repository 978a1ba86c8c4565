//! Lists the serial ports a device could be on, with USB descriptions,
//! after the simulated drive and the firmware emulators. On macOS each
//! device appears twice, as `/dev/cu.*` (call-up: opens at once) and
//! `/dev/tty.*` (dial-in: waits for carrier detect); only `cu.*` is
//! listed, as other tools do.

use super::transport::{SIM_PORT, emulator_port};
use crate::protocol::adapter::Protocol;

/// A port the user can pick.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortEntry {
    /// What to pass as `--port` (`sim` for the simulated drive).
    pub name: String,
    /// A human description: USB product, vendor and VID:PID where known.
    pub description: String,
}

/// The simulated drive and the emulators first, then every serial port the
/// system reports. A failure to enumerate is returned as text for the
/// status line.
pub fn list_ports() -> (Vec<PortEntry>, Option<String>) {
    let mut entries = vec![PortEntry {
        name: SIM_PORT.into(),
        description: "Simulated drive (built in)".into(),
    }];
    entries.extend(Protocol::ALL.into_iter().map(|firmware| PortEntry {
        name: emulator_port(firmware).into(),
        description: format!("{} (in process)", emulator_description(firmware)),
    }));
    let error = match serialport::available_ports() {
        Ok(ports) => {
            entries.extend(
                without_dial_in_twins(ports)
                    .into_iter()
                    .map(|port| PortEntry {
                        description: describe(&port.port_type),
                        name: port.port_name,
                    }),
            );
            None
        }
        Err(e) => Some(format!("could not list serial ports: {e}")),
    };
    (entries, error)
}

/// What an emulator is, for the port picker.
fn emulator_description(firmware: Protocol) -> &'static str {
    match firmware {
        Protocol::Native => "Simulated drive as a port, any protocol setting",
        Protocol::Lines => "Emulated serial-plotter sketch",
        Protocol::SimpleFoc => "Emulated SimpleFOC sketch",
        Protocol::Odrive => "Emulated ODrive 0.5.6",
    }
}

/// Drops each macOS `/dev/tty.X` whose `/dev/cu.X` is listed too.
fn without_dial_in_twins(
    ports: Vec<serialport::SerialPortInfo>,
) -> Vec<serialport::SerialPortInfo> {
    let names: Vec<String> = ports.iter().map(|p| p.port_name.clone()).collect();
    ports
        .into_iter()
        .filter(|port| {
            port.port_name.strip_prefix("/dev/tty.").is_none_or(|rest| {
                !names
                    .iter()
                    .any(|n| n.strip_prefix("/dev/cu.") == Some(rest))
            })
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use serialport::{SerialPortInfo, SerialPortType, UsbPortInfo};

    fn port(name: &str, kind: SerialPortType) -> SerialPortInfo {
        SerialPortInfo {
            port_name: name.into(),
            port_type: kind,
        }
    }

    #[test]
    fn macos_lists_each_device_once_as_its_call_up_port() {
        let usb = SerialPortType::UsbPort(UsbPortInfo {
            vid: 0x2341,
            pid: 0x8036,
            serial_number: None,
            manufacturer: Some("Arduino LLC".into()),
            product: Some("Arduino Leonardo".into()),
        });
        // As serialport enumerates macOS: both callouts and dial-ins.
        let listed = vec![
            port("/dev/cu.usbmodem14101", usb.clone()),
            port("/dev/tty.usbmodem14101", usb),
            port(
                "/dev/cu.Bluetooth-Incoming-Port",
                SerialPortType::BluetoothPort,
            ),
            port(
                "/dev/tty.Bluetooth-Incoming-Port",
                SerialPortType::BluetoothPort,
            ),
            // A dial-in with no call-up twin stays.
            port("/dev/tty.lonely", SerialPortType::Unknown),
        ];
        let kept: Vec<String> = without_dial_in_twins(listed)
            .into_iter()
            .map(|p| p.port_name)
            .collect();
        assert_eq!(
            kept,
            [
                "/dev/cu.usbmodem14101",
                "/dev/cu.Bluetooth-Incoming-Port",
                "/dev/tty.lonely"
            ]
        );
    }

    #[test]
    fn linux_and_windows_names_are_all_kept() {
        let names = ["/dev/ttyACM0", "/dev/ttyUSB0", "COM3", "COM10"];
        let listed = names
            .iter()
            .map(|n| port(n, SerialPortType::Unknown))
            .collect();
        let kept: Vec<String> = without_dial_in_twins(listed)
            .into_iter()
            .map(|p| p.port_name)
            .collect();
        assert_eq!(kept, names);
    }

    #[test]
    fn the_emulators_follow_the_simulated_drive_in_the_list() {
        let (ports, _) = list_ports();
        let names: Vec<&str> = ports.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names[..5],
            [
                "sim",
                "sim:native",
                "sim:lines",
                "sim:simplefoc",
                "sim:odrive"
            ]
        );
    }
}
