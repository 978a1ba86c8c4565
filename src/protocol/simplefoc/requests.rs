//! Requests to the Commander, one on the wire at a time, and the replies
//! that answer them. The Commander answers in order, one line each (a
//! scan one line per handler); a request unanswered for 300 ms (or the
//! wait it names) is sent again (a late reply then comes twice, and the
//! second, matching nothing, is passed on as text), and given up after its
//! tries. A stop (disable, end of monitoring) jumps the queue and is
//! written at once, so it goes out even when the link closes right after.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::params::{motion_code, torque_code};
use super::wire::{Printed, bits, decimals_reply, printed_number, scan_line, verbosity_reply};

/// How long a request waits for its reply before it is sent again: long
/// enough for a reply queued behind monitoring output on a busy host.
pub const REPLY_TIMEOUT: Duration = Duration::from_millis(300);

/// What a value reply holds after its echo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyKind {
    /// A number as `Print` wrote it.
    Number,
    /// A motion type's name (`MC`).
    Motion,
    /// A torque type's name (`MT`).
    Torque,
    /// Seven `0`/`1` (`MMS`).
    Bits,
}

/// The reply a request waits for.
#[derive(Clone, Debug, PartialEq)]
pub enum Expect {
    /// The reply to a bare `@`, in whatever verbosity is in force.
    Verbosity,
    /// `@machine`, the reply to `@3`.
    Machine,
    /// `?` and `#` sent together: a line per handler, then `#N`.
    Scan,
    /// `#N`.
    Decimals,
    /// The reply to `{L}C` from the handler under `letter`.
    Verify {
        /// The motor's command letter.
        letter: char,
    },
    /// The command's echo, then a value of `kind`.
    Value {
        /// The command as the Commander echoes it.
        echo: String,
        /// What follows the echo.
        kind: ReplyKind,
    },
    /// A line the user typed: its reply is whatever text comes until the
    /// device falls quiet, which the adapter reads itself (never here).
    Typed,
}

/// A reply, read.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// The verbosity in force (0 … 3).
    Verbosity(u8),
    /// `@machine`: verbosity 3 is in force.
    Machine,
    /// One handler of the scan.
    Handler(char, String),
    /// `#N`: the decimal places the Commander prints.
    Decimals(u8),
    /// `{L}C<motion>`: `Commander::motor` (Commander.cpp:124-127, 180-183).
    Motor(u8),
    /// `{L}<motion>`: `Commander::motion` echoes no command letter.
    MotionHandler,
    /// A reply of another kind of handler.
    NotMotor,
    /// A number, with the digits it was printed with.
    Number(Printed),
    /// A motion or torque type's code.
    Code(u8),
    /// The `MMS` mask, target in the highest of seven bits.
    Bits(u8),
    /// `err` after the echo.
    Error,
}

impl Expect {
    /// `line` read as the reply this waits for; `None` when it is not one.
    pub fn read(&self, line: &str) -> Option<Reply> {
        match self {
            Self::Verbosity => verbosity_reply(line).map(Reply::Verbosity),
            Self::Machine => (line == "@machine").then_some(Reply::Machine),
            Self::Scan => scan_line(line)
                .map(|(letter, label)| Reply::Handler(letter, label.to_owned()))
                .or_else(|| decimals_reply(line).map(Reply::Decimals)),
            Self::Decimals => decimals_reply(line).map(Reply::Decimals),
            Self::Verify { letter } => {
                let rest = line.strip_prefix(*letter)?;
                if let Some(code) = rest.strip_prefix('C').and_then(motion_code) {
                    Some(Reply::Motor(code))
                } else if motion_code(rest).is_some() {
                    Some(Reply::MotionHandler)
                } else if rest.ends_with("err") || printed_number(rest).is_some() {
                    Some(Reply::NotMotor)
                } else {
                    None
                }
            }
            Self::Value { echo, kind } => {
                let rest = line.strip_prefix(echo.as_str())?;
                if rest == "err" {
                    return Some(Reply::Error);
                }
                match kind {
                    ReplyKind::Number => printed_number(rest).map(Reply::Number),
                    ReplyKind::Motion => motion_code(rest).map(Reply::Code),
                    ReplyKind::Torque => torque_code(rest).map(Reply::Code),
                    ReplyKind::Bits => bits(rest).map(Reply::Bits),
                }
            }
            Self::Typed => None,
        }
    }
}

