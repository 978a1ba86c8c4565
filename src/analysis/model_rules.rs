//! PID gains from an identified model: Skogestad's SIMC rules and
//! lambda (IMC) tuning, for a chosen closed-loop time constant.
//!
//! The contract:
//! - Results are in standard form ([`StandardGains`]); SIMC's series-form
//!   PID `Kc·(1 + 1/(τI·s))·(1 + τD·s)` is converted exactly:
//!   `Kp = Kc·(1 + τD/τI)`, `Ti = τI + τD`, `Td = τI·τD/(τI + τD)`.
//! - The closed-loop time constant τc (λ) defaults to the dead time θ, as
//!   SIMC recommends; a model without dead time needs it given. A target
//!   bandwidth f (Hz) stands for `λ = 1/(2πf)`.
//! - A model with a gain or time constant that is not finite and nonzero,
//!   or a τc that is not above 0, is an error.
//! - The formulas and their sources are in docs/TUNING.md.

use super::identify::{Fopdt, Ipdt, MotorModel};
use super::ultimate_rules::StandardGains;

/// How fast the closed loop should be.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ClosedLoopSpeed {
    /// SIMC's recommendation: τc = θ.
    DeadTime,
    /// τc (λ), s.
    TimeConstant(f64),
    /// Target closed-loop bandwidth, Hz: `λ = 1/(2πf)`.
    BandwidthHz(f64),
}

/// Why a model gives no gains.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ModelTuningError {
    #[error("the model's {0} is zero or not a finite number: identify it again")]
    InvalidModel(&'static str),
    #[error(
        "the closed-loop time constant must be above 0 s (the model has no dead time to default to)"
    )]
    InvalidSpeed,
}

impl ClosedLoopSpeed {
    fn time_constant(self, dead_time: f64) -> Result<f64, ModelTuningError> {
        let tau_c = match self {
            ClosedLoopSpeed::DeadTime => dead_time,
            ClosedLoopSpeed::TimeConstant(t) => t,
            ClosedLoopSpeed::BandwidthHz(f) => 1.0 / (std::f64::consts::TAU * f),
        };
        if tau_c.is_finite() && tau_c > 0.0 {
            Ok(tau_c)
        } else {
            Err(ModelTuningError::InvalidSpeed)
        }
    }
}

fn check(value: f64, name: &'static str) -> Result<f64, ModelTuningError> {
    if value.is_finite() && value != 0.0 {
        Ok(value)
    } else {
        Err(ModelTuningError::InvalidModel(name))
    }
}

fn check_positive(value: f64, name: &'static str) -> Result<f64, ModelTuningError> {
    check(value, name).and_then(|v| {
        if v > 0.0 {
            Ok(v)
        } else {
            Err(ModelTuningError::InvalidModel(name))
        }
    })
}

fn check_dead_time(model_dead_time: f64) -> Result<f64, ModelTuningError> {
    if model_dead_time.is_finite() && model_dead_time >= 0.0 {
        Ok(model_dead_time)
    } else {
        Err(ModelTuningError::InvalidModel("dead time"))
    }
}

/// Series-form PID `Kc·(1 + 1/(τI·s))·(1 + τD·s)` in standard form.
fn from_series(kc: f64, tau_i: f64, tau_d: f64) -> StandardGains {
    StandardGains {
        kp: kc * (1.0 + tau_d / tau_i),
        ti: tau_i + tau_d,
        td: tau_i * tau_d / (tau_i + tau_d),
    }
}

/// SIMC PI for FOPDT (Skogestad 2003): `Kc = τ/(K·(τc + θ))`,
/// `τI = min(τ, 4·(τc + θ))`.
pub fn simc_pi_fopdt(
    model: &Fopdt,
    speed: ClosedLoopSpeed,
) -> Result<StandardGains, ModelTuningError> {
    let gain = check(model.gain, "gain")?;
    let tau = check_positive(model.time_constant, "time constant")?;
    let theta = check_dead_time(model.dead_time)?;
    let tau_c = speed.time_constant(theta)?;
    Ok(StandardGains {
        kp: tau / (gain * (tau_c + theta)),
        ti: tau.min(4.0 * (tau_c + theta)),
        td: 0.0,
    })
}

