//! PID position controller as drive firmware runs it: derivative on the
//! measurement (a setpoint step does not kick the output) through a
//! first-order filter, integral with clamping anti-windup, and a symmetric
//! output limit.

/// Gains and limits of the loop.
#[derive(Clone, Debug, PartialEq)]
pub struct PidGains {
    /// Proportional gain, A/rad.
    pub kp: f64,
    /// Integral gain, A/(rad·s).
    pub ki: f64,
    /// Derivative gain, A·s/rad.
    pub kd: f64,
    /// Time constant of the derivative's first-order filter, s; 0 = none.
    pub derivative_filter: f64,
    /// Output saturates at ±this.
    pub output_limit: f64,
}

/// What the controller computed in its last tick, before the output limit:
/// the output is `proportional + integral + derivative` clamped to the
/// limit, so the three add up to the output whenever it is not saturated.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PidTerms {
    /// `kp · error`.
    pub proportional: f64,
    /// The integrator's state after this tick (anti-windup applied).
    pub integral: f64,
    /// `−kd ·` the filtered rate of the measurement.
    pub derivative: f64,
}

/// The controller's memory between ticks.
#[derive(Clone, Debug, Default)]
pub struct Pid {
    integral: f64,
    filtered_derivative: f64,
    last_measurement: Option<f64>,
    /// Whether the last output hit the limit.
    pub saturated: bool,
    /// The terms of the last tick; all zero while the output is off.
    pub terms: PidTerms,
}

impl Pid {
    /// Forgets the integral and derivative history (on disable), so that
    /// enabling again starts without a stored kick.
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// Follows the measurement while the output is off, so the derivative
    /// does not see a jump when the loop is enabled.
    pub fn track(&mut self, measurement: f64) {
        self.integral = 0.0;
        self.filtered_derivative = 0.0;
        self.last_measurement = Some(measurement);
        self.saturated = false;
        self.terms = PidTerms::default();
    }

    /// One control tick of `dt` seconds; returns the saturated output.
    pub fn update(&mut self, gains: &PidGains, setpoint: f64, measurement: f64, dt: f64) -> f64 {
        let error = setpoint - measurement;
        let last = self.last_measurement.unwrap_or(measurement);
        self.last_measurement = Some(measurement);
        // Backward-Euler discretisation of s/(Tf·s + 1).
        let tf = gains.derivative_filter.max(0.0);
        self.filtered_derivative =
            (tf * self.filtered_derivative + (measurement - last)) / (tf + dt);

        let limit = gains.output_limit.abs();
        let proportional = gains.kp * error;
        let derivative = -gains.kd * self.filtered_derivative;
        let candidate_integral = self.integral + gains.ki * error * dt;
        let unsaturated = proportional + candidate_integral + derivative;
        // Clamping anti-windup: integrate only when the output is within its
        // limit or the error pulls it back out of saturation.
        let winding_up =
            (unsaturated > limit && error > 0.0) || (unsaturated < -limit && error < 0.0);
        if !winding_up {
            self.integral = candidate_integral;
        }
        let output = proportional + self.integral + derivative;
        self.saturated = output.abs() > limit;
        self.terms = PidTerms {
            proportional,
            integral: self.integral,
            derivative,
        };
        output.clamp(-limit, limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gains() -> PidGains {
        PidGains {
            kp: 2.0,
            ki: 10.0,
            kd: 0.5,
            derivative_filter: 0.0,
            output_limit: 100.0,
        }
    }

    #[test]
    fn proportional_and_integral_terms() {
        let mut pid = Pid::default();
        let g = PidGains { kd: 0.0, ..gains() };
        let first = pid.update(&g, 1.0, 0.0, 0.01);
        assert!((first - (2.0 + 0.1)).abs() < 1e-12);
        let second = pid.update(&g, 1.0, 0.0, 0.01);
        assert!((second - (2.0 + 0.2)).abs() < 1e-12);
    }

    #[test]
    fn derivative_acts_on_measurement_not_setpoint() {
        let mut pid = Pid::default();
        let g = PidGains { ki: 0.0, ..gains() };
        pid.update(&g, 0.0, 0.0, 0.01);
        // A setpoint step: output is only the proportional part.
        assert!((pid.update(&g, 1.0, 0.0, 0.01) - 2.0).abs() < 1e-12);
        // The measurement moves 0.01 in 0.01 s: derivative −kd·1 rad/s.
        let out = pid.update(&g, 1.0, 0.01, 0.01);
        assert!((out - (2.0 * 0.99 - 0.5)).abs() < 1e-9);
    }

    #[test]
    fn filter_smooths_the_derivative() {
        let mut pid = Pid::default();
        let g = PidGains {
            kp: 0.0,
            ki: 0.0,
            kd: 1.0,
            derivative_filter: 0.09,
            output_limit: 100.0,
        };
        pid.update(&g, 0.0, 0.0, 0.01);
        // A ramp of 1 rad/s: the filtered derivative approaches it with τ = 0.09 s.
        let mut out = 0.0;
        for k in 1..=100 {
            out = pid.update(&g, 0.0, k as f64 * 0.01, 0.01);
        }
        assert!((out + 1.0).abs() < 1e-3, "{out}");
        let mut fresh = Pid::default();
        fresh.update(&g, 0.0, 0.0, 0.01);
        let first = fresh.update(&g, 0.0, 0.01, 0.01);
        assert!(
            (first + 0.1).abs() < 1e-9,
            "first step is 1/10 of the raw slope: {first}"
        );
    }

    #[test]
    fn terms_add_up_to_the_output_below_the_limit() {
        let mut pid = Pid::default();
        let g = gains();
        pid.update(&g, 1.0, 0.0, 0.01);
        let out = pid.update(&g, 1.0, 0.02, 0.01);
        let t = pid.terms;
        assert!((t.proportional - 2.0 * 0.98).abs() < 1e-12, "{t:?}");
        assert!(
            (t.integral - 10.0 * (1.0 + 0.98) * 0.01).abs() < 1e-12,
            "{t:?}"
        );
        assert!((t.derivative - -0.5 * 2.0).abs() < 1e-12, "{t:?}");
        assert!((t.proportional + t.integral + t.derivative - out).abs() < 1e-12);
        pid.track(0.02);
        assert_eq!(pid.terms, PidTerms::default());
    }

    #[test]
    fn output_clamps_and_integral_does_not_wind_up() {
        let mut pid = Pid::default();
        let g = PidGains {
            kp: 1.0,
            ki: 100.0,
            kd: 0.0,
            derivative_filter: 0.0,
            output_limit: 1.5,
        };
        for _ in 0..1000 {
            assert!(pid.update(&g, 10.0, 0.0, 0.01) <= 1.5);
        }
        assert!(pid.saturated);
        // Once the error reverses the output leaves the limit at once,
        // instead of unwinding a huge integral.
        let out = pid.update(&g, 0.0, 1.0, 0.01);
        assert!(out < 0.0, "{out}");
    }
}
