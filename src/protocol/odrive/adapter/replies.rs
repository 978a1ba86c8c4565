//! What each reply means: the version, a parameter read (confirming a
//! write, or saying how many digits a read carried), feedback and effort
//! making a sample, the state polled, and a state switch's checks
//! settling into the status, the reason and the setpoint the app is told.

use std::time::Instant;

use super::{CheckPart, Expect, OdriveAdapter, ParamRead, RESYNC_QUIET};
use crate::protocol::adapter::{AdapterError, DecodeTally};
use crate::protocol::host_clock::Stamped;
use crate::protocol::odrive::axis::{self, STATE_CLOSED_LOOP, Settled, Transition};
use crate::protocol::odrive::line::{ReplyError, parse_reply};
use crate::protocol::odrive::params::{
    CURRENT_STATE_INDEX, INPUT_POS_INDEX, PARAMS, WATCHDOG_ON_INDEX, WATCHDOG_TIMEOUT_INDEX,
};
use crate::protocol::odrive::values::{self, parse_float, parse_integer, parse_pair, parse_value};
use crate::protocol::{DeviceErrorCode, Event, StatusFlags, TextLevel};

impl OdriveAdapter {
    pub(super) fn handle_line(
        &mut self,
        line: Result<&[u8], ReplyError>,
        now: Instant,
        tally: &mut DecodeTally,
        emit: &mut dyn FnMut(Event),
    ) -> Result<(), AdapterError> {
        if self.resync_until.is_some() {
            // Any line, whole or not, shows the device is not silent yet.
            self.resync_until = Some(now + RESYNC_QUIET);
        }
        if self.typed_listening() {
            self.typed_reply_heard(now);
            match line.and_then(|l| parse_reply(l, self.settings.checksum)) {
                Ok(text) => {
                    tally.ok += 1;
                    emit(typed_reply(text));
                }
                Err(ReplyError::Checksum) => tally.checksum_errors += 1,
                Err(ReplyError::Framing) => tally.framing_errors += 1,
            }
            return Ok(());
        }
        let due = self.due.pop_front();
        let text = match line.and_then(|l| parse_reply(l, self.settings.checksum)) {
            Ok(text) => text,
            Err(error) => {
                match error {
                    ReplyError::Checksum => tally.checksum_errors += 1,
                    ReplyError::Framing => tally.framing_errors += 1,
                }
                if let Some((expect, _)) = due {
                    self.reply_lost(expect);
                }
                return Ok(());
            }
        };
        tally.ok += 1;
        // A line with nothing due is left over from a request given up on.
        let Some((expect, asked)) = due else {
            tally.message_errors += 1;
            return Ok(());
        };
        match expect {
            Expect::FirmwareMajor | Expect::FirmwareMinor | Expect::FirmwareRevision => {
                self.on_firmware(expect, text, now, tally, emit)?;
            }
            Expect::Param(read) => self.on_param(read, text, now, tally, emit),
            Expect::Feedback { reference } => match parse_pair(text) {
                Some((position, velocity)) => {
                    let sample = [reference, position, velocity];
                    if self.settings.poll_effort {
                        self.pending_sample = Some(sample);
                    } else {
                        self.chunk_samples.push((sample.to_vec(), asked));
                    }
                }
                None => self.misplaced_reply(now, tally),
            },
            Expect::Effort => {
                let sample = self.pending_sample.take();
                match (sample, parse_float(text)) {
                    (Some([reference, position, velocity]), Some(effort)) => {
                        self.chunk_samples
                            .push((vec![reference, position, velocity, effort], asked));
                    }
                    (None, Some(_)) => {}
                    (_, None) => self.misplaced_reply(now, tally),
                }
            }
            Expect::State => match parse_integer(text) {
                Some(state) => self.on_state_read(state as u8, now),
                None => self.misplaced_reply(now, tally),
            },
            Expect::Check { generation, part } => {
                self.on_check(generation, part, text, now, tally, emit);
            }
            Expect::Typed => emit(typed_reply(text)),
            Expect::SaveCheck => match parse_integer(text) {
                Some(state) => self.save_checked(state as u8, emit),
                None => self.misplaced_reply(now, tally),
            },
        }
        Ok(())
    }

