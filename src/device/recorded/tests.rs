use super::*;
use crate::analysis::{StepOptions, StepRecord, measure_steps};
use crate::protocol::{ChannelInfo, ChannelRole, SampleBatch};
use crate::record::{CsvRecorder, ParquetRecorder};

fn channels() -> Vec<ChannelInfo> {
    let channel = |name: &str, unit: &str, role| ChannelInfo {
        name: name.into(),
        unit: unit.into(),
        role,
    };
    vec![
        channel("setpoint", "rad", ChannelRole::Reference),
        channel("position", "rad", ChannelRole::Feedback),
        channel("effort", "A", ChannelRole::Effort),
    ]
}

/// 3 s at 1 kHz of a first-order loop stepping 0 → 1 at 1 s and back at
/// 2 s, with values no decimal holds exactly.
fn batches() -> Vec<SampleBatch> {
    let mut position = 0.0f32;
    let mut values = Vec::new();
    for k in 0..3000 {
        let setpoint = if (1000..2000).contains(&k) {
            1.0f32
        } else {
            0.0
        };
        let effort = 40.0 * (setpoint - position);
        position += 0.001 * effort;
        values.extend([setpoint, position, effort / 3.0]);
    }
    vec![SampleBatch {
        first_tick: 5000,
        stride: 1,
        tick_hz: 1000.0,
        channel_count: 3,
        values,
        exact: None,
    }]
}

fn write(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let file = std::fs::File::create(&path).expect("test setup");
    if name.ends_with(".parquet") {
        let mut recorder = ParquetRecorder::new(file, &channels()).expect("test setup");
        for batch in batches() {
            recorder.write_batch(&batch).expect("test setup");
        }
        recorder.finish().expect("test setup");
    } else {
        let mut recorder = CsvRecorder::new(file, &channels()).expect("test setup");
        for batch in batches() {
            recorder.write_batch(&batch).expect("test setup");
        }
        recorder.finish().expect("test setup");
    }
    path
}

#[test]
fn a_recording_in_each_format_loads_bit_for_bit_with_exact_times() {
    let dir = tempfile::tempdir().expect("test setup");
    let written = &batches()[0];
    for name in ["run.csv", "run.parquet"] {
        let path = write(dir.path(), name);
        let progress = LoadProgress::default();
        let device = load(&path, &ReadOptions::default(), &progress).expect("test setup");
        assert_eq!(device.rows, 3000, "{name}");
        assert!(device.exact, "{name}");
        assert_eq!(device.info.name, name);
        assert_eq!(
            device.info.channels,
            channels(),
            "{name}: names, units, roles"
        );
        assert!(device.info.params.is_empty());
        let history = &device.history;
        assert_eq!(history.len(), 3000);
        for index in history.indices() {
            let k = (index - history.indices().start) as usize;
            assert_eq!(history.time_of(index), written.time_of(k), "{name} row {k}");
            for channel in 0..3 {
                assert_eq!(
                    history.value(channel, index).to_bits(),
                    written.sample(k)[channel].to_bits(),
                    "{name} row {k} channel {channel}"
                );
            }
        }
        assert_eq!(history.gaps(0, history.indices()).count(), 0, "{name}");
        assert_eq!(progress.get(), (LoadStage::Measuring, 0.95));
    }
}

#[test]
fn its_steps_are_those_analyze_measures() {
    let dir = tempfile::tempdir().expect("test setup");
    let path = write(dir.path(), "run.parquet");
    let device =
        load(&path, &ReadOptions::default(), &LoadProgress::default()).expect("test setup");
    assert!(device.no_steps.is_none());
    assert_eq!(device.steps.len(), 2);

    // The same columns through the analysis `analyze` runs.
    let file = read::open(&path, &ReadOptions::default()).expect("test setup");
    let column = |c: usize| -> Vec<f64> { file.columns[c].iter().map(|&v| f64::from(v)).collect() };
    let (reference, feedback, effort) = (column(0), column(1), column(2));
    let expected = measure_steps(
        &StepRecord {
            time: &file.times,
            reference: &reference,
            feedback: &feedback,
            effort: Some(&effort),
        },
        &StepOptions::default(),
    )
    .expect("test setup");
    for (step, expected) in device.steps.iter().zip(&expected) {
        assert_eq!(step.metrics, expected.metrics);
        assert_eq!(step.step_time_s, file.times[expected.span.step]);
        assert_eq!(
            (step.from, step.to),
            (expected.span.from as f32, expected.span.to as f32)
        );
        // The trace is around the step: zero at it.
        let zero = step
            .time
            .iter()
            .position(|&t| t == 0.0)
            .expect("test setup");
        assert_eq!(step.reference[zero], expected.span.to);
    }
    assert_eq!((device.steps[0].from, device.steps[0].to), (0.0, 1.0));
    let first = device.steps[0].metrics.as_ref().expect("test setup");
    assert!((first.final_value - 1.0).abs() < 1e-3, "{first:?}");
    assert!(
        first.overshoot_percent < 0.1,
        "a first-order loop: {first:?}"
    );
}

#[test]
fn a_file_without_setpoint_and_position_says_why_it_has_no_steps() {
    let dir = tempfile::tempdir().expect("test setup");
    let path = dir.path().join("other.csv");
    std::fs::write(&path, "time,speed [rpm]\n0,1\n0.1,2\n0.2,3\n").expect("test setup");
    let device =
        load(&path, &ReadOptions::default(), &LoadProgress::default()).expect("test setup");
    assert!(device.steps.is_empty());
    assert!(device.no_steps.expect("test setup").contains("setpoint"));
    assert_eq!(device.info.channels[0].label(), "speed [rpm]");
    assert_eq!(device.info.channels[0].role, ChannelRole::Other);
}

