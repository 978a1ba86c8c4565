//! The emulated sketch's `BLDCMotor`: the variables of SimpleFOC 2.4.0's
//! `FOCMotor` under the library's own names, its control loops and the
//! functions that keep them coupled, around the simulated plant with a
//! magnetic sensor and a three-phase driver. Every behaviour a host can
//! see is the library's (Arduino-FOC 2.4.0, `src/common/base_classes/
//! FOCMotor.cpp`, `src/BLDCMotor.cpp`, `src/common/pid.cpp`,
//! `src/common/lowpass_filter.cpp`; cited by file:line below):
//!
//! - `loopFOC()` (FOCMotor.cpp:580-666) applies the torque loop: in
//!   voltage mode `voltage.q` is the motion loops' output clamped to the
//!   voltage limit; the current modes need current sensing, which this
//!   sketch has not, so they leave the driver as it was (626, 640); the
//!   estimated-current mode needs the phase resistance (610).
//! - `move()` (673-770) runs the motion loop: the angle loop is the P
//!   controller `P_angle` into the velocity PID, each output clamped by
//!   its limit; the target is the setpoint of whichever loop is outermost.
//! - `updateVelocityLimit`, `updateCurrentLimit`, `updateVoltageLimit`,
//!   `updateTorqueControlType`, `updateMotionControlType` (445-535) move
//!   the PID limits and re-seed the target exactly as the library does.
//! - `monitor()` (321-382) prints the selected variables with the sketch's
//!   separator, start and end characters and decimals; currents in mA, and
//!   0 without current sensing (346-361: `current` is never measured).
//!
//! The hardware is the simulated plant ([`crate::sim::plant`]) driven by
//! the phase voltages the driver holds (a BLDC motor of 7 pole pairs,
//! 1 Ω phases, back-EMF constant equal to the torque constant), read by a
//! sensor with the drive configuration's noise and no counts: the
//! library's velocity only changes when the angle does (Sensor.cpp:44-50),
//! and a real magnetic sensor's reading jitters across its counts, which
//! a quantized model without that jitter would not.

pub use super::controllers::{Lpf, Pid};
use crate::sim::noise::GaussianNoise;
use crate::sim::plant::Plant;

/// `NOT_SET` (Arduino-FOC `src/common/foc_utils.h`:34): a value not set.
pub const NOT_SET: f32 = -12345.0;

/// `_isset` (foc_utils.h:13).
pub fn is_set(value: f32) -> bool {
    value != NOT_SET
}

/// `MotionControlType` (FOCMotor.h:49-57), by code.
pub mod motion {
    /// `MotionControlType::torque`.
    pub const TORQUE: u8 = 0;
    /// `MotionControlType::velocity`.
    pub const VELOCITY: u8 = 1;
    /// `MotionControlType::angle`.
    pub const ANGLE: u8 = 2;
    /// `MotionControlType::velocity_openloop`.
    pub const VELOCITY_OPENLOOP: u8 = 3;
    /// `MotionControlType::angle_openloop`.
    pub const ANGLE_OPENLOOP: u8 = 4;
    /// `MotionControlType::angle_nocascade`.
    pub const ANGLE_NOCASCADE: u8 = 5;
    /// `MotionControlType::custom`.
    pub const CUSTOM: u8 = 6;
}

/// `TorqueControlType` (FOCMotor.h:62-67), by code.
pub mod torque {
    /// `TorqueControlType::voltage`.
    pub const VOLTAGE: u8 = 0;
    /// `TorqueControlType::dc_current`.
    pub const DC_CURRENT: u8 = 1;
    /// `TorqueControlType::foc_current`.
    pub const FOC_CURRENT: u8 = 2;
    /// `TorqueControlType::estimated_current`.
    pub const ESTIMATED_CURRENT: u8 = 3;
}

/// `monitor()`'s settings (FOCMotor.h:280-292).
#[derive(Clone, Debug, PartialEq)]
pub struct MonitorSettings {
    /// `monitor_downsample`: every this many calls print once; 0 never.
    /// Stored as the library stores it, an unsigned int a negative value
    /// wraps into.
    pub downsample: u32,
    /// `monitor_variables`, bit 6 the target … bit 0 the angle.
    pub variables: u8,
    /// `monitor_decimals`.
    pub decimals: u32,
    /// `monitor_separator`.
    pub separator: char,
    /// `monitor_start_char`, `None` for the library's `'\0'`.
    pub start_char: Option<char>,
    /// `monitor_end_char`, `None` for the library's `'\0'`.
    pub end_char: Option<char>,
    count: u32,
}

