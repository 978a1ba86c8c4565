//! A SimpleFOC sketch with several motors, each under its own Commander
//! letter (`command.add('M', doMotor)`, `command.add('N', doMotor2)`),
//! shared by the links to its motors: the axis is the letter.
//!
//! - **Replies.** Each link's adapter speaks in verbosity `@3`, where a
//!   handler's reply begins with its letter (`printMachineReadable(
//!   user_input[0])`, Arduino-FOC 2.4.0 Commander.cpp:98): a line that
//!   begins with a motor's letter goes to that motor's link. The
//!   Commander's own replies (`@`, `#`, `?`, Commander.cpp:63-94) go to the
//!   link that last sent one of its own commands; a line no letter places
//!   (a reply before `@3`, an `err`, the sketch's own text) to the link
//!   that last wrote, if that was within [`REPLY_WINDOW`], else to every
//!   link. The library's `MOT:` text goes to every link.
//! - **Monitoring.** `FOCMotor::monitor()` names no motor unless the
//!   sketch sets `monitor_start_char` (FOCMotor.cpp:321-380), and no
//!   command sets it. A line that starts with a motor's letter is that
//!   motor's (`motor.monitor_start_char = 'M'`); one that starts with a
//!   number cannot be placed, so with two links it goes to none, and each
//!   link is told once, as text, what to set in the sketch.
//! - **The Commander's settings are one for all motors.** Each adapter
//!   reads the verbosity and decimals, sets `@3` and `#12`, and puts back
//!   what it found when it closes. While another link still speaks to the
//!   sketch, a line that would change either away from what a link set is
//!   held back, and the first one held for each goes out when the last
//!   link lets go: the sketch is left as the first link found it.
//!
//! With one link on it the port passes bytes through untouched.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use super::{Inboxes, Router};
use crate::protocol::simplefoc::session::is_library_text;

/// A line no letter places belongs to the link that wrote within this.
pub(super) const REPLY_WINDOW: Duration = Duration::from_millis(300);
/// A link's exchange with the Commander itself has ended once neither it
/// nor the Commander has said anything of it for this long; another link's
/// waits until then (the adapter gives a reply 300 ms).
pub(super) const OWN_QUIET: Duration = Duration::from_millis(100);
/// A line longer than this without a line end is not split further: it
/// goes to every link, which counts it as garbage (the adapter's limit).
const MAX_LINE_BYTES: usize = 512;

/// What every link is told once when monitoring lines name no motor.
pub(super) const UNTAGGED: &str = "motiontune: monitoring lines that start with a number name no \
     motor, and this port is shared by several: set motor.monitor_start_char to each motor's \
     Commander letter in the sketch";

/// One motor's link, as the router sees it.
#[derive(Debug, Default)]
struct End {
    /// The start of a command line not complete yet.
    partial: Vec<u8>,
    /// Told that untagged monitoring lines cannot be placed.
    told_untagged: bool,
    /// Lines of text for this link from the router itself.
    notes: Vec<u8>,
}

/// A link speaking to the Commander itself (`@`, `#`, `?`): the lines that
/// name no motor are its until it has been quiet for [`OWN_QUIET`].
#[derive(Clone, Debug)]
struct Exchange {
    axis: String,
    /// Its last such line, or the last reply it was given.
    last: Instant,
}

/// The router between a SimpleFOC sketch's port and the links to its
/// motors.
#[derive(Debug, Default)]
pub struct SimpleFocMotors {
    ends: BTreeMap<String, End>,
    /// The line from the device not complete yet.
    line: Vec<u8>,
    /// The current line grew past [`MAX_LINE_BYTES`]: passed on to every
    /// link up to its end.
    overlong: bool,
    /// The Commander's own exchange under way.
    exchange: Option<Exchange>,
    /// Other links' lines to the Commander itself, waiting for it to end.
    waiting: VecDeque<(String, Vec<u8>)>,
    /// The link that last sent one of the Commander's own commands.
    own_asker: Option<String>,
    /// The link that last wrote a line, and when.
    last_writer: Option<(String, Instant)>,
    /// The last `@…` and `#…` that went out with a value, by command.
    in_force: BTreeMap<u8, Vec<u8>>,
    /// The link whose `@…` or `#…` changed the sketch's first, by command:
    /// what it puts back is what the sketch had.
    first_setter: BTreeMap<u8, String>,
    /// What the first setter put back while other links still spoke to
    /// the sketch, by command: sent when the last link lets go.
    put_back: BTreeMap<u8, Vec<u8>>,
}

