//! One serial port shared by the links to the axes of one board, each axis
//! a device of its own in the app (its own link thread, adapter, history,
//! parameters and procedures): an ODrive's axis0 and axis1, the axes a
//! native device names by prefix (docs/PROTOCOL.md, "Several axes"), or
//! the motors of a SimpleFOC sketch under their Commander letters. The
//! first link to open the port opens it; a link to another axis of the
//! same port joins it; the port closes when the last one lets go, and a
//! port lost is lost for all of them at once. Nothing above the transport
//! knows the port is shared.
//!
//! What goes between the port and the links is the wire format's
//! [`Router`]: [`odrive`] pairs each reply line with the request that asked
//! for it; [`native`] is the device as each axis would be on its own;
//! [`simplefoc`] places each line by the motor's Commander letter.

mod native;
mod odrive;
mod simplefoc;

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, TryLockError, Weak};
use std::time::{Duration, Instant};

use super::LinkError;
use super::transport::Transport;

pub(super) use native::NativeAxes;
pub(super) use odrive::OdriveAxes;
pub(super) use simplefoc::SimpleFocMotors;

/// What one read takes from the port at most.
const READ_CHUNK: usize = 4096;
/// How long a link waits while another reads the port before it looks
/// for what that read brought it.
const BUSY_WAIT: Duration = Duration::from_micros(500);

/// Bytes each axis's link has to read, by axis.
pub(super) type Inboxes = BTreeMap<String, Vec<u8>>;

/// What stands between a shared port and the links to its axes.
pub(super) trait Router: Send {
    /// The wire format, to refuse a link that speaks another.
    fn kind(&self) -> &'static str;
    /// How the user names `axis` (`axis 1`, `motor M`).
    fn axis_name(&self, axis: &str) -> String {
        format!("axis {axis}")
    }
    /// A link to `axis` joined.
    fn attach(&mut self, axis: &str);
    /// The link to `axis` let go: nothing more goes to it; what goes out
    /// to the device because it left into `out`.
    fn detach(&mut self, axis: &str, out: &mut Vec<u8>);
    /// The link to `axis` wrote `bytes`: what goes out to the device now
    /// into `out`, and what the link is answered at once into `inboxes`.
    fn write(
        &mut self,
        axis: &str,
        bytes: &[u8],
        now: Instant,
        out: &mut Vec<u8>,
        inboxes: &mut Inboxes,
    );
    /// Time passing, before each read: what goes out now.
    fn poll(&mut self, now: Instant, out: &mut Vec<u8>);
    /// `bytes` from the device, handed to the links they are for.
    fn read(&mut self, bytes: &[u8], now: Instant, inboxes: &mut Inboxes);
}

/// The ports open in this process and shared, by name.
static PORTS: LazyLock<Mutex<HashMap<String, Weak<Shared>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// Opens `axis` of the port named `name`: joins the port if a link to
/// another of its axes has it open, otherwise opens it with `open` and
/// puts `router` between it and the links. The same axis twice, or a port
/// open in another wire format, is refused in one line.
pub(super) fn open_axis(
    name: &str,
    axis: &str,
    router: impl FnOnce() -> Box<dyn Router>,
    open: impl FnOnce() -> Result<Box<dyn Transport>, LinkError>,
) -> Result<Box<dyn Transport>, LinkError> {
    let refused = |reason: String| LinkError::Open {
        port: name.to_owned(),
        reason,
    };
    let mut ports = lock(&PORTS);
    ports.retain(|_, shared| shared.strong_count() > 0);
    if let Some(shared) = ports.get(name).and_then(Weak::upgrade) {
        let mut port = lock(&shared.port);
        if port.failed.is_none() {
            let router = router();
            if port.router.kind() != router.kind() {
                return Err(refused(format!(
                    "it is open in this window as {}",
                    port.router.kind()
                )));
            }
            if port.inboxes.contains_key(axis) {
                return Err(refused(format!(
                    "{} is already connected in this window",
                    port.router.axis_name(axis)
                )));
            }
            port.attach(axis);
            drop(port);
            return Ok(Box::new(AxisEnd {
                shared,
                axis: axis.to_owned(),
            }));
        }
    }
    let shared = Arc::new(Shared::new(open()?, router()));
    lock(&shared.port).attach(axis);
    ports.insert(name.to_owned(), Arc::downgrade(&shared));
    Ok(Box::new(AxisEnd {
        shared,
        axis: axis.to_owned(),
    }))
}

