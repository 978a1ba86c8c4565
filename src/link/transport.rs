//! Byte transports a link can own: a serial port (USB CDC, UART bridge,
//! pseudo-terminal), the in-process simulated drive (`sim`), or any
//! firmware emulator in process (`sim:native`, `sim:lines`,
//! `sim:simplefoc`, `sim:odrive`), which the link speaks to through the
//! same adapters as a real port: no pseudo-terminal needed, so they run on
//! Windows too.

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use super::LinkError;
use super::shared_port::{NativeAxes, OdriveAxes, Router, SimpleFocMotors, open_axis};
use crate::protocol::adapter::{AdapterSettings, Protocol, ProtocolChoice};
use crate::sim::SimDevice;
use crate::sim::device::DeviceSettings;
use crate::sim::drive::DriveConfig;
use crate::sim::emulated::EmulatedDevice;
use crate::sim::firmware::emulator;
use crate::sim::realtime::RealtimeSim;

/// The port name that means the in-process simulated drive.
pub const SIM_PORT: &str = "sim";
/// What starts the port name of an in-process emulator: `sim:odrive`.
const SIM_PREFIX: &str = "sim:";
/// `replay:FILE` plays a recording as a device.
pub const REPLAY_PREFIX: &str = "replay:";

/// How long one read waits for data before the link loop goes round again.
const READ_WAIT: Duration = Duration::from_millis(5);

/// What to connect to, and how to speak to it.
#[derive(Clone, Debug, PartialEq)]
pub enum PortTarget {
    /// The built-in simulated drive, spoken to in the native protocol
    /// without probing.
    Sim,
    /// A firmware emulator running in this process (`sim:NAME`), spoken
    /// to as a serial port would be: `protocol` may be auto.
    Emulated {
        /// The firmware emulated.
        firmware: Protocol,
        /// The protocol to speak to it: named, or found by probing.
        protocol: ProtocolChoice,
        /// The adapters' settings.
        settings: AdapterSettings,
    },
    /// A recording played back as a device (`replay:FILE`), at `speed`
    /// times its pace; it refuses every write.
    Replay {
        /// The recording's path.
        path: String,
        /// Times the recorded pace, above 0.
        speed: f64,
    },
    /// A serial port path (`/dev/ttyACM0`, `COM3`, a pty).
    Serial {
        /// The port's path.
        path: String,
        /// Baud rate (ignored by USB CDC devices).
        baud: u32,
        /// The protocol to speak: named, or found by probing.
        protocol: ProtocolChoice,
        /// The adapters' settings.
        settings: AdapterSettings,
        /// DTR and RTS on opening.
        control: ControlLines,
    },
}

impl PortTarget {
    /// `sim` names the simulated drive, `sim:NAME` an emulator (see
    /// [`PortTarget::check`]); anything else is a serial path.
    pub fn parse(port: &str, baud: u32) -> Self {
        if port == SIM_PORT {
            return Self::Sim;
        }
        if let Some(path) = port.strip_prefix(REPLAY_PREFIX) {
            return Self::Replay {
                path: path.to_owned(),
                speed: 1.0,
            };
        }
        if let Some(Ok(firmware)) = port.strip_prefix(SIM_PREFIX).map(str::parse) {
            return Self::Emulated {
                firmware,
                protocol: ProtocolChoice::Auto,
                settings: AdapterSettings::default(),
            };
        }
        Self::Serial {
            path: port.to_owned(),
            baud,
            protocol: ProtocolChoice::Auto,
            settings: AdapterSettings::default(),
            control: ControlLines::default(),
        }
    }

    /// A replay played at `speed` times its pace; any other port as it is.
    pub fn with_replay_speed(mut self, speed: f64) -> Self {
        if let Self::Replay { speed: pace, .. } = &mut self {
            *pace = speed;
        }
        self
    }

    /// Refuses a `sim:NAME` that names no emulator, saying which do, and
    /// a `replay:` without a file.
    pub fn check(port: &str) -> Result<(), String> {
        if port.strip_prefix(REPLAY_PREFIX) == Some("") {
            return Err(
                "'replay:' needs a recording: replay:FILE.csv or replay:FILE.parquet".into(),
            );
        }
        match port.strip_prefix(SIM_PREFIX) {
            Some(name) if name.parse::<Protocol>().is_err() => Err(format!(
                "'{port}' is no emulator: use {}",
                emulator_ports().collect::<Vec<_>>().join(", ")
            )),
            _ => Ok(()),
        }
    }

