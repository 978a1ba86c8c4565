//! Our step metrics against a reference `stepinfo`: python-control's
//! `step_info` (run by tests/stepinfo_reference.py) on analytic, noisy and
//! simulated-drive responses, each metric within 1 %.
//!
//! Both sides measure the same definition: the reference gets the hold (from
//! the step sample on) with times from the step and values relative to our
//! initial value (python-control has no `yinit`), our final value as
//! `yfinal`, and the same thresholds. Where the definitions part, the
//! comparison follows MATLAB's documented `stepinfo` or our contract:
//! - python-control takes each threshold crossing at the first sample past
//!   it; we interpolate between samples (MATLAB's documentation defines
//!   the times on y(t), not on samples). Times therefore agree
//!   within 1 % or one sample interval, the reference's own resolution.
//! - python-control clamps SettlingMin/SettlingMax to `yfinal`; MATLAB does
//!   not. The clamp cannot act here: our final value is the mean of samples
//!   that all come after the rise.
//! - python-control reports a settling time even when the response enters
//!   the band in the last 10 % of the hold; we report `NotSettled` then (our
//!   contract: the final value's window must stay in the band). Such cases
//!   count as agreeing only if the reference time falls in that window.
//! - python-control starts the rise at the first sample past the low
//!   threshold, on a noisy record possibly a spike the response falls back
//!   from; we start at the last crossing before the high threshold. MATLAB's
//!   documentation does not say which; the rise time is compared from the
//!   last crossing (the script measures it on the samples from there), and
//!   the first-crossing figure must agree on noise-free responses and is
//!   reported, not asserted, on noisy ones.
//! - Peak is the largest |y − yinit| on both sides (MATLAB: peak absolute
//!   value); our `peak` keeps its sign, so |peak − initial| is compared.
//!
//! Amplitudes near zero (overshoot, undershoot of a monotone response) are
//! compared against 0.01 % of |Δ| instead of 1 % of themselves.
//!
//! Linux only: `.ci/run` installs python-control there.
#![cfg(target_os = "linux")]

use std::f64::consts::PI;
use std::fs::File;
use std::process::{Command, Stdio};

use motiontune::analysis::{Rise, Settling, StepMetrics, StepOptions, StepRecord, step_metrics};
use motiontune::sim::noise::GaussianNoise;
use motiontune::sim::{DriveConfig, SimDrive};
use serde_json::{Value, json};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/stepinfo_reference.py");
/// Allowed deviation, as a fraction of the reference value.
const RELATIVE: f64 = 0.01;
/// Allowed deviation of an amplitude near zero, as a fraction of |Δ|.
const NEAR_ZERO_OF_DELTA: f64 = 1e-4;

/// One recorded step and how to measure it.
struct Case {
    name: String,
    time: Vec<f64>,
    reference: Vec<f64>,
    feedback: Vec<f64>,
    options: StepOptions,
    /// Analytic and without added noise.
    noise_free: bool,
}

impl Case {
    fn record(&self) -> StepRecord<'_> {
        StepRecord {
            time: &self.time,
            reference: &self.reference,
            feedback: &self.feedback,
            effort: None,
        }
    }

    fn metrics(&self) -> StepMetrics {
        step_metrics(&self.record(), &self.options)
            .unwrap_or_else(|error| panic!("{}: {error}", self.name))
    }

    fn step_index(&self) -> usize {
        self.reference
            .iter()
            .position(|&r| r != self.reference[0])
            .unwrap_or_else(|| panic!("{}: no step", self.name))
    }

    /// Longest sample interval in the hold: the reference's time resolution.
    fn sample_interval(&self) -> f64 {
        self.time[self.step_index()..]
            .windows(2)
            .map(|pair| pair[1] - pair[0])
            .fold(0.0, f64::max)
    }

    fn hold(&self) -> f64 {
        self.time[self.time.len() - 1] - self.time[self.step_index()]
    }

    /// What the reference script reads for this case.
    fn reference_input(&self, metrics: &StepMetrics) -> Value {
        let step = self.step_index();
        let step_time = self.time[step];
        let (low, high) = self.options.rise_limits;
        json!({
            "name": self.name,
            "t": self.time[step..].iter().map(|t| t - step_time).collect::<Vec<_>>(),
            "y": self.feedback[step..]
                .iter()
                .map(|y| y - metrics.initial_value)
                .collect::<Vec<_>>(),
            "yfinal": metrics.final_value - metrics.initial_value,
            "band": self.options.settling_band,
            "rise_limits": [low, high],
        })
    }
}