#[test]
fn a_setpoint_that_changes_every_sample_is_an_excitation_not_steps() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("sine.csv");
    let mut text = String::from("time_s,setpoint,position\n");
    for k in 0..5000 {
        let t = f64::from(k) / 1000.0;
        text.push_str(&format!(
            "{t},{},{}\n",
            (t * 7.0).sin(),
            (t * 7.0 - 0.3).sin()
        ));
    }
    std::fs::write(&path, text).expect("write");
    let device = load(&path, &ReadOptions::default(), &LoadProgress::default()).expect("opens");
    assert!(device.steps.is_empty());
    let why = device.no_steps.expect("why");
    assert!(why.contains("an excitation"), "{why}");
    assert_eq!(device.rows, 5000);
    // Estimated as a live broadband run is (its figures are checked in
    // `tuning::excitation::recorded`).
    let response = device
        .response
        .expect("an excitation's")
        .expect("estimated");
    assert_eq!(response.record.sample_hz, 1000.0);
    assert!(!response.points.is_empty());
}

#[test]
fn uneven_steps_keep_the_line_and_a_long_pause_breaks_it() {
    let dir = tempfile::tempdir().expect("test setup");
    let path = dir.path().join("serial.csv");
    // A serial log's jitter: 9 to 11 ms apart, then a pause of a second.
    let mut text = String::from("time_ms,value\n");
    let mut t = 0;
    for k in 0..200 {
        text.push_str(&format!("{t},{k}\n"));
        t += [10, 9, 11, 10][k % 4];
        if k == 99 {
            t += 1000;
        }
    }
    std::fs::write(&path, text).expect("test setup");
    let device =
        load(&path, &ReadOptions::default(), &LoadProgress::default()).expect("test setup");
    let history = &device.history;
    assert_eq!(history.len(), 200);
    let gaps: Vec<_> = history.gaps(0, history.indices()).collect();
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!(gaps[0].start, history.indices().start + 100);
    // Every time as written (ms on the 1 kHz grid of the 9 ms step's…
    // rounded to its clock of 111 Hz: within half a tick).
    let read = read::open(&path, &ReadOptions::default()).expect("test setup");
    for (k, index) in history.indices().enumerate() {
        let error = (history.time_of(index) - read.times[k]).abs();
        assert!(error <= 0.5 / device.rate_hz + 1e-9, "row {k}: {error}");
        assert_eq!(history.value(0, index), k as f32);
    }
}

#[test]
fn rows_that_cannot_be_read_are_named_and_the_rest_load() {
    let dir = tempfile::tempdir().expect("test setup");
    let path = dir.path().join("broken.csv");
    std::fs::write(
        &path,
        "time_s,position\n0,1\n0.1,2,3\n0.2,x\n0.15,4\n0.3,5\n",
    )
    .expect("test setup");
    let device =
        load(&path, &ReadOptions::default(), &LoadProgress::default()).expect("test setup");
    let lines: Vec<u64> = device.problems.iter().map(RowProblem::line).collect();
    assert_eq!(lines, [3, 4, 5]);
    assert_eq!(device.rows, 3);
    assert!(
        device
            .history
            .value(0, device.history.indices().start + 1)
            .is_nan()
    );
}

#[test]
fn a_file_that_cannot_be_opened_is_one_line() {
    let dir = tempfile::tempdir().expect("test setup");
    for (name, bytes) in [
        ("missing.csv", None),
        ("empty.csv", Some(&b""[..])),
        ("header only.csv", Some(&b"time_s,position\n"[..])),
        ("no time.csv", Some(&b"a,b\n1,2\n"[..])),
        ("bad.parquet", Some(&b"PAR1 not really"[..])),
    ] {
        let path = dir.path().join(name);
        if let Some(bytes) = bytes {
            std::fs::write(&path, bytes).expect("test setup");
        }
        let error =
            load(&path, &ReadOptions::default(), &LoadProgress::default()).expect_err("an error");
        assert!(error.starts_with("cannot open "), "{name}: {error}");
        assert!(error.contains(name), "{name}: {error}");
        assert!(!error.contains('\n'), "{name}: {error}");
    }
}

#[test]
fn a_recording_s_session_refuses_every_procedure_and_sends_nothing() {
    use crate::device::session::{DeviceSession, StartError};
    use crate::tuning::{ExcitationPlan, StepPlan};

    let dir = tempfile::tempdir().expect("temp dir");
    let path = write(dir.path(), "run.csv");
    let device = load(&path, &ReadOptions::default(), &LoadProgress::default()).expect("opens");
    let mut session = DeviceSession::recorded(path.clone(), device.info, device.history);
    assert!(session.is_connected());
    assert_eq!(session.recorded_from.as_deref(), Some(path.as_path()));
    let refused = session
        .start_step_test(StepPlan::default())
        .expect_err("refused");
    assert!(matches!(refused, StartError::Recording(_)), "{refused}");
    assert!(refused.to_string().contains("is a recording"), "{refused}");
    let plan = ExcitationPlan::for_device(1000.0, 1000.0, 100.0, 1.0);
    let refused = session.start_frequency_response(plan).expect_err("refused");
    assert!(matches!(refused, StartError::Recording(_)), "{refused}");
    assert!(!session.procedure_running());
    // A line typed for it is not sent, and says so.
    session.send_line("M1");
    session.drain_events();
    assert!(!session.write_in_flight());
}
