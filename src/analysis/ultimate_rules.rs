//! PID gains from the ultimate gain Ku and ultimate period Tu of a loop
//! (what a relay experiment measures), by the published rules, and their
//! conversion to the units a device takes.
//!
//! The contract:
//! - Every rule gives the standard (ISA) form `Kp·(1 + 1/(Ti·s) + Td·s)`
//!   as multiples of Ku and Tu; see docs/TUNING.md for each rule's source.
//!   A controller without an integral has `Ti = ∞`, one without a
//!   derivative has `Td = 0`.
//! - The parallel form is `Kp + Ki/s + Kd·s` with `Ki = Kp/Ti` (0 when
//!   `Ti = ∞`) and `Kd = Kp·Td`.
//! - Gains are in the unit of Ku (effort per unit of feedback). A device
//!   whose gains are in another unit takes them through
//!   [`ParallelGains::scaled`]; one whose integral and derivative gains are
//!   per control tick takes them through [`ParallelGains::per_sample`].

/// A rule that turns (Ku, Tu) into PID gains.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum UltimateRule {
    /// Ziegler–Nichols P.
    ZieglerNicholsP,
    /// Ziegler–Nichols PI.
    ZieglerNicholsPi,
    /// Ziegler–Nichols PD (a common extension of the 1942 rules).
    ZieglerNicholsPd,
    /// Ziegler–Nichols PID.
    ZieglerNicholsPid,
    /// Tyreus–Luyben PI.
    TyreusLuybenPi,
    /// Tyreus–Luyben PID.
    TyreusLuybenPid,
    /// Pessen's integral rule.
    PessenIntegral,
    /// Modified Ziegler–Nichols with some overshoot.
    SomeOvershoot,
    /// Modified Ziegler–Nichols with no overshoot.
    NoOvershoot,
}

/// Coefficients of a rule: `Kp = kp·Ku`, `Ti = ti·Tu`, `Td = td·Tu`.
/// `ti = None` means no integral action.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RuleCoefficients {
    /// Kp as a multiple of Ku.
    pub kp: f64,
    /// Ti as a multiple of Tu; `None` without integral action.
    pub ti: Option<f64>,
    /// Td as a multiple of Tu.
    pub td: f64,
}

impl UltimateRule {
    /// Every rule, in the order a user picks from.
    pub const ALL: [UltimateRule; 9] = [
        UltimateRule::ZieglerNicholsP,
        UltimateRule::ZieglerNicholsPi,
        UltimateRule::ZieglerNicholsPd,
        UltimateRule::ZieglerNicholsPid,
        UltimateRule::TyreusLuybenPi,
        UltimateRule::TyreusLuybenPid,
        UltimateRule::PessenIntegral,
        UltimateRule::SomeOvershoot,
        UltimateRule::NoOvershoot,
    ];