impl SimpleFocMotors {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sends, holds back or drops one complete command line of `axis`'s
    /// link.
    fn send(&mut self, axis: &str, line: Vec<u8>, now: Instant, out: &mut Vec<u8>) {
        self.last_writer = Some((axis.to_owned(), now));
        let Some(&first) = line.first() else {
            return;
        };
        if is_own(first) {
            let busy = self.exchange.as_ref().is_some_and(|exchange| {
                exchange.axis != axis && now.duration_since(exchange.last) < OWN_QUIET
            });
            if busy || self.waiting.iter().any(|(waiting, _)| waiting == axis) {
                self.waiting.push_back((axis.to_owned(), line));
                return;
            }
            self.exchange = Some(Exchange {
                axis: axis.to_owned(),
                last: now,
            });
            self.own_asker = Some(axis.to_owned());
        }
        let setting = matches!(first, b'@' | b'#') && sets_a_value(&line);
        if setting && !self.setting_goes_out(axis, first, &line) {
            return;
        }
        out.extend_from_slice(&line);
    }

    /// Whether a line setting the Commander's verbosity or decimals goes
    /// out now; one that does not is held (the first link's) or dropped
    /// (another's, found after the first had changed it), and its link is
    /// told.
    fn setting_goes_out(&mut self, axis: &str, key: u8, line: &[u8]) -> bool {
        let Some(in_force) = self.in_force.get(&key) else {
            self.in_force.insert(key, line.to_vec());
            self.first_setter.insert(key, axis.to_owned());
            return true;
        };
        if in_force == line {
            return true;
        }
        if self.ends.len() == 1 {
            self.in_force.insert(key, line.to_vec());
            return true;
        }
        if self
            .first_setter
            .get(&key)
            .is_some_and(|setter| setter == axis)
        {
            self.put_back.entry(key).or_insert_with(|| line.to_vec());
        }
        let shown = String::from_utf8_lossy(line).trim_end().to_owned();
        let note = format!(
            "motiontune: {shown} not sent now: the motors on this port share the Commander's \
             verbosity and decimals, and the last link to close puts back what the first found\r\n"
        );
        if let Some(end) = self.ends.get_mut(axis) {
            end.notes.extend_from_slice(note.as_bytes());
        }
        false
    }

    /// Ends the Commander's own exchange once quiet, and sends the lines
    /// of the next link waiting to speak to it, in order.
    fn next_exchange(&mut self, now: Instant, out: &mut Vec<u8>) {
        if self
            .exchange
            .as_ref()
            .is_some_and(|exchange| now.duration_since(exchange.last) >= OWN_QUIET)
        {
            self.exchange = None;
        }
        if self.exchange.is_some() {
            return;
        }
        let Some((axis, _)) = self.waiting.front() else {
            return;
        };
        let axis = axis.clone();
        let (theirs, others): (VecDeque<_>, VecDeque<_>) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|(waiting, _)| *waiting == axis);
        self.waiting = others;
        for (_, line) in theirs {
            self.send(&axis, line, now, out);
        }
    }

    /// The link a complete line from the device goes to: `None` for every
    /// link, `Some(None)` for none.
    fn owner(&mut self, line: &[u8], now: Instant) -> Option<Option<String>> {
        let first = *line.first()?;
        let text = String::from_utf8_lossy(line);
        if is_library_text(&text) {
            return None;
        }
        let letter = char::from(first).to_string();
        if self.ends.contains_key(&letter) {
            return Some(Some(letter));
        }
        if first.is_ascii_digit() || first == b'-' {
            return Some(None);
        }
        if let Some(exchange) = &mut self.exchange
            && now.duration_since(exchange.last) < OWN_QUIET
        {
            // A reply of the Commander's own, or one before `@3` that
            // names nothing.
            exchange.last = now;
            return Some(Some(exchange.axis.clone()));
        }
        if is_own(first) {
            return self.own_asker.clone().map(Some);
        }
        self.last_writer
            .as_ref()
            .filter(|(_, at)| now.duration_since(*at) <= REPLY_WINDOW)
            .map(|(axis, _)| Some(axis.clone()))
    }

    fn deliver(&mut self, line: &[u8], now: Instant, inboxes: &mut Inboxes) {
        match self.owner(line, now) {
            Some(Some(axis)) => {
                if let Some(inbox) = inboxes.get_mut(&axis) {
                    inbox.extend_from_slice(line);
                }
            }
            Some(None) => {
                for (axis, end) in &mut self.ends {
                    if !end.told_untagged
                        && let Some(inbox) = inboxes.get_mut(axis)
                    {
                        end.told_untagged = true;
                        inbox.extend_from_slice(UNTAGGED.as_bytes());
                        inbox.extend_from_slice(b"\r\n");
                    }
                }
            }
            None => to_every_link(inboxes, line),
        }
    }

    /// What the router has to tell each link, into its inbox.
    fn deliver_notes(&mut self, inboxes: &mut Inboxes) {
        for (axis, end) in &mut self.ends {
            if !end.notes.is_empty()
                && let Some(inbox) = inboxes.get_mut(axis)
            {
                inbox.append(&mut end.notes);
            }
        }
    }
}

