//! One axis of the emulated ODrive: the variables a host reads and writes,
//! the axis thread's state machine and the 8 kHz control loop's checks and
//! P–PI cascade, as fw-v0.5.x `MotorControl/axis.cpp`, `controller.cpp`
//! and `main.cpp` run them (line numbers from fw-v0.5.6 unless named).
//!
//! - The axis thread wakes once a millisecond (`osDelay(1)`, axis.cpp:447
//!   idle, 343-345 closed loop; fw-v0.5.1 runs it once per control loop,
//!   its `run_control_loop` waits for each current measurement). A written
//!   `requested_state` waits for that wake, is consumed (read back as 0,
//!   axis.cpp:485) and starts its state; closed loop runs while no request
//!   is pending and the motor stays armed, then goes to idle (593-600).
//! - Entering closed loop feeds the watchdog (577), sets `input_pos` to
//!   the position estimate (in position control from 0.5.2: axis.cpp:290
//!   and controller.cpp:115-125; in every mode in fw-v0.5.1 axis.cpp:319-338),
//!   zeroes the integrator (294) and arms the motor.
//! - Every control loop, on every axis and in every state, a set `error`
//!   disarms the motor (main.cpp:413-419, axis.hpp:151) and an enabled
//!   watchdog counts down, setting `WATCHDOG_TIMER_EXPIRED` at 0
//!   (axis.cpp:171-182): it counts in idle too, so enabling it before it
//!   was fed with a timeout trips it at once.
//! - A velocity above 1.2 × `vel_limit` fails the controller
//!   (`ERROR_OVERSPEED`), which sets `ERROR_CONTROLLER_FAILED` and disarms
//!   the motor at the next loop.

/// `AxisState` values (fw-v0.5.6 odrive-interface.yaml 1523-1580).
pub const STATE_UNDEFINED: u8 = 0;
/// `AXIS_STATE_IDLE`.
pub const STATE_IDLE: u8 = 1;
/// `AXIS_STATE_CLOSED_LOOP_CONTROL`.
pub const STATE_CLOSED_LOOP: u8 = 8;

/// `Axis.Error` bits (fw-v0.5.6 odrive-interface.yaml 439-469).
pub const ERROR_INVALID_STATE: u32 = 0x1;
/// `AXIS_ERROR_CONTROLLER_FAILED`: `controller.error` has the cause.
pub const ERROR_CONTROLLER_FAILED: u32 = 0x200;
/// `AXIS_ERROR_WATCHDOG_TIMER_EXPIRED`.
pub const ERROR_WATCHDOG: u32 = 0x800;
/// `controller.config.vel_limit_tolerance` (controller.hpp:32): above this
/// times `vel_limit` the controller fails with `ERROR_OVERSPEED`.
pub const VEL_LIMIT_TOLERANCE: f64 = 1.2;

/// `ControlMode` values.
pub const MODE_TORQUE: u8 = 1;
pub const MODE_VELOCITY: u8 = 2;
pub const MODE_POSITION: u8 = 3;
/// `InputMode` values: passthrough (the default) and trapezoidal trajectory.
pub const INPUT_MODE_PASSTHROUGH: u8 = 1;
pub const INPUT_MODE_TRAP_TRAJ: u8 = 5;

/// The control loop's rate on ODrive 3.x (`current_meas_hz`).
pub const LOOP_HZ: u32 = 8000;