impl Default for MonitorSettings {
    /// The library's defaults (FOCMotor.h:286-292).
    fn default() -> Self {
        Self {
            downsample: 100,
            variables: 0b110_0011,
            decimals: 4,
            separator: '\t',
            start_char: None,
            end_char: None,
            count: 0,
        }
    }
}

/// The bench motor's constants: pole pairs, phase resistance (Ω), and the
/// electrical zero the sketch was calibrated to (rad).
const POLE_PAIRS: f32 = 7.0;
const PHASE_RESISTANCE: f64 = 1.0;
const ELECTRICAL_ZERO: f32 = 0.5;
/// The driver's supply (`driver.voltage_power_supply = 12`).
pub const SUPPLY_VOLTS: f32 = 12.0;
/// `_RPM_TO_RADS` (foc_utils.h).
const RPM_TO_RADS: f32 = 0.104_719_76;

/// A `BLDCMotor` with its sensor, driver and the plant they drive.
#[derive(Clone, Debug)]
pub struct Motor {
    /// `controller`: the motion control type in force ([`motion`]).
    pub controller: u8,
    /// `torque_controller`: the torque control type in force ([`torque`]).
    pub torque_controller: u8,
    /// `target`: what the motion control type follows (rad, rad/s, V or A).
    pub target: f32,
    /// `enabled`: the motor runs its loops.
    pub enabled: bool,
    /// `shaft_angle`, rad.
    pub shaft_angle: f32,
    /// `shaft_velocity`, rad/s.
    pub shaft_velocity: f32,
    /// `shaft_angle_sp`: the angle setpoint, rad.
    pub shaft_angle_sp: f32,
    /// `shaft_velocity_sp`: the velocity setpoint, rad/s.
    pub shaft_velocity_sp: f32,
    /// `current_sp`: the current setpoint, A.
    pub current_sp: f32,
    /// `voltage.q`, V.
    pub voltage_q: f32,
    /// `voltage.d`, V.
    pub voltage_d: f32,
    /// `current.q`, A.
    pub current_q: f32,
    /// `current.d`, A.
    pub current_d: f32,
    /// `voltage_limit`, V.
    pub voltage_limit: f32,
    /// `current_limit`, A.
    pub current_limit: f32,
    /// `velocity_limit`, rad/s.
    pub velocity_limit: f32,
    /// `PID_velocity`.
    pub pid_velocity: Pid,
    /// `P_angle`.
    pub p_angle: Pid,
    /// `PID_current_q`.
    pub pid_current_q: Pid,
    /// `PID_current_d`.
    pub pid_current_d: Pid,
    /// `LPF_velocity`.
    pub lpf_velocity: Lpf,
    /// `LPF_angle`.
    pub lpf_angle: Lpf,
    /// `LPF_current_q`.
    pub lpf_current_q: Lpf,
    /// `LPF_current_d`.
    pub lpf_current_d: Lpf,
    /// `phase_resistance`, Ω.
    pub phase_resistance: f32,
    /// `phase_inductance`, H.
    pub phase_inductance: f32,
    /// `axis_inductance.d`, H.
    pub axis_inductance_d: f32,
    /// `axis_inductance.q`, H.
    pub axis_inductance_q: f32,
    /// `KV_rating`, rpm/V.
    pub kv_rating: f32,
    /// `sensor_offset`, rad.
    pub sensor_offset: f32,
    /// `zero_electric_angle`, rad.
    pub zero_electric_angle: f32,
    /// `FOCModulationType`: 0 SinePWM … 3 Trapezoid 150.
    pub foc_modulation: u8,
    /// `modulation_centered`: 1 centres the phase voltages on half the supply.
    pub modulation_centered: i8,
    /// `motion_downsample`: `move()` skips this many calls between runs (0: every call).
    pub motion_downsample: u32,
    motion_cnt: u32,
    /// `monitor()`'s settings.
    pub monitor: MonitorSettings,
    /// The driver's phases are switched (`driver->enable()`).
    pub driver_enabled: bool,
    /// The voltage vector the driver holds, stator frame (Uα, Uβ).
    applied: (f32, f32),
    /// The motor and load the driver moves.
    pub plant: Plant,
    sensor: SensorModel,
}

