//! Axis 0's incremental encoder as the controller sees it: integer counts
//! of the rotor's position, tracked by the firmware's phase-locked loop,
//! whose position and velocity are `encoder.pos_estimate` and
//! `encoder.vel_estimate` and what the control loop closes on (fw-v0.5.6
//! `MotorControl/encoder.cpp`, `encoder.hpp`).
//!
//! The estimate lags the rotor and steps with its counts, and the velocity
//! gain amplifies both: that is why a real ODrive starts to vibrate when
//! `vel_gain` is raised far enough, and why this emulator does too.
//! The PLL runs on the linear count (`shadow_count_`); the firmware feeds
//! its velocity from the circular count's phase detector (encoder.cpp:792),
//! which is the same difference away from the wrap at `cpr`.

/// `encoder.config.bandwidth` default, rad/s (encoder.hpp:24).
pub const PLL_BANDWIDTH: f32 = 1000.0;

/// The PLL's state, in counts (`pos_estimate_counts_`, `vel_estimate_counts_`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EncoderPll {
    pos_estimate_counts: f32,
    vel_estimate_counts: f32,
}

impl EncoderPll {
    /// `set_linear_count` (encoder.cpp:141-154): the estimate jumps to
    /// `count`; its velocity is kept.
    pub fn set_linear_count(&mut self, count: i32) {
        self.pos_estimate_counts = count as f32;
    }

    /// A rotor placed at rest at `count`: the estimate as if it had
    /// tracked it there.
    pub fn settle_at(&mut self, count: i32) {
        self.pos_estimate_counts = count as f32;
        self.vel_estimate_counts = 0.0;
    }

    /// One control loop's update (encoder.cpp:772-801) on the encoder's
    /// count `shadow_count`, `dt` the current measurement period.
    pub fn update(&mut self, shadow_count: i32, dt: f32) {
        // `update_pll_gains` (encoder.cpp:120-123).
        let pll_kp = 2.0 * PLL_BANDWIDTH;
        let pll_ki = 0.25 * pll_kp * pll_kp;
        // Predict the position (774), compare with the counts through the
        // encoder model, a floor (777-784), correct (789, 792).
        self.pos_estimate_counts += dt * self.vel_estimate_counts;
        let delta_pos_counts = (shadow_count - self.pos_estimate_counts.floor() as i32) as f32;
        self.pos_estimate_counts += dt * pll_kp * delta_pos_counts;
        self.vel_estimate_counts += dt * pll_ki * delta_pos_counts;
        // "align delta-sigma on zero to prevent jitter" (794-797).
        if self.vel_estimate_counts.abs() < 0.5 * dt * pll_ki {
            self.vel_estimate_counts = 0.0;
        }
    }

    /// `pos_estimate` and `vel_estimate` (800-801), turns and turns/s.
    pub fn estimates(&self, cpr: i32) -> (f64, f64) {
        let cpr = cpr.max(1) as f32;
        (
            f64::from(self.pos_estimate_counts / cpr),
            f64::from(self.vel_estimate_counts / cpr),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracks_a_constant_speed_and_snaps_to_zero_at_rest() {
        let dt = 1.0 / 8000.0;
        let mut pll = EncoderPll::default();
        // 1 turn/s on 8192 counts per turn, for 0.1 s.
        for k in 0..800 {
            let count = (f64::from(k) * f64::from(dt) * 8192.0).floor() as i32;
            pll.update(count, dt);
        }
        let (_, vel) = pll.estimates(8192);
        assert!((vel - 1.0).abs() < 0.02, "{vel}");
        // Held still, the estimate settles and its velocity snaps to 0.
        for _ in 0..800 {
            pll.update(819, dt);
        }
        let (pos, vel) = pll.estimates(8192);
        assert_eq!(vel, 0.0);
        assert!((pos - 819.0 / 8192.0).abs() < 1.0 / 8192.0, "{pos}");
    }
}