/// One axis's configuration and state, in ODrive units (turns, Nm, A).
#[derive(Clone, Debug, PartialEq)]
pub struct OdriveAxis {
    /// `controller.config.pos_gain`, (turn/s)/turn.
    pub pos_gain: f32,
    /// `controller.config.vel_gain`, Nm/(turn/s).
    pub vel_gain: f32,
    /// `controller.config.vel_integrator_gain`, Nm/turn.
    pub vel_integrator_gain: f32,
    /// `controller.config.vel_limit`, turn/s.
    pub vel_limit: f32,
    /// `motor.config.current_lim`, A.
    pub current_lim: f32,
    /// `motor.config.torque_lim`, Nm.
    pub torque_lim: f32,
    /// `controller.config.control_mode` ([`MODE_TORQUE`] …).
    pub control_mode: u8,
    /// `controller.config.input_mode`.
    pub input_mode: u8,
    /// `config.enable_watchdog`.
    pub enable_watchdog: bool,
    /// `config.watchdog_timeout`, s.
    pub watchdog_timeout: f32,
    /// `controller.input_pos`, turns.
    pub input_pos: f32,
    /// `controller.input_vel`, turn/s.
    pub input_vel: f32,
    /// `controller.input_torque`, Nm.
    pub input_torque: f32,
    /// `current_state` (`STATE_*`).
    pub current_state: u8,
    /// `requested_state`: written by the host, taken by the axis thread.
    pub requested_state: u8,
    /// `error`: the axis error bits (`ERROR_*`).
    pub error: u32,
    /// Control loops left before the watchdog expires.
    pub watchdog_counter: u32,
    /// The motor drives the plant.
    pub armed: bool,
    /// Closed loop has connected the controller to the encoder, so a
    /// position estimate exists for `control_mode_updated` (axis.cpp:280).
    estimate_connected: bool,
    integrator: f64,
    iq: f64,
}

impl Default for OdriveAxis {
    /// The 0.5.x defaults (controller.hpp:25-31, axis.hpp:86-87).
    fn default() -> Self {
        Self {
            pos_gain: 20.0,
            vel_gain: 1.0 / 6.0,
            vel_integrator_gain: 2.0 / 6.0,
            vel_limit: 2.0,
            current_lim: 10.0,
            torque_lim: f32::INFINITY,
            control_mode: MODE_POSITION,
            input_mode: INPUT_MODE_PASSTHROUGH,
            enable_watchdog: false,
            watchdog_timeout: 0.0,
            input_pos: 0.0,
            input_vel: 0.0,
            input_torque: 0.0,
            current_state: STATE_IDLE,
            requested_state: STATE_UNDEFINED,
            error: 0,
            watchdog_counter: 0,
            armed: false,
            estimate_connected: false,
            integrator: 0.0,
            iq: 0.0,
        }
    }
}

impl OdriveAxis {
    /// The axis after a reboot: its configuration kept, everything else as
    /// at power-up.
    pub fn rebooted(&self) -> Self {
        Self {
            pos_gain: self.pos_gain,
            vel_gain: self.vel_gain,
            vel_integrator_gain: self.vel_integrator_gain,
            vel_limit: self.vel_limit,
            current_lim: self.current_lim,
            torque_lim: self.torque_lim,
            control_mode: self.control_mode,
            input_mode: self.input_mode,
            enable_watchdog: self.enable_watchdog,
            watchdog_timeout: self.watchdog_timeout,
            ..Self::default()
        }
    }

    /// `Iq_measured`: the current loop is taken as ideal.
    pub fn iq(&self) -> f64 {
        self.iq
    }

    /// `watchdog_feed` (axis.cpp:166-168) with `get_watchdog_reset`
    /// (axis.hpp:163-165): the timeout in control loops.
    pub fn feed_watchdog(&mut self) {
        let most = (u32::MAX / (LOOP_HZ + 1)) as f32;
        self.watchdog_counter = (self.watchdog_timeout.clamp(0.0, most) * LOOP_HZ as f32) as u32;
    }

    /// `set_control_mode` from 0.5.5 (controller.hpp:61): a mode of
    /// position control or above takes the position estimate as its input
    /// once the controller has one (controller.cpp:115-128).
    pub fn control_mode_updated(&mut self, position: f32) {
        if self.control_mode >= MODE_POSITION && self.estimate_connected {
            self.input_pos = position;
        }
    }

