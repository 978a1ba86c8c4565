//! An ODrive's port shared by the links to its axes. Its replies carry no
//! request id: order alone pairs a reply with its request. So each link's
//! requests go out whole lines at a time, and the router keeps, in the
//! order they went out, which axis is owed each reply ([`Replies`]); each
//! reply line goes to the link that asked. While a line whose replies
//! cannot be counted (one typed in a console: `h`, `i` …) is answered, the
//! other links' reading requests wait, so no reply of theirs is mistaken
//! for its text; writes never wait (a disable must not). A reply overdue
//! ([`REPLY_TIMEOUT`]) means the device dropped a request: everything owed
//! is forgotten and lines are dropped until it has been quiet, as each
//! link's adapter does on its own.
//!
//! With one link on it the port passes bytes through untouched; it keeps
//! the order of requests all the same, so a second link can join at any
//! time.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use super::{Inboxes, Router};
use crate::protocol::odrive::line::{LineSplitter, Replies, replies_to};

/// A reply that has not come within this was dropped by the device (as
/// the ODrive adapter's own reply time-out).
pub(super) const REPLY_TIMEOUT: Duration = Duration::from_millis(300);
/// After a reply went missing, lines are dropped until the device has
/// been quiet this long.
pub(super) const RESYNC_QUIET: Duration = Duration::from_millis(30);
/// A line no request owns goes to the link that last wrote a request
/// answered only on failure, if that was this recent (its error).
pub(super) const ERROR_REPLY_WINDOW: Duration = Duration::from_millis(300);
/// The reply to a line whose replies cannot be counted has ended once the
/// device has sent nothing for this long (as the ODrive adapter's typed
/// lines), or has sent nothing at all for [`REPLY_TIMEOUT`].
pub(super) const UNCOUNTED_QUIET: Duration = Duration::from_millis(100);

/// Who is owed the next reply lines.
#[derive(Clone, Debug, PartialEq)]
enum Owed {
    /// One line, to this axis's link, asked then.
    One { axis: String, asked: Instant },
    /// Every line until the device is quiet, to this axis's link.
    Uncounted { axis: String, heard: Instant },
}

/// One axis's link, as the router sees it.
#[derive(Debug, Default)]
struct End {
    /// The start of a request line not complete yet.
    partial: Vec<u8>,
    /// Its reading requests waiting for an uncounted reply to end.
    held: VecDeque<Vec<u8>>,
}

/// The router between an ODrive's port and the links to its axes.
#[derive(Default)]
pub struct OdriveAxes {
    splitter: LineSplitter,
    ends: BTreeMap<String, End>,
    /// Replies owed, in the order their requests went out.
    owed: VecDeque<Owed>,
    /// The axis that last wrote a request answered only on failure, when.
    last_write: Option<(String, Instant)>,
    /// A reply went missing: lines are dropped until then.
    resync_until: Option<Instant>,
}

impl OdriveAxes {
    pub fn new() -> Self {
        Self {
            splitter: LineSplitter::new(true),
            ..Self::default()
        }
    }

    /// An uncounted reply is being answered.
    fn uncounted(&self) -> bool {
        self.owed
            .iter()
            .any(|owed| matches!(owed, Owed::Uncounted { .. }))
    }

    /// Writes one request line, noting the replies it is owed.
    fn send(&mut self, axis: &str, line: &[u8], now: Instant, out: &mut Vec<u8>) {
        let axis = axis.to_owned();
        match replies_to(line) {
            Replies::One => self.owed.push_back(Owed::One { axis, asked: now }),
            Replies::NoneOnSuccess => self.last_write = Some((axis, now)),
            Replies::Unknown => self.owed.push_back(Owed::Uncounted { axis, heard: now }),
        }
        out.extend_from_slice(line);
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

    /// The axis owed the line that just arrived, `None` when no request
    /// owns it.
    fn owner_of_next_line(&mut self, now: Instant) -> Option<String> {
        match self.owed.front_mut() {
            Some(Owed::One { axis, .. }) => {
                let axis = axis.clone();
                self.owed.pop_front();
                Some(axis)
            }
            Some(Owed::Uncounted { axis, heard }) => {
                *heard = now;
                Some(axis.clone())
            }
            None => self
                .last_write
                .as_ref()
                .filter(|(_, at)| now.duration_since(*at) <= ERROR_REPLY_WINDOW)
                .map(|(axis, _)| axis.clone()),
        }
    }
}

impl Router for OdriveAxes {
    fn kind(&self) -> &'static str {
        "ODrive axes"
    }

    fn attach(&mut self, axis: &str) {
        self.ends.insert(axis.to_owned(), End::default());
    }

    fn detach(&mut self, axis: &str, _out: &mut Vec<u8>) {
        // What it was owed is dropped when it comes; nothing it held back
        // goes out.
        self.ends.remove(axis);
        if self.ends.is_empty() {
            self.owed.clear();
        }
    }

    /// Writes `axis`'s complete request lines, holding back its reading
    /// requests while an uncounted reply is being answered.
    fn write(
        &mut self,
        axis: &str,
        bytes: &[u8],
        now: Instant,
        out: &mut Vec<u8>,
        _inboxes: &mut Inboxes,
    ) {
        let Some(end) = self.ends.get_mut(axis) else {
            return;
        };
        let lines = super::complete_lines(&mut end.partial, bytes);
        for line in lines {
            let held = self.ends.get(axis).is_some_and(|end| !end.held.is_empty());
            if replies_to(&line) != Replies::NoneOnSuccess && (self.uncounted() || held) {
                if let Some(end) = self.ends.get_mut(axis) {
                    end.held.push_back(line);
                }
            } else {
                self.send(axis, &line, now, out);
            }
        }
    }

    /// Forgets what is overdue, and sends the requests held back once no
    /// uncounted reply is owed, in the order each link wrote them.
    fn poll(&mut self, now: Instant, out: &mut Vec<u8>) {
        self.expire(now);
        let axes: Vec<String> = self.ends.keys().cloned().collect();
        for axis in axes {
            while !self.uncounted() {
                let Some(line) = self.ends.get_mut(&axis).and_then(|e| e.held.pop_front()) else {
                    break;
                };
                self.send(&axis, &line, now, out);
            }
        }
    }

    fn read(&mut self, bytes: &[u8], now: Instant, inboxes: &mut Inboxes) {
        if inboxes.len() == 1 {
            // One link: bytes as they came, the order of replies kept.
            if let Some(inbox) = inboxes.values_mut().next() {
                inbox.extend_from_slice(bytes);
            }
            let mut count = 0;
            self.splitter.push(bytes, |_| count += 1);
            for _ in 0..count {
                self.owner_of_next_line(now);
            }
            return;
        }
        let mut lines = Vec::new();
        self.splitter.push(bytes, |line| {
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
                    if let Some(inbox) = inboxes.get_mut(&axis) {
                        inbox.extend_from_slice(&line);
                    }
                }
                // Owned by no request: left over from before, or an error
                // nobody can place. Every link hears it and resynchronises.
                None => inboxes
                    .values_mut()
                    .for_each(|inbox| inbox.extend_from_slice(&line)),
            }
        }
    }
}
