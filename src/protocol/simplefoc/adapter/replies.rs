//! Requests and their replies: what each reply does to the values and the
//! description, a write answered only after the values the firmware moved
//! with it are read again, what a request given up means.

use std::time::Instant;

use super::{PendingWrite, Purpose, SimpleFocAdapter, Stage};
use crate::protocol::adapter::Unsupported;
use crate::protocol::simplefoc::describe::{Answers, device_info};
use crate::protocol::simplefoc::params::{MOTION_INDEX, TARGET_INDEX, ValueKind, moved_by};
use crate::protocol::simplefoc::requests::{Expect, Reply, ReplyKind, Request};
use crate::protocol::simplefoc::wire::{command, echo};
use crate::protocol::{Command, DeviceErrorCode, DeviceInfo, Event, StatusFlags, TextLevel};

impl SimpleFocAdapter {
    /// A request for the value of parameter `index`.
    pub(super) fn read_request(&self, index: u8, purpose: Purpose) -> Request<Purpose> {
        let param = self.params[usize::from(index)];
        let letters = param.read_letters();
        // Reads carry no value, so they always fit.
        let wire = command(self.letter, letters, None).unwrap_or_default();
        Request::new(
            purpose,
            wire,
            Expect::Value {
                echo: echo(self.letter, letters),
                kind: reply_kind(param.kind),
            },
        )
    }

    /// A request of the motor's command `letters` (a read), answered with
    /// a value of `kind`.
    pub(super) fn motor_request(
        &self,
        purpose: Purpose,
        letters: &str,
        kind: ReplyKind,
    ) -> Request<Purpose> {
        Request::new(
            purpose,
            format!("{}{letters}\n", self.letter),
            Expect::Value {
                echo: echo(self.letter, letters),
                kind,
            },
        )
    }

    /// Records the value of parameter `index` in force.
    pub(super) fn update_value(&mut self, index: u8, value: f32) {
        self.values[usize::from(index)] = Some(value);
        if index == MOTION_INDEX && value.fract() == 0.0 && (0.0..7.0).contains(&value) {
            self.motion = value as u8;
        }
        if let Some(param) = self
            .device
            .as_mut()
            .and_then(|d| d.params.get_mut(usize::from(index)))
        {
            param.value = value;
        }
    }

    /// The description from the values read; `None` until complete.
    pub(super) fn build_description(&self) -> DeviceInfo {
        let values: Vec<f32> = self.values.iter().map(|v| v.unwrap_or(f32::NAN)).collect();
        let mut info = device_info(
            &self.settings,
            &Answers {
                letter: self.letter,
                params: &self.params,
                values: &values,
                motion: self.motion,
                torque: self.torque,
                stream_hz: self.streaming.plan().stream_hz(),
            },
        );
        info.other_axes = self
            .other_motors()
            .map(|(letter, _)| letter.to_string())
            .collect();
        info
    }

    /// One description read answered (or given up).
    pub(super) fn described_one(&mut self) {
        self.describe_left = self.describe_left.saturating_sub(1);
        if self.describe_left > 0 || self.stage != Stage::Describing {
            return;
        }
        self.device = Some(self.build_description());
        self.stage = Stage::Ready;
        if let Some(on) = self.enabled {
            self.emit_later(status(on));
        }
    }

    /// The description again after the modes changed what things mean.
    pub(super) fn redescribe(&mut self) {
        let Some(old) = &self.device else {
            return;
        };
        let new = self.build_description();
        if new.channels != old.channels
            || new.firmware != old.firmware
            || new
                .params
                .iter()
                .zip(&old.params)
                .any(|(a, b)| a.unit != b.unit)
        {
            self.device = Some(new.clone());
            self.emit_later(Event::Described(new));
        }
    }

    /// A reply to the request on the wire.
    pub(super) fn on_reply(&mut self, purpose: Purpose, reply: Reply, now: Instant) {
        self.progress = Some(now);
        match purpose {
            Purpose::ReadVerbosity
            | Purpose::SetVerbosity
            | Purpose::Scan
            | Purpose::Verify
            | Purpose::SetDecimals => self.on_handshake_reply(purpose, reply),
            Purpose::ReadTorque => {
                if let Reply::Code(code) = reply {
                    self.torque = code;
                }
                self.described_one();
            }
            Purpose::ReadEnabled => {
                if let Reply::Number(p) = reply {
                    self.enabled = Some(p.value != 0.0);
                }
                self.described_one();
            }
            Purpose::Describe(index) => {
                let value = reply_value(&reply).unwrap_or(f32::NAN);
                self.update_value(index, value);
                self.described_one();
            }
            Purpose::Get(index) => match reply_value(&reply) {
                Some(value) => {
                    self.update_value(index, value);
                    self.emit_later(Event::Value { index, value });
                }
                None => self.emit_later(refusal(purpose)),
            },
            Purpose::Set { index, value } => self.on_write_answered(index, value, &reply),
            Purpose::Reread(index) => {
                if let Some(value) = reply_value(&reply) {
                    self.update_value(index, value);
                    self.emit_later(Event::Value { index, value });
                }
                self.reread_done();
            }
            Purpose::Enable(_) | Purpose::PollEnabled => {
                if let Reply::Number(p) = reply {
                    let on = p.value != 0.0;
                    let changed = self.enabled != Some(on);
                    self.enabled = Some(on);
                    if changed || matches!(purpose, Purpose::Enable(_)) {
                        self.emit_later(status(on));
                    }
                } else if let Purpose::Enable(_) = purpose {
                    self.emit_later(refusal(purpose));
                }
            }
            Purpose::MonitorSet
            | Purpose::MonitorRate
            | Purpose::FoundRate
            | Purpose::FoundSelection => self.on_monitor_reply(purpose, &reply, now),
            // A typed line's reply is read line by line as it comes.
            Purpose::Typed(_) => {}
            Purpose::Refresh(index) => {
                if let Some(value) = reply_value(&reply) {
                    self.update_value(index, value);
                    self.emit_later(Event::Value { index, value });
                    self.redescribe();
                }
            }
            Purpose::RefreshTorque => {
                if let Reply::Code(code) = reply {
                    self.torque = code;
                    self.redescribe();
                }
            }
        }
    }