/// One request.
#[derive(Clone, Debug)]
pub struct Request<P> {
    /// What the request is for, handed back with its reply.
    pub purpose: P,
    /// The line sent, without its line end.
    pub wire: String,
    /// The reply it waits for.
    pub expect: Expect,
    /// Sends before it is given up.
    pub tries: u8,
    /// Already written (a stop, which does not wait its turn).
    pub sent: bool,
    /// How long it waits for its reply before it is sent again or given
    /// up: [`REPLY_TIMEOUT`] unless it says otherwise.
    pub wait: Duration,
}

impl<P> Request<P> {
    /// A request for `purpose`, written as `wire`, waiting for `expect`, with the default tries and wait.
    pub fn new(purpose: P, wire: String, expect: Expect) -> Self {
        Self {
            purpose,
            wire,
            expect,
            tries: 3,
            sent: false,
            wait: REPLY_TIMEOUT,
        }
    }

    /// The request with `tries` sends before it is given up.
    pub fn tries(mut self, tries: u8) -> Self {
        self.tries = tries;
        self
    }

    /// Waits `wait` for its reply rather than [`REPLY_TIMEOUT`].
    pub fn waiting(mut self, wait: Duration) -> Self {
        self.wait = wait;
        self
    }
}

#[derive(Debug)]
struct InFlight<P> {
    request: Request<P>,
    sent_at: Instant,
    sends: u8,
}

/// The queue and the request on the wire.
#[derive(Debug)]
pub struct Requests<P> {
    queue: VecDeque<Request<P>>,
    in_flight: Option<InFlight<P>>,
}

impl<P> Default for Requests<P> {
    fn default() -> Self {
        Self {
            queue: VecDeque::new(),
            in_flight: None,
        }
    }
}

impl<P: Clone> Requests<P> {
    /// Queues a request behind those waiting.
    pub fn push(&mut self, request: Request<P>) {
        self.queue.push_back(request);
    }

    /// Queues `requests` ahead of everything waiting, in their order.
    pub fn push_next(&mut self, requests: Vec<Request<P>>) {
        for request in requests.into_iter().rev() {
            self.queue.push_front(request);
        }
    }

    /// Writes `request` at once, ahead of everything not yet sent.
    pub fn push_urgent(&mut self, mut request: Request<P>, out: &mut Vec<u8>) {
        out.extend_from_slice(request.wire.as_bytes());
        request.sent = true;
        let at = self.queue.iter().take_while(|r| r.sent).count();
        self.queue.insert(at, request);
    }

    /// The request on the wire.
    pub fn in_flight(&self) -> Option<&Request<P>> {
        self.in_flight.as_ref().map(|f| &f.request)
    }

    /// The request on the wire was answered.
    pub fn answered(&mut self) -> Option<Request<P>> {
        self.in_flight.take().map(|f| f.request)
    }

    /// Part of the reply to the request on the wire came: its wait starts
    /// again from `now`.
    pub fn heard(&mut self, now: Instant) {
        if let Some(flight) = &mut self.in_flight {
            flight.sent_at = now;
        }
    }

    /// A request already written (a stop) that waits behind the one on the
    /// wire for its turn to be read.
    pub fn written_next(&self) -> Option<&Request<P>> {
        self.queue.front().filter(|r| r.sent)
    }

    /// Takes [`Self::written_next`] out: its reply came early.
    pub fn take_written_next(&mut self) -> Option<Request<P>> {
        if self.written_next().is_some() {
            self.queue.pop_front()
        } else {
            None
        }
    }