/// One of the Commander's own commands, which no handler sees.
fn is_own(first: u8) -> bool {
    matches!(first, b'@' | b'#' | b'?')
}

fn to_every_link(inboxes: &mut Inboxes, bytes: &[u8]) {
    for inbox in inboxes.values_mut() {
        inbox.extend_from_slice(bytes);
    }
}

/// Whether a line of the Commander's own (`@3`, `#12`) sets a value, not
/// only reads it (`@`, `#`, Commander.cpp:73, 90).
fn sets_a_value(line: &[u8]) -> bool {
    line.get(1)
        .is_some_and(|&b| !matches!(b, b'\n' | b'\r' | 0))
}

impl Router for SimpleFocMotors {
    fn kind(&self) -> &'static str {
        "SimpleFOC motors"
    }

    fn axis_name(&self, axis: &str) -> String {
        format!("motor {axis}")
    }

    fn attach(&mut self, axis: &str) {
        self.ends.insert(axis.to_owned(), End::default());
    }

    /// The last link gone, what was held back goes out: the decimals,
    /// then the verbosity, as the adapter puts them back.
    fn detach(&mut self, axis: &str, out: &mut Vec<u8>) {
        self.ends.remove(axis);
        if self.own_asker.as_deref() == Some(axis) {
            self.own_asker = None;
        }
        if self
            .exchange
            .as_ref()
            .is_some_and(|exchange| exchange.axis == axis)
        {
            self.exchange = None;
        }
        // What it put back while waiting its turn is kept all the same.
        let (theirs, others): (VecDeque<_>, VecDeque<_>) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|(waiting, _)| waiting == axis);
        self.waiting = others;
        for (_, line) in theirs {
            let Some(&key) = line.first() else {
                continue;
            };
            let first = self
                .first_setter
                .get(&key)
                .is_some_and(|setter| setter == axis);
            if first && sets_a_value(&line) && self.in_force.get(&key) != Some(&line) {
                self.put_back.entry(key).or_insert(line);
            }
        }
        if self.ends.is_empty() {
            for key in [b'#', b'@'] {
                if let Some(line) = self.put_back.remove(&key) {
                    out.extend_from_slice(&line);
                }
            }
            self.in_force.clear();
            self.first_setter.clear();
        }
    }

    fn write(
        &mut self,
        axis: &str,
        bytes: &[u8],
        now: Instant,
        out: &mut Vec<u8>,
        inboxes: &mut Inboxes,
    ) {
        let Some(end) = self.ends.get_mut(axis) else {
            return;
        };
        let lines = super::complete_lines(&mut end.partial, bytes);
        for line in lines {
            self.send(axis, line, now, out);
        }
        self.deliver_notes(inboxes);
    }

    fn poll(&mut self, now: Instant, out: &mut Vec<u8>) {
        self.next_exchange(now, out);
    }

    fn read(&mut self, bytes: &[u8], now: Instant, inboxes: &mut Inboxes) {
        self.deliver_notes(inboxes);
        let single = inboxes.len() == 1;
        if single && let Some(inbox) = inboxes.values_mut().next() {
            // One link: bytes as they came.
            inbox.extend_from_slice(bytes);
        }
        for &byte in bytes {
            if self.overlong {
                if !single {
                    to_every_link(inboxes, &[byte]);
                }
                self.overlong = byte != b'\n';
                continue;
            }
            self.line.push(byte);
            if byte == b'\n' {
                let line = std::mem::take(&mut self.line);
                if !single {
                    self.deliver(&line, now, inboxes);
                }
            } else if self.line.len() > MAX_LINE_BYTES {
                let line = std::mem::take(&mut self.line);
                if !single {
                    to_every_link(inboxes, &line);
                }
                self.overlong = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two() -> (SimpleFocMotors, Inboxes) {
        let mut router = SimpleFocMotors::new();
        let mut inboxes = Inboxes::new();
        for axis in ["M", "N"] {
            router.attach(axis);
            inboxes.insert(axis.to_owned(), Vec::new());
        }
        (router, inboxes)
    }

    fn write(router: &mut SimpleFocMotors, axis: &str, bytes: &str, now: Instant) -> String {
        let mut out = Vec::new();
        router.write(axis, bytes.as_bytes(), now, &mut out, &mut Inboxes::new());
        String::from_utf8_lossy(&out).into_owned()
    }

    fn take(inboxes: &mut Inboxes, axis: &str) -> String {
        let inbox = inboxes
            .get_mut(axis)
            .map(std::mem::take)
            .unwrap_or_default();
        String::from_utf8_lossy(&inbox).into_owned()
    }

    #[test]
    fn replies_and_tagged_monitoring_go_to_their_motor() {
        let (mut router, mut inboxes) = two();
        let now = Instant::now();
        assert_eq!(write(&mut router, "M", "MVP\n", now), "MVP\n");
        assert_eq!(write(&mut router, "N", "NVP\n", now), "NVP\n");
        router.read(
            b"MVP0.200000000000\r\nN1.0000\t2.0000\r\nNVP0.3",
            now,
            &mut inboxes,
        );
        router.read(b"00000000000\r\nM3.0000\t4.0000\r\n", now, &mut inboxes);
        assert_eq!(
            take(&mut inboxes, "M"),
            "MVP0.200000000000\r\nM3.0000\t4.0000\r\n"
        );
        assert_eq!(
            take(&mut inboxes, "N"),
            "N1.0000\t2.0000\r\nNVP0.300000000000\r\n"
        );
        // The library's text is every motor's, although it starts with M.
        router.read(b"MOT:Ready.\r\n", now, &mut inboxes);
        assert_eq!(take(&mut inboxes, "M"), "MOT:Ready.\r\n");
        assert_eq!(take(&mut inboxes, "N"), "MOT:Ready.\r\n");
    }

    #[test]
    fn the_commander_s_own_replies_go_to_the_link_that_asked() {
        let (mut router, mut inboxes) = two();
        let now = Instant::now();
        write(&mut router, "N", "@\n", now);
        // Before @3 the reply names nothing: the last writer's, in time.
        router.read(b"Verb:on!\r\n", now, &mut inboxes);
        write(&mut router, "N", "?\n", now);
        write(&mut router, "M", "MC\n", now);
        router.read(b"?M:motor\r\n?N:motor 2\r\nMC2\r\n", now, &mut inboxes);
        assert_eq!(
            take(&mut inboxes, "N"),
            "Verb:on!\r\n?M:motor\r\n?N:motor 2\r\n"
        );
        assert_eq!(take(&mut inboxes, "M"), "MC2\r\n");
        // Long after any request, text is everyone's.
        let later = now + REPLY_WINDOW * 2;
        router.read(b"Hello from the sketch\r\n", later, &mut inboxes);
        assert_eq!(take(&mut inboxes, "M"), "Hello from the sketch\r\n");
        assert_eq!(take(&mut inboxes, "N"), "Hello from the sketch\r\n");
    }

    #[test]
    fn untagged_monitoring_is_placed_nowhere_and_said_once() {
        let (mut router, mut inboxes) = two();
        let now = Instant::now();
        router.read(b"1.0\t2.0\r\n-1.0\t2.0\r\n", now, &mut inboxes);
        for axis in ["M", "N"] {
            assert_eq!(take(&mut inboxes, axis), format!("{UNTAGGED}\r\n"));
        }
        router.read(b"1.0\t2.0\r\n", now, &mut inboxes);
        for axis in ["M", "N"] {
            assert_eq!(take(&mut inboxes, axis), "", "said once");
        }
    }

    #[test]
    fn the_commander_is_left_as_the_first_link_found_it() {
        let (mut router, mut inboxes) = two();
        let now = Instant::now();
        // M found @2 and #3, and set the session's.
        assert_eq!(write(&mut router, "M", "@3\n#12\n", now), "@3\n#12\n");
        // N, joining, reads and sets the same once M's exchange is over.
        assert_eq!(write(&mut router, "N", "@\n@3\n#12\n", now), "");
        let mut out = Vec::new();
        router.poll(now + OWN_QUIET, &mut out);
        assert_eq!(String::from_utf8_lossy(&out), "@\n@3\n#12\n");
        // M closes first, while N's exchange runs: what it puts back would
        // break N's session, and is kept.
        let later = now + OWN_QUIET;
        assert_eq!(write(&mut router, "M", "#3\n@2\n", later), "");
        out.clear();
        router.detach("M", &mut out);
        inboxes.remove("M");
        assert!(out.is_empty());
        // N, alone, puts back what it found; then M's goes out, last.
        let end = later + OWN_QUIET * 3;
        assert_eq!(write(&mut router, "N", "#12\n@3\n", end), "#12\n@3\n");
        router.detach("N", &mut out);
        assert_eq!(String::from_utf8_lossy(&out), "#3\n@2\n");
    }

    #[test]
    fn a_later_link_cannot_put_back_what_it_did_not_find() {
        let (mut router, mut inboxes) = two();
        let now = Instant::now();
        // M set the session; N read it late and believes @0 was found.
        write(&mut router, "M", "@3\n", now);
        let later = now + OWN_QUIET;
        assert_eq!(write(&mut router, "N", "@3\n", later), "@3\n");
        assert_eq!(write(&mut router, "N", "@0\n", later + OWN_QUIET), "");
        router.read(&[], later, &mut inboxes);
        let told = take(&mut inboxes, "N");
        assert!(told.starts_with("motiontune: @0 not sent now"), "{told}");
        let mut out = Vec::new();
        router.detach("N", &mut out);
        assert_eq!(
            write(&mut router, "M", "@2\n", later + OWN_QUIET * 3),
            "@2\n"
        );
        router.detach("M", &mut out);
        assert!(out.is_empty(), "{:?}", String::from_utf8_lossy(&out));
    }

    #[test]
    fn two_links_speak_to_the_commander_one_at_a_time() {
        let (mut router, mut inboxes) = two();
        let now = Instant::now();
        // Both probe at once, the Commander still in @2: its reply names
        // no one, so N's `@` waits for M's exchange to end.
        assert_eq!(write(&mut router, "M", "@\n", now), "@\n");
        assert_eq!(write(&mut router, "N", "@\n", now), "");
        router.read(b"Verb:on!\r\n", now, &mut inboxes);
        assert_eq!(take(&mut inboxes, "M"), "Verb:on!\r\n");
        let mut out = Vec::new();
        router.poll(now + OWN_QUIET / 2, &mut out);
        assert!(out.is_empty(), "M's exchange is still on");
        router.poll(now + OWN_QUIET, &mut out);
        assert_eq!(String::from_utf8_lossy(&out), "@\n");
        router.read(b"Verb:on!\r\n", now + OWN_QUIET, &mut inboxes);
        assert_eq!(take(&mut inboxes, "N"), "Verb:on!\r\n");
        assert_eq!(take(&mut inboxes, "M"), "");
    }

    #[test]
    fn one_link_sees_the_port_untouched() {
        let mut router = SimpleFocMotors::new();
        router.attach("M");
        let mut inboxes = Inboxes::from([("M".to_owned(), Vec::new())]);
        let bytes = b"1.0\t2.0\r\nNVP1\r\npartial";
        router.read(bytes, Instant::now(), &mut inboxes);
        assert_eq!(take(&mut inboxes, "M").as_bytes(), bytes);
        let now = Instant::now();
        assert_eq!(write(&mut router, "M", "@2\n", now), "@2\n");
    }

    #[test]
    fn an_endless_line_reaches_every_link_whole() {
        let (mut router, mut inboxes) = two();
        let long = vec![b'x'; MAX_LINE_BYTES + 10];
        router.read(&long, Instant::now(), &mut inboxes);
        router.read(b"yy\r\nMVP1\r\n", Instant::now(), &mut inboxes);
        let mut whole = long.clone();
        whole.extend_from_slice(b"yy\r\n");
        let n = take(&mut inboxes, "N");
        assert_eq!(n.as_bytes(), whole.as_slice());
        let m = take(&mut inboxes, "M");
        assert_eq!(m.len(), whole.len() + 6);
    }
}