    /// The echo of a write: the value in force is the one written when the
    /// echo prints it (to within half its last digit), else the echo's.
    pub(super) fn on_write_answered(&mut self, index: u8, requested: f32, reply: &Reply) {
        let value = match reply {
            Reply::Number(printed) if printed.agrees_with(requested) => requested,
            Reply::Number(printed) => printed.value,
            Reply::Code(code) => f32::from(*code),
            _ => {
                self.emit_later(refusal(Purpose::Set {
                    index,
                    value: requested,
                }));
                return;
            }
        };
        self.update_value(index, value);
        let moved: Vec<u8> = moved_by(self.params[usize::from(index)].name)
            .iter()
            .filter_map(|name| self.params.iter().position(|p| p.name == *name))
            .map(|at| at as u8)
            .collect();
        let rereads: Vec<Request<Purpose>> = moved
            .iter()
            .map(|&at| self.read_request(at, Purpose::Reread(at)))
            .collect();
        self.write = Some(PendingWrite {
            index,
            value,
            rereads_left: rereads.len(),
        });
        if rereads.is_empty() {
            self.reread_done();
        } else {
            self.requests.push_next(rereads);
        }
    }

    /// One value moved by a write read again; the write is answered after
    /// the last, so whoever waits for it finds the others current.
    pub(super) fn reread_done(&mut self) {
        let Some(write) = &mut self.write else {
            return;
        };
        write.rereads_left = write.rereads_left.saturating_sub(1);
        if write.rereads_left > 0 {
            return;
        }
        let PendingWrite { index, value, .. } = *write;
        self.write = None;
        self.redescribe();
        self.emit_later(Event::Value { index, value });
    }

    /// A request whose reply never came.
    pub(super) fn unanswered(&mut self, request: Request<Purpose>, now: Instant) {
        match request.purpose {
            Purpose::ReadVerbosity
            | Purpose::SetVerbosity
            | Purpose::Scan
            | Purpose::Verify
            | Purpose::SetDecimals => self.on_handshake_silence(request.purpose, now),
            Purpose::ReadTorque | Purpose::ReadEnabled => self.described_one(),
            Purpose::Describe(index) => {
                // A parameter this firmware does not answer: described
                // anyway, read-only, so the indices stay the same.
                self.values[usize::from(index)] = Some(f32::NAN);
                self.described_one();
            }
            Purpose::Reread(_) => self.reread_done(),
            Purpose::PollEnabled | Purpose::Refresh(_) | Purpose::RefreshTorque => {}
            Purpose::Typed(refresh) => self.after_typed(refresh),
            Purpose::MonitorSet
            | Purpose::MonitorRate
            | Purpose::FoundRate
            | Purpose::FoundSelection => self.text(
                TextLevel::Warning,
                format!("no reply to {}", request.wire.trim_end()),
            ),
            Purpose::Get(_) | Purpose::Set { .. } | Purpose::Enable(_) => {
                self.emit_later(refusal(request.purpose));
            }
        }
    }

    /// The request that writes `value` to parameter `index`.
    pub(super) fn write_request(
        &mut self,
        index: u8,
        value: f32,
    ) -> Result<Request<Purpose>, Unsupported> {
        let Some(param) = self.params.get(usize::from(index)).copied() else {
            return Err(Unsupported);
        };
        let value = if param.kind == ValueKind::Motion {
            value.round()
        } else {
            value
        };
        let wire = match command(self.letter, param.letters, Some(value)) {
            Ok(wire) => wire,
            Err(error) => {
                self.text(TextLevel::Error, error.to_string());
                return Err(Unsupported);
            }
        };
        let echo = if index == TARGET_INDEX {
            self.letter.to_string()
        } else {
            echo(self.letter, param.letters)
        };
        Ok(Request::new(
            Purpose::Set { index, value },
            wire,
            Expect::Value {
                echo,
                kind: reply_kind(param.kind),
            },
        ))
    }
}

/// How a parameter's reply is read.
pub(super) fn reply_kind(kind: ValueKind) -> ReplyKind {
    match kind {
        ValueKind::Number => ReplyKind::Number,
        ValueKind::Motion => ReplyKind::Motion,
    }
}

/// The value a reply gives a parameter.
pub(super) fn reply_value(reply: &Reply) -> Option<f32> {
    match reply {
        Reply::Number(printed) => Some(printed.value),
        Reply::Code(code) => Some(f32::from(*code)),
        _ => None,
    }
}

pub(super) fn status(enabled: bool) -> Event {
    Event::Status {
        flags: StatusFlags(if enabled { StatusFlags::ENABLED } else { 0 }),
        tick: 0,
    }
}

pub(super) fn refusal(purpose: Purpose) -> Event {
    let request = match purpose {
        Purpose::Get(index) => Command::Get { index },
        Purpose::Set { index, value } => Command::Set { index, value },
        Purpose::Enable(on) => Command::Enable(on),
        _ => Command::Hello,
    };
    Event::Refused {
        request: request.type_code(),
        code: DeviceErrorCode::Unsupported,
    }
}
