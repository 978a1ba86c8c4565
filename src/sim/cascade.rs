//! The simulated drive's optional cascade (`motiontune sim --cascade`): a
//! P position loop around a PI velocity loop in place of the position PID,
//! its parameters named as docs/PROTOCOL.md 4.7 says, so cascade auto-tune
//! has a native device to tune. The velocity is the encoder's reading
//! differentiated each tick through a first-order filter, as a drive
//! without a velocity sensor measures it; the integral holds while the
//! output is clamped.

use crate::protocol::ParamFlags;

/// The cascade's settings; the output limit is the drive's.
#[derive(Clone, Debug, PartialEq)]
pub struct CascadeConfig {
    /// Velocity command per position error, (rad/s)/rad.
    pub position_kp: f64,
    /// Output per velocity error, A/(rad/s).
    pub velocity_kp: f64,
    /// Integral gain, A/rad.
    pub velocity_ki: f64,
    /// Time constant of the filter on the measured velocity, s.
    pub velocity_filter: f64,
    /// Largest velocity command, rad/s.
    pub velocity_limit: f64,
}

impl Default for CascadeConfig {
    /// A loop before anyone tuned it: a velocity loop of some 2 Hz under a
    /// position loop of 1.6 Hz, slow and close together.
    fn default() -> Self {
        Self {
            position_kp: 10.0,
            velocity_kp: 0.2,
            velocity_ki: 2.0,
            velocity_filter: 1e-3,
            velocity_limit: 30.0,
        }
    }
}

const GAIN: u8 = ParamFlags::TUNING_GAIN | ParamFlags::LOG_SCALE;

/// The rows that replace the position PID's (indices 0 to 4): name, unit,
/// flags, min, max.
pub const ROWS: [(&str, &str, u8, f32, f32); 5] = [
    ("pos.kp", "(rad/s)/rad", GAIN, 0.0, 1000.0),
    ("vel.kp", "A/(rad/s)", GAIN, 0.0, 100.0),
    ("vel.ki", "A/rad", GAIN, 0.0, 10_000.0),
    ("vel.filter", "s", ParamFlags::TUNING_GAIN, 0.0, 0.1),
    ("vel.output_limit", "A", 0, 0.0, 20.0),
];

/// The row added after the drive's own: the velocity limit.
pub const LIMIT_ROW: (&str, &str, u8, f32, f32) = ("vel.limit", "rad/s", 0, 0.0, 1000.0);

impl CascadeConfig {
    /// The value of row `row` of [`ROWS`] (0 to 3) or the limit (`None`
    /// for the limit row's index is the caller's to map).
    pub fn value(&self, row: u8) -> Option<f64> {
        Some(match row {
            0 => self.position_kp,
            1 => self.velocity_kp,
            2 => self.velocity_ki,
            3 => self.velocity_filter,
            _ => return None,
        })
    }

    /// Sets row `row` of [`ROWS`] (0 to 3); false for another row.
    pub fn set(&mut self, row: u8, value: f64) -> bool {
        match row {
            0 => self.position_kp = value,
            1 => self.velocity_kp = value,
            2 => self.velocity_ki = value,
            3 => self.velocity_filter = value,
            _ => return false,
        }
        true
    }
}

/// The cascade's memory between ticks.
#[derive(Clone, Debug, Default)]
pub struct Cascade {
    integral: f64,
    velocity: f64,
    last: Option<f64>,
    /// Whether the last output hit the limit.
    pub saturated: bool,
    /// The velocity loop's proportional term and integral, last tick.
    pub terms: (f64, f64),
}

impl Cascade {
    /// Forgets the integral and the velocity (on enable and disable).
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// Follows the measurement while the output is off.
    pub fn track(&mut self, measured: f64) {
        *self = Self {
            last: Some(measured),
            ..Self::default()
        };
    }

    /// One tick of `dt` seconds towards `reference`; the output, clamped
    /// to ±`limit`.
    pub fn update(
        &mut self,
        config: &CascadeConfig,
        limit: f64,
        reference: f64,
        measured: f64,
        dt: f64,
    ) -> f64 {
        let last = self.last.unwrap_or(measured);
        self.last = Some(measured);
        let filter = config.velocity_filter.max(0.0);
        // Backward Euler, as the host's prediction filters it.
        self.velocity = (filter * self.velocity + (measured - last)) / (filter + dt);
        let speed = config.velocity_limit.abs();
        let command = (config.position_kp * (reference - measured)).clamp(-speed, speed);
        let error = command - self.velocity;
        let proportional = config.velocity_kp * error;
        let unclamped = proportional + self.integral;
        let output = unclamped.clamp(-limit.abs(), limit.abs());
        self.saturated = output != unclamped;
        if !self.saturated {
            self.integral += config.velocity_ki * error * dt;
        }
        self.terms = (proportional, self.integral);
        output
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_velocity_command_is_limited_and_the_integral_holds_while_clamped() {
        let config = CascadeConfig {
            velocity_filter: 0.0,
            ..CascadeConfig::default()
        };
        let mut cascade = Cascade::default();
        cascade.track(0.0);
        // 10 rad away at 10/s asks for 100 rad/s: 30 rad/s, times 0.2 is
        // 6 A against a 5 A limit.
        let output = cascade.update(&config, 5.0, 10.0, 0.0, 1e-4);
        assert_eq!(output, 5.0);
        assert!(cascade.saturated);
        assert_eq!(cascade.terms, (6.0, 0.0));
        // 0.1 rad away: 1 rad/s, 0.2 A, and the integral grows.
        let mut small = Cascade::default();
        small.track(0.0);
        let output = small.update(&config, 5.0, 0.1, 0.0, 1e-4);
        assert!((output - 0.2).abs() < 1e-12);
        assert!(small.terms.1 > 0.0);
    }

    #[test]
    fn its_rows_are_the_names_the_protocol_documents() {
        use crate::protocol::loops::NATIVE_CASCADE as NAMES;
        let names: Vec<&str> = ROWS.iter().map(|row| row.0).collect();
        assert_eq!(
            names,
            [
                NAMES.position_p,
                NAMES.velocity_p,
                NAMES.velocity_i,
                NAMES.velocity_filter.expect("a filter"),
                NAMES.effort_limits[0],
            ]
        );
        assert_eq!(LIMIT_ROW.0, NAMES.velocity_limits[0]);
    }
}
