//! The library's two controllers, as the emulated motor's loops run them
//! (Arduino-FOC 2.4.0, `src/common/pid.cpp`, `src/common/lowpass_filter.cpp`),
//! with a fixed time step instead of `micros()` between calls.

use super::motor::is_set;

/// `PIDController` (pid.h, pid.cpp): P, Tustin-integrated I and D on the
/// error, the integral and output clamped by `limit`, the output's rate
/// of change by `output_ramp` (each only when set).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pid {
    /// Proportional gain.
    pub p: f32,
    /// Integral gain, per second.
    pub i: f32,
    /// Derivative gain, seconds.
    pub d: f32,
    /// Largest change of the output per second; `NOT_SET` or 0 for none.
    pub output_ramp: f32,
    /// Largest |output| and |integral|; `NOT_SET` for none.
    pub limit: f32,
    error_prev: f32,
    output_prev: f32,
    integral_prev: f32,
}

impl Pid {
    /// A controller with these settings, at rest.
    pub const fn new(p: f32, i: f32, d: f32, output_ramp: f32, limit: f32) -> Self {
        Self {
            p,
            i,
            d,
            output_ramp,
            limit,
            error_prev: 0.0,
            output_prev: 0.0,
            integral_prev: 0.0,
        }
    }

    /// One call of `operator()` `dt` seconds after the last (pid.cpp:18-62).
    pub fn run(&mut self, error: f32, dt: f32) -> f32 {
        let proportional = self.p * error;
        let mut integral = self.integral_prev + self.i * dt * 0.5 * (error + self.error_prev);
        if is_set(self.limit) {
            integral = integral.clamp(-self.limit.abs(), self.limit.abs());
        }
        let derivative = self.d * (error - self.error_prev) / dt;
        let mut output = proportional + integral + derivative;
        if is_set(self.limit) {
            output = output.clamp(-self.limit.abs(), self.limit.abs());
        }
        if is_set(self.output_ramp) && self.output_ramp > 0.0 {
            let rate = (output - self.output_prev) / dt;
            if rate > self.output_ramp {
                output = self.output_prev + self.output_ramp * dt;
            } else if rate < -self.output_ramp {
                output = self.output_prev - self.output_ramp * dt;
            }
        }
        self.integral_prev = integral;
        self.output_prev = output;
        self.error_prev = error;
        output
    }

    /// `reset()` (pid.cpp:64-68), called by `enable()`.
    pub fn reset(&mut self) {
        self.integral_prev = 0.0;
        self.output_prev = 0.0;
        self.error_prev = 0.0;
    }
}

/// `LowPassFilter` (lowpass_filter.cpp): `y = α·y + (1 − α)·x` with
/// `α = Tf / (Tf + dt)`; `Tf` 0 passes the input through.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Lpf {
    /// The filter's time constant, s.
    pub tf: f32,
    y_prev: f32,
}

impl Lpf {
    /// A filter with time constant `tf` s, at rest at 0.
    pub const fn new(tf: f32) -> Self {
        Self { tf, y_prev: 0.0 }
    }

    /// Filters `x`, `dt` s after the last call.
    pub fn run(&mut self, x: f32, dt: f32) -> f32 {
        let alpha = self.tf / (self.tf + dt);
        let y = alpha * self.y_prev + (1.0 - alpha) * x;
        self.y_prev = y;
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::firmware::simplefoc::motor::NOT_SET;

    #[test]
    fn the_ramp_limits_the_pid_output_rate_only_when_set() {
        let mut pid = Pid::new(1.0, 0.0, 0.0, NOT_SET, NOT_SET);
        assert_eq!(pid.run(100.0, 1e-3), 100.0);
        let mut ramped = Pid::new(1.0, 0.0, 0.0, 1000.0, 10.0);
        assert_eq!(ramped.run(100.0, 1e-3), 1.0);
    }
}
