//! Process models fitted to a recorded input and output by least squares:
//! first-order-plus-dead-time, integrating-plus-dead-time, and the motor
//! model `J·ÿ + b·ẏ = K·u`.
//!
//! The contract:
//! - Input is `time` (strictly increasing, any spacing), the `input` u and
//!   the `output` y, sampled together, every value finite: a step, a relay
//!   run or any other excitation.
//! - The input is taken as held between samples (zero-order hold) and as
//!   its first value before the record; the models see `u − u[0]`.
//! - Each fit minimises the sum of squared output errors (an output-error
//!   fit, so measurement noise does not bias it). Parameters that enter
//!   linearly (gain, output offset, initial speed) are solved exactly for
//!   each candidate of the others (time constant, dead time, damping),
//!   which are searched on a grid and refined by Nelder–Mead.
//! - The simulation inside is exact for a held input, so a noise-free
//!   record of the model itself is recovered to rounding.
//! - Every fit returns the fitted response and the residual `y − fitted`
//!   per sample, and its RMS, for the app to overlay.

/// One recorded input and output.
#[derive(Clone, Copy, Debug)]
pub struct InputRecord<'a> {
    /// Sample times, s, strictly increasing.
    pub time: &'a [f64],
    /// What drove the process (setpoint, effort, …).
    pub input: &'a [f64],
    /// What it did.
    pub output: &'a [f64],
}

/// `K·e^(−θs)/(τs + 1)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fopdt {
    /// K, output per unit of input.
    pub gain: f64,
    /// τ, s.
    pub time_constant: f64,
    /// θ, s.
    pub dead_time: f64,
}

/// `K·e^(−θs)/s`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ipdt {
    /// K, output rate per unit of input, 1/s.
    pub gain: f64,
    /// θ, s.
    pub dead_time: f64,
}

/// `J·ÿ + b·ẏ = K·u`, divided by J: `ÿ = (K/J)·u − (b/J)·ẏ`. A record of
/// effort and position determines only these ratios; the torque constant
/// turns them into J and b ([`MotorModel::inertia_and_damping`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MotorModel {
    /// K/J: acceleration per unit of effort (rad/s² per A).
    pub acceleration_gain: f64,
    /// b/J, 1/s: the inverse of the mechanical time constant.
    pub damping_rate: f64,
}

impl MotorModel {
    /// J (kg·m²) and b (N·m·s/rad) for a motor whose effort-to-torque
    /// gain is `torque_constant` (N·m per unit of effort).
    pub fn inertia_and_damping(&self, torque_constant: f64) -> (f64, f64) {
        let inertia = torque_constant / self.acceleration_gain;
        (inertia, self.damping_rate * inertia)
    }
}

/// A fitted model with its response and residual.
#[derive(Clone, Debug, PartialEq)]
pub struct Fit<M> {
    /// The fitted model.
    pub model: M,
    /// The output at `t = 0` of the record, as fitted (the model's offset).
    pub offset: f64,
    /// The model's response to the recorded input, one value per sample.
    pub fitted: Vec<f64>,
    /// `output − fitted`, per sample.
    pub residual: Vec<f64>,
    /// Root mean square of the residual.
    pub rms: f64,
}

/// Why a record cannot be fitted.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum IdentifyError {
    #[error("time, input and output have different lengths ({time}, {input}, {output})")]
    /// The three columns differ in length.
    LengthMismatch {
        /// The time column's length.
        time: usize,
        /// The input's length.
        input: usize,
        /// The output's length.
        output: usize,
    },
    #[error("only {len} samples: a fit needs at least {min}")]
    /// Too few samples for a fit.
    TooShort {
        /// Samples given.
        len: usize,
        /// Samples needed.
        min: usize,
    },
    #[error("{channel} sample {index} is not a finite number: cut the record around the gap")]
    /// A sample is NaN or infinite.
    NotFinite {
        /// The channel's name.
        channel: &'static str,
        /// The sample's index.
        index: usize,
    },
    #[error("time does not increase at sample {index}: sort the samples and drop duplicates")]
    /// Time goes backwards or repeats.
    TimeNotIncreasing {
        /// The first sample where it does.
        index: usize,
    },
    #[error("the input never changes: a constant input shows nothing to fit")]
    /// The input never changes.
    NoExcitation,
    #[error("the fit did not converge to a finite model: record a larger or longer step")]
    /// The fit did not converge to a finite model.
    NoFit,
}