/// Takes the complete lines (each with its `\n`) out of what a link has
/// written so far, leaving a line not complete yet in `partial`.
fn complete_lines(partial: &mut Vec<u8>, bytes: &[u8]) -> Vec<Vec<u8>> {
    partial.extend_from_slice(bytes);
    let mut lines = Vec::new();
    while let Some(at) = partial.iter().position(|&b| b == b'\n') {
        lines.push(partial.drain(..=at).collect());
    }
    lines
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A link thread that panicked leaves the routing state whole: every
    // change to it is complete before anything that can panic.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A shared port: the transport, held by one link at a time while it
/// reads (a few milliseconds at most), and the routing state, held only
/// to change it. A link whose bytes another link read takes them without
/// waiting for the port.
struct Shared {
    transport: Mutex<Box<dyn Transport>>,
    port: Mutex<Port>,
}

/// What is routed, and to whom.
struct Port {
    router: Box<dyn Router>,
    /// What each axis's link has to read, for every axis attached.
    inboxes: Inboxes,
    /// Bytes for the device not written yet, in the order routed.
    out: Vec<u8>,
    /// The port failed: every link is told the same.
    failed: Option<(io::ErrorKind, String)>,
}

impl Port {
    fn attach(&mut self, axis: &str) {
        self.inboxes.insert(axis.to_owned(), Vec::new());
        self.router.attach(axis);
    }

    fn check(&self) -> io::Result<()> {
        match &self.failed {
            Some((kind, message)) => Err(io::Error::new(*kind, message.clone())),
            None => Ok(()),
        }
    }

    /// Up to `buf`'s length of what `axis`'s link has to read.
    fn take(&mut self, axis: &str, buf: &mut [u8]) -> usize {
        let Some(inbox) = self.inboxes.get_mut(axis) else {
            return 0;
        };
        let n = inbox.len().min(buf.len());
        buf[..n].copy_from_slice(&inbox[..n]);
        inbox.drain(..n);
        n
    }
}

impl Shared {
    fn new(transport: Box<dyn Transport>, router: Box<dyn Router>) -> Self {
        Self {
            transport: Mutex::new(transport),
            port: Mutex::new(Port {
                router,
                inboxes: Inboxes::new(),
                out: Vec::new(),
                failed: None,
            }),
        }
    }

    /// Records a failure every link is then told of.
    fn fail(&self, error: io::Error) -> io::Error {
        lock(&self.port).failed = Some((error.kind(), error.to_string()));
        error
    }

    /// Writes what was routed for the device, with the transport held.
    fn flush(&self, transport: &mut dyn Transport) -> io::Result<()> {
        let out = std::mem::take(&mut lock(&self.port).out);
        if out.is_empty() {
            return Ok(());
        }
        transport.write_all(&out).map_err(|e| self.fail(e))
    }

    /// `axis`'s link wrote `bytes`: routed, and written now unless another
    /// link is reading, which writes them as soon as its read returns.
    fn write(&self, axis: &str, bytes: &[u8], now: Instant) -> io::Result<()> {
        {
            let mut port = lock(&self.port);
            port.check()?;
            let Port {
                router,
                inboxes,
                out,
                ..
            } = &mut *port;
            router.write(axis, bytes, now, out, inboxes);
        }
        match self.transport.try_lock() {
            Ok(mut transport) => self.flush(transport.as_mut()),
            Err(TryLockError::Poisoned(poisoned)) => self.flush(poisoned.into_inner().as_mut()),
            Err(TryLockError::WouldBlock) => Ok(()),
        }
    }

    /// What `axis`'s link reads: what was routed to it, or else what the
    /// port has now, routed, when no other link is reading it.
    fn read(&self, axis: &str, buf: &mut [u8], now: Instant) -> io::Result<usize> {
        {
            let mut port = lock(&self.port);
            port.check()?;
            let n = port.take(axis, buf);
            if n > 0 {
                return Ok(n);
            }
        }
        let mut transport = match self.transport.try_lock() {
            Ok(transport) => transport,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => {
                // Another link is reading: what it routes here is taken
                // on this link's next turn.
                std::thread::sleep(BUSY_WAIT);
                return Ok(lock(&self.port).take(axis, buf));
            }
        };
        self.pump(transport.as_mut(), now)?;
        drop(transport);
        Ok(lock(&self.port).take(axis, buf))
    }

    /// With the transport held: what the router sends of its own accord,
    /// then what the port has, handed to the links it is for, then the
    /// writes routed meanwhile.
    fn pump(&self, transport: &mut dyn Transport, now: Instant) -> io::Result<()> {
        {
            let mut port = lock(&self.port);
            let Port { router, out, .. } = &mut *port;
            router.poll(now, out);
        }
        self.flush(transport)?;
        let mut chunk = [0u8; READ_CHUNK];
        let n = transport.read(&mut chunk).map_err(|e| self.fail(e))?;
        if n > 0 {
            let mut port = lock(&self.port);
            let Port {
                router, inboxes, ..
            } = &mut *port;
            router.read(&chunk[..n], now, inboxes);
        }
        self.flush(transport)
    }
}

/// One axis's side of a shared port: what its link reads and writes.
struct AxisEnd {
    shared: Arc<Shared>,
    axis: String,
}

impl Transport for AxisEnd {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.shared.read(&self.axis, buf, Instant::now())
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.shared.write(&self.axis, bytes, Instant::now())
    }

    fn links_sharing(&self) -> usize {
        lock(&self.shared.port).inboxes.len().max(1)
    }
}

impl Drop for AxisEnd {
    fn drop(&mut self) {
        {
            let mut port = lock(&self.shared.port);
            port.inboxes.remove(&self.axis);
            let Port { router, out, .. } = &mut *port;
            router.detach(&self.axis, out);
            if out.is_empty() || port.failed.is_some() {
                return;
            }
        }
        // What the router sends because this link left (the last link's
        // leaving puts back what the first one found). A failure here is
        // the next link's to meet.
        let mut transport = lock(&self.shared.transport);
        let _ = self.shared.flush(transport.as_mut());
    }
}

#[cfg(test)]
mod tests;
