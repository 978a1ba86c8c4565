//! The axis as the host drives it: a switch between idle and closed loop
//! followed until the firmware shows it done, and the axis errors named in
//! plain words.
//!
//! A written `requested_state` waits for the axis thread's next wake (it
//! sleeps a millisecond at a time, fw-v0.5.6 axis.cpp:447), which consumes
//! it (reads back 0, 485) and starts the state; entering closed loop moves
//! `input_pos` to the position estimate (289-291, controller.cpp:115-125).
//! So a [`Transition`] reads `requested_state`, `current_state`, `error`
//! and `input_pos`, in that order, until `requested_state` reads 0: the
//! state and `input_pos` read after it are the ones the request left.
//! Before asking for closed loop it reads them once, and an axis already
//! in closed loop is left alone (a closed-loop request to an axis in
//! closed loop restarts it: disarm, re-seed, re-arm, 343-350 and 458-485);
//! idle is asked for at once.

use std::time::{Duration, Instant};

/// `AXIS_STATE_IDLE`.
pub const STATE_IDLE: u8 = 1;
/// `AXIS_STATE_CLOSED_LOOP_CONTROL`.
pub const STATE_CLOSED_LOOP: u8 = 8;
/// `AXIS_ERROR_WATCHDOG_TIMER_EXPIRED` in every 0.5.x release.
pub const ERROR_WATCHDOG: u32 = 0x800;

/// How soon a request the axis thread has not consumed is read again.
const CHECK_PERIOD: Duration = Duration::from_millis(2);
/// How long the axis thread may take to consume a request.
const TRANSITION_TIMEOUT: Duration = Duration::from_secs(1);

/// `Axis.Error` bits in plain words: fw-v0.5.1's (odrive-interface.yaml
/// 227-290, numbered from bit 0) and 0.5.2's to 0.5.6's (fw-v0.5.6
/// odrive-interface.yaml 439-469), which share the bits they both have.
const AXIS_ERRORS: &[(u32, &str)] = &[
    (
        0x1,
        "it was asked for a state it cannot enter yet (is the motor calibrated and the encoder ready?)",
    ),
    (0x2, "the DC bus voltage fell below its trip level"),
    (0x4, "the DC bus voltage rose above its trip level"),
    (0x8, "the current measurement timed out"),
    (0x10, "the brake resistor was disarmed"),
    (0x20, "the motor was disarmed unexpectedly"),
    (0x40, "the motor failed (see axisN.motor.error)"),
    (0x80, "the sensorless estimator failed"),
    (0x100, "the encoder failed (see axisN.encoder.error)"),
    (
        0x200,
        "the controller failed (see axisN.controller.error; overspeed, for one)",
    ),
    (0x400, "position control was asked for in sensorless mode"),
    (
        ERROR_WATCHDOG,
        "its watchdog expired (it was not fed within config.watchdog_timeout)",
    ),
    (0x1000, "the min endstop was pressed"),
    (0x2000, "the max endstop was pressed"),
    (0x4000, "an emergency stop came over CAN"),
    (0x20000, "homing was asked for without a min endstop"),
    (0x40000, "it is too hot"),
    (0x80000, "it has no valid position estimate"),
];

/// `axisN.error` in words, with the number as read.
pub fn describe_error(axis: u8, error: u32) -> String {
    let prefix = format!("axis{axis}.");
    let named: Vec<String> = AXIS_ERRORS
        .iter()
        .filter(|(bit, _)| error & bit != 0)
        .map(|(_, words)| words.replace("axisN.", &prefix))
        .collect();
    let unnamed = AXIS_ERRORS.iter().fold(error, |rest, (bit, _)| rest & !bit);
    let mut text = named.join("; ");
    if unnamed != 0 {
        if !text.is_empty() {
            text += "; ";
        }
        text += &format!("error bits {unnamed:#x} this app does not know");
    }
    if text.is_empty() {
        text = format!(
            "axis{axis}.error reads 0: see axis{axis}.motor.error, encoder.error and controller.error"
        );
    }
    format!("{text} (axis{axis}.error = {error:#x})")
}

/// What the host made of the axis once a transition ended.
#[derive(Clone, Debug, PartialEq)]
pub struct Settled {
    /// The axis state read (`current_state`).
    pub state: u8,
    /// The axis error bits read.
    pub error: u32,
    /// Where `input_pos` is, in turns.
    pub input_pos: f32,
    /// Why the axis is not where it was asked to go, in one sentence.
    pub problem: Option<String>,
}

/// One check's replies, as they come.
#[derive(Clone, Copy, Debug, Default)]
struct Check {
    requested: Option<u8>,
    state: Option<u8>,
    error: Option<u32>,
}

/// What to do after a check.
#[derive(Clone, Debug, PartialEq)]
pub enum Next {
    /// Check again later.
    Wait,
    /// Write the request now (the axis is not in the state asked for).
    Request,
    /// The transition is over; what the host made of it.
    Done(Settled),
}

/// A state switch from the host's command until the firmware shows it
/// done; or, for a change the host did not ask for, one look at how the
/// axis is now.
#[derive(Debug)]
pub struct Transition {
    /// The state asked for; `None` when the host only looks.
    pub target: Option<u8>,
    /// Tells this transition's replies from an earlier one's.
    pub generation: u32,
    started: Instant,
    /// The request has been written.
    requested: bool,
    /// The request is to be written at the next chance.
    pub request_due: bool,
    /// A check's reads are on their way.
    pub checking: bool,
    next_check: Instant,
    check: Check,
}