/// Improved SIMC PID for FOPDT (Grimholt & Skogestad 2012), series form:
/// `Kc = (τ + θ/3)/(K·(τc + θ))`, `τI = min(τ + θ/3, 4·(τc + θ))`,
/// `τD = θ/3`.
pub fn simc_pid_fopdt(
    model: &Fopdt,
    speed: ClosedLoopSpeed,
) -> Result<StandardGains, ModelTuningError> {
    let gain = check(model.gain, "gain")?;
    let tau = check_positive(model.time_constant, "time constant")?;
    let theta = check_dead_time(model.dead_time)?;
    let tau_c = speed.time_constant(theta)?;
    let lag = tau + theta / 3.0;
    Ok(from_series(
        lag / (gain * (tau_c + theta)),
        lag.min(4.0 * (tau_c + theta)),
        theta / 3.0,
    ))
}

/// SIMC PI for IPDT (Skogestad 2003): `Kc = 1/(K·(τc + θ))`,
/// `τI = 4·(τc + θ)`.
pub fn simc_pi_ipdt(
    model: &Ipdt,
    speed: ClosedLoopSpeed,
) -> Result<StandardGains, ModelTuningError> {
    let gain = check(model.gain, "gain")?;
    let theta = check_dead_time(model.dead_time)?;
    let tau_c = speed.time_constant(theta)?;
    Ok(StandardGains {
        kp: 1.0 / (gain * (tau_c + theta)),
        ti: 4.0 * (tau_c + theta),
        td: 0.0,
    })
}

/// SIMC PID for the motor, an integrating process with a lag
/// `K'/(s·(τ2·s + 1))` with `K' = (K/J)/(b/J)` and `τ2 = J/b`
/// (Skogestad 2003, series form): `Kc = 1/(K'·τc)`, `τI = 4·τc`,
/// `τD = τ2`. The motor has no dead time, so τc must be given.
pub fn simc_pid_motor(
    model: &MotorModel,
    speed: ClosedLoopSpeed,
) -> Result<StandardGains, ModelTuningError> {
    let acceleration_gain = check(model.acceleration_gain, "acceleration gain")?;
    let damping_rate = check_positive(model.damping_rate, "damping")?;
    let tau_c = speed.time_constant(0.0)?;
    let integrating_gain = acceleration_gain / damping_rate;
    let lag = 1.0 / damping_rate;
    Ok(from_series(
        1.0 / (integrating_gain * tau_c),
        4.0 * tau_c,
        lag,
    ))
}

/// Lambda (IMC) PI for FOPDT (Rivera, Morari & Skogestad 1986; Dahlin):
/// `Kc = τ/(K·(λ + θ))`, `Ti = τ`.
pub fn lambda_pi_fopdt(
    model: &Fopdt,
    speed: ClosedLoopSpeed,
) -> Result<StandardGains, ModelTuningError> {
    let gain = check(model.gain, "gain")?;
    let tau = check_positive(model.time_constant, "time constant")?;
    let theta = check_dead_time(model.dead_time)?;
    let lambda = speed.time_constant(theta)?;
    Ok(StandardGains {
        kp: tau / (gain * (lambda + theta)),
        ti: tau,
        td: 0.0,
    })
}