    /// Name shown to the user.
    pub fn label(self) -> &'static str {
        match self {
            UltimateRule::ZieglerNicholsP => "Ziegler–Nichols P",
            UltimateRule::ZieglerNicholsPi => "Ziegler–Nichols PI",
            UltimateRule::ZieglerNicholsPd => "Ziegler–Nichols PD",
            UltimateRule::ZieglerNicholsPid => "Ziegler–Nichols PID",
            UltimateRule::TyreusLuybenPi => "Tyreus–Luyben PI",
            UltimateRule::TyreusLuybenPid => "Tyreus–Luyben PID",
            UltimateRule::PessenIntegral => "Pessen integral rule",
            UltimateRule::SomeOvershoot => "Some overshoot",
            UltimateRule::NoOvershoot => "No overshoot",
        }
    }

    /// Short name for the command line (`--rule`).
    pub fn key(self) -> &'static str {
        match self {
            UltimateRule::ZieglerNicholsP => "zn-p",
            UltimateRule::ZieglerNicholsPi => "zn-pi",
            UltimateRule::ZieglerNicholsPd => "zn-pd",
            UltimateRule::ZieglerNicholsPid => "zn-pid",
            UltimateRule::TyreusLuybenPi => "tl-pi",
            UltimateRule::TyreusLuybenPid => "tl-pid",
            UltimateRule::PessenIntegral => "pessen",
            UltimateRule::SomeOvershoot => "some-overshoot",
            UltimateRule::NoOvershoot => "no-overshoot",
        }
    }

    /// The rule with this [`UltimateRule::key`].
    pub fn from_key(key: &str) -> Option<UltimateRule> {
        Self::ALL.into_iter().find(|rule| rule.key() == key)
    }

    /// The rule's published coefficients.
    pub fn coefficients(self) -> RuleCoefficients {
        let (kp, ti, td) = match self {
            UltimateRule::ZieglerNicholsP => (0.5, None, 0.0),
            UltimateRule::ZieglerNicholsPi => (0.45, Some(1.0 / 1.2), 0.0),
            UltimateRule::ZieglerNicholsPd => (0.8, None, 0.125),
            UltimateRule::ZieglerNicholsPid => (0.6, Some(0.5), 0.125),
            UltimateRule::TyreusLuybenPi => (1.0 / 3.2, Some(2.2), 0.0),
            UltimateRule::TyreusLuybenPid => (1.0 / 2.2, Some(2.2), 1.0 / 6.3),
            UltimateRule::PessenIntegral => (0.7, Some(0.4), 0.15),
            UltimateRule::SomeOvershoot => (1.0 / 3.0, Some(0.5), 1.0 / 3.0),
            UltimateRule::NoOvershoot => (0.2, Some(0.5), 1.0 / 3.0),
        };
        RuleCoefficients { kp, ti, td }
    }

    /// The rule applied to an ultimate gain and period.
    pub fn apply(self, ultimate: Ultimate) -> StandardGains {
        let c = self.coefficients();
        StandardGains {
            kp: c.kp * ultimate.gain,
            ti: c.ti.map_or(f64::INFINITY, |ti| ti * ultimate.period),
            td: c.td * ultimate.period,
        }
    }
}

/// Ultimate gain and period of a loop: the proportional gain that puts it
/// on the edge of stability and the period it then oscillates with.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ultimate {
    /// Ku, effort per unit of feedback.
    pub gain: f64,
    /// Tu, s.
    pub period: f64,
}

/// Standard (ISA) form `Kp·(1 + 1/(Ti·s) + Td·s)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StandardGains {
    /// Proportional gain, in effort per unit of feedback.
    pub kp: f64,
    /// Integral time, s; infinite without integral action.
    pub ti: f64,
    /// Derivative time, s.
    pub td: f64,
}

impl StandardGains {
    /// The same controller as `Kp + Ki/s + Kd·s`.
    pub fn parallel(&self) -> ParallelGains {
        ParallelGains {
            kp: self.kp,
            ki: if self.ti.is_finite() && self.ti > 0.0 {
                self.kp / self.ti
            } else {
                0.0
            },
            kd: self.kp * self.td,
        }
    }
}

/// Parallel form `Kp + Ki/s + Kd·s`, continuous time (Ki per second, Kd in
/// seconds): what the simulated drive takes as pos.kp, pos.ki, pos.kd.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ParallelGains {
    /// Proportional gain, effort per unit of feedback.
    pub kp: f64,
    /// Integral gain, the proportional gain's unit per second.
    pub ki: f64,
    /// Derivative gain, the proportional gain's unit times seconds.
    pub kd: f64,
}

/// Parallel gains per control tick: `Ki·Ts` is added to the integrator
/// each tick, `Kd/Ts` multiplies the change of the measurement per tick.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PerSampleGains {
    /// Proportional gain, effort per unit of feedback.
    pub kp: f64,
    /// `Ki·Ts`: added to the integrator per tick of error.
    pub ki_per_sample: f64,
    /// `Kd/Ts`: multiplies the change of the measurement per tick.
    pub kd_per_sample: f64,
    /// The loop rate the gains are for, Hz.
    pub loop_hz: f64,
}

impl ParallelGains {
    /// All three gains times `factor`: the device's gain unit per unit of
    /// Ku (for example amperes per unit of effort, or radians per count).
    pub fn scaled(&self, factor: f64) -> ParallelGains {
        ParallelGains {
            kp: self.kp * factor,
            ki: self.ki * factor,
            kd: self.kd * factor,
        }
    }