/// The option sets the cases alternate between.
fn options(variant: usize) -> StepOptions {
    match variant % 2 {
        0 => StepOptions::default(),
        _ => StepOptions {
            rise_limits: (0.05, 0.95),
            settling_band: 0.05,
            ..StepOptions::default()
        },
    }
}

fn options_label(options: &StepOptions) -> String {
    let (low, high) = options.rise_limits;
    format!(
        "rise {}–{} %, band {} %",
        100.0 * low,
        100.0 * high,
        100.0 * options.settling_band
    )
}

/// A response shape: fraction of the step reached `t` seconds after it.
type Shape = Box<dyn Fn(f64) -> f64>;

fn analytic_shapes() -> Vec<(String, Shape)> {
    let tau = 0.1;
    let mut shapes: Vec<(String, Shape)> = vec![(
        "first order".into(),
        Box::new(move |t: f64| 1.0 - (-t / tau).exp()),
    )];
    let omega_n = 2.0 * PI * 2.0;
    for zeta in [0.1, 0.2, 0.3, 0.5, 0.7, 0.9] {
        let decay = zeta * omega_n;
        let omega_d = omega_n * (1.0_f64 - zeta * zeta).sqrt();
        shapes.push((
            format!("second order ζ={zeta}"),
            Box::new(move |t: f64| {
                1.0 - (-decay * t).exp()
                    * ((omega_d * t).cos() + decay / omega_d * (omega_d * t).sin())
            }),
        ));
    }
    // ζ = 2: real poles at −ωn(ζ ± √(ζ² − 1)).
    let (p1, p2) = (
        omega_n * (2.0 - 3.0_f64.sqrt()),
        omega_n * (2.0 + 3.0_f64.sqrt()),
    );
    shapes.push((
        "second order ζ=2".into(),
        Box::new(move |t: f64| 1.0 - (p2 * (-p1 * t).exp() - p1 * (-p2 * t).exp()) / (p2 - p1)),
    ));
    let delay = 0.0503;
    shapes.push((
        "pure delay".into(),
        Box::new(move |t: f64| if t >= delay { 1.0 } else { 0.0 }),
    ));
    shapes.push((
        "delayed first order".into(),
        Box::new(move |t: f64| {
            if t >= delay {
                1.0 - (-(t - delay) / tau).exp()
            } else {
                0.0
            }
        }),
    ));
    // (1 − 2τs) / (1 + τs)²: dips to −54 % before rising.
    shapes.push((
        "non-minimum phase".into(),
        Box::new(move |t: f64| 1.0 - (-t / tau).exp() * (1.0 + 3.0 * t / tau)),
    ));
    shapes
}

/// `pre` seconds at `initial`, then a step of `delta` held for `hold`
/// seconds, sampled every `dt`, with Gaussian noise of `noise`·|Δ|.
#[allow(clippy::too_many_arguments)]
fn synthetic(
    name: String,
    shape: &Shape,
    initial: f64,
    delta: f64,
    dt: f64,
    hold: f64,
    noise: f64,
    seed: u64,
    options: StepOptions,
) -> Case {
    let pre = 0.05;
    let count = ((pre + hold) / dt).round() as usize;
    let step = (pre / dt).round() as usize;
    let mut gaussian = GaussianNoise::new(seed);
    let time: Vec<f64> = (0..count).map(|i| i as f64 * dt).collect();
    let reference = (0..count)
        .map(|i| if i < step { initial } else { initial + delta })
        .collect();
    let feedback = time
        .iter()
        .map(|&t| {
            let since = t - step as f64 * dt;
            let clean = if since < 0.0 {
                initial
            } else {
                initial + delta * shape(since)
            };
            clean + noise * delta.abs() * gaussian.standard()
        })
        .collect();
    Case {
        name,
        time,
        reference,
        feedback,
        options,
        noise_free: noise == 0.0,
    }
}