    /// The same port spoken to in `protocol`; the simulated drive speaks
    /// only the native protocol, so it stays as it is.
    pub fn speaking(self, protocol: ProtocolChoice, settings: AdapterSettings) -> Self {
        match self {
            Self::Sim => Self::Sim,
            Self::Replay { .. } => self,
            Self::Emulated { firmware, .. } => Self::Emulated {
                firmware,
                protocol,
                settings,
            },
            Self::Serial {
                path,
                baud,
                control,
                ..
            } => Self::Serial {
                path,
                baud,
                protocol,
                settings,
                control,
            },
        }
    }

    /// The same port opened with DTR and RTS as `lines` says; only a
    /// serial port has them.
    pub fn with_control_lines(mut self, lines: ControlLines) -> Self {
        if let Self::Serial { control, .. } = &mut self {
            *control = lines;
        }
        self
    }

    /// The wire format to speak, and what the user set about it.
    pub fn protocol(&self) -> (ProtocolChoice, AdapterSettings) {
        match self {
            Self::Sim | Self::Replay { .. } => (
                ProtocolChoice::Only(Protocol::Native),
                AdapterSettings::default(),
            ),
            Self::Emulated {
                protocol, settings, ..
            } => (*protocol, settings.clone()),
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
            Self::Emulated { firmware, .. } => emulator_port(*firmware),
            Self::Replay { path, .. } | Self::Serial { path, .. } => path,
        }
    }

    /// Opens the transport. Fails with a message fit for the user. A
    /// serial port spoken to as an ODrive, as a SimpleFOC sketch, or as
    /// one axis of a native device, is shared by the links to its axes
    /// ([`super::shared_port`]): one per axis (a SimpleFOC motor's is its
    /// Commander letter), each its own device.
    pub fn open(&self) -> Result<Box<dyn Transport>, LinkError> {
        match self {
            Self::Sim => Ok(Box::new(SimTransport::new(SimDevice::new(
                DriveConfig::default(),
                DeviceSettings::default(),
            )))),
            Self::Emulated { firmware, .. } => Ok(Box::new(SimTransport::new(emulator(*firmware)))),
            Self::Replay { path, speed } => open_replay(path, *speed),
            Self::Serial {
                path,
                baud,
                control,
                protocol,
                settings,
            } => {
                let open = || {
                    SerialTransport::open(path, *baud, *control)
                        .map(|t| Box::new(t) as Box<dyn Transport>)
                };
                // Each axis of the board is a link of its own.
                match (protocol, &settings.native_axis) {
                    (ProtocolChoice::Only(Protocol::Odrive), _) => {
                        let axis = settings.odrive.axis.to_string();
                        let router = || Box::new(OdriveAxes::new()) as Box<dyn Router>;
                        open_axis(path, &axis, router, open)
                    }
                    (ProtocolChoice::Only(Protocol::SimpleFoc), _) => {
                        let letter = settings.simplefoc.sanitized().letter.to_string();
                        let router = || Box::new(SimpleFocMotors::new()) as Box<dyn Router>;
                        open_axis(path, &letter, router, open)
                    }
                    (ProtocolChoice::Only(Protocol::Native), Some(axis)) => {
                        let router = || Box::new(NativeAxes::new()) as Box<dyn Router>;
                        open_axis(path, axis, router, open)
                    }
                    _ => open(),
                }
            }
        }
    }
}

/// A recording read whole and played as a device; fails in one line when
/// it cannot be read or played.
fn open_replay(path: &str, speed: f64) -> Result<Box<dyn Transport>, LinkError> {
    let refused = |reason: String| LinkError::Open {
        port: path.to_owned(),
        reason,
    };
    let file = crate::record::read::open(
        std::path::Path::new(path),
        &crate::record::read::ReadOptions::default(),
    )
    .map_err(|error| refused(error.to_string()))?;
    let name = std::path::Path::new(path)
        .file_name()
        .map_or_else(|| path.to_owned(), |n| n.to_string_lossy().into_owned());
    let device = super::replay::ReplayDevice::new(&file, &format!("replay of {name}"), speed)
        .map_err(|error| refused(error.to_string()))?;
    Ok(Box::new(SimTransport::new(device)))
}

