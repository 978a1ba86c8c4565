//! `motiontune record` to each format, as a user runs it, and the file
//! opened by motiontune's reader: the same channels and an unbroken 10 kHz
//! run of times in both, with nothing to report.

mod common;

use motiontune::record::read::{FileFormat, ReadOptions, RecordedFile, open};

fn record(out: &std::path::Path, extra: &[&str]) -> RecordedFile {
    let out_text = out.to_str().expect("utf8 path");
    let mut args = vec![
        "record",
        "--port",
        "sim",
        "--seconds",
        "0.5",
        "--out",
        out_text,
    ];
    args.extend_from_slice(extra);
    let output = common::motiontune(&args);
    assert!(output.status.success(), "{}", common::stderr(&output));
    open(out, &ReadOptions::default()).unwrap_or_else(|e| panic!("{out_text}: {e}"))
}

#[test]
fn record_writes_each_format_and_both_reopen() {
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = record(&dir.path().join("run.csv"), &[]);
    let parquet = record(&dir.path().join("run.parquet"), &[]);
    let chosen = record(&dir.path().join("run.bin"), &["--format", "parquet"]);
    assert!(matches!(csv.format, FileFormat::Csv(_)));
    assert!(matches!(parquet.format, FileFormat::Parquet(_)));
    assert!(matches!(chosen.format, FileFormat::Parquet(_)));
    for file in [&csv, &parquet, &chosen] {
        let labels: Vec<String> = file.channels.iter().map(|c| c.label()).collect();
        assert_eq!(labels[..2], ["setpoint [rad]", "position [rad]"]);
        assert_eq!(file.channels.len(), 8);
        assert!(file.times.len() >= 5000, "{} rows", file.times.len());
        assert!(file.problems.is_empty(), "{:?}", file.problems);
        let step = file.times.windows(2).map(|t| t[1] - t[0]);
        assert!(
            step.clone().all(|dt| (dt - 1e-4).abs() < 1e-9),
            "every tick of a 10 kHz stream"
        );
        assert!(file.columns.iter().all(|c| c.len() == file.times.len()));
    }
}

/// The same first-order step response written in each format: `analyze`
/// finds the same steps with the same metrics in both (to the rounding of
/// reading the CSV's f32 text as f64).
#[test]
fn an_unknown_format_is_one_line() {
    let output = common::motiontune(&[
        "record",
        "--port",
        "sim",
        "--seconds",
        "1",
        "--out",
        "/tmp/x.mcap",
        "--format",
        "mcap",
    ]);
    common::assert_one_line_error(&output, "'mcap' is not a recording format (csv, parquet)");
}

