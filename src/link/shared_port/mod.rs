//! One serial port shared by the links to the axes of one board, each axis
//! a device of its own in the app (its own link thread, adapter, history,
//! parameters and procedures): an ODrive's axis0 and axis1, or the axes a
//! native device names by prefix (docs/PROTOCOL.md, "Several axes"). The
//! first link to open the port opens it; a link to another axis of the
//! same port joins it; the port closes when the last one lets go, and a
//! port lost is lost for all of them at once. Nothing above the transport
//! knows the port is shared.
//!
//! What goes between the port and the links is the wire format's
//! [`Router`]: [`odrive`] pairs each reply line with the request that asked
//! for it; [`native`] is the device as each axis would be on its own.

mod native;
mod odrive;

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, Weak};
use std::time::Instant;

use super::LinkError;
use super::transport::Transport;

pub(super) use native::NativeAxes;
pub(super) use odrive::OdriveAxes;

/// What one read takes from the port at most.
const READ_CHUNK: usize = 4096;

/// Bytes each axis's link has to read, by axis.
pub(super) type Inboxes = BTreeMap<String, Vec<u8>>;

/// What stands between a shared port and the links to its axes.
pub(super) trait Router: Send {
    /// The wire format, to refuse a link that speaks another.
    fn kind(&self) -> &'static str;
    /// A link to `axis` joined.
    fn attach(&mut self, axis: &str);
    /// The link to `axis` let go: nothing more goes to it.
    fn detach(&mut self, axis: &str);
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
static PORTS: LazyLock<Mutex<HashMap<String, Weak<Mutex<Port>>>>> =
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
    ports.retain(|_, port| port.strong_count() > 0);
    if let Some(port) = ports.get(name).and_then(Weak::upgrade) {
        let mut shared = lock(&port);
        if shared.failed.is_none() {
            let router = router();
            if shared.router.kind() != router.kind() {
                return Err(refused(format!(
                    "it is open in this window as {}",
                    shared.router.kind()
                )));
            }
            if shared.inboxes.contains_key(axis) {
                return Err(refused(format!(
                    "axis {axis} is already connected in this window"
                )));
            }
            shared.attach(axis);
            drop(shared);
            return Ok(Box::new(AxisEnd {
                port,
                axis: axis.to_owned(),
            }));
        }
    }
    let mut shared = Port {
        transport: open()?,
        router: router(),
        inboxes: Inboxes::new(),
        failed: None,
    };
    shared.attach(axis);
    let port = Arc::new(Mutex::new(shared));
    ports.insert(name.to_owned(), Arc::downgrade(&port));
    Ok(Box::new(AxisEnd {
        port,
        axis: axis.to_owned(),
    }))
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A link thread that panicked leaves the routing state whole: every
    // change to it is complete before anything that can panic.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

struct Port {
    transport: Box<dyn Transport>,
    router: Box<dyn Router>,
    /// What each axis's link has to read, for every axis attached.
    inboxes: Inboxes,
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

    fn fail(&mut self, error: io::Error) -> io::Error {
        self.failed = Some((error.kind(), error.to_string()));
        error
    }

    fn send(&mut self, out: &[u8]) -> io::Result<()> {
        if out.is_empty() {
            return Ok(());
        }
        self.transport.write_all(out).map_err(|e| self.fail(e))
    }

    fn write(&mut self, axis: &str, bytes: &[u8], now: Instant) -> io::Result<()> {
        let mut out = Vec::new();
        self.router
            .write(axis, bytes, now, &mut out, &mut self.inboxes);
        self.send(&out)
    }

    /// Reads what the port has and hands it to the links it is for.
    fn pump(&mut self, now: Instant) -> io::Result<()> {
        let mut out = Vec::new();
        self.router.poll(now, &mut out);
        self.send(&out)?;
        let mut buf = [0u8; READ_CHUNK];
        let n = self.transport.read(&mut buf).map_err(|e| self.fail(e))?;
        if n > 0 {
            self.router.read(&buf[..n], now, &mut self.inboxes);
        }
        Ok(())
    }
}

/// One axis's side of a shared port: what its link reads and writes.
struct AxisEnd {
    port: Arc<Mutex<Port>>,
    axis: String,
}

impl Transport for AxisEnd {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut port = lock(&self.port);
        port.check()?;
        let has_mail = |port: &Port| port.inboxes.get(&self.axis).is_some_and(|b| !b.is_empty());
        if !has_mail(&port) {
            // Read with the lock held, a few milliseconds at most: the
            // other axes' links wait that long to read or write.
            port.pump(Instant::now())?;
        }
        let Some(inbox) = port.inboxes.get_mut(&self.axis) else {
            return Ok(0);
        };
        let n = inbox.len().min(buf.len());
        buf[..n].copy_from_slice(&inbox[..n]);
        inbox.drain(..n);
        Ok(n)
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut port = lock(&self.port);
        port.check()?;
        port.write(&self.axis, bytes, Instant::now())
    }
}

impl Drop for AxisEnd {
    fn drop(&mut self) {
        let mut port = lock(&self.port);
        port.inboxes.remove(&self.axis);
        port.router.detach(&self.axis);
    }
}

#[cfg(test)]
mod tests;
