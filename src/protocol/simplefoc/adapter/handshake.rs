//! The probe, from the first byte sent to the motor proven and read. No
//! request here can write anything of the motor's: `@`, `?` and `#` are the
//! Commander's own (Commander.cpp:62-94, run before any handler), and the
//! first request a handler sees is `{L}C`, which both handlers the library
//! offers for a motor take as a read (Commander.cpp:180-183, 425-465).
//! Only once its reply has shown a `Commander::motor` are the motor's
//! values read.

use std::time::{Duration, Instant};

use super::{Purpose, SimpleFocAdapter, Stage};
use crate::protocol::TextLevel;
use crate::protocol::simplefoc::params::MOTION_INDEX;
use crate::protocol::simplefoc::requests::{Expect, Reply, ReplyKind, Request};
use crate::protocol::simplefoc::session::SESSION_DECIMALS;
use crate::protocol::simplefoc::stream::MonitorReader;
use crate::protocol::simplefoc::wire::verbosity_reply;

/// After a probe went unanswered, the next is not sent before this.
const RETRY_AFTER: Duration = Duration::from_secs(1);

impl SimpleFocAdapter {
    /// Starts the probe once the sketch's setup text has ended.
    pub(super) fn handshake_poll(&mut self, now: Instant) {
        let Stage::Waiting { retry } = self.stage else {
            return;
        };
        if retry.is_some_and(|at| now < at) || !self.boot.may_send(now) {
            return;
        }
        self.stage = Stage::Probing;
        self.requests
            .push(Request::new(Purpose::ReadVerbosity, "@\n".into(), Expect::Verbosity).tries(2));
    }

    /// A reply to `@` that came after its request was given up (a board
    /// that answered once its `setup()` ended) still tells the verbosity
    /// the sketch chose.
    pub(super) fn late_verbosity(&mut self, text: &str) {
        if let Some(verbosity) = verbosity_reply(text)
            && self.device.is_none()
            && self.commander.verbosity().is_none()
        {
            self.commander.found_verbosity(verbosity);
        }
    }

    pub(super) fn on_handshake_reply(&mut self, purpose: Purpose, reply: Reply) {
        match (purpose, reply) {
            (Purpose::ReadVerbosity, Reply::Verbosity(verbosity)) => {
                self.commander.found_verbosity(verbosity);
                self.stage = Stage::Describing;
                if verbosity == 3 {
                    self.scan();
                } else {
                    self.set_verbosity();
                }
            }
            (Purpose::SetVerbosity, Reply::Machine) => {
                self.commander.verbosity_set();
                if self.commander.verbosity() == Some(0) {
                    self.text(
                        TextLevel::Info,
                        "the Commander was in verbosity @0, which answers nothing: @3 for this \
                         session, @0 again when it ends"
                            .to_owned(),
                    );
                }
                self.stage = Stage::Describing;
                self.scan();
            }
            (Purpose::Scan, Reply::Handler(letter, label)) => self.handlers.push((letter, label)),
            (Purpose::Scan, Reply::Decimals(decimals)) => {
                self.commander.found_decimals(decimals);
                self.choose_motor();
            }
            (Purpose::Verify, Reply::Motor(motion)) => {
                self.motion = motion;
                self.values[usize::from(MOTION_INDEX)] = Some(f32::from(motion));
                self.read_motor();
            }
            (Purpose::Verify, Reply::MotionHandler) => {
                let message = format!(
                    "'{}' ({}) is a command.motion handler, which takes nearly every command \
                     for a new target: motiontune needs the motor under a command.motor handler, \
                     e.g. command.add('M', doMotor, \"motor\")",
                    self.letter,
                    self.label(self.letter)
                );
                self.fail(message);
            }
            (Purpose::Verify, _) => {
                let message = format!(
                    "'{}' ({}) is not a motor: its reply to {}C is not a motion type; give the \
                     letter of the sketch's command.motor handler",
                    self.letter,
                    self.label(self.letter),
                    self.letter
                );
                self.fail(message);
            }
            (Purpose::SetDecimals, Reply::Decimals(_)) => self.commander.decimals_set(),
            _ => {}
        }
    }

