//! The simulated drive's control loop and its parameter table: plant,
//! encoder model and PID stepped together once per control tick, and every
//! tunable constant exposed as a named, limited parameter.

use super::controller::{Pid, PidGains};
use super::noise::GaussianNoise;
use super::plant::{Plant, PlantConstants};
use crate::protocol::{ChannelInfo, ChannelRole, ParamFlags, ParamInfo, ParamKind};

/// Everything a user can set on the simulated drive.
#[derive(Clone, Debug, PartialEq)]
pub struct DriveConfig {
    /// The PID position loop's gains and limits.
    pub gains: PidGains,
    /// The position setpoint, rad.
    pub setpoint: f64,
    /// The motor and load.
    pub plant: PlantConstants,
    /// Encoder counts per revolution; 0 is an ideal encoder.
    pub encoder_cpr: f64,
    /// Standard deviation of position measurement noise, rad.
    pub encoder_noise: f64,
    /// The relay mode's settings (docs/PROTOCOL.md, "Relay mode").
    pub relay: RelayConfig,
}

/// The relay mode: while active, the output is `bias ± amplitude`,
/// switched on the error (setpoint − feedback) with hysteresis, at the loop
/// rate, in place of the PID. It ends by itself when the feedback leaves
/// the start position by more than `travel`, or the output is turned off.
#[derive(Clone, Debug, PartialEq)]
pub struct RelayConfig {
    /// The relay runs in place of the PID.
    pub active: bool,
    /// Relay amplitude d, A.
    pub amplitude: f64,
    /// Hysteresis ε, rad: the error must pass ±ε to switch the output.
    pub hysteresis: f64,
    /// Largest distance from the start position, rad.
    pub travel: f64,
    /// Output the relay switches about, A.
    pub bias: f64,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            active: false,
            amplitude: 1.0,
            hysteresis: 0.0,
            travel: 0.5,
            bias: 0.0,
        }
    }
}

impl Default for DriveConfig {
    fn default() -> Self {
        Self {
            // Underdamped on purpose: a step rings with about 50 %
            // overshoot, the state a loop is in before anyone tunes it.
            // kd = 0.8 brings it under 5 %.
            gains: PidGains {
                kp: 20.0,
                ki: 20.0,
                kd: 0.2,
                derivative_filter: 1e-3,
                output_limit: 5.0,
            },
            setpoint: 0.0,
            plant: PlantConstants::default(),
            encoder_cpr: 4096.0,
            encoder_noise: 5e-5,
            relay: RelayConfig::default(),
        }
    }
}

impl DriveConfig {
    /// An ideal linear drive: no friction, quantization or noise, no load.
    pub fn linear() -> Self {
        let mut config = Self::default();
        config.plant.coulomb = 0.0;
        config.plant.load_inertia = 0.0;
        config.encoder_cpr = 0.0;
        config.encoder_noise = 0.0;
        config
    }
}

const GAIN: u8 = ParamFlags::TUNING_GAIN;
const LOG: u8 = ParamFlags::LOG_SCALE;

/// The parameter table: name, unit, flags, min, max. Index = position.
const PARAMS: &[(&str, &str, u8, f32, f32)] = &[
    ("pos.kp", "A/rad", GAIN | LOG, 0.0, 1000.0),
    ("pos.ki", "A/(rad·s)", GAIN | LOG, 0.0, 10_000.0),
    ("pos.kd", "A·s/rad", GAIN | LOG, 0.0, 50.0),
    ("pos.kd_filter", "s", GAIN, 0.0, 0.05),
    ("pos.output_limit", "A", 0, 0.0, 20.0),
    ("pos.setpoint", "rad", ParamFlags::SETPOINT, -100.0, 100.0),
    ("plant.inertia", "kg·m²", LOG, 1e-6, 1.0),
    ("plant.viscous", "N·m·s/rad", 0, 0.0, 1.0),
    ("plant.coulomb", "N·m", 0, 0.0, 1.0),
    ("plant.torque_constant", "N·m/A", 0, 1e-3, 2.0),
    ("plant.load_inertia", "kg·m²", 0, 0.0, 1.0),
    ("plant.coupling_stiffness", "N·m/rad", LOG, 0.0, 10_000.0),
    ("plant.coupling_damping", "N·m·s/rad", 0, 0.0, 10.0),
    (
        "plant.resonance",
        "Hz",
        ParamFlags::READ_ONLY,
        0.0,
        100_000.0,
    ),
    (
        "encoder.cpr",
        "counts/rev",
        ParamFlags::KIND_INTEGER,
        0.0,
        1_000_000.0,
    ),
    ("encoder.noise", "rad", 0, 0.0, 0.1),
    (
        "relay.active",
        "",
        ParamFlags::MODE | ParamFlags::KIND_SWITCH,
        0.0,
        1.0,
    ),
    ("relay.amplitude", "A", 0, 0.0, 20.0),
    ("relay.hysteresis", "rad", 0, 0.0, 1.0),
    ("relay.travel", "rad", 0, 0.0, 100.0),
    ("relay.bias", "A", 0, -20.0, 20.0),
];