    fn on_firmware(
        &mut self,
        expect: Expect,
        text: &str,
        now: Instant,
        tally: &mut DecodeTally,
        emit: &mut dyn FnMut(Event),
    ) -> Result<(), AdapterError> {
        let number = parse_integer(text).and_then(|n| u8::try_from(n).ok());
        match (expect, number) {
            (Expect::FirmwareMajor, Some(n)) => self.firmware.0 = Some(n),
            (Expect::FirmwareMinor, Some(n)) => self.firmware.1 = Some(n),
            // Saving differs from 0.5.2 on; older firmware may not have it.
            (Expect::FirmwareRevision, n) => {
                self.firmware.2 = n;
                return Ok(());
            }
            _ => {
                self.misplaced_reply(now, tally);
                return Ok(());
            }
        }
        if let (Some(major), Some(minor), _) = self.firmware
            && (major, minor) != (0, 5)
        {
            return Err(AdapterError::Incompatible(format!(
                "found an ODrive running firmware {major}.{minor} (it answers `r fw_version_major` and `r fw_version_minor` over its ASCII protocol); motiontune speaks the ASCII protocol of ODrive firmware 0.5.1 to 0.5.6 only"
            )));
        }
        self.try_describe(emit);
        Ok(())
    }

    fn on_param(
        &mut self,
        read: ParamRead,
        text: &str,
        now: Instant,
        tally: &mut DecodeTally,
        emit: &mut dyn FnMut(Event),
    ) {
        let ParamRead {
            index,
            answer,
            written,
        } = read;
        let Some(read) = parse_value(text).or_else(|| {
            // A float of 1e9 or more prints as nine digits without a point.
            written.filter(|&w| values::confirms(text, w))
        }) else {
            match answer {
                Some(request) if values::is_refusal(text) => emit(Event::Refused {
                    request,
                    code: DeviceErrorCode::BadIndex,
                }),
                _ => self.misplaced_reply(now, tally),
            }
            return;
        };
        // The firmware holds exactly the float it scanned from the write.
        let value = match written {
            Some(written) if values::confirms(text, written) => written,
            _ => read,
        };
        if index == INPUT_POS_INDEX {
            self.reference = value;
        }
        self.learn_watchdog(index, value);
        if self.device.is_none() {
            self.values[usize::from(index)] = Some((value, text.to_owned()));
            self.try_describe(emit);
            return;
        }
        if answer.is_none() {
            return;
        }
        emit(Event::Value { index, value });
        if written.is_none()
            && let Some(digits) = values::digits_lost(text)
        {
            let name = PARAMS[usize::from(index)].path;
            emit(Event::Text {
                level: TextLevel::Info,
                message: format!("{name} {text} as read back, {digits} digits"),
            });
        }
    }

    /// Keeps track of the watchdog from what is read and written.
    fn learn_watchdog(&mut self, index: u8, value: f32) {
        let timeout = |adapter: &Self| {
            adapter
                .values
                .get(usize::from(WATCHDOG_TIMEOUT_INDEX))
                .cloned()
                .flatten()
                .map_or(0.0, |(v, _)| v)
        };
        match index {
            WATCHDOG_ON_INDEX if value == 0.0 => self.watchdog = None,
            WATCHDOG_ON_INDEX => self.watchdog = Some(self.watchdog.unwrap_or(timeout(self))),
            WATCHDOG_TIMEOUT_INDEX => {
                self.values[usize::from(index)] = Some((value, String::new()));
                if let Some(current) = &mut self.watchdog {
                    *current = value;
                }
            }
            _ => {}
        }
    }

    /// `current_state` as polled: a change the host did not ask for (a
    /// watchdog trip, an error, another program) is looked into.
    fn on_state_read(&mut self, state: u8, now: Instant) {
        let changed = self.state != Some(state);
        self.state = Some(state);
        if changed && self.transition.is_none() {
            self.generation += 1;
            self.transition = Some(Transition::look(self.generation, now));
        }
    }