    pub(super) fn on_handshake_silence(&mut self, purpose: Purpose, now: Instant) {
        match purpose {
            // `@0` prints nothing, not even this: try `@3`.
            Purpose::ReadVerbosity => self.set_verbosity(),
            Purpose::SetVerbosity => {
                self.stage = Stage::Waiting {
                    retry: Some(now + RETRY_AFTER),
                }
            }
            Purpose::Scan => {
                self.fail("the Commander answered @3 but not ? (its handler list)".to_owned());
            }
            Purpose::Verify => {
                let message = format!(
                    "nothing answered {}C: the motor is not under '{}'",
                    self.letter, self.letter
                );
                self.fail(message);
            }
            // Values then read with the sketch's own decimals, compared
            // within half their last digit.
            Purpose::SetDecimals => self.text(
                TextLevel::Warning,
                "no reply to #12: values are read with the sketch's decimals".to_owned(),
            ),
            _ => {}
        }
    }

    fn set_verbosity(&mut self) {
        self.requests
            .push(Request::new(Purpose::SetVerbosity, "@3\n".into(), Expect::Machine).tries(2));
    }

    /// `?` lists the handlers; `#` after it reads the decimals and marks
    /// the list's end.
    fn scan(&mut self) {
        self.handlers.clear();
        self.requests
            .push(Request::new(Purpose::Scan, "?\n#\n".into(), Expect::Scan).tries(2));
    }

    fn label(&self, letter: char) -> String {
        self.handlers
            .iter()
            .find(|(l, _)| *l == letter)
            .map_or_else(String::new, |(_, label)| format!("'{label}'"))
    }

    /// The motor's letter: the one asked for when the sketch has a handler
    /// under it, else the one handler labelled a motor; then `{L}C`.
    fn choose_motor(&mut self) {
        let asked = self.settings.letter;
        let letter = if self.handlers.iter().any(|(l, _)| *l == asked) {
            asked
        } else {
            let motors: Vec<&(char, String)> = self
                .handlers
                .iter()
                .filter(|(_, label)| label.to_ascii_lowercase().contains("motor"))
                .collect();
            let &[&(letter, ref label)] = motors.as_slice() else {
                let message = self.no_motor_message(asked);
                return self.fail(message);
            };
            let message = format!(
                "the sketch has nothing under '{asked}': using its motor '{letter}' ('{label}')"
            );
            self.text(TextLevel::Info, message);
            letter
        };
        self.letter = letter;
        self.motor_chosen = true;
        // Learned before the handlers were known, from the lines of the
        // motor found in place of the one asked for: learned again.
        if self
            .monitor
            .start()
            .is_some_and(|start| self.is_other_motor(start))
        {
            self.monitor = MonitorReader::default();
        }
        let others: Vec<String> = self
            .other_motors()
            .map(|(l, label)| format!("{l} '{label}'"))
            .collect();
        if !others.is_empty() {
            let message = format!(
                "the sketch has other motors ({}): each connects as a device of its own over \
                 this port, with its letter",
                others.join(", ")
            );
            self.text(TextLevel::Info, message);
        }
        self.requests.push(Request::new(
            Purpose::Verify,
            format!("{letter}C\n"),
            Expect::Verify { letter },
        ));
    }

    /// The handlers besides this motor's whose label says motor: the
    /// sketch's other motors.
    pub(super) fn other_motors(&self) -> impl Iterator<Item = &(char, String)> {
        self.handlers.iter().filter(|(letter, label)| {
            *letter != self.letter && label.to_ascii_lowercase().contains("motor")
        })
    }

    fn no_motor_message(&self, asked: char) -> String {
        let add = format!("command.add('{asked}', doMotor, \"motor\")");
        if self.handlers.is_empty() {
            return format!(
                "the sketch's Commander has no handlers: register the motor with {add}"
            );
        }
        let listed: Vec<String> = self
            .handlers
            .iter()
            .map(|(letter, label)| format!("{letter} '{label}'"))
            .collect();
        format!(
            "the sketch's Commander has nothing under '{asked}' (it has {}): give the motor's \
             letter, or register the motor with {add}",
            listed.join(", ")
        )
    }

    /// The motor is proven: the decimals for the session, then every value.
    fn read_motor(&mut self) {
        if self
            .commander
            .decimals()
            .is_none_or(|decimals| decimals < SESSION_DECIMALS)
        {
            self.requests.push(Request::new(
                Purpose::SetDecimals,
                format!("#{SESSION_DECIMALS}\n"),
                Expect::Decimals,
            ));
        }
        let torque = self.motor_request(Purpose::ReadTorque, "T", ReplyKind::Torque);
        let enabled = self.motor_request(Purpose::ReadEnabled, "E", ReplyKind::Number);
        self.requests.push(torque);
        self.requests.push(enabled);
        for index in 0..self.params.len() as u8 {
            let read = self.read_request(index, Purpose::Describe(index));
            self.requests.push(read);
        }
        self.describe_left = self.params.len() + 2;
    }
}