const MIN_SAMPLES: usize = 10;

/// Fits `K·e^(−θs)/(τs + 1)`; see the module contract.
pub fn fit_fopdt(record: &InputRecord<'_>) -> Result<Fit<Fopdt>, IdentifyError> {
    let data = Prepared::new(record)?;
    let span = data.span();
    let step = data.typical_step();
    // Search in (ln τ, θ): τ from a sample to the whole record.
    let cost = |p: &[f64]| {
        let (tau, theta) = (p[0].exp(), p[1]);
        if !(tau.is_finite() && theta >= 0.0 && theta < span) {
            return f64::INFINITY;
        }
        data.linear_fit(&[data.lag_response(tau, theta)])
            .map_or(f64::INFINITY, |f| f.sse)
    };
    let mut best = (f64::INFINITY, vec![0.0, 0.0]);
    let grid = 24;
    for i in 0..grid {
        let log_tau = step.ln() + (span / step).ln() * i as f64 / (grid - 1) as f64;
        for j in 0..grid {
            let theta = 0.5 * span * j as f64 / grid as f64;
            let c = cost(&[log_tau, theta]);
            if c < best.0 {
                best = (c, vec![log_tau, theta]);
            }
        }
    }
    let start = best.1;
    let found = nelder_mead(&cost, &start, &[0.2, (span / grid as f64).max(step)]);
    let (tau, theta) = (found[0].exp(), found[1].max(0.0));
    let response = data.lag_response(tau, theta);
    let fit = data.linear_fit(&[response]).ok_or(IdentifyError::NoFit)?;
    let model = Fopdt {
        gain: fit.coefficients[0],
        time_constant: tau,
        dead_time: theta,
    };
    data.finish(model, fit)
}

/// Fits `K·e^(−θs)/s`; see the module contract.
pub fn fit_ipdt(record: &InputRecord<'_>) -> Result<Fit<Ipdt>, IdentifyError> {
    let data = Prepared::new(record)?;
    let span = data.span();
    let cost = |p: &[f64]| {
        let theta = p[0];
        if !(theta >= 0.0 && theta < span) {
            return f64::INFINITY;
        }
        data.linear_fit(&[data.integrator_response(theta)])
            .map_or(f64::INFINITY, |f| f.sse)
    };
    let grid = 60;
    let mut best = (f64::INFINITY, 0.0);
    for j in 0..grid {
        let theta = 0.5 * span * j as f64 / grid as f64;
        let c = cost(&[theta]);
        if c < best.0 {
            best = (c, theta);
        }
    }
    let found = nelder_mead(&cost, &[best.1], &[span / grid as f64]);
    let theta = found[0].max(0.0);
    let fit = data
        .linear_fit(&[data.integrator_response(theta)])
        .ok_or(IdentifyError::NoFit)?;
    let model = Ipdt {
        gain: fit.coefficients[0],
        dead_time: theta,
    };
    data.finish(model, fit)
}

/// Fits `ÿ = (K/J)·u − (b/J)·ẏ` to an effort `input` and a position
/// `output`, with the initial position and speed fitted too.
pub fn fit_motor(record: &InputRecord<'_>) -> Result<Fit<MotorModel>, IdentifyError> {
    let data = Prepared::new(record)?;
    let span = data.span();
    let step = data.typical_step();
    // Search over ln(b/J); the speed's own time constant J/b lies between
    // a sample and many record lengths (a nearly free inertia).
    let columns = |rate: f64| [data.motor_response(rate), data.initial_speed_response(rate)];
    let cost = |p: &[f64]| {
        let rate = p[0].exp();
        if !rate.is_finite() {
            return f64::INFINITY;
        }
        data.linear_fit(&columns(rate))
            .map_or(f64::INFINITY, |f| f.sse)
    };
    let (low, high) = ((0.01 / span).ln(), (1.0 / step).ln());
    let grid = 60;
    let mut best = (f64::INFINITY, low);
    for i in 0..grid {
        let log_rate = low + (high - low) * i as f64 / (grid - 1) as f64;
        let c = cost(&[log_rate]);
        if c < best.0 {
            best = (c, log_rate);
        }
    }
    let found = nelder_mead(&cost, &[best.1], &[0.2]);
    let rate = found[0].exp();
    let fit = data
        .linear_fit(&columns(rate))
        .ok_or(IdentifyError::NoFit)?;
    let model = MotorModel {
        acceleration_gain: fit.coefficients[0],
        damping_rate: rate,
    };
    data.finish(model, fit)
}