/// The port name of `firmware`'s in-process emulator.
pub fn emulator_port(firmware: Protocol) -> &'static str {
    match firmware {
        Protocol::Native => "sim:native",
        Protocol::Lines => "sim:lines",
        Protocol::SimpleFoc => "sim:simplefoc",
        Protocol::Odrive => "sim:odrive",
    }
}

/// Every in-process emulator's port name.
pub fn emulator_ports() -> impl Iterator<Item = &'static str> {
    Protocol::ALL.into_iter().map(emulator_port)
}

/// A byte pipe to a device.
pub trait Transport: Send {
    /// Reads what has arrived, waiting a few milliseconds at most;
    /// `Ok(0)` means nothing arrived.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize>;
    /// Writes all of `bytes`.
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// How many links speak over this port, this one included: more than
    /// one only on a port shared by a board's axes ([`super::shared_port`]).
    fn links_sharing(&self) -> usize {
        1
    }
}

/// The modem control lines a serial port is opened with. Both are
/// asserted by default: native-USB boards (Leonardo, Zero, RP2040,
/// ESP32-S3, any sketch waiting in `while (!Serial)`) send nothing until
/// DTR is up, and Linux and macOS raise both on open anyway while Windows
/// leaves them down unless told. Off is for boards that reset or stop
/// while a line is up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ControlLines {
    /// Data Terminal Ready.
    pub dtr: bool,
    /// Request To Send.
    pub rts: bool,
}

impl Default for ControlLines {
    fn default() -> Self {
        Self {
            dtr: true,
            rts: true,
        }
    }
}

/// A serial port opened through `serialport`.
pub struct SerialTransport {
    port: Box<dyn serialport::SerialPort>,
    _held: super::open_here::HeldHere,
}

impl SerialTransport {
    pub fn open(path: &str, baud: u32, lines: ControlLines) -> Result<Self, LinkError> {
        let mut port = open_non_blocking(port_settings(path, baud, lines)).map_err(|e| {
            super::open_here::told_here(path, super::open_error::classify_here(path, &e))
        })?;
        // DTR is set by `dtr_on_open`, then RTS, in that order: an ESP32
        // board's auto-reset circuit resets the chip when RTS is up alone.
        // Best effort, as `serialport` does for DTR: a pseudo-terminal has
        // no control lines.
        let _ = port.write_request_to_send(lines.rts);
        // Bytes queued before we opened belong to an earlier conversation.
        let _ = port.clear(serialport::ClearBuffer::All);
        Ok(Self {
            port,
            _held: super::open_here::HeldHere::new(path),
        })
    }
}

/// How a serial port is opened: reads wait [`READ_WAIT`] at most, and
/// DTR is set as asked (`serialport` otherwise leaves it as the OS does,
/// which on Windows is off).
fn port_settings(path: &str, baud: u32, lines: ControlLines) -> serialport::SerialPortBuilder {
    serialport::new(path, baud)
        .timeout(READ_WAIT)
        .dtr_on_open(lines.dtr)
}

/// Opens the port so that no write can block past the port's time-out.
/// On Unix `serialport` leaves the descriptor blocking, and a blocking
/// `write` larger than the room left in the driver's buffer waits until
/// the device has taken all of it, however long that is: a device that
/// stops reading would hold it for ever. Non-blocking, `serialport`'s
/// `write` waits for room up to the time-out and then takes what fits
/// (`WouldBlock` when nothing does); its `read` waits for data the same
/// way. On Windows the port's write time-out already bounds `WriteFile`.
#[cfg(unix)]
fn open_non_blocking(
    settings: serialport::SerialPortBuilder,
) -> serialport::Result<Box<dyn serialport::SerialPort>> {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    use std::os::fd::AsRawFd;
    let port = settings.open_native()?;
    let fd = port.as_raw_fd();
    fcntl(fd, FcntlArg::F_GETFL)
        .and_then(|flags| {
            let flags = OFlag::from_bits_truncate(flags);
            fcntl(fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))
        })
        .map_err(|errno| serialport::Error::from(io::Error::from(errno)))?;
    Ok(Box::new(port))
}

/// Opens the port; its write time-out bounds every `WriteFile`.
#[cfg(not(unix))]
fn open_non_blocking(
    settings: serialport::SerialPortBuilder,
) -> serialport::Result<Box<dyn serialport::SerialPort>> {
    settings.open()
}