/// The magnetic sensor and the library's `Sensor` velocity (Sensor.cpp:20-56:
/// the angle change over the time since the angle last changed).
#[derive(Clone, Debug)]
struct SensorModel {
    noise_rad: f64,
    noise: GaussianNoise,
    now_s: f64,
    angle: f32,
    velocity: f32,
    vel_angle_prev: f32,
    vel_time_prev: f64,
}

impl SensorModel {
    fn read(&mut self, true_angle: f64, dt: f64) {
        self.now_s += dt;
        let mut angle = true_angle;
        if self.noise_rad > 0.0 {
            angle += self.noise_rad * self.noise.standard();
        }
        self.angle = angle as f32;
        let delta = self.angle - self.vel_angle_prev;
        if delta.abs() > 1e-8 {
            self.velocity = delta / (self.now_s - self.vel_time_prev) as f32;
            self.vel_angle_prev = self.angle;
            self.vel_time_prev = self.now_s;
        }
    }
}

impl Motor {
    /// A `BLDCMotor(7)` with the library's defaults (FOCMotor.cpp:7-46,
    /// FOCMotor.h:254-262, defaults.h) on `plant`, its driver off.
    pub fn new(plant: Plant, noise_rad: f64) -> Self {
        Self {
            controller: motion::ANGLE,
            torque_controller: torque::VOLTAGE,
            target: 0.0,
            enabled: false,
            shaft_angle: 0.0,
            shaft_velocity: 0.0,
            shaft_angle_sp: 0.0,
            shaft_velocity_sp: 0.0,
            current_sp: 0.0,
            voltage_q: 0.0,
            voltage_d: 0.0,
            current_q: 0.0,
            current_d: 0.0,
            voltage_limit: SUPPLY_VOLTS,
            current_limit: 2.0,
            velocity_limit: 20.0,
            pid_velocity: Pid::new(0.5, 10.0, 0.0, NOT_SET, SUPPLY_VOLTS),
            p_angle: Pid::new(20.0, 0.0, 0.0, 0.0, 20.0),
            pid_current_q: Pid::new(3.0, 300.0, 0.0, 0.0, SUPPLY_VOLTS),
            pid_current_d: Pid::new(3.0, 300.0, 0.0, 0.0, SUPPLY_VOLTS),
            lpf_velocity: Lpf::new(0.005),
            lpf_angle: Lpf::new(0.0),
            // DEF_CURR_FILTER_Tf, 1/(2π·300) (defaults.h:30).
            lpf_current_q: Lpf::new(1.0 / (std::f32::consts::TAU * 300.0)),
            lpf_current_d: Lpf::new(1.0 / (std::f32::consts::TAU * 300.0)),
            phase_resistance: NOT_SET,
            phase_inductance: NOT_SET,
            axis_inductance_d: NOT_SET,
            axis_inductance_q: NOT_SET,
            kv_rating: NOT_SET,
            sensor_offset: 0.0,
            zero_electric_angle: ELECTRICAL_ZERO,
            foc_modulation: 0,
            modulation_centered: 1,
            motion_downsample: 0,
            motion_cnt: 0,
            monitor: MonitorSettings::default(),
            driver_enabled: false,
            applied: (0.0, 0.0),
            plant,
            sensor: SensorModel {
                noise_rad,
                noise: GaussianNoise::new(0x5F0C),
                now_s: 0.0,
                angle: 0.0,
                velocity: 0.0,
                vel_angle_prev: 0.0,
                vel_time_prev: 0.0,
            },
        }
    }

    /// What `init()` and `initFOC()` leave behind, the driver aside: the
    /// limits pushed into the PIDs for the motion and torque types chosen
    /// (BLDCMotor.cpp:81-83) and the sensor read (FOCMotor.cpp:783-787).
    pub fn init(&mut self) {
        self.update_current_limit(self.current_limit);
        self.update_voltage_limit(self.voltage_limit);
        self.update_velocity_limit(self.velocity_limit);
        self.sensor.read(self.plant.state.position, 0.0);
        self.shaft_angle = self.sensor.angle - self.sensor_offset;
    }

    /// `BLDCMotor::enable()` (BLDCMotor.cpp:123-138): driver on, zero
    /// voltage, every PID reset.
    pub fn enable(&mut self) {
        self.driver_enabled = true;
        self.applied = (0.0, 0.0);
        self.pid_velocity.reset();
        self.p_angle.reset();
        self.pid_current_q.reset();
        self.pid_current_d.reset();
        self.enabled = true;
    }

