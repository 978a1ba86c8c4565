//! Switching the axis between idle and closed loop ([`Transition`]),
//! feeding its watchdog, and saving, which from 0.5.2 reboots the board
//! and is done only once the other axis is read idle.

use std::time::{Duration, Instant};

use super::{CheckPart, Expect, FEEDS_PER_TIMEOUT, OdriveAdapter, REBOOT_WAIT};
use crate::protocol::adapter::{Adapter, Unsupported};
use crate::protocol::odrive::axis::{STATE_CLOSED_LOOP, STATE_IDLE, Transition};
use crate::protocol::odrive::params::PARAMS;
use crate::protocol::{Command, DeviceErrorCode, Event, TextLevel};

impl OdriveAdapter {
    /// A state switch under way: its request, its checks, and once it is
    /// over the setpoint writes held meanwhile.
    pub(super) fn poll_transition(&mut self, now: Instant, out: &mut Vec<u8>) {
        let axis = self.settings.axis;
        let Some(transition) = &self.transition else {
            for command in std::mem::take(&mut self.deferred) {
                let _ = self.encode(&command, now, out);
            }
            return;
        };
        if transition.request_due {
            let target = transition.target.unwrap_or(STATE_IDLE);
            if target == STATE_CLOSED_LOOP {
                // A watchdog left unfed would trip between the error's
                // clearing and the axis thread's wake; and 0.5.x refuses
                // closed loop while an error is latched.
                self.feed(now, out);
                self.request(&format!("w axis{axis}.error 0"), None, now, out);
            }
            self.request(
                &format!("w axis{axis}.requested_state {target}"),
                None,
                now,
                out,
            );
            if let Some(transition) = &mut self.transition {
                transition.requested(now);
            }
        }
        let generation = match &mut self.transition {
            Some(t) if t.check_due(now) => {
                t.checking = true;
                t.generation
            }
            _ => return,
        };
        for (path, part) in [
            ("requested_state", CheckPart::Requested),
            ("current_state", CheckPart::State),
            ("error", CheckPart::Error),
            ("controller.input_pos", CheckPart::InputPos),
        ] {
            let expect = Expect::Check { generation, part };
            self.request(&format!("r axis{axis}.{path}"), Some(expect), now, out);
        }
    }

    /// `u AXIS`: feeds the watchdog.
    pub(super) fn feed(&mut self, now: Instant, out: &mut Vec<u8>) {
        let axis = self.settings.axis;
        self.request(&format!("u {axis}"), None, now, out);
        if let Some(timeout) = self.watchdog {
            let period = Duration::from_secs_f32(timeout.max(0.0)) / FEEDS_PER_TIMEOUT;
            self.next_feed = now + period.clamp(Duration::from_millis(10), Duration::from_secs(1));
        }
    }

    /// After a reboot to save: everything is read again, and the state.
    pub(super) fn reread_after_reboot(&mut self, now: Instant, out: &mut Vec<u8>) {
        for index in 0..PARAMS.len() as u8 {
            let get = Command::Get { index }.type_code();
            self.read_param(index, Some(get), None, now, out);
        }
        self.generation += 1;
        self.transition = Some(Transition::look(self.generation, now));
    }

    /// `ss`. From 0.5.2 the firmware saves only while no motor is armed
    /// and then reboots (fw-v0.5.6 main.cpp:159-184): refused here while
    /// the axis is in closed loop, and followed by a wait and a fresh read
    /// of everything, the app told why.
    pub(super) fn save(&mut self, now: Instant, out: &mut Vec<u8>) -> Result<(), Unsupported> {
        if self.firmware.2 == Some(1) {
            // 0.5.1 saves in any state and carries on (fw-v0.5.1
            // main.cpp:43-61).
            self.request("ss", None, now, out);
            return Ok(());
        }
        if self.state == Some(STATE_CLOSED_LOOP) {
            return Err(Unsupported);
        }
        // The other axis armed (tuned from another window, another tool)
        // makes the firmware ignore `ss` in silence: its state is read
        // first, and the save goes out once it is idle ([`Self::save_checked`]).
        let other = 1 - self.settings.axis.min(1);
        self.request(
            &format!("r axis{other}.current_state"),
            Some(Expect::SaveCheck),
            now,
            out,
        );
        Ok(())
    }

    /// The other axis's state read before saving: `ss` goes out with the
    /// next poll if it is idle; otherwise the save is refused and the app
    /// told why.
    pub(super) fn save_checked(&mut self, other_state: u8, emit: &mut dyn FnMut(Event)) {
        if other_state == STATE_IDLE {
            self.save_due = true;
            return;
        }
        let other = 1 - self.settings.axis.min(1);
        emit(Event::Refused {
            request: Command::Save.type_code(),
            code: DeviceErrorCode::Unsupported,
        });
        emit(Event::Text {
            level: TextLevel::Warning,
            message: format!(
                "not saved: axis{other} is not idle (state {other_state}), and the ODrive saves \
                 only while no motor is armed"
            ),
        });
    }

    /// `ss` once the other axis was read idle: the board reboots.
    pub(super) fn save_now(&mut self, now: Instant, out: &mut Vec<u8>) {
        self.save_due = false;
        self.request("ss", None, now, out);
        self.forget_due();
        self.transition = None;
        self.rebooting_until = Some(now + REBOOT_WAIT);
        self.pending_events.push(Event::Text {
            level: TextLevel::Warning,
            message: "the ODrive reboots to save its configuration (firmware 0.5.2 and later): on USB its port goes away and the connection is made again".into(),
        });
    }
}