/// Index of the setpoint parameter.
pub const SETPOINT_INDEX: u8 = 5;
/// Index of the read-only resonance parameter.
pub const RESONANCE_INDEX: u8 = 13;
/// Index of `relay.active`, which the drive clears itself when the relay
/// leaves its travel or the output goes off.
pub const RELAY_ACTIVE_INDEX: u8 = 16;

/// Why a parameter write was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteRefusal {
    /// No parameter has that index.
    BadIndex,
    /// The parameter is read-only.
    ReadOnly,
}

/// Number of channels the drive streams.
pub const CHANNEL_COUNT: usize = 8;

/// One tick's measurements, in channel order.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DriveSample {
    /// The position setpoint, rad.
    pub setpoint: f32,
    /// The encoder's reading (quantized and noisy), which the loop controls.
    pub position: f32,
    /// The true motor velocity (there is no velocity sensor to model).
    pub velocity: f32,
    /// The controller's output after the limit.
    pub effort: f32,
    /// Setpoint minus the encoder's reading, as the controller sees it.
    pub following_error: f32,
    /// The controller's proportional term. This and the next two are taken
    /// before the output limit and are zero while the output is off.
    pub p_term: f32,
    /// The controller's integrator state.
    pub i_term: f32,
    /// The controller's derivative term (on the filtered measurement).
    pub d_term: f32,
}

impl DriveSample {
    /// The values in channel order, as [`SimDrive::channels`] lists them.
    pub fn as_array(&self) -> [f32; CHANNEL_COUNT] {
        [
            self.setpoint,
            self.position,
            self.velocity,
            self.effort,
            self.following_error,
            self.p_term,
            self.i_term,
            self.d_term,
        ]
    }
}

/// Plant, encoder and controller stepped together.
#[derive(Clone, Debug)]
pub struct SimDrive {
    /// What the user set, kept in step with the parameters.
    pub config: DriveConfig,
    /// The motor and load, with their state.
    pub plant: Plant,
    pid: Pid,
    noise: GaussianNoise,
    enabled: bool,
    effort: f64,
    relay: RelayState,
}

/// What the relay remembers between ticks.
#[derive(Clone, Copy, Debug, Default)]
struct RelayState {
    /// The feedback when the relay started; `None` until its first tick.
    start: Option<f64>,
    /// The side the output is on: +1 or −1.
    side: f64,
}

impl SimDrive {
    /// A drive at rest with `config`, its output off.
    pub fn new(config: DriveConfig) -> Self {
        Self {
            plant: Plant::new(config.plant.clone()),
            config,
            pid: Pid::default(),
            noise: GaussianNoise::new(0x5EED),
            enabled: false,
            effort: 0.0,
            relay: RelayState::default(),
        }
    }

    /// The channels the drive streams, in sample order.
    pub fn channels() -> Vec<ChannelInfo> {
        let channel = |name: &str, unit: &str, role| ChannelInfo {
            name: name.into(),
            unit: unit.into(),
            role,
        };
        vec![
            channel("setpoint", "rad", ChannelRole::Reference),
            channel("position", "rad", ChannelRole::Feedback),
            channel("velocity", "rad/s", ChannelRole::Other),
            channel("effort", "A", ChannelRole::Effort),
            channel("following error", "rad", ChannelRole::Other),
            channel("p term", "A", ChannelRole::Other),
            channel("i term", "A", ChannelRole::Other),
            channel("d term", "A", ChannelRole::Other),
        ]
    }

