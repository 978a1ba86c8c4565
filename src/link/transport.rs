//! Byte transports a link can own: a serial port (USB CDC, UART bridge,
//! pseudo-terminal) or the in-process simulated drive.

use std::io::{self, Read, Write};
use std::time::Duration;

use super::LinkError;
use crate::protocol::adapter::{AdapterSettings, Protocol, ProtocolChoice};
use crate::sim::SimDevice;
use crate::sim::device::DeviceSettings;
use crate::sim::drive::DriveConfig;
use crate::sim::realtime::RealtimeSim;

/// The port name that means the in-process simulated drive.
pub const SIM_PORT: &str = "sim";

/// How long one read waits for data before the link loop goes round again.
const READ_WAIT: Duration = Duration::from_millis(5);

/// What to connect to, and how to speak to it.
#[derive(Clone, Debug, PartialEq)]
pub enum PortTarget {
    /// The built-in simulated drive (native protocol).
    Sim,
    /// A serial port path (`/dev/ttyACM0`, `COM3`, a pty).
    Serial {
        path: String,
        baud: u32,
        protocol: ProtocolChoice,
        settings: AdapterSettings,
    },
}

impl PortTarget {
    /// `sim` names the simulated drive; anything else is a serial path.
    pub fn parse(port: &str, baud: u32) -> Self {
        if port == SIM_PORT {
            Self::Sim
        } else {
            Self::Serial {
                path: port.to_owned(),
                baud,
                protocol: ProtocolChoice::Auto,
                settings: AdapterSettings::default(),
            }
        }
    }

    /// The same port spoken to in `protocol`; the simulated drive speaks
    /// only the native protocol, so it stays as it is.
    pub fn speaking(self, protocol: ProtocolChoice, settings: AdapterSettings) -> Self {
        match self {
            Self::Sim => Self::Sim,
            Self::Serial { path, baud, .. } => Self::Serial {
                path,
                baud,
                protocol,
                settings,
            },
        }
    }

    /// The wire format to speak, and what the user set about it.
    pub fn protocol(&self) -> (ProtocolChoice, AdapterSettings) {
        match self {
            Self::Sim => (
                ProtocolChoice::Only(Protocol::Native),
                AdapterSettings::default(),
            ),
            Self::Serial {
                protocol,
                settings,
                baud,
                ..
            } => {
                let mut settings = settings.clone();
                // What the port carries bounds SimpleFOC's monitoring.
                settings.simplefoc.baud = *baud;
                (*protocol, settings)
            }
        }
    }

    /// The name shown to the user.
    pub fn name(&self) -> &str {
        match self {
            Self::Sim => "simulated drive",
            Self::Serial { path, .. } => path,
        }
    }

    /// Opens the transport. Fails with a message fit for the user.
    pub fn open(&self) -> Result<Box<dyn Transport>, LinkError> {
        match self {
            Self::Sim => Ok(Box::new(SimTransport::new())),
            Self::Serial { path, baud, .. } => {
                SerialTransport::open(path, *baud).map(|t| Box::new(t) as Box<dyn Transport>)
            }
        }
    }
}

/// A byte pipe to a device.
pub trait Transport: Send {
    /// Reads what has arrived, waiting a few milliseconds at most;
    /// `Ok(0)` means nothing arrived.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize>;
    /// Writes all of `bytes`.
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()>;
}

/// A serial port opened through `serialport`.
pub struct SerialTransport {
    port: Box<dyn serialport::SerialPort>,
}

impl SerialTransport {
    pub fn open(path: &str, baud: u32) -> Result<Self, LinkError> {
        let port = serialport::new(path, baud)
            .timeout(READ_WAIT)
            .open()
            .map_err(|e| classify_open_error(path, &e))?;
        // Bytes queued before we opened belong to an earlier conversation.
        let _ = port.clear(serialport::ClearBuffer::All);
        Ok(Self { port })
    }
}

fn classify_open_error(path: &str, error: &serialport::Error) -> LinkError {
    use serialport::ErrorKind;
    let text = error.to_string();
    // A lock held by another opener surfaces with several kinds across
    // platforms; its text is the reliable sign.
    let lowered = text.to_lowercase();
    if lowered.contains("exclusive lock")
        || lowered.contains("busy")
        || lowered.contains("access is denied")
    {
        return LinkError::PortBusy(path.to_owned());
    }
    match error.kind() {
        ErrorKind::NoDevice | ErrorKind::Io(io::ErrorKind::NotFound) => {
            LinkError::NoSuchPort(path.to_owned())
        }
        _ if cfg!(unix) && !std::path::Path::new(path).exists() => {
            LinkError::NoSuchPort(path.to_owned())
        }
        _ => LinkError::Open {
            port: path.to_owned(),
            reason: text,
        },
    }
}

impl Transport for SerialTransport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.port.read(buf) {
            Ok(n) => Ok(n),
            Err(e) if e.kind() == io::ErrorKind::TimedOut => Ok(0),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(0),
            Err(e) => Err(e),
        }
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.port.write_all(bytes)?;
        self.port.flush()
    }
}

/// The simulated drive running inside the link thread: reads advance its
/// clock and collect what it sent; writes are what it receives.
pub struct SimTransport {
    sim: RealtimeSim,
    pending: Vec<u8>,
}

impl SimTransport {
    pub fn new() -> Self {
        Self {
            sim: RealtimeSim::new(SimDevice::new(
                DriveConfig::default(),
                DeviceSettings::default(),
            )),
            pending: Vec::new(),
        }
    }
}

impl Default for SimTransport {
    fn default() -> Self {
        Self::new()
    }
}

impl Transport for SimTransport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pending.is_empty() {
            self.sim.catch_up();
            self.pending = self.sim.device.take_output();
            if self.pending.is_empty() {
                // Behave like a serial read: wait a little for data.
                std::thread::sleep(Duration::from_millis(1));
                self.sim.catch_up();
                self.pending = self.sim.device.take_output();
            }
        }
        let n = self.pending.len().min(buf.len());
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        Ok(n)
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.sim.device.receive(bytes);
        Ok(())
    }
}