#[test]
fn analyze_measures_a_parquet_recording_as_its_csv() {
    use motiontune::protocol::{ChannelInfo, ChannelRole, SampleBatch};
    use motiontune::record::{CsvRecorder, ParquetRecorder};

    let channels: Vec<ChannelInfo> = [("setpoint", "rad"), ("position", "rad")]
        .map(|(name, unit)| ChannelInfo {
            name: name.into(),
            unit: unit.into(),
            role: ChannelRole::Other,
        })
        .to_vec();
    let tau = 0.05;
    let values: Vec<f32> = (0..10_000)
        .flat_map(|k| {
            let t = f64::from(k) / 10_000.0;
            let (level, since) = if t < 0.2 { (0.0, 0.0) } else { (1.0, t - 0.2) };
            [level as f32, (level * (1.0 - (-since / tau).exp())) as f32]
        })
        .collect();
    let batch = SampleBatch {
        first_tick: 0,
        stride: 1,
        tick_hz: 10_000.0,
        channel_count: 2,
        values,
        exact: None,
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let csv_path = dir.path().join("step.csv");
    let parquet_path = dir.path().join("step.parquet");
    let mut csv = CsvRecorder::new(Vec::new(), &channels).expect("header");
    csv.write_batch(&batch).expect("rows");
    std::fs::write(&csv_path, csv.finish().expect("flush")).expect("write");
    let mut parquet = ParquetRecorder::new(Vec::new(), &channels).expect("header");
    parquet.write_batch(&batch).expect("rows");
    std::fs::write(&parquet_path, parquet.finish().expect("footer")).expect("write");

    let analyze = |path: &std::path::Path| -> serde_json::Value {
        let output = common::motiontune(&["analyze", path.to_str().expect("utf8"), "--json"]);
        assert!(output.status.success(), "{}", common::stderr(&output));
        serde_json::from_slice(&output.stdout).expect("json")
    };
    let (from_csv, from_parquet) = (analyze(&csv_path), analyze(&parquet_path));
    let steps = |document: &serde_json::Value| document["steps"].as_array().cloned();
    let (csv_steps, parquet_steps) = (
        steps(&from_csv).expect("steps"),
        steps(&from_parquet).expect("steps"),
    );
    assert_eq!(csv_steps.len(), 1);
    assert_eq!(parquet_steps.len(), 1);
    for key in ["step_time", "rise_time", "settling_time", "iae"] {
        let (a, b) = (
            csv_steps[0][key].as_f64().expect(key),
            parquet_steps[0][key].as_f64().expect(key),
        );
        assert!(
            (a - b).abs() <= 1e-6 * a.abs().max(1.0),
            "{key}: {a} vs {b}"
        );
    }
}

/// As the CSV's (`tests/reliability.rs`): a SIGKILLed `record` to Parquet
/// leaves a file motiontune opens with every tick up to at most a second
/// of device time before the kill. (pandas refuses it: it has no footer
/// at its end; motiontune recovers the row groups before the cut.)
#[cfg(target_os = "linux")]
#[test]
fn a_killed_parquet_recording_opens_and_ends_within_a_second_of_the_kill() {
    use motiontune::sim::SimDevice;
    use motiontune::sim::device::DeviceSettings;
    use motiontune::sim::drive::DriveConfig;
    use motiontune::sim::pty::PtyServer;

    let server = PtyServer::start(SimDevice::new(
        DriveConfig::default(),
        DeviceSettings::default(),
    ))
    .expect("pty server");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("killed.parquet");
    common::record_then_kill(server.path(), &out, std::time::Duration::from_secs(3));
    let killed_at_s = server.with_device(|device| device.time_s());

    let file = open(&out, &ReadOptions::default()).expect("a killed recording opens");
    assert_eq!(file.channels.len(), 8);
    assert!(
        file.times.len() > 10_000,
        "{} rows in 3 s",
        file.times.len()
    );
    assert!(
        file.times
            .windows(2)
            .all(|t| (t[1] - t[0] - 1e-4).abs() < 1e-9),
        "every tick up to the cut"
    );
    let last_s = *file.times.last().expect("rows");
    let lost_s = killed_at_s - last_s;
    eprintln!(
        "SIGKILL at device time {killed_at_s:.4} s; the Parquet file ends at {last_s:.4} s: {:.0} ms lost",
        lost_s * 1e3
    );
    assert!((0.0..=1.0).contains(&lost_s), "{lost_s:.3} s lost");
}

/// `--port replay:FILE` through the link, as the app and every command
/// open it: the recorded samples come back exactly (values bit for bit,
/// times on the recorded grid), a write is refused, and a file that
/// cannot be read ends the link with one line naming it.
#[test]
fn a_recording_replays_through_the_link_exactly() {
    use motiontune::link::{Link, LinkEvent, LinkOptions, PortTarget};
    use motiontune::protocol::{Command, Event};
    use std::time::{Duration, Instant};

    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("run.parquet");
    let recorded = record(&path, &[]);
    let port = format!("replay:{}", path.display());
    let target = PortTarget::parse(&port, 115_200).with_replay_speed(20.0);
    let link = Link::open(LinkOptions::new(target));
    let deadline = Instant::now() + Duration::from_secs(30);
    let (mut times, mut rows) = (Vec::new(), Vec::new());
    let mut refused = false;
    while times.len() < recorded.times.len() || !refused {
        let event = link
            .events()
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("{} of {} samples", times.len(), recorded.times.len()));
        match event {
            LinkEvent::Device(Event::Described(info)) => {
                assert_eq!(info.channels.len(), recorded.channels.len());
                link.send(Command::Set {
                    index: 0,
                    value: 1.0,
                });
            }
            LinkEvent::Device(Event::Samples { batch, .. }) => {
                for k in 0..batch.len() {
                    times.push(batch.time_of(k));
                    rows.push(batch.sample(k).to_vec());
                }
            }
            LinkEvent::Device(Event::Refused { .. }) => refused = true,
            LinkEvent::Closed(reason) => panic!("closed: {reason:?}"),
            _ => {}
        }
    }
    let n = recorded.times.len();
    for k in 0..n {
        let recorded_dt = recorded.times[k] - recorded.times[0];
        assert!(
            (times[k] - times[0] - recorded_dt).abs() < 1e-9,
            "row {k}: {} s after the first, recorded {recorded_dt} s",
            times[k] - times[0]
        );
        for (c, column) in recorded.columns.iter().enumerate() {
            assert_eq!(
                rows[k][c].to_bits(),
                column[k].to_bits(),
                "row {k} channel {c}"
            );
        }
    }

    let missing = dir.path().join("no such recording.csv");
    let target = PortTarget::parse(&format!("replay:{}", missing.display()), 115_200);
    let link = Link::open(LinkOptions::new(target));
    match link.events().recv_timeout(Duration::from_secs(5)) {
        Ok(LinkEvent::Closed(Some(error))) => {
            let line = error.to_string();
            assert!(
                line.contains("no such recording.csv") && !line.contains('\n'),
                "{line}"
            );
        }
        other => panic!("{other:?}"),
    }
}