    /// `BLDCMotor::disable()` (BLDCMotor.cpp:111-121): zero voltage,
    /// driver off (phases floating).
    pub fn disable(&mut self) {
        self.applied = (0.0, 0.0);
        self.driver_enabled = false;
        self.enabled = false;
    }

    /// FOCMotor.cpp:446-450.
    pub fn update_velocity_limit(&mut self, limit: f32) {
        self.velocity_limit = limit;
        if self.controller != motion::ANGLE_NOCASCADE {
            self.p_angle.limit = self.velocity_limit.abs();
        }
    }

    /// FOCMotor.cpp:453-462.
    pub fn update_current_limit(&mut self, limit: f32) {
        self.current_limit = limit;
        if self.torque_controller != torque::VOLTAGE {
            self.pid_velocity.limit = limit;
            if self.controller == motion::ANGLE_NOCASCADE {
                self.p_angle.limit = limit;
            }
        }
    }

    /// FOCMotor.cpp:466-477.
    pub fn update_voltage_limit(&mut self, limit: f32) {
        self.voltage_limit = limit;
        self.pid_current_q.limit = limit;
        self.pid_current_d.limit = limit;
        if self.torque_controller == torque::VOLTAGE {
            self.pid_velocity.limit = limit;
            if self.controller == motion::ANGLE_NOCASCADE {
                self.p_angle.limit = limit;
            }
        }
    }

    /// FOCMotor.cpp:480-489.
    pub fn update_torque_control_type(&mut self, kind: u8) {
        self.torque_controller = kind;
        if kind == torque::VOLTAGE {
            self.update_voltage_limit(self.voltage_limit);
        } else {
            self.update_current_limit(self.current_limit);
        }
    }

    /// FOCMotor.cpp:495-535: the target follows the motor into the new
    /// mode (the present angle for an angle mode entered from a non-angle
    /// one, 0 for torque, custom, or a velocity mode entered from a
    /// non-velocity one), then every limit is pushed again.
    pub fn update_motion_control_type(&mut self, new: u8) {
        use motion::*;
        let old = self.controller;
        if old == new {
            return;
        }
        let angle_family = [ANGLE, ANGLE_OPENLOOP, ANGLE_NOCASCADE];
        let velocity_family = [VELOCITY, VELOCITY_OPENLOOP];
        if angle_family.contains(&new) {
            // The library's fall-through cases keep the target when one
            // angle mode follows another.
            if !angle_family.contains(&old) {
                self.target = self.shaft_angle;
            }
        } else if velocity_family.contains(&new) {
            if !velocity_family.contains(&old) {
                self.target = 0.0;
            }
        } else {
            self.target = 0.0;
        }
        self.controller = new;
        self.update_velocity_limit(self.velocity_limit);
        self.update_current_limit(self.current_limit);
        self.update_voltage_limit(self.voltage_limit);
    }

    /// `estimateBEMF` (BLDCMotor.cpp:143-147).
    fn estimate_bemf(&self, velocity: f32) -> f32 {
        velocity / (self.kv_rating * 3f32.sqrt()) / RPM_TO_RADS
    }

    fn electrical_angle(&self) -> f32 {
        let angle = if matches!(
            self.controller,
            motion::ANGLE_OPENLOOP | motion::VELOCITY_OPENLOOP
        ) {
            self.shaft_angle
        } else {
            self.sensor.angle
        };
        (POLE_PAIRS * angle - self.zero_electric_angle).rem_euclid(std::f32::consts::TAU)
    }