fn synthetic_cases() -> Vec<Case> {
    let steps = [(0.0, 1.0), (0.0, -1.0), (2.5, 1.5), (-1.0, -0.4)];
    let noises = [(0.0, 0), (0.002, 3), (0.005, 3), (0.01, 3)];
    let mut cases = Vec::new();
    for (shape_index, (shape_name, shape)) in analytic_shapes().iter().enumerate() {
        for (step_index, &(initial, delta)) in steps.iter().enumerate() {
            for &(noise, seeds) in &noises {
                for seed in 0..seeds.max(1) {
                    let variant = shape_index + step_index + seed;
                    // 1 ms and 0.4 ms sampling, in turn.
                    let dt = if variant % 2 == 0 { 1e-3 } else { 4e-4 };
                    cases.push(synthetic(
                        format!(
                            "{shape_name}, {initial} → {}, noise {noise}·|Δ| seed {seed}, {}",
                            initial + delta,
                            options_label(&options(variant))
                        ),
                        shape,
                        initial,
                        delta,
                        dt,
                        2.0,
                        noise,
                        0x57E9 + seed as u64 * 7919 + shape_index as u64,
                        options(variant),
                    ));
                }
            }
        }
    }
    cases
}

/// A step recorded from the simulated drive with its default encoder
/// quantization and noise, sampled every control tick.
fn sim_case(name: String, kp: f64, ki: f64, kd: f64, from: f64, to: f64, variant: usize) -> Case {
    const TICK: f64 = 1e-4;
    let mut config = DriveConfig::default();
    config.gains.kp = kp;
    config.gains.ki = ki;
    config.gains.kd = kd;
    config.setpoint = from;
    let mut drive = SimDrive::new(config);
    drive.set_enabled(true);
    // Let the loop come to rest at the starting point.
    for _ in 0..10_000 {
        drive.tick(TICK);
    }
    let (pre, hold) = (500, 15_000);
    let (mut time, mut reference, mut feedback) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..pre + hold {
        if i == pre {
            drive.config.setpoint = to;
        }
        let sample = drive.tick(TICK);
        time.push(i as f64 * TICK);
        reference.push(f64::from(sample.setpoint));
        feedback.push(f64::from(sample.position));
    }
    Case {
        name,
        time,
        reference,
        feedback,
        options: options(variant),
        noise_free: false,
    }
}

fn sim_cases() -> Vec<Case> {
    let gains = [
        (20.0, 20.0, 0.2),
        (20.0, 20.0, 0.8),
        (50.0, 0.0, 1.0),
        (10.0, 5.0, 0.5),
    ];
    let steps = [(0.0, 1.0), (1.0, -0.5), (2.0, 2.3)];
    let mut cases = Vec::new();
    for (gain_index, &(kp, ki, kd)) in gains.iter().enumerate() {
        for (step_index, &(from, to)) in steps.iter().enumerate() {
            for variant in 0..2 {
                let variant = variant + gain_index + step_index;
                cases.push(sim_case(
                    format!(
                        "sim kp={kp} ki={ki} kd={kd}, {from} → {to}, {}",
                        options_label(&options(variant))
                    ),
                    kp,
                    ki,
                    kd,
                    from,
                    to,
                    variant,
                ));
            }
        }
    }
    cases
}