    /// One wake of the axis thread (`run_state_machine_loop`,
    /// axis.cpp:455-601), with the position estimate at that moment.
    pub fn thread_step(&mut self, revision: u8, position: f32) {
        if self.current_state == STATE_CLOSED_LOOP
            && (self.requested_state != STATE_UNDEFINED || !self.armed)
        {
            // The loop ends (343-348); a failed state goes idle (593-596),
            // a finished one moves on along its chain, to idle (597-599).
            self.armed = false;
            self.current_state = STATE_IDLE;
        }
        if self.requested_state == STATE_UNDEFINED {
            return;
        }
        let requested = std::mem::take(&mut self.requested_state);
        self.error &= !ERROR_INVALID_STATE;
        match requested {
            STATE_CLOSED_LOOP => self.start_closed_loop(revision, position),
            // Calibration, homing and the rest: not emulated (the motor and
            // encoder are taken as calibrated), so they end at once.
            _ => self.current_state = STATE_IDLE,
        }
    }

    /// The closed-loop state's entry (axis.cpp:572-578, 257-332).
    fn start_closed_loop(&mut self, revision: u8, position: f32) {
        self.current_state = STATE_CLOSED_LOOP;
        self.feed_watchdog();
        self.estimate_connected = true;
        // "To avoid any transient on startup, we intialize the setpoint to
        // be the current position" (289-291).
        if revision == 1 || self.control_mode >= MODE_POSITION {
            self.input_pos = position;
        }
        self.integrator = 0.0;
        self.armed = true;
    }

    /// The watchdog's count for one control loop; false once it expired.
    fn watchdog_check(&mut self) -> bool {
        if !self.enable_watchdog {
            return true;
        }
        if self.watchdog_counter > 0 {
            self.watchdog_counter -= 1;
            true
        } else {
            self.error |= ERROR_WATCHDOG;
            false
        }
    }

    /// One control loop (main.cpp:410-456) for an axis whose encoder
    /// estimates `position` and `velocity` (turns, turns/s: its PLL's,
    /// `encoder.rs`); returns the torque the motor applies, Nm.
    pub fn control_tick(&mut self, position: f64, velocity: f64, kt: f64, dt: f64) -> f64 {
        let checks_ok = self.error == 0;
        let watchdog_ok = self.watchdog_check();
        if !checks_ok || !watchdog_ok {
            self.armed = false;
        }
        if !self.armed {
            self.iq = 0.0;
            self.integrator = 0.0;
            return 0.0;
        }
        let vel_limit = f64::from(self.vel_limit).max(0.0);
        // The overspeed check, on by default (`enable_overspeed_error`,
        // controller.hpp:46; controller.cpp:331-340): the controller fails,
        // the axis error is set (main.cpp:446-448) and the next loop's
        // checks disarm the motor. Checked here only while armed.
        if velocity.abs() > VEL_LIMIT_TOLERANCE * vel_limit {
            self.error |= ERROR_CONTROLLER_FAILED;
        }
        let mut vel_command = f64::from(self.input_vel).clamp(-vel_limit, vel_limit);
        if self.control_mode >= MODE_POSITION {
            vel_command += f64::from(self.pos_gain) * (f64::from(self.input_pos) - position);
        }
        vel_command = vel_command.clamp(-vel_limit, vel_limit);
        let error = vel_command - velocity;
        let mut torque = f64::from(self.input_torque);
        if self.control_mode >= MODE_VELOCITY {
            torque += f64::from(self.vel_gain) * error + self.integrator;
        }
        let limit = (f64::from(self.current_lim) * kt)
            .min(f64::from(self.torque_lim))
            .max(0.0);
        let clamped = torque.clamp(-limit, limit);
        if self.control_mode < MODE_VELOCITY {
            self.integrator = 0.0;
        } else if clamped != torque {
            self.integrator *= 0.99;
        } else {
            self.integrator += f64::from(self.vel_integrator_gain) * dt * error;
        }
        self.iq = clamped / kt;
        clamped
    }
}