    /// With the wire free, takes a request already written (a stop) as
    /// the one on the wire, so its reply is known for what it is even
    /// when it follows the last reply at once.
    pub fn promote_sent(&mut self, now: Instant) {
        if self.in_flight.is_none() && self.queue.front().is_some_and(|r| r.sent) {
            self.send_next(now, &mut Vec::new());
        }
    }

    /// Nothing waiting and nothing on the wire.
    pub fn is_idle(&self) -> bool {
        self.in_flight.is_none() && self.queue.is_empty()
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.queue.clear();
        self.in_flight = None;
    }

    /// Sends the next request when the wire is free, or the one on it again
    /// when its reply is late; returns a request given up.
    pub fn send_next(&mut self, now: Instant, out: &mut Vec<u8>) -> Option<Request<P>> {
        if let Some(flight) = &mut self.in_flight {
            if now.duration_since(flight.sent_at) < flight.request.wait {
                return None;
            }
            if flight.sends < flight.request.tries {
                flight.sends += 1;
                flight.sent_at = now;
                out.extend_from_slice(flight.request.wire.as_bytes());
                return None;
            }
            return self.in_flight.take().map(|f| f.request);
        }
        let request = self.queue.pop_front()?;
        if !request.sent {
            out.extend_from_slice(request.wire.as_bytes());
        }
        self.in_flight = Some(InFlight {
            request,
            sent_at: now,
            sends: 1,
        });
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_told_by_their_echo() {
        let number = Expect::Value {
            echo: "MVP".into(),
            kind: ReplyKind::Number,
        };
        assert!(
            matches!(number.read("MVP0.200000002980"), Some(Reply::Number(p)) if p.value == 0.2)
        );
        assert_eq!(number.read("MVPerr"), Some(Reply::Error));
        assert_eq!(number.read("MVI10.000"), None);
        assert_eq!(number.read("0.2000"), None, "a one-variable monitor line");
        let verify = Expect::Verify { letter: 'T' };
        assert_eq!(verify.read("TCangle"), Some(Reply::Motor(2)));
        assert_eq!(verify.read("Tangle"), Some(Reply::MotionHandler));
        assert_eq!(verify.read("Terr"), Some(Reply::NotMotor));
        assert_eq!(verify.read("Target reached"), None);
        let bits = Expect::Value {
            echo: "MMS".into(),
            kind: ReplyKind::Bits,
        };
        assert_eq!(bits.read("MMS0100011"), Some(Reply::Bits(0b010_0011)));
        assert_eq!(
            Expect::Scan.read("?M:motor"),
            Some(Reply::Handler('M', "motor".into()))
        );
        assert_eq!(Expect::Scan.read("#3"), Some(Reply::Decimals(3)));
    }

    #[test]
    fn one_request_at_a_time_resent_then_given_up() {
        let start = Instant::now();
        let mut requests = Requests::default();
        requests.push(Request::new(1, "MVP\n".into(), Expect::Machine).tries(2));
        requests.push(Request::new(2, "MVI\n".into(), Expect::Machine));
        let mut out = Vec::new();
        assert!(requests.send_next(start, &mut out).is_none());
        assert!(requests.send_next(start, &mut out).is_none());
        assert_eq!(out, b"MVP\n", "the second waits");
        let late = start + REPLY_TIMEOUT;
        assert!(requests.send_next(late, &mut out).is_none());
        assert_eq!(out, b"MVP\nMVP\n", "sent again");
        let given_up = requests.send_next(late + REPLY_TIMEOUT, &mut out);
        assert_eq!(given_up.map(|r| r.purpose), Some(1));
        requests.push_urgent(Request::new(3, "ME0\n".into(), Expect::Machine), &mut out);
        assert!(out.ends_with(b"ME0\n"), "a stop goes out at once");
        requests.send_next(late + REPLY_TIMEOUT, &mut out);
        assert_eq!(requests.in_flight().map(|r| r.purpose), Some(3));
        assert!(!out.ends_with(b"ME0\nME0\n"), "and not twice");
    }
}