/// A validated record, time from 0, input as its change from the first.
struct Prepared<'a> {
    time: Vec<f64>,
    input: Vec<f64>,
    output: &'a [f64],
}

/// The solution of one linear least-squares problem.
struct LinearFit {
    /// One per column, then the offset last.
    coefficients: Vec<f64>,
    fitted: Vec<f64>,
    sse: f64,
}

impl<'a> Prepared<'a> {
    fn new(record: &InputRecord<'a>) -> Result<Self, IdentifyError> {
        let InputRecord {
            time,
            input,
            output,
        } = *record;
        if time.len() != input.len() || time.len() != output.len() {
            return Err(IdentifyError::LengthMismatch {
                time: time.len(),
                input: input.len(),
                output: output.len(),
            });
        }
        if time.len() < MIN_SAMPLES {
            return Err(IdentifyError::TooShort {
                len: time.len(),
                min: MIN_SAMPLES,
            });
        }
        for (channel, values) in [("time", time), ("input", input), ("output", output)] {
            if let Some(index) = values.iter().position(|v| !v.is_finite()) {
                return Err(IdentifyError::NotFinite { channel, index });
            }
        }
        if let Some(index) = (1..time.len()).find(|&i| time[i] <= time[i - 1]) {
            return Err(IdentifyError::TimeNotIncreasing { index });
        }
        let first = input[0];
        if input.iter().all(|&u| u == first) {
            return Err(IdentifyError::NoExcitation);
        }
        Ok(Self {
            time: time.iter().map(|t| t - time[0]).collect(),
            input: input.iter().map(|u| u - first).collect(),
            output,
        })
    }

    fn span(&self) -> f64 {
        self.time[self.time.len() - 1]
    }

    fn typical_step(&self) -> f64 {
        self.span() / (self.time.len() - 1) as f64
    }

