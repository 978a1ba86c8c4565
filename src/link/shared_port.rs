//! One serial port shared by the links to the axes of one board: an
//! ODrive carries axis0 and axis1 over one port, and each axis is a device
//! of its own in the app (its own link thread, adapter, history,
//! parameters and procedures). The first link to open the port opens it;
//! a link to another axis of the same port joins it; the port closes when
//! the last one lets go, and a port lost is lost for all of them at once.
//!
//! ODrive's replies carry no request id: order alone pairs a reply with
//! its request. So the port writes each link's requests whole lines at a
//! time and keeps, in the order they went out, who is owed each reply
//! ([`Replies`]); each reply line goes to the link that asked. While a line
//! whose replies cannot be counted (one typed in a console: `h`, `i` …)
//! is answered, the other links' reading requests wait, so no reply of
//! theirs is mistaken for its text; writes never wait (a disable must
//! not). A reply overdue ([`REPLY_TIMEOUT`]) means the device dropped a
//! request: everything owed is forgotten and lines are dropped until it
//! has been quiet, as each link's adapter does on its own.
//!
//! With one link on it the port passes bytes through untouched; it
//! keeps the order of requests all the same, so a second link can join at
//! any time.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use super::LinkError;
use super::transport::Transport;
use crate::protocol::odrive::line::{LineSplitter, Replies, replies_to};

/// A reply that has not come within this was dropped by the device (as
/// the ODrive adapter's own reply time-out).
const REPLY_TIMEOUT: Duration = Duration::from_millis(300);
/// After a reply went missing, lines are dropped until the device has
/// been quiet this long.
const RESYNC_QUIET: Duration = Duration::from_millis(30);
/// A line no request owns goes to the link that last wrote a request
/// answered only on failure, if that was this recent (its error).
const ERROR_REPLY_WINDOW: Duration = Duration::from_millis(300);
/// The reply to a line whose replies cannot be counted has ended once the
/// device has sent nothing for this long (as the ODrive adapter's typed
/// lines), or has sent nothing at all for [`REPLY_TIMEOUT`].
const UNCOUNTED_QUIET: Duration = Duration::from_millis(100);
/// What one read takes from the port at most.
const READ_CHUNK: usize = 4096;

/// The ports open in this process and shared, by name.
static PORTS: LazyLock<Mutex<HashMap<String, Weak<Mutex<Port>>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// Opens `axis` of the port named `name`: joins the port if another axis
/// has it open, otherwise opens it with `open`. The same axis twice is
/// refused in one line.
pub(super) fn open_axis(
    name: &str,
    axis: u8,
    open: impl FnOnce() -> Result<Box<dyn Transport>, LinkError>,
) -> Result<Box<dyn Transport>, LinkError> {
    let mut ports = lock(&PORTS);
    ports.retain(|_, port| port.strong_count() > 0);
    if let Some(port) = ports.get(name).and_then(Weak::upgrade) {
        let mut shared = lock(&port);
        if shared.failed.is_none() {
            if shared.ends.contains_key(&axis) {
                return Err(LinkError::Open {
                    port: name.to_owned(),
                    reason: format!("axis {axis} is already connected in this window"),
                });
            }
            shared.ends.insert(axis, End::default());
            drop(shared);
            return Ok(Box::new(AxisEnd { port, axis }));
        }
    }
    let mut shared = Port::new(open()?);
    shared.ends.insert(axis, End::default());
    let port = Arc::new(Mutex::new(shared));
    ports.insert(name.to_owned(), Arc::downgrade(&port));
    Ok(Box::new(AxisEnd { port, axis }))
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A link thread that panicked leaves the routing state whole: every
    // change to it is complete before anything that can panic.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Who is owed the next reply lines.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Owed {
    /// One line, to this axis's link, asked then.
    One { axis: u8, asked: Instant },
    /// Every line until the device is quiet, to this axis's link.
    Uncounted { axis: u8, heard: Instant },
}

/// One axis's link on the port.
#[derive(Debug, Default)]
struct End {
    /// Bytes routed to it, not read yet.
    inbox: Vec<u8>,
    /// The start of a request line not complete yet.
    partial: Vec<u8>,
    /// Its reading requests waiting for an uncounted reply to end.
    held: VecDeque<Vec<u8>>,
}

struct Port {
    transport: Box<dyn Transport>,
    splitter: LineSplitter,
    ends: BTreeMap<u8, End>,
    /// Replies owed, in the order their requests went out.
    owed: VecDeque<Owed>,
    /// The axis that last wrote a request answered only on failure, when.
    last_write: Option<(u8, Instant)>,
    /// A reply went missing: lines are dropped until then.
    resync_until: Option<Instant>,
    /// The port failed: every link is told the same.
    failed: Option<(io::ErrorKind, String)>,
}

