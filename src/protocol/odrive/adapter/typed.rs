//! Lines the user typed in the console. ODrive's replies carry no request
//! id: order is all that pairs a reply with its request, so a typed line
//! must never leave a reply the adapter takes for one of its own.
//!
//! - `r` and `f` are answered with exactly one line, whatever they ask
//!   (the value, or the firmware's complaint: fw-v0.5.6
//!   ascii_protocol.cpp:275-288, 345-361). Such a line goes out in order
//!   with the adapter's requests, its reply expected like theirs and
//!   passed on as text: polling goes on.
//! - Any other line may be answered with nothing (`w`, `p`, `u` … on
//!   success), one line (an error) or many (`h`, `i`). It waits until every
//!   reply due has come, goes out alone, and every line that arrives until
//!   the device has been quiet for [`TYPED_QUIET`] (or silent for
//!   [`TYPED_REPLY_WAIT`]) is its reply; the adapter's requests wait
//!   meanwhile, as in a resync, so polling pauses that long. Then what the
//!   line may have changed is read again: `input_pos` and the control mode
//!   after a motion command, the property a `w` wrote.
//! - `ss`, `se` and `sr` are not sent: from 0.5.2 they reboot the board,
//!   which only the app's *Save* waits for.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::{Expect, OdriveAdapter};
use crate::protocol::adapter::Unsupported;
use crate::protocol::odrive::line::encode_request;
use crate::protocol::odrive::params::{CONTROL_MODE_INDEX, INPUT_POS_INDEX, PARAMS};
use crate::protocol::{Command, UNSENDABLE_LINE, is_sendable_line};

/// How long a typed line's reply may take to begin: as long as any reply
/// is given ([`super::REPLY_TIMEOUT`]).
pub(super) const TYPED_REPLY_WAIT: Duration = super::REPLY_TIMEOUT;
/// A typed line's reply has ended once the device has sent nothing for
/// this long.
pub(super) const TYPED_QUIET: Duration = Duration::from_millis(100);

/// Lines typed whose replies cannot be counted, and the one out.
#[derive(Debug, Default)]
pub(super) struct Typing {
    /// Waiting to go out, oldest first.
    waiting: VecDeque<String>,
    /// A typed line is out and its reply may still come until then.
    listening: Option<Instant>,
}

/// Whether the firmware answers `line` with exactly one line.
fn one_reply_line(line: &str) -> bool {
    matches!(line.bytes().next(), Some(b'r' | b'f'))
}

impl OdriveAdapter {
    /// Why `line` may not be typed to the ODrive; `None` when it may.
    pub(super) fn typed_refusal(&self, line: &str) -> Option<String> {
        if !is_sendable_line(line) {
            return Some(UNSENDABLE_LINE.to_owned());
        }
        if ["ss", "se", "sr"].iter().any(|cmd| line.starts_with(cmd)) {
            return Some(
                "not sent: ss, se and sr reboot the ODrive from 0.5.2; save with the app's Save, \
                 which waits for the reboot"
                    .to_owned(),
            );
        }
        None
    }

    /// [`Self::typed_refusal`] in full, for the console.
    pub(super) fn typed_refusal_line(&self, line: &str) -> String {
        match self.typed_refusal(line) {
            _ if self.device.is_none() => "not sent: the ODrive is not described yet".to_owned(),
            Some(why) => why,
            None => "not sent".to_owned(),
        }
    }

    /// Sends or queues a typed line, and what it may have changed to be
    /// read after it.
    pub(super) fn typed(
        &mut self,
        line: &str,
        now: Instant,
        out: &mut Vec<u8>,
    ) -> Result<(), Unsupported> {
        if self.device.is_none() || self.typed_refusal(line).is_some() {
            return Err(Unsupported);
        }
        if one_reply_line(line) {
            self.request(line, Some(Expect::Typed), now, out);
            return Ok(());
        }
        self.typing.waiting.push_back(line.to_owned());
        // Held (the line waits): read once its reply is over.
        let get = Command::Get { index: 0 }.type_code();
        for index in self.changed_by(line) {
            self.read_param(index, Some(get), None, now, out);
        }
        Ok(())
    }

    /// The parameters a typed line may have changed.
    fn changed_by(&self, line: &str) -> Vec<u8> {
        match line.bytes().next() {
            Some(b'p' | b'q' | b't' | b'v' | b'c') => vec![INPUT_POS_INDEX, CONTROL_MODE_INDEX],
            Some(b'w') => {
                let prefix = format!("axis{}.", self.settings.axis);
                let property = line
                    .split_whitespace()
                    .nth(1)
                    .and_then(|name| name.strip_prefix(prefix.as_str()));
                PARAMS
                    .iter()
                    .position(|p| Some(p.path) == property)
                    .map(|at| vec![at as u8])
                    .unwrap_or_default()
            }
            _ => Vec::new(),
        }
    }

    /// Whether the adapter's requests wait for a typed line: one queued or
    /// its reply still coming.
    pub(super) fn typing(&self) -> bool {
        !self.typing.waiting.is_empty() || self.typing.listening.is_some()
    }

    /// Writes the next typed line once every reply due has come, and ends
    /// its reply once the device is quiet, sending what waited meanwhile;
    /// false while the adapter must wait.
    pub(super) fn typing_over(&mut self, now: Instant, out: &mut Vec<u8>) -> bool {
        if let Some(until) = self.typing.listening {
            if now < until {
                return false;
            }
            self.typing.listening = None;
            for (text, expect) in std::mem::take(&mut self.held) {
                // Held again if another typed line waits.
                self.request(&text, Some(expect), now, out);
            }
        }
        if self.typing.waiting.is_empty() {
            return true;
        }
        if self.due.is_empty()
            && let Some(line) = self.typing.waiting.pop_front()
        {
            encode_request(&line, self.settings.checksum, out);
            self.typing.listening = Some(now + TYPED_REPLY_WAIT);
        }
        false
    }

    /// Whether a typed line is out and its reply may still come.
    pub(super) fn typed_listening(&self) -> bool {
        self.typing.listening.is_some()
    }

    /// A line while a typed line's reply may come: its reply, passed on;
    /// the device is not quiet yet.
    pub(super) fn typed_reply_heard(&mut self, now: Instant) {
        self.typing.listening = Some(now + TYPED_QUIET);
    }
}