    /// One `loopFOC()` (FOCMotor.cpp:580-666).
    pub fn loop_foc(&mut self, dt: f32) {
        self.sensor.read(self.plant.state.position, f64::from(dt));
        if !self.enabled {
            return;
        }
        let angle = self.electrical_angle();
        let clamp_v = |v: f32, limit: f32| v.clamp(-limit.abs(), limit.abs());
        match self.torque_controller {
            torque::VOLTAGE => {
                self.voltage_q = clamp_v(self.current_sp, self.voltage_limit);
                self.voltage_d = 0.0;
            }
            torque::ESTIMATED_CURRENT => {
                if !is_set(self.phase_resistance) {
                    return;
                }
                self.current_sp = clamp_v(self.current_sp, self.current_limit);
                let bemf = if is_set(self.kv_rating) {
                    self.estimate_bemf(self.shaft_velocity)
                } else {
                    0.0
                };
                self.current_q = self.lpf_current_q.run(self.current_sp, dt);
                self.voltage_q = clamp_v(
                    self.current_q * self.phase_resistance + bemf,
                    self.voltage_limit,
                );
                self.voltage_d = if is_set(self.axis_inductance_q) {
                    clamp_v(
                        -self.current_sp
                            * self.shaft_velocity
                            * POLE_PAIRS
                            * self.axis_inductance_q,
                        self.voltage_limit,
                    )
                } else {
                    0.0
                };
            }
            // No current sensing: the library returns before touching the
            // driver (FOCMotor.cpp:626, 640).
            _ => return,
        }
        let (sin, cos) = angle.sin_cos();
        let (mut alpha, mut beta) = (
            self.voltage_d * cos - self.voltage_q * sin,
            self.voltage_d * sin + self.voltage_q * cos,
        );
        // Sine PWM centred on half the supply reaches half the supply.
        let reach = SUPPLY_VOLTS / 2.0;
        let magnitude = alpha.hypot(beta);
        if magnitude > reach {
            alpha *= reach / magnitude;
            beta *= reach / magnitude;
        }
        self.applied = (alpha, beta);
    }

    /// One `move()` (FOCMotor.cpp:673-770), `dt` after the last call.
    pub fn motion(&mut self, dt: f32) {
        let due = self.motion_cnt;
        self.motion_cnt += 1;
        if due < self.motion_downsample {
            return;
        }
        self.motion_cnt = 0;
        let dt = dt * (self.motion_downsample as f32 + 1.0);
        let open_loop = matches!(
            self.controller,
            motion::ANGLE_OPENLOOP | motion::VELOCITY_OPENLOOP
        );
        if !open_loop {
            self.shaft_angle = self.sensor.angle - self.sensor_offset;
            self.shaft_velocity = self.lpf_velocity.run(self.sensor.velocity, dt);
        }
        if !self.enabled {
            return;
        }
        match self.controller {
            motion::TORQUE => self.current_sp = self.target,
            motion::ANGLE_NOCASCADE => {
                self.shaft_angle_sp = self.target;
                let angle = self.lpf_angle.run(self.shaft_angle, dt);
                self.current_sp = self.p_angle.run(self.shaft_angle_sp - angle, dt);
            }
            motion::ANGLE => {
                self.shaft_angle_sp = self.target;
                let angle = self.lpf_angle.run(self.shaft_angle, dt);
                self.shaft_velocity_sp = self
                    .p_angle
                    .run(self.shaft_angle_sp - angle, dt)
                    .clamp(-self.velocity_limit.abs(), self.velocity_limit.abs());
                self.current_sp = self
                    .pid_velocity
                    .run(self.shaft_velocity_sp - self.shaft_velocity, dt);
            }
            motion::VELOCITY => {
                self.shaft_velocity_sp = self.target;
                self.current_sp = self
                    .pid_velocity
                    .run(self.shaft_velocity_sp - self.shaft_velocity, dt);
            }
            motion::VELOCITY_OPENLOOP => {
                self.shaft_velocity_sp = self.target;
                // velocityOpenloop (FOCMotor.cpp:389-409).
                self.shaft_angle =
                    (self.shaft_angle + self.target * dt).rem_euclid(std::f32::consts::TAU);
                self.shaft_velocity = self.target;
                self.current_sp = self.open_loop_effort();
            }
            motion::ANGLE_OPENLOOP => {
                self.shaft_angle_sp = self.target;
                // angleOpenloop (FOCMotor.cpp:414-443).
                let step = (self.velocity_limit * dt).abs();
                if (self.target - self.shaft_angle).abs() > step {
                    self.shaft_angle += (self.target - self.shaft_angle).signum() * step;
                    self.shaft_velocity = self.velocity_limit;
                } else {
                    self.shaft_angle = self.target;
                    self.shaft_velocity = 0.0;
                }
                self.current_sp = self.open_loop_effort();
            }
            // Custom: the sketch registered no callback.
            _ => {}
        }
    }

    fn open_loop_effort(&self) -> f32 {
        if self.torque_controller == torque::VOLTAGE {
            self.voltage_limit
        } else {
            self.current_limit
        }
    }