/// Longest a write waits with no byte taken. A device that stops reading
/// (its buffer full, its firmware hung) would otherwise hold the link
/// thread, and the app waiting for it to close, for ever: `flush` has no
/// time-out on Windows (`FlushFileBuffers`) nor on Unix (`tcdrain`), so it
/// is not used; each `write` waits [`READ_WAIT`] at most (the port's
/// time-out) and returns what the driver took. A slow device that keeps
/// taking bytes (a UART bridge at 9600 baud) is waited for.
pub const WRITE_BOUND: Duration = Duration::from_millis(500);

/// Writes all of `bytes` to `port` unless it stops taking them: after
/// `bound` with no byte taken the write gives up with `TimedOut`.
fn write_within(port: &mut dyn Write, mut bytes: &[u8], bound: Duration) -> io::Result<()> {
    let mut deadline = Instant::now() + bound;
    while !bytes.is_empty() {
        match port.write(bytes) {
            // Windows: the write's time-out passed with nothing taken.
            Ok(0) => {}
            Ok(n) => {
                bytes = &bytes[n..];
                deadline = Instant::now() + bound;
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                        | io::ErrorKind::WouldBlock
                ) => {}
            Err(e) => return Err(e),
        }
        if !bytes.is_empty() && Instant::now() >= deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "the device stopped taking data ({} bytes not written, none taken for {} ms)",
                    bytes.len(),
                    bound.as_millis()
                ),
            ));
        }
    }
    Ok(())
}

impl Transport for SerialTransport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.port.read(buf) {
            Ok(n) => Ok(n),
            Err(e) if e.kind() == io::ErrorKind::TimedOut => Ok(0),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock
                ) =>
            {
                Ok(0)
            }
            Err(e) => Err(e),
        }
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        write_within(&mut self.port, bytes, WRITE_BOUND)
    }
}

/// A simulated device running inside the link thread: reads advance its
/// clock and collect what it sent; writes are what it receives.
struct SimTransport<D: EmulatedDevice> {
    sim: RealtimeSim<D>,
    pending: Vec<u8>,
}

impl<D: EmulatedDevice> SimTransport<D> {
    fn new(device: D) -> Self {
        Self {
            sim: RealtimeSim::new(device),
            pending: Vec::new(),
        }
    }
}