    /// The parameter table with the values in force.
    pub fn params(&self) -> Vec<ParamInfo> {
        PARAMS
            .iter()
            .enumerate()
            .map(|(index, &(name, unit, flags, min, max))| ParamInfo {
                name: name.into(),
                unit: unit.into(),
                flags: ParamFlags(flags),
                min,
                max,
                value: self.param(index as u8).unwrap_or(f32::NAN),
                kind: ParamKind::from_wire(flags, Vec::new()),
            })
            .collect()
    }

    /// How many parameters the drive declares.
    pub fn param_count() -> usize {
        PARAMS.len()
    }

    /// The value of parameter `index` in force.
    pub fn param(&self, index: u8) -> Option<f32> {
        let c = &self.config;
        let value = match index {
            0 => c.gains.kp,
            1 => c.gains.ki,
            2 => c.gains.kd,
            3 => c.gains.derivative_filter,
            4 => c.gains.output_limit,
            5 => c.setpoint,
            6 => c.plant.inertia,
            7 => c.plant.viscous,
            8 => c.plant.coulomb,
            9 => c.plant.torque_constant,
            10 => c.plant.load_inertia,
            11 => c.plant.coupling_stiffness,
            12 => c.plant.coupling_damping,
            13 => c.plant.resonance_hz(),
            14 => c.encoder_cpr,
            15 => c.encoder_noise,
            16 => f64::from(u8::from(c.relay.active)),
            17 => c.relay.amplitude,
            18 => c.relay.hysteresis,
            19 => c.relay.travel,
            20 => c.relay.bias,
            _ => return None,
        };
        Some(value as f32)
    }

    /// Clamps `value` to the parameter's limits, applies it and returns the
    /// value in force. A NaN leaves the parameter as it was.
    pub fn set_param(&mut self, index: u8, value: f32) -> Result<f32, WriteRefusal> {
        let &(_, _, flags, min, max) = PARAMS.get(index as usize).ok_or(WriteRefusal::BadIndex)?;
        if ParamFlags(flags).read_only() {
            return Err(WriteRefusal::ReadOnly);
        }
        if value.is_nan() {
            return self.param(index).ok_or(WriteRefusal::BadIndex);
        }
        let v = f64::from(value.clamp(min, max));
        let c = &mut self.config;
        match index {
            0 => c.gains.kp = v,
            1 => c.gains.ki = v,
            2 => c.gains.kd = v,
            3 => c.gains.derivative_filter = v,
            4 => c.gains.output_limit = v,
            5 => c.setpoint = v,
            6 => c.plant.inertia = v,
            7 => c.plant.viscous = v,
            8 => c.plant.coulomb = v,
            9 => c.plant.torque_constant = v,
            10 => c.plant.load_inertia = v,
            11 => c.plant.coupling_stiffness = v,
            12 => c.plant.coupling_damping = v,
            14 => c.encoder_cpr = v.round(),
            15 => c.encoder_noise = v,
            16 => {
                let active = v >= 0.5 && self.enabled;
                if active != c.relay.active {
                    self.relay = RelayState::default();
                    self.pid.reset();
                }
                c.relay.active = active;
            }
            17 => c.relay.amplitude = v,
            18 => c.relay.hysteresis = v,
            19 => c.relay.travel = v,
            20 => c.relay.bias = v,
            _ => return Err(WriteRefusal::BadIndex),
        }
        self.plant.constants = self.config.plant.clone();
        self.param(index).ok_or(WriteRefusal::BadIndex)
    }

    /// Whether the output is on.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Turns the output on or off; off takes effect at once.
    pub fn set_enabled(&mut self, enabled: bool) {
        if !enabled {
            self.effort = 0.0;
        }
        if enabled != self.enabled {
            self.pid.reset();
            self.config.relay.active = false;
        }
        self.enabled = enabled;
    }

    /// Whether the controller's output is at its limit.
    pub fn saturated(&self) -> bool {
        self.enabled && !self.config.relay.active && self.pid.saturated
    }

    /// Whether the relay mode is switching the output.
    pub fn relay_active(&self) -> bool {
        self.config.relay.active
    }