/// A CSV of a loop stepping 0 → 1 rad at 1 s and back at 2 s (a
/// first-order response), 3 s at 1 kHz, as motiontune writes one.
fn stepping_csv(path: &std::path::Path) {
    let mut text = String::from("time_s,setpoint [rad],position [rad],effort [A]\n");
    let mut position = 0.0f64;
    for k in 0..3000 {
        let setpoint = if (1000..2000).contains(&k) { 1.0 } else { 0.0 };
        let effort = 40.0 * (setpoint - position);
        position += 0.001 * effort;
        text.push_str(&format!(
            "{},{setpoint},{position:.6},{:.4}\n",
            f64::from(k) / 1000.0,
            effort / 3.0
        ));
    }
    std::fs::write(path, text).expect("write");
}

/// `name [unit]` of each channel a session describes.
fn channel_labels(session: &motiontune::app::DeviceSession) -> Vec<String> {
    let info = session.info.as_ref().expect("described");
    info.channels.iter().map(|c| c.label()).collect()
}

/// A file dropped on the window, as egui-winit hands one over.
#[derive(Debug)]
struct Dropped(std::path::PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &std::path::Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

fn wait_loaded(harness: &mut egui_kittest::Harness<'static, motiontune::app::App>, count: usize) {
    common::step_until(harness, "recordings loaded", |h| {
        let recordings = h.state().recordings();
        recordings.loaded().len() + recordings.failures().len() >= count && !recordings.busy()
    });
    harness.run_steps(2);
}

/// Opened from the command line beside the live simulated drive: the file
/// is shown (scope, channels with units), its steps are those `analyze`
/// measures and become runs, the device streams on meanwhile, and
/// *Showing* switches back to it.
#[test]
fn a_recording_opens_beside_the_device_and_its_steps_become_runs() {
    use egui_kittest::kittest::Queryable;
    use motiontune::app::AppOptions;
    use motiontune::app::recordings::Showing;

    let dir = tempfile::tempdir().expect("temp dir");
    let csv = dir.path().join("bench.csv");
    stepping_csv(&csv);
    let mut harness = common::app_with(AppOptions {
        open: vec![csv.clone()],
        ..AppOptions::default()
    });
    common::wait_connected(&mut harness);
    wait_loaded(&mut harness, 1);
    let app = harness.state();
    assert_eq!(app.recordings().loaded(), ["bench.csv"]);
    assert_eq!(app.recordings().showing(), Showing::File(0));
    assert!(!app.scope_follows(), "a file is shown whole, frozen");
    let file = app.recordings().shown_session().expect("shown");
    let labels = channel_labels(file);
    assert_eq!(labels, ["setpoint [rad]", "position [rad]", "effort [A]"]);
    assert_eq!(file.history.as_ref().expect("history").len(), 3000);
    harness.get_by_label("Showing");

    // The device streamed on while the file was shown.
    let before = live_samples(&harness);
    common::run_for(&mut harness, 0.3);
    assert!(live_samples(&harness) > before, "the live history grows");

    harness.get_by_label("Recordings").click();
    harness.run_steps(2);
    harness.get_by_label("2 steps found");
    harness.get_by_label("Keep as runs").click();
    harness.run_steps(2);
    let runs = harness.state().runs().runs();
    assert_eq!(runs.len(), 2);
    let output = common::motiontune(&["analyze", csv.to_str().expect("utf8"), "--json"]);
    assert!(output.status.success(), "{}", common::stderr(&output));
    let document: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let steps = document["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), 2);
    for (run, step) in runs.iter().zip(steps) {
        assert_eq!(run.device, "bench.csv");
        assert_eq!(run.signal_unit, "rad");
        for key in ["rise_time", "settling_time", "overshoot", "iae"] {
            let (ours, theirs) = (run.metric(key), step[key].as_f64());
            match (ours, theirs) {
                (Some(a), Some(b)) => assert!(
                    (a - b).abs() <= 1e-5 * b.abs().max(1e-3),
                    "{key}: {a} in the app, {b} from analyze"
                ),
                other => panic!("{key}: {other:?}"),
            }
        }
    }

    // Back to the device: the scope follows it again.
    harness.get_by_label("Showing").click();
    harness.run_steps(2);
    harness
        .get_by_label("device: motiontune simulated drive")
        .click();
    harness.run_steps(2);
    assert_eq!(harness.state().recordings().showing(), Showing::Device);
    assert!(harness.state().scope_follows());
}

fn live_samples(harness: &egui_kittest::Harness<'static, motiontune::app::App>) -> u64 {
    harness
        .state()
        .session()
        .and_then(|s| s.history.as_ref())
        .map_or(0, |h| h.total_pushed())
}

/// Dropped on the window: a Parquet recording opens and the trigger,
/// armed on it, captures its step from the file; a file that is not a
/// recording says why in one line and changes nothing.
#[test]
fn a_dropped_recording_opens_and_a_trigger_runs_over_it() {
    use egui_kittest::kittest::Queryable;
    use motiontune::app::recordings::Showing;

    let dir = tempfile::tempdir().expect("temp dir");
    let csv = dir.path().join("bench.csv");
    stepping_csv(&csv);
    let parquet = dir.path().join("bench.parquet");
    let output = common::motiontune(&[
        "record",
        "--port",
        &format!("replay:{}", csv.display()),
        "--replay-speed",
        "20",
        "--seconds",
        "2.5",
        "--out",
        parquet.to_str().expect("utf8"),
    ]);
    assert!(output.status.success(), "{}", common::stderr(&output));
    let bad = dir.path().join("notes.parquet");
    std::fs::write(&bad, "PAR1 but not Parquet").expect("write");

    let mut harness = common::app_on(motiontune::link::PortTarget::Sim);
    common::wait_connected(&mut harness);
    for path in [&parquet, &bad] {
        harness
            .input_mut()
            .dropped_files
            .push(std::sync::Arc::new(Dropped(path.clone())));
    }
    harness.step();
    wait_loaded(&mut harness, 2);
    let recordings = harness.state().recordings();
    assert_eq!(recordings.loaded(), ["bench.parquet"]);
    let failures = recordings.failures();
    assert_eq!(failures.len(), 1);
    assert!(
        failures[0].starts_with("cannot open ") && failures[0].contains("notes.parquet"),
        "{failures:?}"
    );
    assert!(!failures[0].contains('\n'));
    assert_eq!(recordings.showing(), Showing::File(0));
    let rows = recordings
        .shown_session()
        .and_then(|s| s.history.as_ref())
        .expect("history")
        .len();
    assert!((2500..=2510).contains(&rows), "{rows} rows: 2.5 s at 1 kHz");

    // The default trigger: setpoint rising through 0.5, single.
    harness.get_by_label("Arm trigger").click();
    common::step_until(&mut harness, "a capture from the file", |h| {
        h.state()
            .recordings()
            .shown_session()
            .is_some_and(|s| !s.capture.captures().is_empty())
    });
    let session = harness.state().recordings().shown_session().expect("shown");
    let capture = &session.capture.captures()[0];
    assert!(!capture.forced);
    assert!(
        (capture.trigger_time - 1.0).abs() < 1e-9,
        "{}",
        capture.trigger_time
    );
    // The device never saw the trigger.
    let device = harness.state().session().expect("device");
    assert!(device.capture.captures().is_empty());
}

/// `motiontune FILE` names a file that is not there, or a mistyped
/// command, in one line.
#[test]
fn a_missing_recording_on_the_command_line_is_one_line() {
    let output = common::motiontune(&["recrod"]);
    common::assert_one_line_error(&output, "'recrod' is neither a command nor a file");
    let output = common::motiontune(&["--open", "/no/such/run.csv"]);
    common::assert_one_line_error(
        &output,
        "'/no/such/run.csv' is neither a command nor a file",
    );
}

/// A CSV whose time column is not recognised says why in one line; the
/// user names the column and its unit and opens it again.
#[test]
fn a_csv_read_wrongly_opens_again_with_the_time_column_chosen() {
    use egui_kittest::kittest::Queryable;

    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("logger.csv");
    let mut text = String::from("sample;elapsed;current\n");
    for k in 0..100 {
        text.push_str(&format!("{k};{};{},5\n", k * 20, k % 7));
    }
    std::fs::write(&path, text).expect("write");
    let mut harness = common::app_with(motiontune::app::AppOptions {
        open: vec![path.clone()],
        ..motiontune::app::AppOptions::default()
    });
    wait_loaded(&mut harness, 1);
    let failures = harness.state().recordings().failures();
    assert_eq!(failures.len(), 1);
    assert!(failures[0].contains("no time column"), "{failures:?}");

    harness.get_by_label("Recordings").click();
    harness.run_steps(2);
    harness.get_by_label("Time column").click();
    harness.step();
    harness.get_by_label("Time column").type_text("elapsed");
    harness.step();
    // The pane is short: the reader's choices are scrolled to, as
    // assistive technology does.
    harness.get_by_label("Time unit").click_accesskit();
    harness.run_steps(2);
    harness.get_by_label("ms").click_accesskit();
    harness.step();
    harness.get_by_label("Open again").click_accesskit();
    harness.step();
    wait_loaded(&mut harness, 1);
    let recordings = harness.state().recordings();
    assert_eq!(
        recordings.loaded(),
        ["logger.csv"],
        "{:?}",
        recordings.failures()
    );
    let session = recordings.shown_session().expect("shown once loaded");
    let labels = channel_labels(session);
    assert_eq!(labels, ["sample", "current"]);
    let history = session.history.as_ref().expect("history");
    let last = history.indices().end - 1;
    assert_eq!(history.time_of(last), 99.0 * 0.020);
    assert_eq!(
        history.value(1, last),
        1.5,
        "decimal comma detected: 99 % 7 = 1, ',5'"
    );
}

/// A recorded broadband run (a noise setpoint through a 20 Hz first-order
/// loop, at 1 kHz) is an excitation, not steps: its frequency response
/// goes to the Frequency response pane with the loop's bandwidth.
#[test]
fn a_recorded_excitation_gives_its_frequency_response() {
    use egui_kittest::kittest::Queryable;

    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("noise.csv");
    let (sample_hz, pole_hz) = (1000.0, 20.0);
    let alpha = 1.0 - (-std::f64::consts::TAU * pole_hz / sample_hz).exp();
    let mut text = String::from("time_s,setpoint [rad],position [rad]\n");
    let (mut noise, mut position) = (0x2545_f491u32, 0.0f64);
    for k in 0..30_000 {
        noise ^= noise << 13;
        noise ^= noise >> 17;
        noise ^= noise << 5;
        let setpoint = if noise & 1 == 1 { 0.1 } else { -0.1 };
        text.push_str(&format!(
            "{},{setpoint},{position}\n",
            f64::from(k) / sample_hz
        ));
        position += alpha * (setpoint - position);
    }
    std::fs::write(&path, text).expect("write");
    let mut harness = common::app_with(motiontune::app::AppOptions {
        open: vec![path],
        ..motiontune::app::AppOptions::default()
    });
    wait_loaded(&mut harness, 1);
    harness.get_by_label("Recordings").click();
    harness.run_steps(2);
    harness
        .get_by_label("Add to Frequency response")
        .click_accesskit();
    harness.run_steps(2);
    let responses = harness.state().frequency_responses();
    assert_eq!(responses.len(), 1);
    let bandwidth = responses[0].figures.bandwidth_hz.expect("a bandwidth");
    assert!(
        (bandwidth - pole_hz).abs() < 0.15 * pole_hz,
        "{bandwidth} Hz against the loop's {pole_hz} Hz"
    );
}

/// *Record* in Parquet, chosen beside the button, and the file opened
/// again in the same app beside the device it came from: every row the
/// recorder wrote is in the opened file, bit for bit.
#[test]
fn a_parquet_recording_made_in_the_app_opens_in_it() {
    use egui_kittest::kittest::Queryable;
    use motiontune::record::read::{FileFormat, ReadOptions, open};

    let dir = tempfile::tempdir().expect("temp dir");
    let mut harness = common::app_on(motiontune::link::PortTarget::Sim);
    common::wait_connected(&mut harness);
    common::set_folder(&mut harness, &dir.path().display().to_string());
    harness.get_by_label("Record format").click();
    harness.run_steps(2);
    harness.get_by_label("Parquet").click_accesskit();
    harness.step();
    harness.get_by_label("Record").click();
    harness.step();
    let path = harness
        .state()
        .session()
        .and_then(|s| s.recording.as_ref())
        .map(|r| r.path().to_owned())
        .expect("recording started");
    assert_eq!(path.extension().and_then(|e| e.to_str()), Some("parquet"));
    common::run_for(&mut harness, 0.5);
    harness.get_by_label("Stop recording").click();
    harness.step();
    common::step_until(&mut harness, "the recording to finish", |h| {
        h.query_by_label_contains("recorded ").is_some()
    });
    let written = open(&path, &ReadOptions::default()).expect("reads");
    assert!(matches!(written.format, FileFormat::Parquet(_)));
    assert!(written.times.len() > 100, "{} rows", written.times.len());

    harness
        .input_mut()
        .dropped_files
        .push(std::sync::Arc::new(Dropped(path.clone())));
    harness.step();
    wait_loaded(&mut harness, 1);
    let session = harness.state().recordings().shown_session().expect("shown");
    let history = session.history.as_ref().expect("history");
    assert_eq!(history.len(), written.times.len());
    for (k, index) in history.indices().enumerate() {
        assert_eq!(history.time_of(index), written.times[k], "row {k}");
        for (c, column) in written.columns.iter().enumerate() {
            assert_eq!(history.value(c, index).to_bits(), column[k].to_bits());
        }
    }
}

/// Files pandas (CSV and Parquet), PlotJuggler and the Arduino serial
/// monitor wrote (`tests/other_tools/`) open side by side: channels named as written,
/// times in seconds, the steps found where the channels are named as a
/// setpoint and a position, and each file shown in turn.
#[test]
fn files_other_tools_wrote_open_side_by_side() {
    use egui_kittest::kittest::Queryable;
    use motiontune::app::recordings::Showing;

    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/other_tools");
    let names = [
        "pandas_step.csv",
        "pandas_datetime.csv",
        "plotjuggler_export.csv",
        "arduino_monitor.txt",
        "pandas_step.parquet",
        "pandas_datetime_zstd.parquet",
    ];
    let mut harness = common::app_with(motiontune::app::AppOptions {
        open: names.iter().map(|n| dir.join(n)).collect(),
        ..motiontune::app::AppOptions::default()
    });
    wait_loaded(&mut harness, names.len());
    assert!(harness.state().recordings().failures().is_empty());
    let mut loaded = harness.state().recordings().loaded();
    loaded.sort_unstable();
    let mut expected = names.to_vec();
    expected.sort_unstable();
    assert_eq!(loaded, expected);

    harness.get_by_label("Recordings").click();
    harness.run_steps(2);
    assert_eq!(harness.query_all_by_label("2 steps found").count(), 5);
    let expected_channels: [&[&str]; 6] = [
        &["setpoint", "position", "effort"],
        &["setpoint", "position", "effort"],
        &["/motor/setpoint", "/motor/position", "/motor/current"],
        &["column 2", "column 3"],
        &["setpoint", "position", "effort"],
        &["setpoint", "position", "effort"],
    ];
    let expected_start = [
        0.0,
        1_796_547_600.0,
        1_765_011_600.0,
        0.0,
        0.0,
        1_796_547_600.0,
    ];
    for (name, (channels, start)) in names
        .iter()
        .zip(expected_channels.iter().zip(expected_start))
    {
        // The file loaded last is shown already: it has no Show button.
        if harness.state().recordings().shown_name() != Some(*name) {
            harness
                .get_by_label(&format!("Show {name}"))
                .click_accesskit();
            harness.run_steps(2);
        }
        let recordings = harness.state().recordings();
        assert!(matches!(recordings.showing(), Showing::File(_)));
        assert_eq!(recordings.shown_name(), Some(*name));
        let session = recordings.shown_session().expect("shown");
        let labels = channel_labels(session);
        assert_eq!(labels, *channels, "{name}");
        let history = session.history.as_ref().expect("history");
        let first = history.time_of(history.indices().start);
        assert!((first - start).abs() < 1e-3, "{name} starts at {first}");
        let (t0, t1) = history.time_span().expect("samples");
        assert!((t1 - t0 - 2.48).abs() < 0.03, "{name} spans {} s", t1 - t0);
    }
}

/// A replay typed as the port plays at the speed set beside it: 20 times
/// the recorded pace, through the link as a device.
#[test]
fn a_replay_chosen_in_the_app_plays_at_its_speed() {
    use egui::accesskit::Role;
    use egui_kittest::kittest::Queryable;
    use motiontune::link::PortTarget;

    let dir = tempfile::tempdir().expect("temp dir");
    let csv = dir.path().join("bench.csv");
    stepping_csv(&csv);
    let mut harness = common::app_on(PortTarget::Sim);
    common::wait_connected(&mut harness);
    harness.get_by_label("Disconnect").click();
    harness.run_steps(2);
    harness
        .get_by_role_and_label(Role::TextInput, "Port")
        .set_text_value_accesskit(&format!("replay:{}", csv.display()));
    harness.run_steps(2);
    harness.get_by_label("Speed").set_value_accesskit(20.0);
    harness.run_steps(2);
    harness.get_by_label("Connect").click();
    harness.step();
    common::wait_connected(&mut harness);
    let session = harness.state().session().expect("a session");
    assert!(
        matches!(session.target(), PortTarget::Replay { speed, .. } if *speed == 20.0),
        "{:?}",
        session.target()
    );
    // 3 s of recording at 20×: all of it within a second of wall time.
    common::step_until(&mut harness, "the whole replay", |h| {
        h.state()
            .session()
            .and_then(|s| s.history.as_ref())
            .and_then(|h| h.time_span())
            .is_some_and(|(_, newest)| newest >= 2.9)
    });
}