impl<D: EmulatedDevice> Transport for SimTransport<D> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_open_with_dtr_as_asked() {
        for dtr in [true, false] {
            let lines = ControlLines { dtr, rts: !dtr };
            assert_eq!(
                port_settings("COM3", 115_200, lines),
                serialport::new("COM3", 115_200)
                    .timeout(READ_WAIT)
                    .dtr_on_open(dtr),
            );
        }
        assert_ne!(
            port_settings("COM3", 115_200, ControlLines::default()),
            serialport::new("COM3", 115_200).timeout(READ_WAIT),
            "DTR is never left to the OS (Windows would leave it off)"
        );
    }

    #[test]
    fn control_lines_reach_only_serial_targets() {
        let off = ControlLines {
            dtr: false,
            rts: false,
        };
        match PortTarget::parse("/dev/ttyACM0", 9600).with_control_lines(off) {
            PortTarget::Serial { control, .. } => assert_eq!(control, off),
            other => panic!("{other:?}"),
        }
        match PortTarget::parse("COM3", 9600) {
            PortTarget::Serial { control, .. } => assert_eq!(control, ControlLines::default()),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            PortTarget::parse("sim", 9600).with_control_lines(off),
            PortTarget::Sim
        );
    }

    #[test]
    fn sim_names_an_emulator_and_anything_else_is_refused() {
        for firmware in Protocol::ALL {
            let name = emulator_port(firmware);
            assert_eq!(
                PortTarget::parse(name, 115_200),
                PortTarget::Emulated {
                    firmware,
                    protocol: ProtocolChoice::Auto,
                    settings: AdapterSettings::default(),
                }
            );
            assert_eq!(PortTarget::parse(name, 115_200).name(), name);
            assert_eq!(PortTarget::check(name), Ok(()));
        }
        let refused = PortTarget::check("sim:vesc").expect_err("no such emulator");
        assert!(refused.contains("sim:odrive"), "{refused}");
        assert_eq!(PortTarget::check("COM3"), Ok(()));
        assert_eq!(PortTarget::check("sim"), Ok(()));
    }

    #[test]
    fn every_emulator_talks_through_its_transport() {
        for firmware in Protocol::ALL {
            let target = PortTarget::parse(emulator_port(firmware), 115_200);
            let mut transport = target.open().expect("in process");
            // Each answers a request its firmware knows; the sketch and the
            // native drive's stream need none.
            let request: &[u8] = match firmware {
                Protocol::SimpleFoc => b"MVP\n",
                Protocol::Odrive => b"r vbus_voltage\n",
                _ => b"",
            };
            let mut heard = Vec::new();
            if firmware == Protocol::Native {
                let mut hello = Vec::new();
                crate::protocol::native::encode_frame(
                    &crate::protocol::native::encode_command(&crate::protocol::Command::Hello),
                    &mut hello,
                );
                transport.write_all(&hello).expect("write");
            } else {
                transport.write_all(request).expect("write");
            }
            let mut buf = [0u8; 4096];
            for _ in 0..2000 {
                let n = transport.read(&mut buf).expect("read");
                heard.extend_from_slice(&buf[..n]);
                if !heard.is_empty() {
                    break;
                }
            }
            assert!(!heard.is_empty(), "{firmware:?} said nothing");
        }
    }

    /// A writer that takes bytes as a slow driver does: nothing at first
    /// (a time-out), then a few at a time.
    struct Slow {
        taken: Vec<u8>,
        calls: u32,
    }

    impl Write for Slow {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.calls += 1;
            match self.calls {
                1 => Ok(0),
                2 => Err(io::ErrorKind::TimedOut.into()),
                _ => {
                    let n = bytes.len().min(3);
                    self.taken.extend_from_slice(&bytes[..n]);
                    Ok(n)
                }
            }
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_write_goes_on_while_the_device_takes_bytes() {
        let mut slow = Slow {
            taken: Vec::new(),
            calls: 0,
        };
        write_within(&mut slow, b"kp 1.5\n", Duration::from_secs(60)).expect("written");
        assert_eq!(slow.taken, b"kp 1.5\n");
    }

    #[test]
    fn a_slow_device_that_keeps_taking_bytes_is_waited_for() {
        /// Takes one byte every 100 ms: 1.5 s for the line, longer than
        /// the bound, which counts from the last byte taken.
        struct Trickle(Vec<u8>);
        impl Write for Trickle {
            fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
                std::thread::sleep(Duration::from_millis(100));
                self.0.push(bytes[0]);
                Ok(1)
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut slow = Trickle(Vec::new());
        write_within(&mut slow, b"r vbus_voltage\n", Duration::from_secs(1)).expect("written");
        assert_eq!(slow.0, b"r vbus_voltage\n");
    }

    #[test]
    fn a_write_to_a_device_that_stops_reading_gives_up() {
        /// A device that never takes a byte.
        struct Stalled;
        impl Write for Stalled {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::TimedOut.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let error =
            write_within(&mut Stalled, b"x", Duration::from_millis(20)).expect_err("gives up");
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert!(error.to_string().contains("stopped taking data"), "{error}");
    }

    /// A real port (a pseudo-terminal) whose other end never reads: the
    /// kernel's buffer fills, then each write times out, and the write
    /// gives up instead of waiting for ever. Opened blocking, as
    /// `serialport` leaves it, the first write larger than the room left
    /// never returned.
    #[cfg(unix)]
    #[test]
    fn a_write_to_a_pty_nobody_reads_gives_up() {
        use serialport::SerialPort;
        let (master, slave) = serialport::TTYPort::pair().expect("pty pair");
        let path = slave.name().expect("named");
        drop(slave);
        let (done, outcome) = crossbeam_channel::bounded(1);
        std::thread::spawn(move || {
            let mut transport =
                SerialTransport::open(&path, 115_200, ControlLines::default()).expect("opens");
            let chunk = vec![0x55u8; 64 * 1024];
            let error = (0..64).find_map(|_| transport.write_all(&chunk).err());
            let _ = done.send(error);
        });
        // A guard against the hang this test is about, not a measure of
        // time: the writes give up in about WRITE_BOUND once the buffer
        // is full.
        let error = outcome
            .recv_timeout(Duration::from_secs(120))
            .expect("the write returned")
            .expect("a write gives up once the pty's buffer is full");
        assert_eq!(error.kind(), io::ErrorKind::TimedOut, "{error}");
        drop(master);
    }
}