    /// One tick of the relay: the output, or `None` when the feedback has
    /// left the travel and the relay hands back to the PID.
    fn relay_output(&mut self, measured: f64) -> Option<f64> {
        let relay = &self.config.relay;
        let start = *self.relay.start.get_or_insert(measured);
        if (measured - start).abs() > relay.travel {
            return None;
        }
        let error = self.config.setpoint - measured;
        if self.relay.side == 0.0 {
            self.relay.side = if error < 0.0 { -1.0 } else { 1.0 };
        } else if error > relay.hysteresis {
            self.relay.side = 1.0;
        } else if error < -relay.hysteresis {
            self.relay.side = -1.0;
        }
        let limit = self.config.gains.output_limit.abs();
        Some((relay.bias + self.relay.side * relay.amplitude).clamp(-limit, limit))
    }

    /// What the encoder reports for the present motor angle.
    fn measure(&mut self) -> f64 {
        let mut position = self.plant.state.position;
        if self.config.encoder_cpr >= 1.0 {
            let count = std::f64::consts::TAU / self.config.encoder_cpr;
            position = (position / count).floor() * count;
        }
        if self.config.encoder_noise > 0.0 {
            position += self.config.encoder_noise * self.noise.standard();
        }
        position
    }

    /// One control tick: measure, compute the output, move the plant.
    pub fn tick(&mut self, dt: f64) -> DriveSample {
        let measured = self.measure();
        let relay = if self.enabled && self.config.relay.active {
            let output = self.relay_output(measured);
            if output.is_none() {
                self.config.relay.active = false;
                self.relay = RelayState::default();
                self.pid.reset();
            }
            output
        } else {
            None
        };
        self.effort = if let Some(output) = relay {
            self.pid.track(measured);
            output
        } else if self.enabled {
            self.pid
                .update(&self.config.gains, self.config.setpoint, measured, dt)
        } else {
            self.pid.track(measured);
            0.0
        };
        let terms = self.pid.terms;
        let sample = DriveSample {
            setpoint: self.config.setpoint as f32,
            position: measured as f32,
            velocity: self.plant.state.velocity as f32,
            effort: self.effort as f32,
            following_error: (self.config.setpoint - measured) as f32,
            p_term: terms.proportional as f32,
            i_term: terms.integral as f32,
            d_term: terms.derivative as f32,
        };
        self.plant.step(self.effort, dt);
        sample
    }
}