impl Port {
    fn new(transport: Box<dyn Transport>) -> Self {
        Self {
            transport,
            splitter: LineSplitter::new(true),
            ends: BTreeMap::new(),
            owed: VecDeque::new(),
            last_write: None,
            resync_until: None,
            failed: None,
        }
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

    /// An uncounted reply is being answered.
    fn uncounted(&self) -> bool {
        self.owed
            .iter()
            .any(|owed| matches!(owed, Owed::Uncounted { .. }))
    }

    /// Writes `axis`'s complete request lines, holding back its reading
    /// requests while an uncounted reply is being answered.
    fn write(&mut self, axis: u8, bytes: &[u8], now: Instant) -> io::Result<()> {
        let Some(end) = self.ends.get_mut(&axis) else {
            return Ok(());
        };
        end.partial.extend_from_slice(bytes);
        let mut lines = Vec::new();
        while let Some(at) = end.partial.iter().position(|&b| b == b'\n') {
            lines.push(end.partial.drain(..=at).collect::<Vec<u8>>());
        }
        for line in lines {
            let waits = replies_to(&line) != Replies::NoneOnSuccess
                && (self.uncounted() || !self.ends[&axis].held.is_empty());
            if waits {
                if let Some(end) = self.ends.get_mut(&axis) {
                    end.held.push_back(line);
                }
            } else {
                self.send(axis, &line, now)?;
            }
        }
        Ok(())
    }

    /// Writes one request line, noting the replies it is owed.
    fn send(&mut self, axis: u8, line: &[u8], now: Instant) -> io::Result<()> {
        match replies_to(line) {
            Replies::One => self.owed.push_back(Owed::One { axis, asked: now }),
            Replies::NoneOnSuccess => self.last_write = Some((axis, now)),
            Replies::Unknown => self.owed.push_back(Owed::Uncounted { axis, heard: now }),
        }
        self.transport.write_all(line).map_err(|e| self.fail(e))
    }

    /// Sends the requests held back once no uncounted reply is owed, in
    /// the order each link wrote them.
    fn release_held(&mut self, now: Instant) -> io::Result<()> {
        let axes: Vec<u8> = self.ends.keys().copied().collect();
        for axis in axes {
            while !self.uncounted() {
                let Some(line) = self.ends.get_mut(&axis).and_then(|e| e.held.pop_front()) else {
                    break;
                };
                self.send(axis, &line, now)?;
            }
        }
        Ok(())
    }

    /// Forgets what is owed once a reply is overdue or an uncounted reply
    /// has ended.
    fn expire(&mut self, now: Instant) {
        match self.owed.front() {
            Some(Owed::One { asked, .. }) if now.duration_since(*asked) > REPLY_TIMEOUT => {
                self.owed.clear();
                self.splitter.clear();
                self.resync_until = Some(now + RESYNC_QUIET);
            }
            Some(Owed::Uncounted { heard, .. }) if now.duration_since(*heard) > UNCOUNTED_QUIET => {
                self.owed.pop_front();
            }
            _ => {}
        }
        if self.resync_until.is_some_and(|until| now >= until) {
            self.resync_until = None;
        }
    }

    /// Reads what the port has and hands every line to the link owed it.
    fn pump(&mut self, now: Instant) -> io::Result<()> {
        self.expire(now);
        self.release_held(now)?;
        let mut buf = [0u8; READ_CHUNK];
        let n = self.transport.read(&mut buf).map_err(|e| self.fail(e))?;
        if n == 0 {
            return Ok(());
        }
        if self.ends.len() == 1 {
            // One link: bytes as they came, the order of replies kept.
            if let Some(end) = self.ends.values_mut().next() {
                end.inbox.extend_from_slice(&buf[..n]);
            }
            let mut count = 0;
            self.splitter.push(&buf[..n], |_| count += 1);
            (0..count).for_each(|_| {
                self.owner_of_next_line(now);
            });
            return Ok(());
        }
        let mut lines = Vec::new();
        self.splitter.push(&buf[..n], |line| {
            // A line cut for its length reaches its link as one it cannot
            // read, and is counted there.
            lines.push(line.map_or_else(|_| vec![0x01], <[u8]>::to_vec));
        });
        for mut line in lines {
            line.extend_from_slice(b"\r\n");
            if self.resync_until.is_some() {
                self.resync_until = Some(now + RESYNC_QUIET);
                continue;
            }
            match self.owner_of_next_line(now) {
                Some(axis) => {
                    if let Some(end) = self.ends.get_mut(&axis) {
                        end.inbox.extend_from_slice(&line);
                    }
                }
                // Owned by no request: left over from before, or an
                // error nobody can place. Every link hears it and
                // resynchronises.
                None => self
                    .ends
                    .values_mut()
                    .for_each(|end| end.inbox.extend_from_slice(&line)),
            }
        }
        Ok(())
    }

    /// The axis owed the line that just arrived, `None` when no request
    /// owns it.
    fn owner_of_next_line(&mut self, now: Instant) -> Option<u8> {
        match self.owed.front_mut() {
            Some(Owed::One { axis, .. }) => {
                let axis = *axis;
                self.owed.pop_front();
                Some(axis)
            }
            Some(Owed::Uncounted { axis, heard }) => {
                *heard = now;
                Some(*axis)
            }
            None => self
                .last_write
                .filter(|(_, at)| now.duration_since(*at) <= ERROR_REPLY_WINDOW)
                .map(|(axis, _)| axis),
        }
    }
}

/// One axis's side of a shared port: what its link reads and writes.
struct AxisEnd {
    port: Arc<Mutex<Port>>,
    axis: u8,
}

impl Transport for AxisEnd {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut port = lock(&self.port);
        port.check()?;
        let has_mail = |port: &Port| {
            port.ends
                .get(&self.axis)
                .is_some_and(|e| !e.inbox.is_empty())
        };
        if !has_mail(&port) {
            // Read with the lock held, a few milliseconds at most: the
            // other axes' links wait that long to read or write.
            port.pump(Instant::now())?;
        }
        let Some(end) = port.ends.get_mut(&self.axis) else {
            return Ok(0);
        };
        let n = end.inbox.len().min(buf.len());
        buf[..n].copy_from_slice(&end.inbox[..n]);
        end.inbox.drain(..n);
        Ok(n)
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut port = lock(&self.port);
        port.check()?;
        port.write(self.axis, bytes, Instant::now())
    }
}

impl Drop for AxisEnd {
    fn drop(&mut self) {
        let mut port = lock(&self.port);
        port.ends.remove(&self.axis);
        // What it was owed is dropped when it comes; nothing it held
        // back goes out.
        if port.ends.is_empty() {
            port.owed.clear();
        }
    }
}

#[cfg(test)]
mod tests;
