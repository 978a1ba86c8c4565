//! Lines the user typed in the console. The Commander answers every line,
//! and in `@3` a reply names no request the adapter could tell from its
//! own, so a typed line is a request of the adapter's: it waits its turn
//! behind the adapter's requests, goes out once (never sent again: it may
//! write), and while it is on the wire every line that is not monitoring
//! is its reply, passed on as text for the console, until the device has
//! been quiet for [`TYPED_QUIET`] (or has said nothing for
//! [`TYPED_REPLY_WAIT`]: a letter no handler takes is answered with
//! nothing). Nothing of the adapter's goes out meanwhile, so no reply to
//! the typed line is taken for one of its own, nor one of its own for the
//! typed line's, except a stop written at once, whose reply is read as its
//! own. Monitoring lines stay samples throughout.
//!
//! A typed line that would take the session from under the adapter is not
//! sent, and says why: a verbosity other than `@3` (replies could no
//! longer be read), decimals other than 12 (values would no longer be
//! exact), a change to the motor's monitoring (the scope's stream), and a
//! line longer than the Commander keeps. After a typed line that may have
//! written (a value after the motor's command letters, a target, another
//! handler's command), what it may have changed is read again, so the
//! parameters, units and status the app shows stay the device's.

use std::time::{Duration, Instant};

use super::{Purpose, SimpleFocAdapter};
use crate::protocol::adapter::Unsupported;
use crate::protocol::simplefoc::params::{TARGET_INDEX, moved_by};
use crate::protocol::simplefoc::requests::{Expect, ReplyKind, Request};
use crate::protocol::simplefoc::wire::MAX_LINE;
use crate::protocol::{TextLevel, UNSENDABLE_LINE, is_sendable_line};

/// How long a typed line's reply may take to begin (or to go on): one
/// nobody answers holds the adapter's own requests this long.
pub(super) const TYPED_REPLY_WAIT: Duration = Duration::from_secs(1);
/// A typed line's reply has ended once the device has sent no other text
/// for this long.
pub(super) const TYPED_QUIET: Duration = Duration::from_millis(100);

/// What a typed line may have changed, read again after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Refresh {
    /// A parameter (and those the firmware moves with it).
    Param(u8),
    /// The enable state (`{L}E0`, `{L}E1`).
    Enabled,
    /// The torque type (`{L}T1`), which changes units.
    Torque,
}

impl SimpleFocAdapter {
    /// Why `line` may not be typed to the Commander; `None` when it may.
    pub(super) fn typed_refusal(&self, line: &str) -> Option<String> {
        if !is_sendable_line(line) {
            return Some(UNSENDABLE_LINE.to_owned());
        }
        let longest = MAX_LINE - 1;
        if line.len() > longest {
            return Some(format!(
                "not sent: SimpleFOC's Commander keeps {longest} characters a line, this has {}",
                line.len()
            ));
        }
        let monitoring = line
            .strip_prefix(self.letter)
            .and_then(|rest| rest.strip_prefix('M'))
            .is_some_and(|sub| {
                let mut chars = sub.chars();
                let head = chars.next();
                matches!(head, Some('C' | '#'))
                    || (matches!(head, Some('D' | 'S')) && !chars.as_str().is_empty())
            });
        if line.len() > 1 && line.starts_with('@') {
            Some(
                "not sent: the app keeps the Commander at @3 while connected, to read its \
                 replies (@ alone shows it)"
                    .to_owned(),
            )
        } else if line.len() > 1 && line.starts_with('#') {
            Some(
                "not sent: the app keeps the Commander at 12 decimals while connected, to read \
                 values exactly (# alone shows them)"
                    .to_owned(),
            )
        } else if monitoring {
            Some(format!(
                "not sent: the app sets the motor's monitoring for the scope while connected \
                 ({}MG reads a variable)",
                self.letter
            ))
        } else {
            None
        }
    }

    /// The request that sends a typed line, or why it cannot go.
    pub(super) fn typed_request(&self, line: &str) -> Result<Request<Purpose>, Unsupported> {
        if self.typed_refusal(line).is_some() {
            return Err(Unsupported);
        }
        let refresh = self.refresh_for(line);
        Ok(
            Request::new(Purpose::Typed(refresh), format!("{line}\n"), Expect::Typed)
                .tries(1)
                .waiting(TYPED_REPLY_WAIT),
        )
    }

    /// What a typed line may have changed: a value after the motor's
    /// command letters (or a bare number, the target), the target through
    /// another handler; a read changes nothing.
    fn refresh_for(&self, line: &str) -> Option<Refresh> {
        if line.is_empty() || !line.is_ascii() {
            return None;
        }
        let (first, rest) = line.split_at(1);
        if !first.starts_with(self.letter) {
            let commander = matches!(first, "?" | "@" | "#");
            return (!commander && !rest.is_empty()).then_some(Refresh::Param(TARGET_INDEX));
        }
        let head = rest.bytes().next()?;
        if head.is_ascii_digit() || matches!(head, b'-' | b'+' | b'.') {
            return Some(Refresh::Param(TARGET_INDEX));
        }
        let sub = rest.as_bytes().get(1).is_some_and(u8::is_ascii_uppercase);
        let (letters, value) = rest.split_at(if sub { 2 } else { 1 });
        if value.is_empty() {
            return None;
        }
        match letters {
            "E" => Some(Refresh::Enabled),
            "T" => Some(Refresh::Torque),
            _ => self
                .params
                .iter()
                .position(|p| p.letters == letters)
                .map(|at| Refresh::Param(at as u8)),
        }
    }

    /// Whether a typed line is on the wire.
    pub(super) fn typed_on_wire(&self) -> bool {
        self.requests
            .in_flight()
            .is_some_and(|r| matches!(r.purpose, Purpose::Typed(_)))
    }

    /// A line of text while a typed line is on the wire: its reply.
    pub(super) fn typed_reply_line(&mut self, text: &str, now: Instant) {
        self.typed_heard = Some(now);
        self.requests.heard(now);
        self.text(TextLevel::Info, text.to_owned());
    }

    /// Ends a typed line's reply once the device has been quiet after it.
    pub(super) fn typed_poll(&mut self, now: Instant) {
        if !self.typed_on_wire() || self.typed_heard.is_none_or(|at| now < at + TYPED_QUIET) {
            return;
        }
        let done = self.requests.answered();
        self.requests.promote_sent(now);
        if let Some(Purpose::Typed(refresh)) = done.map(|r| r.purpose) {
            self.after_typed(refresh);
        }
    }

    /// A typed line's reply has ended (or never came): what it may have
    /// changed is read before anything else.
    pub(super) fn after_typed(&mut self, refresh: Option<Refresh>) {
        self.typed_heard = None;
        let reads = match refresh {
            None => return,
            Some(Refresh::Enabled) => {
                vec![self.motor_request(Purpose::PollEnabled, "E", ReplyKind::Number)]
            }
            Some(Refresh::Torque) => {
                vec![self.motor_request(Purpose::RefreshTorque, "T", ReplyKind::Torque)]
            }
            Some(Refresh::Param(index)) => {
                let moved = moved_by(self.params[usize::from(index)].name)
                    .iter()
                    .filter_map(|name| self.params.iter().position(|p| p.name == *name));
                std::iter::once(usize::from(index))
                    .chain(moved)
                    .map(|at| self.read_request(at as u8, Purpose::Refresh(at as u8)))
                    .collect()
            }
        };
        self.requests.push_next(reads);
    }
}