    /// Calls `advance(state, held input, duration)` over every stretch of
    /// constant delayed input `u(t − θ)` and records the state at each
    /// sample.
    fn simulate<S: Copy>(
        &self,
        dead_time: f64,
        initial: S,
        read: impl Fn(S) -> f64,
        advance: impl Fn(S, f64, f64) -> S,
    ) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.time.len());
        let mut state = initial;
        // Index of the input sample that is active (delayed) at time `now`.
        let mut active = 0usize;
        let mut now = 0.0;
        out.push(read(state));
        for &next in &self.time[1..] {
            while now < next {
                while active + 1 < self.time.len() && self.time[active + 1] + dead_time <= now {
                    active += 1;
                }
                let held = if self.time[active] + dead_time <= now {
                    self.input[active]
                } else {
                    0.0
                };
                let change = if active + 1 < self.time.len() {
                    self.time[active + 1] + dead_time
                } else {
                    f64::INFINITY
                };
                let until = change.min(next);
                state = advance(state, held, until - now);
                now = until;
            }
            out.push(read(state));
        }
        out
    }

    /// Response of `e^(−θs)/(τs + 1)` to the input.
    fn lag_response(&self, time_constant: f64, dead_time: f64) -> Vec<f64> {
        self.simulate(
            dead_time,
            0.0,
            |x| x,
            |x, u, h| u + (x - u) * (-h / time_constant).exp(),
        )
    }

    /// Response of `e^(−θs)/s` to the input.
    fn integrator_response(&self, dead_time: f64) -> Vec<f64> {
        self.simulate(dead_time, 0.0, |x| x, |x, u, h| x + u * h)
    }

    /// Position of `ÿ = u − rate·ẏ` from rest.
    fn motor_response(&self, rate: f64) -> Vec<f64> {
        self.simulate(
            0.0,
            (0.0, 0.0),
            |(position, _)| position,
            |(position, speed), u, h| {
                let settled = u / rate;
                let decay = (-rate * h).exp();
                // Exact: speed relaxes to u/rate with time constant 1/rate.
                let gained = settled * h + (speed - settled) * (1.0 - decay) / rate;
                (position + gained, settled + (speed - settled) * decay)
            },
        )
    }

    /// Position of the same motor coasting from a speed of 1.
    fn initial_speed_response(&self, rate: f64) -> Vec<f64> {
        self.time
            .iter()
            .map(|t| (1.0 - (-rate * t).exp()) / rate)
            .collect()
    }

    /// Least squares of `output ≈ Σ c_i·column_i + offset`.
    fn linear_fit(&self, columns: &[Vec<f64>]) -> Option<LinearFit> {
        let n = columns.len() + 1;
        let value = |i: usize, k: usize| {
            if i < columns.len() {
                columns[i][k]
            } else {
                1.0
            }
        };
        let mut normal = vec![vec![0.0; n + 1]; n];
        for k in 0..self.time.len() {
            for (i, row) in normal.iter_mut().enumerate() {
                let vi = value(i, k);
                for (j, cell) in row[..n].iter_mut().enumerate() {
                    *cell += vi * value(j, k);
                }
                row[n] += vi * self.output[k];
            }
        }
        let coefficients = solve(normal)?;
        let fitted: Vec<f64> = (0..self.time.len())
            .map(|k| (0..n).map(|i| coefficients[i] * value(i, k)).sum())
            .collect();
        let sse = fitted
            .iter()
            .zip(self.output)
            .map(|(f, y)| (y - f) * (y - f))
            .sum();
        Some(LinearFit {
            coefficients,
            fitted,
            sse,
        })
    }

    fn finish<M>(&self, model: M, fit: LinearFit) -> Result<Fit<M>, IdentifyError> {
        let residual: Vec<f64> = self
            .output
            .iter()
            .zip(&fit.fitted)
            .map(|(y, f)| y - f)
            .collect();
        let rms = (fit.sse / residual.len() as f64).sqrt();
        let offset = fit.coefficients[fit.coefficients.len() - 1];
        if !(rms.is_finite() && fit.coefficients.iter().all(|c| c.is_finite())) {
            return Err(IdentifyError::NoFit);
        }
        Ok(Fit {
            model,
            offset,
            fitted: fit.fitted,
            residual,
            rms,
        })
    }
}