    /// The gains for a loop that runs at `loop_hz` and applies them per
    /// tick; `None` unless `loop_hz` is a finite rate above 0.
    pub fn per_sample(&self, loop_hz: f64) -> Option<PerSampleGains> {
        if !(loop_hz.is_finite() && loop_hz > 0.0) {
            return None;
        }
        let sample_time = 1.0 / loop_hz;
        Some(PerSampleGains {
            kp: self.kp,
            ki_per_sample: self.ki * sample_time,
            kd_per_sample: self.kd / sample_time,
            loop_hz,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1.0)
    }

    /// The published coefficients, written as printed in the sources
    /// (Kp/Ku, Ti/Tu, Td/Tu; `inf` for no integral).
    #[test]
    fn each_rule_matches_its_published_coefficients() {
        let inf = f64::INFINITY;
        let table: [(UltimateRule, f64, f64, f64); 9] = [
            (UltimateRule::ZieglerNicholsP, 0.50, inf, 0.0),
            (UltimateRule::ZieglerNicholsPi, 0.45, 1.0 / 1.2, 0.0),
            (UltimateRule::ZieglerNicholsPd, 0.80, inf, 1.0 / 8.0),
            (UltimateRule::ZieglerNicholsPid, 0.60, 0.5, 1.0 / 8.0),
            (UltimateRule::TyreusLuybenPi, 1.0 / 3.2, 2.2, 0.0),
            (UltimateRule::TyreusLuybenPid, 1.0 / 2.2, 2.2, 1.0 / 6.3),
            (UltimateRule::PessenIntegral, 0.70, 0.4, 0.15),
            (UltimateRule::SomeOvershoot, 1.0 / 3.0, 0.5, 1.0 / 3.0),
            (UltimateRule::NoOvershoot, 0.20, 0.5, 1.0 / 3.0),
        ];
        assert_eq!(table.len(), UltimateRule::ALL.len());
        let ultimate = Ultimate {
            gain: 8.0,
            period: 3.6276,
        };
        for (rule, kp, ti, td) in table {
            let g = rule.apply(ultimate);
            assert!(close(g.kp, kp * 8.0), "{rule:?} Kp {}", g.kp);
            assert!(
                (ti.is_infinite() && g.ti.is_infinite()) || close(g.ti, ti * 3.6276),
                "{rule:?} Ti {}",
                g.ti
            );
            assert!(close(g.td, td * 3.6276), "{rule:?} Td {}", g.td);
            assert_eq!(UltimateRule::from_key(rule.key()), Some(rule));
        }
    }

    #[test]
    fn parallel_form_divides_by_ti_and_multiplies_by_td() {
        let g = StandardGains {
            kp: 4.8,
            ti: 2.0,
            td: 0.5,
        }
        .parallel();
        assert!(
            close(g.kp, 4.8) && close(g.ki, 2.4) && close(g.kd, 2.4),
            "{g:?}"
        );
        let p_only = UltimateRule::ZieglerNicholsP
            .apply(Ultimate {
                gain: 2.0,
                period: 1.0,
            })
            .parallel();
        assert_eq!((p_only.kp, p_only.ki, p_only.kd), (1.0, 0.0, 0.0));
    }

    #[test]
    fn device_units_and_loop_rate() {
        let g = ParallelGains {
            kp: 2.0,
            ki: 10.0,
            kd: 0.5,
        };
        let scaled = g.scaled(0.1);
        assert!(close(scaled.kp, 0.2) && close(scaled.ki, 1.0) && close(scaled.kd, 0.05));
        let per = g.per_sample(1000.0).expect("a valid rate");
        assert!(close(per.ki_per_sample, 0.01), "{per:?}");
        assert!(close(per.kd_per_sample, 500.0), "{per:?}");
        assert!(close(per.kp, 2.0));
        assert_eq!(g.per_sample(0.0), None);
        assert_eq!(g.per_sample(f64::NAN), None);
    }
}
