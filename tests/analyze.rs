//! `motiontune analyze` as a user runs it: on a recording of the simulated
//! drive stepping back and forth, on CSVs of analytic responses written
//! here, and on broken files, each refused with one clear line.
#![cfg(unix)]

mod common;

use std::f64::consts::PI;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{DeviceProcess, assert_one_line_error, motiontune as run, stderr};
use motiontune::analysis::{StepOptions, StepRecord, step_metrics};
use motiontune::link::LinkEvent;
use motiontune::protocol::{Command, Event};
use motiontune::record::CsvRecorder;
use motiontune::sim::noise::GaussianNoise;
use serde_json::Value;

/// Runs `motiontune analyze FILE ARGS… --json` and returns the document.
fn analyze_json(file: &Path, args: &[&str]) -> Value {
    let file = file.to_str().expect("utf8 path");
    let mut all = vec!["analyze", file];
    all.extend_from_slice(args);
    all.push("--json");
    let output = run(&all);
    assert!(output.status.success(), "{}", stderr(&output));
    serde_json::from_slice(&output.stdout).expect("json")
}

fn steps(document: &Value) -> &Vec<Value> {
    document["steps"].as_array().expect("steps array")
}

fn number(step: &Value, key: &str) -> f64 {
    step[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number in {step}"))
}

fn assert_relative(what: &str, actual: f64, expected: f64, relative: f64) {
    assert!(
        (actual - expected).abs() <= relative * expected.abs(),
        "{what}: {actual} is not within {} % of {expected}",
        relative * 100.0
    );
}

/// A CSV written by the test, deleted with its folder.
struct CsvFile {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl CsvFile {
    fn new(text: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("steps.csv");
        std::fs::write(&path, text).expect("write csv");
        Self { _dir: dir, path }
    }
}

/// The response of a unit step at t = 0 of some system, for t ≥ 0.
type Response = fn(f64, f64) -> f64;

/// A CSV of `response` (with parameter `p`) following a reference that
/// starts at 0 and takes each `(time, level)` from that time on, sampled
/// at 10 kHz. Each hold must be long enough for the response to settle.
fn analytic_csv(levels: &[(f64, f64)], end: f64, response: Response, p: f64) -> CsvFile {
    noisy_csv(levels, end, response, p, 0.0)
}

/// [`analytic_csv`] with Gaussian noise of standard deviation `noise` added
/// to the feedback.
fn noisy_csv(levels: &[(f64, f64)], end: f64, response: Response, p: f64, noise: f64) -> CsvFile {
    let mut gaussian = GaussianNoise::new(0x5EED_0A11);
    let dt = 1e-4;
    let mut text = String::from("time_s,setpoint [rad],position [rad]\n");
    for i in 0..(end / dt).round() as usize {
        let t = i as f64 * dt;
        let mut reference = 0.0;
        let mut position = 0.0;
        let mut before = 0.0;
        for &(start, level) in levels.iter().filter(|(start, _)| t >= start - dt / 2.0) {
            position += (level - before) * response(t - start, p);
            reference = level;
            before = level;
        }
        let measured = position + noise * gaussian.standard();
        writeln!(text, "{t},{reference},{measured}").expect("format");
    }
    CsvFile::new(&text)
}

fn first_order(t: f64, tau: f64) -> f64 {
    1.0 - (-t / tau).exp()
}

/// Unit step response of ωn² / (s² + 2ζωn s + ωn²) with ωn = 40 rad/s.
fn second_order(t: f64, zeta: f64) -> f64 {
    let omega_n = 40.0;
    let root = (1.0 - zeta * zeta).sqrt();
    let omega_d = omega_n * root;
    1.0 - (-zeta * omega_n * t).exp() * ((omega_d * t).cos() + zeta / root * (omega_d * t).sin())
}

#[test]
fn first_order_steps_up_and_down_rise_in_2_197_tau() {
    let tau = 0.05;
    let levels = [(0.1, 1.0), (0.7, -1.0), (1.3, 0.5)];
    let csv = analytic_csv(&levels, 1.9, first_order, tau);
    let document = analyze_json(&csv.path, &[]);
    let found = steps(&document);
    assert_eq!(found.len(), 3);
    let mut before = 0.0;
    for (index, (step, &(time, level))) in found.iter().zip(&levels).enumerate() {
        let case = format!("step {}", index + 1);
        assert_eq!(step["step"], index + 1);
        assert_relative(&case, number(step, "step_time"), time, 1e-3);
        assert_eq!((number(step, "from"), number(step, "to")), (before, level));
        assert_relative(&case, number(step, "rise_time"), 9.0_f64.ln() * tau, 0.01);
        assert_relative(
            &case,
            number(step, "settling_time"),
            50.0_f64.ln() * tau,
            0.01,
        );
        assert!(number(step, "overshoot") < 0.01, "{case}: {step}");
        assert_relative(
            &case,
            number(step, "iae"),
            (level - before).abs() * tau,
            0.01,
        );
        assert_eq!(step["peak_effort"], Value::Null, "no effort column");
        assert_eq!(step["missing"]["peak_effort"], "no effort channel");
        before = level;
    }
    assert_eq!(document["units"]["rise_time"], "s");
    assert_eq!(document["units"]["overshoot"], "%");
    assert_eq!(document["units"]["peak"], "rad");
    assert_eq!(document["signals"]["feedback"], "position");

    // stepinfo's options: 5 % → 95 % takes τ ln 19, a 5 % band is entered
    // at τ ln 20.
    let document = analyze_json(
        &csv.path,
        &["--rise", "0.05,0.95", "--settling-band", "0.05"],
    );
    for step in steps(&document) {
        assert_relative("rise", number(step, "rise_time"), 19.0_f64.ln() * tau, 0.01);
        assert_relative(
            "settling",
            number(step, "settling_time"),
            20.0_f64.ln() * tau,
            0.01,
        );
    }
}

#[test]
fn second_order_overshoot_matches_its_damping() {
    for zeta in [0.2, 0.5, 0.7] {
        let csv = analytic_csv(&[(0.05, 2.0), (1.05, 0.0)], 2.05, second_order, zeta);
        let document = analyze_json(&csv.path, &[]);
        let overshoot = 100.0 * (-PI * zeta / (1.0 - zeta * zeta).sqrt()).exp();
        let omega_d = 40.0 * (1.0 - zeta * zeta).sqrt();
        for step in steps(&document) {
            let case = format!("ζ {zeta}, step {}", step["step"]);
            assert_relative(&case, number(step, "overshoot"), overshoot, 0.01);
            assert_relative(&case, number(step, "peak_time"), PI / omega_d, 0.01);
        }
    }
}

#[test]
fn noisy_responses_still_rise_and_overshoot_as_the_analytic_ones() {
    // Noise of 0.05 % of the step (σ), on a first-order lag and on a
    // second-order loop with ζ = 0.5 (16.3 % overshoot).
    let noise = 5e-4;
    let tau = 0.05;
    let csv = noisy_csv(&[(0.1, 1.0), (0.7, 0.0)], 1.3, first_order, tau, noise);
    for step in steps(&analyze_json(&csv.path, &[])) {
        assert_relative("rise", number(step, "rise_time"), 9.0_f64.ln() * tau, 0.01);
    }
    let zeta = 0.5;
    let csv = noisy_csv(&[(0.05, 1.0), (1.05, 0.0)], 2.05, second_order, zeta, noise);
    let overshoot = 100.0 * (-PI * zeta / (1.0 - zeta * zeta).sqrt()).exp();
    for step in steps(&analyze_json(&csv.path, &[])) {
        assert_relative("overshoot", number(step, "overshoot"), overshoot, 0.01);
        let settled = number(step, "settling_time");
        assert!(
            settled.is_finite(),
            "noise inside the band does not unsettle"
        );
    }
}

#[test]
fn columns_are_chosen_by_name_and_effort_is_measured_when_present() {
    // Proportional effort 4·e, limited to ±1.5, on a first-order lag.
    let tau = 0.05;
    let mut text = String::from("time_s, target [m], measured [m], drive [V], note\n");
    for i in 0..10_000 {
        let t = f64::from(i) * 1e-4;
        let (reference, measured) = if t < 0.2 {
            (0.0, 0.0)
        } else {
            (1.0, first_order(t - 0.2, tau))
        };
        let drive = (4.0 * (reference - measured)).clamp(-1.5, 1.5);
        writeln!(text, "{t}, {reference}, {measured}, {drive}, text").expect("format");
    }
    let csv = CsvFile::new(&text);
    let output = run(&["analyze", csv.path.to_str().expect("utf8")]);
    assert_one_line_error(
        &output,
        "no reference column: none named 'setpoint' or 'reference'",
    );
    assert!(stderr(&output).contains("choose one with --reference"));

    let document = analyze_json(
        &csv.path,
        &[
            "--reference",
            "target",
            "--feedback",
            "Measured [m]",
            "--effort",
            "drive",
            "--effort-limit",
            "1.5",
        ],
    );
    let [step] = &steps(&document)[..] else {
        panic!("one step expected: {document}")
    };
    assert_eq!(number(step, "peak_effort"), 1.5);
    // Saturated while 4·e^(−t/τ) ≥ 1.5.
    assert_relative(
        "saturated",
        number(step, "time_in_saturation"),
        tau * (4.0_f64 / 1.5).ln(),
        0.01,
    );
    assert_eq!(document["units"]["peak_effort"], "V");
    assert_eq!(document["units"]["iae"], "m·s");
}

/// Streams the simulated drive (`motiontune sim --pty`) to a CSV with the
/// recorder `motiontune record` uses, while writing the setpoint to each
/// `(device seconds, level)` in turn, output enabled.
fn record_sim_steps(levels: &[(f64, f32)], seconds: f64, out: &Path) {
    let sim = DeviceProcess::start(common::BIN, &["sim", "--pty"]);
    let (link, info) = common::connect(&sim.path, 10);
    let setpoint = info
        .params
        .iter()
        .position(|p| p.name == "pos.setpoint")
        .expect("the sim has a setpoint") as u8;
    link.send(Command::Enable(true));
    let file = std::fs::File::create(out).expect("create csv");
    let mut recorder = CsvRecorder::new(file, &info.channels).expect("header");
    let mut start = None;
    let mut next = levels.iter().peekable();
    let deadline = Instant::now() + Duration::from_secs_f64(seconds * 3.0 + 5.0);
    loop {
        assert!(Instant::now() < deadline, "the sim stopped streaming");
        let Ok(LinkEvent::Device(Event::Samples { batch, .. })) =
            link.events().recv_timeout(Duration::from_secs(1))
        else {
            continue;
        };
        let start = *start.get_or_insert(batch.time_of(0));
        recorder.write_batch(&batch).expect("write rows");
        let now = batch.time_of(batch.len() - 1) - start;
        if let Some(&(_, level)) = next.next_if(|(at, _)| now >= *at) {
            link.send(Command::Set {
                index: setpoint,
                value: level,
            });
        }
        if now >= seconds {
            break;
        }
    }
    link.send(Command::Enable(false));
    recorder.finish().expect("flush");
}

#[test]
fn every_step_recorded_from_the_sim_gets_step_metrics_of_its_own_samples() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sim.csv");
    let levels = [(0.3, 0.5), (1.3, -0.3), (2.3, 0.2)];
    record_sim_steps(&levels, 3.3, &path);

    let document = analyze_json(&path, &[]);
    let found = steps(&document);
    assert_eq!(found.len(), levels.len(), "{document}");
    assert_eq!(document["signals"]["effort"], "effort");
    assert_eq!(document["units"]["peak_effort"], "A");

    // The same steps measured here, each on its hold and, before it, the
    // last tenth of the time since the change before (the window the step
    // before took its final value from).
    let (header, rows) = common::read_recording(&path);
    let column = |name: &str| {
        let index = header.iter().position(|h| h == name).expect(name);
        rows.iter().map(|row| row[index]).collect::<Vec<f64>>()
    };
    let [time, reference, position, effort] =
        ["time_s", "setpoint [rad]", "position [rad]", "effort [A]"].map(column);
    let mut changes: Vec<usize> = (1..time.len())
        .filter(|&i| reference[i] != reference[i - 1])
        .collect();
    assert_eq!(changes.len(), levels.len());
    changes.insert(0, 0);
    changes.push(time.len());
    let mut final_before = None;
    for (k, step) in found.iter().enumerate() {
        let (previous, at, next) = (changes[k], changes[k + 1], changes[k + 2]);
        let last_before = time[at - 1];
        let window_start = last_before - 0.1 * (last_before - time[previous]);
        let pre = (previous..at)
            .find(|&i| time[i] >= window_start)
            .expect("a sample before the step");
        let record = StepRecord {
            time: &time[pre..next],
            reference: &reference[pre..next],
            feedback: &position[pre..next],
            effort: Some(&effort[pre..next]),
        };
        let expected = step_metrics(&record, &StepOptions::default()).expect("measurable");
        let case = format!("step {}", k + 1);
        assert_relative(&case, number(step, "step_time"), expected.step_time, 1e-12);
        assert_eq!(number(step, "to") as f32, levels[k].1, "{case}");
        if let Some(final_before) = final_before {
            assert_relative(&case, number(step, "initial_value"), final_before, 1e-12);
        }
        final_before = Some(number(step, "final_value"));
        // Equal but for the last bit JSON's decimal text may cost.
        for metric in motiontune::analysis::named_metrics(&expected) {
            let key = metric.info.key;
            let what = format!("{case} {key}");
            match metric.value {
                Some(value) => assert_relative(&what, number(step, key), value, 1e-12),
                None => assert_eq!(step[key], Value::Null, "{what}"),
            }
        }
        // The default gains ring.
        assert!(number(step, "overshoot") > 1.0, "{case}: {step}");
    }

    // The text report: a summary line, then a block per step.
    let output = run(&["analyze", path.to_str().expect("utf8")]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.lines().next().is_some_and(|l| l.ends_with(
            ": 3 steps; reference 'setpoint [rad]', feedback 'position [rad]', effort 'effort [A]'"
        )),
        "{text}"
    );
    assert!(text.contains("step 2 at "), "{text}");
    assert!(text.contains("setpoint 0.50000 → -0.30000 rad"), "{text}");
    assert_eq!(text.matches("  Overshoot ").count(), 3, "{text}");
}

#[test]
fn broken_input_is_refused_with_one_line() {
    let missing = run(&["analyze", "/nonexistent/run.csv"]);
    assert_one_line_error(&missing, "cannot open /nonexistent/run.csv");

    let header = "time_s,setpoint [rad],position [rad]\n";
    let flat = format!("{header}0,1,0\n0.1,1,0.5\n0.2,1,0.9\n");
    // (file, extra arguments, what the one line must say)
    let cases: [(String, &[&str], &str); 9] = [
        (
            "x,setpoint,position\n0,0,0\n".into(),
            &[],
            "no time column: none is named time_s, time, t, __time or timestamp \
             (columns: x, setpoint, position); choose one with --time-column",
        ),
        (String::new(), &[], "is empty: no samples to measure"),
        (
            format!("{header}0,0,0\n0.1,1,0.5\n0.2,1,oops\n"),
            &[],
            "line 4, column 'position [rad]': 'oops' is not a number",
        ),
        (
            format!("{header}0,0,0\n0.1,1,NaN\n"),
            &[],
            "line 3, column 'position [rad]': 'NaN' is not a number",
        ),
        (
            format!("{header}0,0,0\n0.1,1,0.5\n0.1,1,0.9\n"),
            &[],
            "line 4: time_s 0.1 does not increase",
        ),
        (
            flat.clone(),
            &[],
            "the reference 'setpoint [rad]' never changes",
        ),
        (
            flat.clone(),
            &["--feedback", "velocity"],
            "no feedback column: none named 'velocity' (columns: time_s, setpoint [rad], position [rad])",
        ),
        (flat.clone(), &["--rise", "90,10"], "is not LOW,HIGH"),
        (flat, &["--settling-band", "-0.1"], "is not a settling band"),
    ];
    for (text, extra, expected) in cases {
        let csv = CsvFile::new(&text);
        let mut args = vec!["analyze", csv.path.to_str().expect("utf8")];
        args.extend_from_slice(extra);
        assert_one_line_error(&run(&args), expected);
    }
}

#[test]
fn a_step_that_cannot_be_measured_is_reported_in_its_place() {
    // The second step's feedback never moves: its own error, the first
    // step's metrics untouched.
    let mut text = String::from("time_s,setpoint,position\n");
    for i in 0..3000 {
        let t = f64::from(i) * 1e-3;
        let reference = match t {
            t if t < 0.5 => 0.0,
            t if t < 1.5 => 1.0,
            _ => 2.0,
        };
        let position = match t {
            t if t < 0.5 => 0.0,
            t if t < 1.0 => first_order(t - 0.5, 0.05),
            _ => 1.0,
        };
        writeln!(text, "{t},{reference},{position}").expect("format");
    }
    let csv = CsvFile::new(&text);
    let document = analyze_json(&csv.path, &[]);
    let [first, second] = &steps(&document)[..] else {
        panic!("two steps expected: {document}")
    };
    assert_relative(
        "rise",
        number(first, "rise_time"),
        0.05 * 9.0_f64.ln(),
        0.01,
    );
    assert_eq!(
        second["error"],
        "the feedback did not move across the step: is the drive enabled?"
    );
    assert_eq!(document["units"]["from"], "", "no unit in the header");

    let output = run(&["analyze", csv.path.to_str().expect("utf8")]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("  not measured: the feedback did not move"),
        "{text}"
    );
}

/// The same stepping loop as pandas, PlotJuggler and the Arduino serial
/// monitor write it (`tests/other_tools/`): `analyze` finds both steps in
/// each, with the same figures where the samples are the same.
#[test]
fn files_other_tools_wrote_give_the_same_steps() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/other_tools");
    let measured = |file: &str, args: &[&str]| {
        let document = analyze_json(&dir.join(file), args);
        let found = steps(&document).clone();
        assert_eq!(found.len(), 2, "{file}: {document}");
        found
    };
    let pandas = measured("pandas_step.csv", &[]);
    let dated = measured("pandas_datetime.csv", &[]);
    let plotjuggler = measured("plotjuggler_export.csv", &[]);
    let parquet = measured("pandas_step.parquet", &[]);
    let zstd_dated = measured("pandas_datetime_zstd.parquet", &[]);
    let arduino = measured(
        "arduino_monitor.txt",
        &["--reference", "column 2", "--feedback", "column 3"],
    );
    for (k, step) in pandas.iter().enumerate() {
        for key in ["rise_time", "settling_time", "overshoot", "peak_time"] {
            let expected = number(step, key);
            assert_relative(
                &format!("datetime {key}"),
                number(&dated[k], key),
                expected,
                1e-4,
            );
            assert_relative(
                &format!("PlotJuggler {key}"),
                number(&plotjuggler[k], key),
                expected,
                1e-4,
            );
            for (other, steps) in [("pandas Parquet", &parquet), ("zstd Parquet", &zstd_dated)] {
                let what = format!("{other} {key}");
                assert_relative(&what, number(&steps[k], key), expected, 1e-4);
            }
        }
        // Every fifth sample, timed by the monitor's jittery clock.
        assert_relative(
            "serial monitor overshoot",
            number(&arduino[k], "overshoot"),
            number(step, "overshoot"),
            0.2,
        );
    }
    // Times as written: seconds from the index column's neighbour, since
    // 1970 for a date, epoch seconds for PlotJuggler.
    assert_relative(
        "pandas step time",
        number(&pandas[0], "step_time"),
        0.5,
        1e-9,
    );
    assert_relative(
        "PlotJuggler step time",
        number(&plotjuggler[0], "step_time"),
        1_765_011_600.5,
        1e-12,
    );
    // 2026-12-06 09:00:00.5 UTC.
    assert_relative(
        "dated step time",
        number(&dated[0], "step_time"),
        1_796_547_600.5,
        1e-12,
    );
}

/// A CSV without a time column recognised is refused in one line that
/// lists its columns; `--time-column` and `--time-unit` read it.
#[test]
fn a_time_column_not_recognised_is_named_on_the_command_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("logger.csv");
    let mut text = String::from("sample,elapsed,setpoint,position\n");
    for k in 0..400 {
        let (setpoint, position) = if k < 100 {
            (0.0, 0.0)
        } else {
            (1.0, 1.0 - (-(f64::from(k) - 100.0) / 20.0).exp())
        };
        writeln!(text, "{k},{},{setpoint},{position}", k * 5).expect("write");
    }
    std::fs::write(&path, text).expect("write");
    let shown = path.to_str().expect("utf8");
    let output = run(&["analyze", shown]);
    assert_one_line_error(&output, "no time column");
    assert_one_line_error(&output, "sample, elapsed, setpoint, position");
    let document = analyze_json(&path, &["--time-column", "elapsed", "--time-unit", "ms"]);
    assert_relative(
        "step time",
        number(&steps(&document)[0], "step_time"),
        0.5,
        1e-9,
    );
    let by_number = analyze_json(&path, &["--time-column", "2", "--time-unit", "ms"]);
    assert_eq!(document["steps"], by_number["steps"]);
}