/// Solves an augmented system `[A | b]` by Gaussian elimination with
/// partial pivoting; `None` when it is singular.
fn solve(mut m: Vec<Vec<f64>>) -> Option<Vec<f64>> {
    let n = m.len();
    for col in 0..n {
        let pivot = (col..n).max_by(|&a, &b| m[a][col].abs().total_cmp(&m[b][col].abs()))?;
        if m[pivot][col].abs() < 1e-300 {
            return None;
        }
        m.swap(col, pivot);
        let (upper, lower) = m.split_at_mut(col + 1);
        let pivot_row = &upper[col];
        for row in lower.iter_mut() {
            let factor = row[col] / pivot_row[col];
            for (cell, above) in row[col..].iter_mut().zip(&pivot_row[col..]) {
                *cell -= factor * above;
            }
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let tail: f64 = (row + 1..n).map(|k| m[row][k] * x[k]).sum();
        x[row] = (m[row][n] - tail) / m[row][row];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

/// Minimises `cost` from `start` with initial steps `scale` (Nelder–Mead,
/// standard coefficients), until the simplex stops improving.
fn nelder_mead(cost: &dyn Fn(&[f64]) -> f64, start: &[f64], scale: &[f64]) -> Vec<f64> {
    let n = start.len();
    let mut simplex: Vec<(f64, Vec<f64>)> = (0..=n)
        .map(|i| {
            let mut p = start.to_vec();
            if i > 0 {
                p[i - 1] += scale[i - 1];
            }
            (cost(&p), p)
        })
        .collect();
    for _ in 0..400 * n {
        simplex.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (best, worst) = (simplex[0].0, simplex[n].0);
        if (worst - best).abs() <= 1e-14 * best.abs().max(1e-300) {
            break;
        }
        let centroid: Vec<f64> = (0..n)
            .map(|d| simplex[..n].iter().map(|s| s.1[d]).sum::<f64>() / n as f64)
            .collect();
        let along = |t: f64| -> Vec<f64> {
            (0..n)
                .map(|d| centroid[d] + t * (simplex[n].1[d] - centroid[d]))
                .collect()
        };
        let reflected = along(-1.0);
        let reflected_cost = cost(&reflected);
        if reflected_cost < simplex[0].0 {
            let expanded = along(-2.0);
            let expanded_cost = cost(&expanded);
            simplex[n] = if expanded_cost < reflected_cost {
                (expanded_cost, expanded)
            } else {
                (reflected_cost, reflected)
            };
        } else if reflected_cost < simplex[n - 1].0 {
            simplex[n] = (reflected_cost, reflected);
        } else {
            let contracted = along(0.5);
            let contracted_cost = cost(&contracted);
            if contracted_cost < simplex[n].0 {
                simplex[n] = (contracted_cost, contracted);
            } else {
                let best_point = simplex[0].1.clone();
                for s in simplex.iter_mut().skip(1) {
                    let p: Vec<f64> = (0..n)
                        .map(|d| best_point[d] + 0.5 * (s.1[d] - best_point[d]))
                        .collect();
                    *s = (cost(&p), p);
                }
            }
        }
    }
    simplex.sort_by(|a, b| a.0.total_cmp(&b.0));
    simplex.swap_remove(0).1
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random sequence, uniform in [−1, 1).
    fn noise(len: usize, amplitude: f64) -> Vec<f64> {
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                amplitude * ((state >> 11) as f64 / (1u64 << 52) as f64 - 1.0)
            })
            .collect()
    }

    /// A step of 2 at 0.5 s into `K·e^(−θs)/(τs+1)` with K 3, τ 0.8 s,
    /// θ 0.37 s, sampled at 100 Hz by fine Euler integration (independent
    /// of the fit's own simulation), output from an offset of 1.
    fn fopdt_step() -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let (gain, tau, theta) = (3.0, 0.8, 0.37);
        let fine = 1e-5;
        let per_sample = 1000;
        let mut x = 0.0;
        let (mut time, mut input, mut output) = (vec![], vec![], vec![]);
        for k in 0..600 {
            let t = k as f64 * 0.01;
            time.push(t);
            input.push(if t >= 0.5 { 2.0 } else { 0.0 });
            output.push(1.0 + x);
            for i in 0..per_sample {
                let s = t + i as f64 * fine;
                let u = if s - theta >= 0.5 { 2.0 } else { 0.0 };
                x += fine * (gain * u - x) / tau;
            }
        }
        (time, input, output)
    }

    fn within(actual: f64, expected: f64, fraction: f64) -> bool {
        ((actual - expected) / expected).abs() < fraction
    }

    #[test]
    fn fopdt_fit_recovers_gain_time_constant_and_dead_time() {
        let (time, input, output) = fopdt_step();
        let record = InputRecord {
            time: &time,
            input: &input,
            output: &output,
        };
        let fit = fit_fopdt(&record).expect("a fit");
        let m = fit.model;
        assert!(within(m.gain, 3.0, 0.02), "{m:?}");
        assert!(within(m.time_constant, 0.8, 0.02), "{m:?}");
        assert!(within(m.dead_time, 0.37, 0.02), "{m:?}");
        assert!(within(fit.offset, 1.0, 0.02), "{}", fit.offset);
        assert!(fit.rms < 1e-3, "{}", fit.rms);
        assert_eq!(fit.residual.len(), time.len());

        let noisy: Vec<f64> = output
            .iter()
            .zip(noise(output.len(), 0.3))
            .map(|(y, n)| y + n)
            .collect();
        let record = InputRecord {
            output: &noisy,
            ..record
        };
        let fit = fit_fopdt(&record).expect("a fit");
        let m = fit.model;
        assert!(within(m.gain, 3.0, 0.03), "noisy: {m:?}");
        assert!(within(m.time_constant, 0.8, 0.05), "noisy: {m:?}");
        assert!(within(m.dead_time, 0.37, 0.05), "noisy: {m:?}");
        // Uniform noise of ±0.3 has an RMS of 0.3/√3.
        assert!(within(fit.rms, 0.3 / 3.0_f64.sqrt(), 0.1), "{}", fit.rms);
    }

    #[test]
    fn ipdt_fit_recovers_gain_and_dead_time() {
        let (gain, theta) = (1.5, 0.23);
        let time: Vec<f64> = (0..400).map(|k| k as f64 * 0.005).collect();
        let input: Vec<f64> = time
            .iter()
            .map(|&t| if (0.2..1.2).contains(&t) { 1.0 } else { 0.0 })
            .collect();
        let ramp = |t: f64| gain * (t - 0.2 - theta).clamp(0.0, 1.0);
        let output: Vec<f64> = time.iter().map(|&t| -0.5 + ramp(t)).collect();
        let record = InputRecord {
            time: &time,
            input: &input,
            output: &output,
        };
        let fit = fit_ipdt(&record).expect("a fit");
        assert!(within(fit.model.gain, gain, 0.02), "{:?}", fit.model);
        assert!(within(fit.model.dead_time, theta, 0.02), "{:?}", fit.model);
        assert!(fit.rms < 1e-6, "{}", fit.rms);

        let noisy: Vec<f64> = output
            .iter()
            .zip(noise(output.len(), 0.05))
            .map(|(y, n)| y + n)
            .collect();
        let fit = fit_ipdt(&InputRecord {
            output: &noisy,
            ..record
        })
        .expect("a fit");
        assert!(within(fit.model.gain, gain, 0.05), "noisy: {:?}", fit.model);
        assert!(
            within(fit.model.dead_time, theta, 0.05),
            "noisy: {:?}",
            fit.model
        );
    }

    #[test]
    fn motor_fit_recovers_inertia_and_damping_from_effort() {
        // The simulated drive's motor, linear: J 2e-4, b 1e-3, Kt 0.05.
        let (inertia, viscous, torque_constant) = (2e-4, 1e-3, 0.05);
        let mut plant = crate::sim::plant::Plant::new(crate::sim::plant::PlantConstants {
            inertia,
            viscous,
            coulomb: 0.0,
            torque_constant,
            load_inertia: 0.0,
            coupling_stiffness: 0.0,
            coupling_damping: 0.0,
        });
        let dt = 1e-3;
        let (mut time, mut input, mut output) = (vec![], vec![], vec![]);
        for k in 0..500 {
            let t = k as f64 * dt;
            // A current doublet: +0.2 A, then −0.2 A, then off.
            let current = match k {
                50..150 => 0.2,
                150..250 => -0.2,
                _ => 0.0,
            };
            time.push(t);
            input.push(current);
            output.push(plant.state.position);
            plant.step(current, dt);
        }
        let record = InputRecord {
            time: &time,
            input: &input,
            output: &output,
        };
        let fit = fit_motor(&record).expect("a fit");
        let (j, b) = fit.model.inertia_and_damping(torque_constant);
        assert!(within(j, inertia, 0.02), "J {j}");
        assert!(within(b, viscous, 0.02), "b {b}");
    }

    #[test]
    fn records_that_cannot_be_fitted_are_errors() {
        let time: Vec<f64> = (0..20).map(f64::from).collect();
        let flat = vec![1.0; 20];
        let record = InputRecord {
            time: &time,
            input: &flat,
            output: &flat,
        };
        assert_eq!(fit_fopdt(&record), Err(IdentifyError::NoExcitation));
        let short = InputRecord {
            time: &time[..5],
            input: &flat[..5],
            output: &flat[..5],
        };
        assert!(matches!(
            fit_ipdt(&short),
            Err(IdentifyError::TooShort { .. })
        ));
    }
}