/// Lambda PI for IPDT (Chien & Fruehauf 1990):
/// `Kc = (2λ + θ)/(K·(λ + θ)²)`, `Ti = 2λ + θ`.
pub fn lambda_pi_ipdt(
    model: &Ipdt,
    speed: ClosedLoopSpeed,
) -> Result<StandardGains, ModelTuningError> {
    let gain = check(model.gain, "gain")?;
    let theta = check_dead_time(model.dead_time)?;
    let lambda = speed.time_constant(theta)?;
    Ok(StandardGains {
        kp: (2.0 * lambda + theta) / (gain * (lambda + theta).powi(2)),
        ti: 2.0 * lambda + theta,
        td: 0.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1.0)
    }

    fn assert_gains(g: StandardGains, kp: f64, ti: f64, td: f64) {
        assert!(
            close(g.kp, kp) && close(g.ti, ti) && close(g.td, td),
            "{g:?} ≠ Kp {kp}, Ti {ti}, Td {td}"
        );
    }

    const PLANT: Fopdt = Fopdt {
        gain: 2.0,
        time_constant: 10.0,
        dead_time: 1.0,
    };

    #[test]
    fn simc_fopdt_matches_skogestad() {
        // τc = θ = 1: Kc = 10/(2·2) = 2.5, τI = min(10, 8) = 8.
        assert_gains(
            simc_pi_fopdt(&PLANT, ClosedLoopSpeed::DeadTime).expect("gains"),
            2.5,
            8.0,
            0.0,
        );
        // τc = 3: Kc = 10/(2·4) = 1.25, τI = min(10, 16) = 10.
        assert_gains(
            simc_pi_fopdt(&PLANT, ClosedLoopSpeed::TimeConstant(3.0)).expect("gains"),
            1.25,
            10.0,
            0.0,
        );
        // Improved SIMC PID, τc = 1: series Kc = (31/3)/4, τI = 8, τD = 1/3.
        let (kc, ti, td) = (31.0 / 12.0, 8.0, 1.0 / 3.0);
        assert_gains(
            simc_pid_fopdt(&PLANT, ClosedLoopSpeed::DeadTime).expect("gains"),
            kc * (1.0 + td / ti),
            ti + td,
            ti * td / (ti + td),
        );
    }

    #[test]
    fn simc_integrating_processes_match_skogestad() {
        let ipdt = Ipdt {
            gain: 0.5,
            dead_time: 0.2,
        };
        // τc = θ: Kc = 1/(0.5·0.4) = 5, τI = 1.6.
        assert_gains(
            simc_pi_ipdt(&ipdt, ClosedLoopSpeed::DeadTime).expect("gains"),
            5.0,
            1.6,
            0.0,
        );
        // The simulated motor: K/J = 250, b/J = 5 → K' = 50, τ2 = 0.2 s.
        let motor = MotorModel {
            acceleration_gain: 250.0,
            damping_rate: 5.0,
        };
        let (kc, ti, td) = (1.0 / (50.0 * 0.05), 0.2, 0.2);
        assert_gains(
            simc_pid_motor(&motor, ClosedLoopSpeed::TimeConstant(0.05)).expect("gains"),
            kc * (1.0 + td / ti),
            ti + td,
            ti * td / (ti + td),
        );
        assert_eq!(
            simc_pid_motor(&motor, ClosedLoopSpeed::DeadTime),
            Err(ModelTuningError::InvalidSpeed)
        );
    }

    #[test]
    fn lambda_tuning_matches_imc_and_bandwidth_sets_lambda() {
        // λ = 2: Kc = 10/(2·3), Ti = 10.
        assert_gains(
            lambda_pi_fopdt(&PLANT, ClosedLoopSpeed::TimeConstant(2.0)).expect("gains"),
            10.0 / 6.0,
            10.0,
            0.0,
        );
        let by_bandwidth = lambda_pi_fopdt(
            &PLANT,
            ClosedLoopSpeed::BandwidthHz(1.0 / (2.0 * std::f64::consts::PI * 2.0)),
        )
        .expect("gains");
        assert_gains(by_bandwidth, 10.0 / 6.0, 10.0, 0.0);
        let ipdt = Ipdt {
            gain: 0.5,
            dead_time: 0.2,
        };
        // λ = 1: Kc = 2.2/(0.5·1.44), Ti = 2.2.
        assert_gains(
            lambda_pi_ipdt(&ipdt, ClosedLoopSpeed::TimeConstant(1.0)).expect("gains"),
            2.2 / (0.5 * 1.44),
            2.2,
            0.0,
        );
    }

    #[test]
    fn invalid_models_are_errors() {
        let zero_gain = Fopdt { gain: 0.0, ..PLANT };
        assert_eq!(
            simc_pi_fopdt(&zero_gain, ClosedLoopSpeed::DeadTime),
            Err(ModelTuningError::InvalidModel("gain"))
        );
        let no_delay = Fopdt {
            dead_time: 0.0,
            ..PLANT
        };
        assert_eq!(
            lambda_pi_fopdt(&no_delay, ClosedLoopSpeed::DeadTime),
            Err(ModelTuningError::InvalidSpeed)
        );
    }
}
