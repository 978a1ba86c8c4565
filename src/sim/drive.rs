//! The simulated drive's control loop and its parameter table: plant,
//! encoder model and PID stepped together once per control tick, and every
//! tunable constant exposed as a named, limited parameter.

use super::controller::{Pid, PidGains};
use super::excite::{ExciteConfig, ExciteKind, ExcitePoint, ExciteRun};
use super::noise::GaussianNoise;
use super::plant::{Plant, PlantConstants};
use crate::protocol::{ChannelInfo, ChannelRole, ParamFlags, ParamInfo, ParamKind};

mod params;

use super::cascade::{Cascade, CascadeConfig, LIMIT_ROW, ROWS};
/// One row of a parameter table: name, unit, flags, min, max.
type Row = (&'static str, &'static str, u8, f32, f32);

pub use params::{EXCITE_ACTIVE_INDEX, RELAY_ACTIVE_INDEX, RESONANCE_INDEX, SETPOINT_INDEX};
use params::{PARAMS, choices};

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
    /// The device-side excitation's settings (docs/PROTOCOL.md,
    /// "Device-side excitation").
    pub excite: ExciteConfig,
    /// A cascade in place of the position PID (`motiontune sim --cascade`).
    pub cascade: Option<CascadeConfig>,
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
            // 16 bits a turn, as servo encoders have: a coarser one
            // hides the plant above ~240 Hz under its quantization noise
            // (docs/TUNING.md, "The device excites itself").
            encoder_cpr: 65536.0,
            encoder_noise: 5e-5,
            relay: RelayConfig::default(),
            excite: ExciteConfig::default(),
            cascade: None,
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
    /// The setpoint in force; during a device-side excitation, the
    /// reference it applied (docs/PROTOCOL.md 4.6).
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
    excite: ExciteRun,
    cascade: Cascade,
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
            excite: ExciteRun::default(),
            cascade: Cascade::default(),
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
        self.table()
            .iter()
            .enumerate()
            .map(|(index, &(name, unit, flags, min, max))| ParamInfo {
                name: name.into(),
                unit: unit.into(),
                flags: ParamFlags(flags),
                min,
                max,
                value: self.param(index as u8).unwrap_or(f32::NAN),
                kind: ParamKind::from_wire(flags, choices(index as u8)),
            })
            .collect()
    }

    /// The parameter table in force: a cascade swaps the PID's rows for
    /// its own and adds its velocity limit at the end.
    fn table(&self) -> Vec<Row> {
        let mut table = PARAMS.to_vec();
        if self.config.cascade.is_some() {
            table[..ROWS.len()].copy_from_slice(&ROWS);
            table.push(LIMIT_ROW);
        }
        table
    }

    /// How many parameters the drive declares.
    pub fn param_count() -> usize {
        PARAMS.len()
    }

    /// The value of parameter `index` in force.
    pub fn param(&self, index: u8) -> Option<f32> {
        let c = &self.config;
        if let Some(cascade) = &c.cascade {
            if let Some(value) = cascade.value(index) {
                return Some(value as f32);
            }
            if usize::from(index) == PARAMS.len() {
                return Some(cascade.velocity_limit as f32);
            }
        }
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
            21 => f64::from(u8::from(c.excite.active)),
            22 => f64::from(u8::from(c.excite.kind == ExciteKind::Prbs)),
            23 => f64::from(u8::from(c.excite.point == ExcitePoint::Effort)),
            24 => c.excite.amplitude,
            25 => c.excite.f0,
            26 => c.excite.f1,
            27 => c.excite.duration,
            _ => return None,
        };
        Some(value as f32)
    }

    /// Clamps `value` to the parameter's limits, applies it and returns the
    /// value in force. A NaN leaves the parameter as it was.
    pub fn set_param(&mut self, index: u8, value: f32) -> Result<f32, WriteRefusal> {
        let &(_, _, flags, min, max) = self
            .table()
            .get(index as usize)
            .ok_or(WriteRefusal::BadIndex)?;
        if ParamFlags(flags).read_only() {
            return Err(WriteRefusal::ReadOnly);
        }
        if value.is_nan() {
            return self.param(index).ok_or(WriteRefusal::BadIndex);
        }
        let v = f64::from(value.clamp(min, max));
        let c = &mut self.config;
        if let Some(cascade) = &mut c.cascade {
            if usize::from(index) == PARAMS.len() {
                cascade.velocity_limit = v;
            }
            if usize::from(index) == PARAMS.len() || cascade.set(index, v) {
                return self.param(index).ok_or(WriteRefusal::BadIndex);
            }
        }
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
                let active = v >= 0.5 && self.enabled && !c.excite.active;
                if active != c.relay.active {
                    self.relay = RelayState::default();
                    self.pid.reset();
                    self.cascade.reset();
                    self.cascade.reset();
                    self.cascade.reset();
                }
                c.relay.active = active;
            }
            17 => c.relay.amplitude = v,
            18 => c.relay.hysteresis = v,
            19 => c.relay.travel = v,
            20 => c.relay.bias = v,
            21 => {
                // Only with the output on and a band to sweep, and never
                // together with the relay: both would drive the output.
                let active = v >= 0.5 && self.enabled && !c.relay.active && c.excite.runnable();
                if active && !c.excite.active {
                    self.excite = ExciteRun::default();
                }
                c.excite.active = active;
            }
            // Settings stay as they are while a run uses them.
            22..=27 if c.excite.active => {}
            22 => {
                c.excite.kind = if v >= 0.5 {
                    ExciteKind::Prbs
                } else {
                    ExciteKind::Chirp
                }
            }
            23 => {
                c.excite.point = if v >= 0.5 {
                    ExcitePoint::Effort
                } else {
                    ExcitePoint::Setpoint
                }
            }
            24 => c.excite.amplitude = v,
            25 => c.excite.f0 = v,
            26 => c.excite.f1 = v,
            27 => c.excite.duration = v,
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
            self.cascade.reset();
            self.config.relay.active = false;
            self.config.excite.active = false;
        }
        self.enabled = enabled;
    }

    /// Whether the controller's output is at its limit.
    pub fn saturated(&self) -> bool {
        let controller = if self.config.cascade.is_some() {
            self.cascade.saturated
        } else {
            self.pid.saturated
        };
        self.enabled && !self.config.relay.active && controller
    }

    /// Whether the relay mode is switching the output.
    pub fn relay_active(&self) -> bool {
        self.config.relay.active
    }

    /// Whether the device-side excitation is running.
    pub fn excite_active(&self) -> bool {
        self.config.excite.active
    }

    /// The modes the drive ends by itself, by the index of their `active`
    /// parameter, and whether each is on: the firmware reports the ones
    /// that went off with an unprompted VALUE.
    pub fn modes(&self) -> [(u8, bool); 2] {
        [
            (RELAY_ACTIVE_INDEX, self.config.relay.active),
            (EXCITE_ACTIVE_INDEX, self.config.excite.active),
        ]
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
                self.cascade.reset();
                self.cascade.reset();
            }
            output
        } else {
            None
        };
        let excitation = if self.enabled && self.config.excite.active {
            let value = self.excite.next(&self.config.excite, dt);
            if value.is_none() {
                self.config.excite.active = false;
            }
            value
        } else {
            None
        };
        let point = self.config.excite.point;
        // The reference the controller follows, and what the setpoint
        // channel streams: the setpoint plus a setpoint excitation, or the
        // injection itself at the effort point (docs/PROTOCOL.md 4.6).
        let (reference, streamed) = match excitation {
            Some(value) if point == ExcitePoint::Setpoint => {
                (self.config.setpoint + value, self.config.setpoint + value)
            }
            Some(value) => (self.config.setpoint, value),
            None => (self.config.setpoint, self.config.setpoint),
        };
        self.effort = if let Some(output) = relay {
            self.pid.track(measured);
            self.cascade.track(measured);
            output
        } else if self.enabled {
            let output = match &self.config.cascade {
                Some(cascade) => {
                    let limit = self.config.gains.output_limit;
                    self.cascade.update(cascade, limit, reference, measured, dt)
                }
                None => self.pid.update(&self.config.gains, reference, measured, dt),
            };
            match excitation {
                Some(value) if point == ExcitePoint::Effort => {
                    let limit = self.config.gains.output_limit.abs();
                    (output + value).clamp(-limit, limit)
                }
                _ => output,
            }
        } else {
            self.pid.track(measured);
            self.cascade.track(measured);
            0.0
        };
        let mut terms = self.pid.terms;
        if self.config.cascade.is_some() {
            (terms.proportional, terms.integral) = self.cascade.terms;
            terms.derivative = 0.0;
        }
        let sample = DriveSample {
            setpoint: streamed as f32,
            position: measured as f32,
            velocity: self.plant.state.velocity as f32,
            effort: self.effort as f32,
            following_error: (reference - measured) as f32,
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
            other_axes: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests;