    /// Moves the plant `dt` seconds under the voltage the driver holds: the
    /// q-axis voltage the rotor sees at its true electrical angle drives
    /// the phase current against the back-EMF.
    pub fn drive_plant(&mut self, dt: f64) {
        let state = self.plant.state;
        let current = if self.driver_enabled {
            let electrical = f64::from(POLE_PAIRS) * state.position - f64::from(ELECTRICAL_ZERO);
            let (alpha, beta) = (f64::from(self.applied.0), f64::from(self.applied.1));
            let uq = -electrical.sin() * alpha + electrical.cos() * beta;
            let back_emf = self.plant.constants.torque_constant * state.velocity;
            (uq - back_emf) / PHASE_RESISTANCE
        } else {
            0.0
        };
        self.plant.step(current, dt);
    }

    /// What `monitor()` prints now (FOCMotor.cpp:321-382), `None` on the
    /// calls it skips or when no variable is selected.
    pub fn monitor_line(&mut self) -> Option<String> {
        let settings = &mut self.monitor;
        // `!monitor_downsample || monitor_cnt++ < (monitor_downsample-1)`.
        if settings.downsample == 0 {
            return None;
        }
        let count = settings.count;
        settings.count = settings.count.wrapping_add(1);
        if count < settings.downsample - 1 {
            return None;
        }
        settings.count = 0;
        let values = [
            self.target,
            self.voltage_q,
            self.voltage_d,
            self.current_q * 1000.0,
            self.current_d * 1000.0,
            self.shaft_velocity,
            self.shaft_angle,
        ];
        let decimals = self.monitor.decimals as usize;
        let mut line = String::new();
        for (bit, value) in values.iter().enumerate() {
            if self.monitor.variables & (1 << (6 - bit)) == 0 {
                continue;
            }
            if line.is_empty() {
                line.extend(self.monitor.start_char);
            } else {
                line.push(self.monitor.separator);
            }
            line += &super::commander::arduino_float(*value, decimals);
        }
        if line.is_empty() {
            return None;
        }
        line.extend(self.monitor.end_char);
        line += "\r\n";
        Some(line)
    }

    /// `move_time_us`: the time between `move()` calls, µs.
    pub fn move_time_us(&self, loop_hz: u32) -> i32 {
        (1_000_000 / loop_hz.max(1) * (self.motion_downsample + 1)) as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::plant::PlantConstants;

    fn motor() -> Motor {
        let mut motor = Motor::new(Plant::new(PlantConstants::default()), 0.0);
        motor.init();
        motor.enable();
        motor
    }

    #[test]
    fn the_limits_follow_the_library_s_update_functions() {
        let mut m = motor();
        assert_eq!(
            m.pid_velocity.limit, SUPPLY_VOLTS,
            "init pushed the voltage"
        );
        m.update_voltage_limit(5.0);
        assert_eq!(
            (
                m.pid_velocity.limit,
                m.pid_current_q.limit,
                m.pid_current_d.limit
            ),
            (5.0, 5.0, 5.0)
        );
        m.update_velocity_limit(9.0);
        assert_eq!(m.p_angle.limit, 9.0);
        m.update_current_limit(1.5);
        assert_eq!(m.pid_velocity.limit, 5.0, "voltage mode: untouched");
        m.update_torque_control_type(torque::FOC_CURRENT);
        assert_eq!(m.pid_velocity.limit, 1.5);
        m.update_motion_control_type(motion::ANGLE_NOCASCADE);
        assert_eq!(m.p_angle.limit, 1.5, "nocascade: the current limit");
    }

    #[test]
    fn a_new_motion_type_re_seeds_the_target() {
        let mut m = motor();
        m.shaft_angle = 1.25;
        m.target = 3.0;
        m.update_motion_control_type(motion::VELOCITY);
        assert_eq!(m.target, 0.0);
        m.target = 2.0;
        m.update_motion_control_type(motion::VELOCITY_OPENLOOP);
        assert_eq!(m.target, 2.0, "velocity to velocity keeps it");
        m.update_motion_control_type(motion::ANGLE);
        assert_eq!(m.target, 1.25, "the present angle");
        m.target = 0.5;
        m.update_motion_control_type(motion::ANGLE_NOCASCADE);
        assert_eq!(m.target, 0.5);
        m.update_motion_control_type(motion::TORQUE);
        assert_eq!(m.target, 0.0);
    }

    #[test]
    fn the_angle_loop_reaches_its_target() {
        let mut m = motor();
        m.target = 1.0;
        let dt = 1e-4;
        for _ in 0..10_000 {
            m.loop_foc(dt as f32);
            m.motion(dt as f32);
            m.drive_plant(dt);
        }
        assert!((m.shaft_angle - 1.0).abs() < 0.01, "{}", m.shaft_angle);
    }
}
