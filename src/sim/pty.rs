//! Serves the simulated drive on a pseudo-terminal, so the app (or any other
//! program) talks to it through a real serial-port path.

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use serialport::{SerialPort, TTYPort};

use super::device::SimDevice;
use super::emulated::EmulatedDevice;
use super::realtime::RealtimeSim;

/// A running pty server; dropping it stops the server and closes the pty.
pub struct PtyServer<D: EmulatedDevice = SimDevice> {
    path: String,
    device: Arc<Mutex<RealtimeSim<D>>>,
    stop: Arc<AtomicBool>,
    output_dropped: Arc<AtomicU64>,
    /// Bytes the device has taken from the host so far.
    received: Arc<AtomicU64>,
    thread: Option<thread::JoinHandle<io::Result<()>>>,
}

/// How far the served device fell behind, on its side of the cable: what
/// it lost is not the host's fault, and a soak tells the two apart.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Overruns {
    /// Bytes of output dropped because the transmit buffer was full (the
    /// host read too slowly for [`TX_BUFFER`]'s worth of time).
    pub output_bytes_dropped: u64,
    /// Ticks of wall-clock time the device never simulated, because the
    /// serving thread itself was not scheduled for a while.
    pub ticks_skipped: u64,
}

impl<D: EmulatedDevice> PtyServer<D> {
    /// Opens a pseudo-terminal pair and serves `device` on it from a
    /// background thread.
    pub fn start(device: D) -> io::Result<Self> {
        let (mut master, slave) = TTYPort::pair().map_err(io::Error::other)?;
        let path = slave
            .name()
            .ok_or_else(|| io::Error::other("pseudo-terminal has no name"))?;
        master
            .set_timeout(Duration::from_millis(1))
            .map_err(io::Error::other)?;
        set_non_blocking(&master)?;
        let device = Arc::new(Mutex::new(RealtimeSim::new(device)));
        let stop = Arc::new(AtomicBool::new(false));
        let output_dropped = Arc::new(AtomicU64::new(0));
        let received = Arc::new(AtomicU64::new(0));
        let thread = {
            let device = Arc::clone(&device);
            let counters = Counters {
                stop: Arc::clone(&stop),
                output_dropped: Arc::clone(&output_dropped),
                received: Arc::clone(&received),
            };
            thread::Builder::new()
                .name("sim-pty".into())
                .spawn(move || serve(master, slave, &device, &counters))?
        };
        Ok(Self {
            path,
            device,
            stop,
            output_dropped,
            received,
            thread: Some(thread),
        })
    }

    /// The slave side's path, to be opened as a serial port.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Runs `f` on the device (for tests and status output).
    pub fn with_device<R>(&self, f: impl FnOnce(&mut D) -> R) -> R {
        let mut sim = self.device.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut sim.device)
    }

    /// What the device lost so far by falling behind (see [`Overruns`]).
    pub fn overruns(&self) -> Overruns {
        let ticks_skipped = self
            .device
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .ticks_skipped();
        Overruns {
            output_bytes_dropped: self.output_dropped.load(Ordering::Relaxed),
            ticks_skipped,
        }
    }

    /// Bytes the device has taken from the host so far: a test waits for
    /// this to settle before it reads what a client left behind.
    pub fn bytes_from_host(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// Whether the server thread is still serving.
    pub fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Stops serving and closes the pty, as if the cable were pulled.
    pub fn stop(mut self) -> io::Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> io::Result<()> {
        self.stop.store(true, Ordering::Relaxed);
        match self.thread.take().map(thread::JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(io::Error::other("pty server thread panicked")),
            None => Ok(()),
        }
    }
}

impl<D: EmulatedDevice> Drop for PtyServer<D> {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// Bytes the device may have waiting to be sent before it drops new output,
/// as a device's transmit buffer would overflow: about 3 s of the full-rate
/// stream (10 kHz × 8 channels, some 330 kB/s), so a host that stalls
/// briefly loses nothing.
const TX_BUFFER: usize = 1 << 20;

/// What the serving loop shares with its [`PtyServer`].
struct Counters {
    stop: Arc<AtomicBool>,
    output_dropped: Arc<AtomicU64>,
    received: Arc<AtomicU64>,
}

/// The serving loop: bytes in, device time forward, bytes out.
fn serve<D: EmulatedDevice>(
    mut master: TTYPort,
    // Holding the slave open keeps the master readable while no client has
    // the port open (otherwise reads fail with EIO between clients).
    _slave: TTYPort,
    device: &Mutex<RealtimeSim<D>>,
    counters: &Counters,
) -> io::Result<()> {
    let Counters {
        stop,
        output_dropped,
        received: received_total,
    } = counters;
    let mut buf = [0u8; 4096];
    let mut unsent: Vec<u8> = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let received = match master.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::TimedOut => 0,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => 0,
            Err(e) => return Err(e),
        };
        let output = {
            let mut sim = device.lock().unwrap_or_else(|e| e.into_inner());
            if received > 0 {
                sim.device.receive(&buf[..received]);
                received_total.fetch_add(received as u64, Ordering::Relaxed);
            }
            sim.catch_up();
            sim.device.take_output()
        };
        // Whole frames only: new output is dropped, never cut, on overflow.
        if unsent.len() + output.len() <= TX_BUFFER {
            unsent.extend_from_slice(&output);
        } else {
            output_dropped.fetch_add(output.len() as u64, Ordering::Relaxed);
        }
        if !unsent.is_empty() {
            let written = write_some(&mut master, &unsent)?;
            unsent.drain(..written);
        }
    }
    Ok(())
}

/// Makes writes to the master take what fits and return: a blocking write
/// to a pty whose client stopped reading (killed, or stalled) would stop
/// the device's clock, and with it the watchdog.
fn set_non_blocking(master: &TTYPort) -> io::Result<()> {
    use std::os::fd::AsRawFd;

    use nix::fcntl::{FcntlArg, OFlag, fcntl};

    let fd = master.as_raw_fd();
    let flags = OFlag::from_bits_truncate(fcntl(fd, FcntlArg::F_GETFL)?);
    fcntl(fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
    Ok(())
}

/// Writes what the pty accepts now; 0 when its buffer is full.
fn write_some(master: &mut TTYPort, bytes: &[u8]) -> io::Result<usize> {
    match master.write(bytes) {
        Ok(n) => Ok(n),
        Err(e) if e.kind() == io::ErrorKind::TimedOut => Ok(0),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
        Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(0),
        Err(e) => Err(e),
    }
}