impl Transition {
    /// A switch to `target`. Idle is asked for at once (a disable must not
    /// wait, and asking an idle axis for idle changes nothing); for closed
    /// loop the axis is looked at before anything is written.
    pub fn to(target: u8, generation: u32, now: Instant) -> Self {
        Self {
            target: Some(target),
            generation,
            started: now,
            requested: false,
            request_due: target == STATE_IDLE,
            checking: false,
            next_check: now,
            check: Check::default(),
        }
    }

    /// One look at the axis after a change the host did not ask for.
    pub fn look(generation: u32, now: Instant) -> Self {
        Self {
            target: None,
            requested: true,
            request_due: false,
            ..Self::to(STATE_IDLE, generation, now)
        }
    }

    /// The request has gone out; check it at once.
    pub fn requested(&mut self, now: Instant) {
        self.requested = true;
        self.request_due = false;
        self.next_check = now;
    }

    /// A check is due and none is on its way.
    pub fn check_due(&self, now: Instant) -> bool {
        !self.checking && !self.request_due && now >= self.next_check
    }

    /// A check's read of `requested_state` came back.
    pub fn on_requested(&mut self, value: u8) {
        self.check.requested = Some(value);
    }

    /// A check's read of `current_state` came back.
    pub fn on_state(&mut self, value: u8) {
        self.check.state = Some(value);
    }

    /// A check's read of the axis error came back.
    pub fn on_error(&mut self, value: u32) {
        self.check.error = Some(value);
    }

    /// The last of a check's replies, `input_pos`, has come: what next.
    pub fn on_input_pos(&mut self, axis: u8, input_pos: f32, now: Instant) -> Next {
        self.checking = false;
        let Check {
            requested: Some(requested),
            state: Some(state),
            error: Some(error),
        } = std::mem::take(&mut self.check)
        else {
            // A reply went missing: check again.
            return Next::Wait;
        };
        if !self.requested {
            if Some(state) == self.target && requested == 0 {
                return Next::Done(self.settled(axis, state, error, input_pos));
            }
            self.request_due = true;
            return Next::Request;
        }
        if requested != 0 {
            if now.duration_since(self.started) > TRANSITION_TIMEOUT {
                let mut settled = self.settled(axis, state, error, input_pos);
                settled.problem = Some(format!(
                    "axis{axis} did not take the state request within {} s (requested_state still reads {requested})",
                    TRANSITION_TIMEOUT.as_secs()
                ));
                return Next::Done(settled);
            }
            self.next_check = now + CHECK_PERIOD;
            return Next::Wait;
        }
        Next::Done(self.settled(axis, state, error, input_pos))
    }

    /// Forgets a check whose replies were lost.
    pub fn replies_lost(&mut self) {
        self.checking = false;
        self.check = Check::default();
    }

    fn settled(&self, axis: u8, state: u8, error: u32, input_pos: f32) -> Settled {
        let problem = match self.target {
            Some(STATE_CLOSED_LOOP) if state != STATE_CLOSED_LOOP || error != 0 => Some(format!(
                "axis{axis} did not enter closed loop: {}",
                describe_error(axis, error)
            )),
            None if error != 0 => Some(format!(
                "axis{axis} left closed loop: {}",
                describe_error(axis, error)
            )),
            _ => None,
        };
        Settled {
            state,
            error,
            input_pos,
            problem,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_named_in_words_with_their_number() {
        assert_eq!(
            describe_error(0, ERROR_WATCHDOG),
            "its watchdog expired (it was not fed within config.watchdog_timeout) (axis0.error = 0x800)"
        );
        let both = describe_error(1, 0x40 | 0x10_0000);
        assert!(both.contains("see axis1.motor.error"), "{both}");
        assert!(
            both.contains("error bits 0x100000 this app does not know"),
            "{both}"
        );
        assert!(describe_error(0, 0).contains("axis0.error reads 0"));
    }

    #[test]
    fn a_request_is_followed_until_the_axis_thread_consumed_it() {
        let start = Instant::now();
        let mut t = Transition::to(STATE_CLOSED_LOOP, 1, start);
        let check = |t: &mut Transition, requested, state, error, pos| {
            assert!(t.check_due(start + Duration::from_secs(10)));
            t.checking = true;
            t.on_requested(requested);
            t.on_state(state);
            t.on_error(error);
            t.on_input_pos(0, pos, start)
        };
        // Idle: the request is written, then read back until consumed.
        assert_eq!(check(&mut t, 0, STATE_IDLE, 0, 0.0), Next::Request);
        assert!(!t.check_due(start));
        t.requested(start);
        assert_eq!(check(&mut t, 8, STATE_IDLE, 0, 0.0), Next::Wait);
        let Next::Done(settled) = check(&mut t, 0, STATE_CLOSED_LOOP, 0, 3.7) else {
            panic!("done once consumed");
        };
        assert_eq!(settled.input_pos, 3.7);
        assert_eq!(settled.problem, None);
        // Consumed but idle with an error: a failure, in words.
        let mut t = Transition::to(STATE_CLOSED_LOOP, 2, start);
        t.requested(start);
        let Next::Done(settled) = check(&mut t, 0, STATE_IDLE, ERROR_WATCHDOG, 0.0) else {
            panic!("done");
        };
        let problem = settled.problem.expect("a problem");
        assert!(
            problem.starts_with("axis0 did not enter closed loop: its watchdog expired"),
            "{problem}"
        );
        // Already in closed loop: nothing to write.
        let mut t = Transition::to(STATE_CLOSED_LOOP, 3, start);
        assert!(matches!(
            check(&mut t, 0, STATE_CLOSED_LOOP, 0, 0.0),
            Next::Done(_)
        ));
        // Idle is asked for at once.
        assert!(Transition::to(STATE_IDLE, 4, start).request_due);
    }
}