    fn on_check(
        &mut self,
        generation: u32,
        part: CheckPart,
        text: &str,
        now: Instant,
        tally: &mut DecodeTally,
        emit: &mut dyn FnMut(Event),
    ) {
        let axis = self.settings.axis;
        let Some(transition) = self
            .transition
            .as_mut()
            .filter(|t| t.generation == generation)
        else {
            // The reply to a check of a transition since superseded.
            return;
        };
        let number = parse_integer(text);
        let next = match (part, number) {
            (CheckPart::Requested, Some(n)) => {
                transition.on_requested(n as u8);
                return;
            }
            (CheckPart::State, Some(n)) => {
                transition.on_state(n as u8);
                return;
            }
            (CheckPart::Error, Some(n)) => {
                transition.on_error(n as u32);
                return;
            }
            (CheckPart::InputPos, _) => match parse_value(text) {
                Some(pos) => transition.on_input_pos(axis, pos, now),
                None => {
                    self.misplaced_reply(now, tally);
                    return;
                }
            },
            _ => {
                self.misplaced_reply(now, tally);
                return;
            }
        };
        if let axis::Next::Done(settled) = next {
            self.transition = None;
            self.settle(settled, emit);
        }
    }

    /// A transition ended: the app learns the state, why it is not the one
    /// asked for, and then the setpoint the firmware holds (entering
    /// closed loop moved it).
    fn settle(&mut self, settled: Settled, emit: &mut dyn FnMut(Event)) {
        let value = f32::from(settled.state);
        if let Some(param) = self
            .device
            .as_mut()
            .and_then(|d| d.params.get_mut(usize::from(CURRENT_STATE_INDEX)))
        {
            param.value = value;
        }
        emit(Event::Value {
            index: CURRENT_STATE_INDEX,
            value,
        });
        self.state = Some(settled.state);
        if let Some(problem) = settled.problem {
            emit(Event::Text {
                level: TextLevel::Error,
                message: problem,
            });
        }
        let mut flags = 0;
        if settled.state == STATE_CLOSED_LOOP {
            flags |= StatusFlags::ENABLED;
        }
        if settled.error & axis::ERROR_WATCHDOG != 0 {
            flags |= StatusFlags::WATCHDOG;
        }
        if settled.error & !axis::ERROR_WATCHDOG != 0 {
            flags |= StatusFlags::FAULT;
        }
        emit(Event::Status {
            flags: StatusFlags(flags),
            tick: 0,
        });
        self.reference = settled.input_pos;
        emit(Event::Value {
            index: INPUT_POS_INDEX,
            value: settled.input_pos,
        });
    }

    /// A reply of the wrong shape for the request it was paired with: most
    /// likely the answer to another, the replies before it lost.
    fn misplaced_reply(&mut self, now: Instant, tally: &mut DecodeTally) {
        tally.message_errors += 1;
        if self.device.is_some() {
            self.resync(now);
        }
    }

    /// A reply that was lost leaves no half sample or half check behind.
    fn reply_lost(&mut self, expect: Expect) {
        match expect {
            Expect::Feedback { .. } | Expect::Effort => self.pending_sample = None,
            Expect::Check { .. } => {
                if let Some(transition) = &mut self.transition {
                    transition.replies_lost();
                }
            }
            _ => {}
        }
    }

    /// Times the samples completed in one chunk: they arrived together,
    /// each measured as much before the last as its poll was sent.
    pub(super) fn emit_samples(&mut self, now: Instant, emit: &mut dyn FnMut(Event)) {
        let samples = std::mem::take(&mut self.chunk_samples);
        let Some(&(_, last_asked)) = samples.last() else {
            return;
        };
        self.clock
            .note_round_trip(now.saturating_duration_since(last_asked));
        for (values, asked) in samples {
            let earlier_by = last_asked.saturating_duration_since(asked);
            if let Some(stamped) = self.clock.push(&values, now, earlier_by) {
                emit_stamped(stamped, emit);
            }
        }
    }
}

/// The reply to a typed line, for the console.
fn typed_reply(text: &str) -> Event {
    Event::Text {
        level: TextLevel::Info,
        message: text.to_owned(),
    }
}

fn emit_stamped(stamped: Stamped, emit: &mut dyn FnMut(Event)) {
    emit(Event::Samples {
        batch: stamped.batch,
        lost_before: stamped.lost_before,
    });
}