/// Runs the reference script on every case.
fn reference_metrics(inputs: &[Value]) -> Vec<Value> {
    let dir = tempfile::tempdir().expect("tempdir");
    let input_path = dir.path().join("cases.json");
    std::fs::write(&input_path, serde_json::to_vec(inputs).expect("json")).expect("write cases");
    let output = Command::new("python3")
        .arg(SCRIPT)
        .stdin(File::open(&input_path).expect("open cases"))
        .stderr(Stdio::piped())
        .output()
        .expect("run python3 (.ci/run installs it)");
    assert!(
        output.status.success(),
        "{SCRIPT} failed (is python-control installed? .ci/run installs it):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let results: Vec<Value> = serde_json::from_slice(&output.stdout).expect("reference json");
    assert_eq!(results.len(), inputs.len(), "one result per case");
    results
}

/// Worst deviation seen for one metric.
#[derive(Default)]
struct Worst {
    /// |ours − reference| / |reference|, over values not near zero.
    relative: f64,
    relative_case: String,
    /// |ours − reference| / allowed deviation; above 1 fails.
    of_allowed: f64,
    compared: usize,
}

struct Comparison {
    metrics: Vec<(&'static str, Worst)>,
    failures: Vec<String>,
    settled_late: usize,
    not_settled_both: usize,
    /// Noisy records whose first sample past the low rise threshold is not
    /// the crossing the rise starts from.
    noise_before_rise: usize,
    /// Largest relative gap to python-control's first-crossing rise time
    /// on those, and where.
    first_crossing_worst: (f64, String),
}

impl Comparison {
    fn new() -> Self {
        let names = [
            "RiseTime",
            "RiseTime (noise-free)",
            "SettlingTime",
            "SettlingMin",
            "SettlingMax",
            "Overshoot",
            "Undershoot",
            "Peak",
            "PeakTime",
            "SteadyStateValue",
        ];
        Self {
            metrics: names.map(|name| (name, Worst::default())).into(),
            failures: Vec::new(),
            settled_late: 0,
            not_settled_both: 0,
            noise_before_rise: 0,
            first_crossing_worst: (0.0, String::new()),
        }
    }

    /// Compares one metric; `floor` is the deviation allowed for a
    /// reference value near zero.
    fn check(&mut self, case: &str, metric: &str, ours: f64, reference: f64, floor: f64) {
        let deviation = (ours - reference).abs();
        let allowed = (RELATIVE * reference.abs()).max(floor);
        let Some((_, worst)) = self.metrics.iter_mut().find(|(name, _)| *name == metric) else {
            panic!("unknown metric {metric}")
        };
        worst.compared += 1;
        worst.of_allowed = worst.of_allowed.max(deviation / allowed);
        if RELATIVE * reference.abs() > floor && deviation / reference.abs() > worst.relative {
            worst.relative = deviation / reference.abs();
            worst.relative_case = case.to_string();
        }
        if deviation.is_nan() || deviation > allowed {
            self.failures.push(format!(
                "{case}: {metric} ours {ours} reference {reference} (allowed ±{allowed:.3e})"
            ));
        }
    }

    fn compare(&mut self, case: &Case, ours: &StepMetrics, reference: &Value) {
        let name = case.name.as_str();
        let field = |key: &str| reference.get(key).and_then(Value::as_f64);
        let delta = (ours.final_value - ours.initial_value).abs();
        let amplitude_floor = NEAR_ZERO_OF_DELTA * delta;
        let percent_floor = 100.0 * NEAR_ZERO_OF_DELTA;
        let sample = case.sample_interval();

        match (
            ours.rise,
            field("RiseTime"),
            field("RiseTimeFromLastLowCrossing"),
        ) {
            (Rise::Reached { duration, .. }, Some(first), Some(last)) => {
                self.check(name, "RiseTime", duration, last, sample);
                if case.noise_free {
                    self.check(name, "RiseTime (noise-free)", duration, first, sample);
                } else if first != last {
                    self.noise_before_rise += 1;
                    let relative = (first - duration).abs() / first;
                    if relative > self.first_crossing_worst.0 {
                        self.first_crossing_worst = (relative, name.to_string());
                    }
                }
            }
            (Rise::NotReached, None, None) => {}
            (ours_rise, _, _) => self.failures.push(format!(
                "{name}: rise ours {ours_rise:?} reference {reference}"
            )),
        }
        match (ours.settling, field("SettlingTime")) {
            (Settling::Settled(at), Some(settled)) => {
                self.check(name, "SettlingTime", at, settled, sample);
            }
            (Settling::NotSettled, None) => self.not_settled_both += 1,
            // Entered the band only within the final value's window.
            (Settling::NotSettled, Some(settled)) if settled >= 0.9 * case.hold() - sample => {
                self.settled_late += 1;
            }
            (ours_settling, settled) => self.failures.push(format!(
                "{name}: settling ours {ours_settling:?} reference {settled:?}"
            )),
        }
        if let Some(extremes) = ours.settling_extremes {
            let (Some(min), Some(max)) = (field("SettlingMin"), field("SettlingMax")) else {
                panic!("{name}: reference has no settling extremes: {reference}")
            };
            let initial = ours.initial_value;
            self.check(
                name,
                "SettlingMin",
                extremes.min - initial,
                min,
                amplitude_floor,
            );
            self.check(
                name,
                "SettlingMax",
                extremes.max - initial,
                max,
                amplitude_floor,
            );
        }
        let (Some(overshoot), Some(undershoot), Some(peak), Some(peak_time), Some(final_value)) = (
            field("Overshoot"),
            field("Undershoot"),
            field("Peak"),
            field("PeakTime"),
            field("SteadyStateValue"),
        ) else {
            panic!("{name}: reference incomplete: {reference}")
        };
        self.check(
            name,
            "Overshoot",
            ours.overshoot_percent,
            overshoot,
            percent_floor,
        );
        self.check(
            name,
            "Undershoot",
            ours.undershoot_percent,
            undershoot,
            percent_floor,
        );
        self.check(
            name,
            "Peak",
            (ours.peak - ours.initial_value).abs(),
            peak,
            amplitude_floor,
        );
        self.check(name, "PeakTime", ours.peak_time, peak_time, sample);
        self.check(
            name,
            "SteadyStateValue",
            ours.final_value - ours.initial_value,
            final_value,
            amplitude_floor,
        );
    }

    fn report(&self, cases: usize) {
        println!("{cases} responses compared with python-control step_info:");
        for (name, worst) in &self.metrics {
            let case = match worst.relative_case.as_str() {
                "" => "-",
                case => case,
            };
            println!(
                "  {name:<22} {:>4} compared, worst {:.3} % ({:.2} of allowed) in {case}",
                worst.compared,
                100.0 * worst.relative,
                worst.of_allowed,
            );
        }
        println!(
            "  not settled on both sides: {}; entered the band only in the last 10 % of the hold: {}",
            self.not_settled_both, self.settled_late
        );
        println!(
            "  noisy records crossing the low rise threshold more than once: {}; \
             python-control's first-crossing rise time differs by up to {:.2} % ({})",
            self.noise_before_rise,
            100.0 * self.first_crossing_worst.0,
            self.first_crossing_worst.1
        );
    }
}

/// Measures every case on both sides and compares them.
fn compare(cases: &[Case]) -> Comparison {
    let ours: Vec<StepMetrics> = cases.iter().map(Case::metrics).collect();
    let inputs: Vec<Value> = cases
        .iter()
        .zip(&ours)
        .map(|(case, metrics)| case.reference_input(metrics))
        .collect();
    let references = reference_metrics(&inputs);
    let mut comparison = Comparison::new();
    for ((case, metrics), reference) in cases.iter().zip(&ours).zip(&references) {
        comparison.compare(case, metrics, reference);
    }
    comparison
}

fn assert_agreement(what: &str, cases: &[Case]) {
    let comparison = compare(cases);
    println!("{what}:");
    comparison.report(cases.len());
    assert!(
        comparison.failures.is_empty(),
        "{what}: {} disagreements:\n{}",
        comparison.failures.len(),
        comparison.failures.join("\n")
    );
}

#[test]
fn analytic_and_noisy_responses_agree_with_python_control_within_one_percent() {
    assert_agreement(
        "first and second order, delay, non-minimum phase; up, down, offset; noisy",
        &synthetic_cases(),
    );
}

#[test]
fn simulated_drive_responses_agree_with_python_control_within_one_percent() {
    assert_agreement(
        "simulated drive, default quantization and noise, four gain sets",
        &sim_cases(),
    );
}