/// What a device running this drive at `loop_hz` would describe, for unit
/// tests that feed the tuning engines from the drive in-process.
#[cfg(test)]
impl SimDrive {
    pub(crate) fn device_info(&self, loop_hz: u32) -> crate::protocol::DeviceInfo {
        crate::protocol::DeviceInfo {
            name: "sim".into(),
            firmware: "test".into(),
            protocol_version: 1,
            loop_hz,
            watchdog_ms: 0,
            channels: Self::channels(),
            params: self.params(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Step response of Jθ'' + (b + kt·kd)θ' + kt·kp·θ = kt·kp·r for a unit
    /// step: the closed loop of a PD position controller with derivative on
    /// the measurement around an ideal motor.
    fn analytic_pd_step(config: &DriveConfig, t: f64) -> f64 {
        let p = &config.plant;
        let g = &config.gains;
        let wn = (p.torque_constant * g.kp / p.inertia).sqrt();
        let zeta = (p.viscous + p.torque_constant * g.kd) / (2.0 * p.inertia * wn);
        assert!(zeta < 1.0, "test expects an underdamped loop");
        let wd = wn * (1.0 - zeta * zeta).sqrt();
        1.0 - (-zeta * wn * t).exp()
            * ((wd * t).cos() + zeta / (1.0 - zeta * zeta).sqrt() * (wd * t).sin())
    }

    #[test]
    fn linear_step_matches_the_analytic_second_order_within_one_percent() {
        let mut config = DriveConfig::linear();
        config.gains = PidGains {
            kp: 2.0,
            ki: 0.0,
            kd: 0.17,
            derivative_filter: 0.0,
            output_limit: 1e6,
        };
        config.plant.inertia = 1e-3;
        config.plant.viscous = 1e-3;
        config.plant.torque_constant = 0.05;
        let mut drive = SimDrive::new(config.clone());
        drive.set_enabled(true);
        drive.tick(1e-4);
        drive
            .set_param(SETPOINT_INDEX, 1.0)
            .expect("setpoint is writable");
        let dt = 1e-4;
        let mut worst: f64 = 0.0;
        let mut overshoot: f64 = 0.0;
        for k in 0..20_000 {
            let t = k as f64 * dt;
            let sample = drive.tick(dt);
            let expected = analytic_pd_step(&config, t);
            worst = worst.max((f64::from(sample.position) - expected).abs());
            overshoot = overshoot.max(f64::from(sample.position) - 1.0);
        }
        assert!(worst < 0.01, "worst deviation {worst} of a unit step");
        // Make sure the test exercises real dynamics: ζ ≈ 0.47 overshoots ~19 %.
        assert!(overshoot > 0.1, "overshoot {overshoot}");
    }

    #[test]
    fn linear_pid_step_settles_on_the_setpoint() {
        let mut drive = SimDrive::new(DriveConfig::linear());
        drive.set_enabled(true);
        drive.set_param(SETPOINT_INDEX, 1.0).expect("writable");
        let mut last = 0.0;
        // The PI zero at ki/kp = 1 rad/s leaves a slow tail: give it 8 s.
        for _ in 0..80_000 {
            last = drive.tick(1e-4).position;
        }
        assert!((last - 1.0).abs() < 1e-3, "{last}");
    }

    #[test]
    fn default_drive_with_load_and_friction_is_stable() {
        let mut drive = SimDrive::new(DriveConfig::default());
        drive.set_enabled(true);
        drive.set_param(SETPOINT_INDEX, 1.0).expect("writable");
        let mut samples = Vec::new();
        for _ in 0..40_000 {
            samples.push(drive.tick(1e-4));
        }
        let tail = &samples[30_000..];
        let worst = tail
            .iter()
            .map(|s| (s.position - 1.0).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 0.01, "still moving after 3 s: {worst}");
        assert!(
            samples.iter().any(|s| s.effort.abs() >= 4.99),
            "a 1 rad step saturates"
        );
    }

    #[test]
    fn writes_clamp_and_read_only_is_refused() {
        let mut drive = SimDrive::new(DriveConfig::default());
        assert_eq!(drive.set_param(0, 5000.0), Ok(1000.0));
        assert_eq!(drive.set_param(0, -3.0), Ok(0.0));
        assert_eq!(
            drive.set_param(RESONANCE_INDEX, 1.0),
            Err(WriteRefusal::ReadOnly)
        );
        assert_eq!(drive.set_param(200, 1.0), Err(WriteRefusal::BadIndex));
        assert_eq!(drive.set_param(2, f32::NAN), Ok(0.2));
        assert_eq!(drive.params().len(), SimDrive::param_count());
    }

    #[test]
    fn disabled_drive_outputs_nothing() {
        let mut drive = SimDrive::new(DriveConfig::default());
        drive.set_param(SETPOINT_INDEX, 1.0).expect("writable");
        for _ in 0..1000 {
            let sample = drive.tick(1e-4);
            assert_eq!(sample.effort, 0.0);
            assert_eq!([sample.p_term, sample.i_term, sample.d_term], [0.0; 3]);
            assert_eq!(sample.following_error, 1.0 - sample.position);
        }
    }

    #[test]
    fn streamed_terms_explain_the_effort() {
        assert_eq!(SimDrive::channels().len(), CHANNEL_COUNT);
        let mut drive = SimDrive::new(DriveConfig::default());
        drive.set_enabled(true);
        drive.set_param(SETPOINT_INDEX, 1.0).expect("writable");
        let (mut saturated, mut linear) = (0, 0);
        for _ in 0..20_000 {
            let s = drive.tick(1e-4);
            let error = s.setpoint - s.position;
            assert!((s.following_error - error).abs() <= 1e-6 * error.abs().max(1.0));
            let sum = s.p_term + s.i_term + s.d_term;
            if drive.saturated() {
                saturated += 1;
                assert_eq!(s.effort.abs(), 5.0, "clamped at the output limit");
                assert!(sum.abs() > 5.0, "{s:?}");
            } else {
                linear += 1;
                assert!((sum - s.effort).abs() < 1e-4, "{s:?}");
            }
        }
        // The step saturates first, then the loop settles within its limit.
        assert!(saturated > 0 && linear > 10_000, "{saturated} {linear}");
    }
}
