//! Several devices at once from the command line: `record --port A --port
//! B` writes one file with a column group per device, every sample of
//! each exact and none missing, on one host time axis; losing one device
//! leaves the other recording; `params` lists both; mistakes get one line
//! and change nothing. Every device is a real process behind a real pty.
#![cfg(unix)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::{DeviceProcess, assert_one_line_error, motiontune as run, stderr};
use motiontune::record::read::{self, ReadOptions};

const PYTHON_DEVICE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python_device/device.py");

/// The name the simulated drive gives, its label by default.
const SIM: &str = "motiontune simulated drive";

fn native_sim() -> DeviceProcess {
    DeviceProcess::start(common::BIN, &["sim", "--pty"])
}

/// One device's rows of a file of several, split from the file's text by
/// its header alone (not by the app's reader): `(host time, device time,
/// values)` in file order.
struct Group {
    header: Vec<String>,
    rows: Vec<(f64, f64, Vec<f64>)>,
}

fn split(path: &Path, label: &str) -> Group {
    let text = std::fs::read_to_string(path).expect("recording");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    assert_eq!(header[0], "host_time_s");
    let time = header
        .iter()
        .position(|h| *h == format!("{label}.time_s"))
        .unwrap_or_else(|| panic!("no {label}.time_s in {header:?}"));
    let end = (time + 1..header.len())
        .find(|&c| header[c].ends_with(".time_s"))
        .unwrap_or(header.len());
    let mut rows = Vec::new();
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells.len(), header.len(), "{line}");
        if cells[time].is_empty() {
            // Another device's row: none of this device's cells is filled.
            assert!(cells[time..end].iter().all(|c| c.is_empty()), "{line}");
            continue;
        }
        let number = |c: &str| {
            c.parse::<f64>()
                .unwrap_or_else(|_| panic!("{c:?} in {line}"))
        };
        rows.push((
            number(cells[0]),
            number(cells[time]),
            cells[time + 1..end].iter().map(|c| number(c)).collect(),
        ));
    }
    Group {
        header: header[time + 1..end]
            .iter()
            .map(|h| {
                h.strip_prefix(&format!("{label}."))
                    .expect("prefixed")
                    .to_owned()
            })
            .collect(),
        rows,
    }
}

fn record(ports: &[&str], labels: &[&str], seconds: &str, out: &Path) -> std::process::Output {
    let mut args = vec![
        "record",
        "--seconds",
        seconds,
        "--out",
        out.to_str().expect("utf8 path"),
    ];
    for port in ports {
        args.extend(["--port", port]);
    }
    for label in labels {
        args.extend(["--label", label]);
    }
    run(&args)
}

/// Every device time of a group, one period apart.
fn assert_no_gap(group: &Group, period: f64) {
    let times: Vec<f64> = group.rows.iter().map(|r| r.1).collect();
    common::assert_evenly_spaced(&times, period);
}

/// Host time is the device's time plus an offset that only ever comes
/// down (the least-delayed arrival so far) and settles within `within_s`.
fn assert_on_host_time(group: &Group, within_s: f64) {
    let offsets: Vec<f64> = group
        .rows
        .iter()
        .map(|(host, device, _)| host - device)
        .collect();
    for pair in offsets.windows(2) {
        assert!(pair[1] <= pair[0] + 1e-9, "offset rose: {pair:?}");
    }
    let settled = offsets[0] - offsets[offsets.len() - 1];
    assert!(settled < within_s, "offset moved {settled} s");
}

#[test]
fn two_independent_devices_are_recorded_whole_and_exact() {
    let a = DeviceProcess::start("python3", &[PYTHON_DEVICE]);
    let b = DeviceProcess::start("python3", &[PYTHON_DEVICE]);
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("both.csv");
    let output = record(&[&a.path, &b.path], &["left", "right"], "2", &out);
    assert!(output.status.success(), "{}", stderr(&output));
    let said = stderr(&output);
    assert!(
        said.contains("left (python reference device): 2000 samples"),
        "{said}"
    );
    assert!(
        said.contains("right (python reference device): 2000 samples"),
        "{said}"
    );
    assert!(said.contains("arrivals within"), "{said}");
    for label in ["left", "right"] {
        let group = split(&out, label);
        assert_eq!(group.header, ["reference [V]", "response [V]", "counter"]);
        assert_eq!(group.rows.len(), 2000, "{label}: 2 s at 1 kHz");
        assert_no_gap(&group, 1e-3);
        // The device's own tick, as it wrote it: its time to the
        // microsecond and one more each sample.
        for (_, time, values) in &group.rows {
            assert_eq!(
                values[2],
                (time * 1000.0).round(),
                "{label}: {values:?} at {time}"
            );
        }
        assert_on_host_time(&group, 0.5);
    }
    // Both were recorded over the same stretch of host time.
    let [left, right] = ["left", "right"].map(|l| split(&out, l));
    let span = |g: &Group| (g.rows[0].0, g.rows[g.rows.len() - 1].0);
    let (l, r) = (span(&left), span(&right));
    assert!(l.0.max(r.0) < l.1.min(r.1), "no overlap: {l:?} {r:?}");

    // The app's reader splits the file back the same way.
    for group_label in ["left", "right"] {
        let options = ReadOptions {
            device: Some(group_label.into()),
            ..ReadOptions::default()
        };
        let file = read::open(&out, &options).expect("reads");
        let group = split(&out, group_label);
        assert!(file.problems.is_empty(), "{:?}", file.problems);
        assert_eq!(
            file.times,
            group.rows.iter().map(|r| r.1).collect::<Vec<_>>()
        );
        let counters: Vec<f64> = group.rows.iter().map(|r| r.2[2]).collect();
        let read_counters: Vec<f64> = file.columns[2].iter().map(|&v| f64::from(v)).collect();
        assert_eq!(read_counters, counters);
        assert_eq!(file.channels[2].label(), "counter");
    }
    // Every device on the host's time: all rows, sorted, none dropped.
    let all = read::open(&out, &ReadOptions::default()).expect("reads");
    assert_eq!(all.times.len(), 4000);
    assert!(all.times.is_sorted());
    assert!(all.problems.is_empty(), "{:?}", all.problems);
    assert_eq!(all.channels.len(), 6);

    // `analyze` measures one device of the file, and asks which.
    let output = run(&["analyze", out.to_str().expect("utf8 path")]);
    assert_one_line_error(
        &output,
        "holds several devices (left, right): choose one with --device",
    );
    // The device's own columns, named as a one-device recording names
    // them: its reference holds still, so there is no step.
    let output = run(&[
        "analyze",
        out.to_str().expect("utf8 path"),
        "--device",
        "right",
        "--feedback",
        "response",
    ]);
    assert_one_line_error(&output, "the reference 'reference [V]' never changes");
    let output = run(&[
        "analyze",
        out.to_str().expect("utf8 path"),
        "--device",
        "middle",
    ]);
    assert_one_line_error(
        &output,
        "no device labelled 'middle' in the file (devices: left, right)",
    );
}

#[test]
fn two_simulated_drives_keep_every_tick_and_losing_one_leaves_the_other() {
    let a = native_sim();
    let mut b = Some(native_sim());
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("two.csv");
    let recorder = std::thread::spawn({
        let (a, b, out) = (
            a.path.clone(),
            b.as_ref().expect("still running").path.clone(),
            out.clone(),
        );
        move || record(&[&a, &b], &[], "3", &out)
    });
    // The second drive's port goes away mid-recording (its process ends).
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::fs::metadata(&out).map_or(true, |m| m.len() < 200_000) {
        assert!(std::time::Instant::now() < deadline, "nothing recorded");
        std::thread::sleep(Duration::from_millis(20));
    }
    let lost_port = b.as_ref().expect("still running").path.clone();
    drop(b.take());
    let output = recorder.join().expect("the recorder thread");
    // The command fails naming the device it lost, after recording the
    // other one whole.
    let said = stderr(&output);
    assert!(!output.status.success(), "{said}");
    assert_eq!(said.trim_end().lines().count(), 1, "{said}");
    assert!(said.contains(&format!("{SIM} 2 on {lost_port}")), "{said}");
    let kept = split(&out, SIM);
    assert_eq!(kept.rows.len(), 30_000, "3 s at 10 kHz");
    assert_no_gap(&kept, 1e-4);
    let lost = split(&out, &format!("{SIM} 2"));
    assert!(!lost.rows.is_empty() && lost.rows.len() < 30_000);
    assert_no_gap(&lost, 1e-4);
    for group in [&kept, &lost] {
        assert_eq!(group.header[..4], common::SERVO_COLUMNS[1..]);
        // Each value in its own column: the output is off, so the effort
        // is zero and the following error is setpoint minus position.
        for (_, _, values) in &group.rows {
            assert_eq!(values[3], 0.0);
            assert!(
                (values[4] - (values[0] - values[1])).abs() < 1e-6,
                "{values:?}"
            );
        }
        assert_on_host_time(group, 0.5);
    }
}

#[test]
fn a_drive_and_an_odrive_share_one_file_and_params_lists_both() {
    let native = native_sim();
    let odrive = DeviceProcess::start(common::BIN, &["sim", "--pty", "--firmware", "odrive"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("mixed.csv");
    // The ODrive's port twice, one axis each: both axes are devices.
    let output = run(&[
        "record",
        "--seconds",
        "1",
        "--out",
        out.to_str().expect("utf8 path"),
        "--port",
        &native.path,
        "--port",
        &odrive.path,
        "--port",
        &odrive.path,
        "--odrive-axis",
        "0",
        "--odrive-axis",
        "0",
        "--odrive-axis",
        "1",
        "--label",
        "bench",
        "--label",
        "x",
        "--label",
        "y",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let bench = split(&out, "bench");
    assert_eq!(bench.rows.len(), 10_000);
    assert_no_gap(&bench, 1e-4);
    for axis in ["x", "y"] {
        let load = split(&out, axis);
        assert_eq!(
            load.header,
            [
                "input_pos [turn]",
                "pos_estimate [turn]",
                "vel_estimate [turn/s]",
                "Iq_measured [A]"
            ]
        );
        // Polled at 200 Hz on the host's clock: about 200 replies, each
        // later than the one before, each axis sharing the port's time.
        assert!(
            (140..=210).contains(&load.rows.len()),
            "{axis}: {}",
            load.rows.len()
        );
        assert!(load.rows.windows(2).all(|p| p[1].1 > p[0].1));
    }
    assert_on_host_time(&bench, 0.5);
    let output = run(&[
        "record",
        "--seconds",
        "1",
        "--out",
        out.to_str().expect("utf8 path"),
        "--port",
        &odrive.path,
        "--port",
        &odrive.path,
        "--odrive-axis",
        "0",
        "--odrive-axis",
        "0",
    ]);
    assert_one_line_error(&output, "axis 0 is already connected");

    let output = run(&[
        "params",
        "--port",
        &native.path,
        "--port",
        &odrive.path,
        "--json",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let devices: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let devices = devices.as_array().expect("one entry per device");
    assert_eq!(devices.len(), 2);
    assert_eq!(devices[0]["label"], SIM);
    assert_eq!(devices[0]["port"], native.path.as_str());
    assert_eq!(devices[1]["device"], "ODrive axis0");
    for device in devices {
        assert!(
            device["params"].as_array().is_some_and(|p| !p.is_empty()),
            "{device}"
        );
    }
    let output = run(&["params", "--port", &native.path, "--port", &odrive.path]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.starts_with(&format!("## {SIM}\n# {SIM} (")), "{text}");
    assert!(
        text.contains("\n## ODrive axis0\n# ODrive axis0 ("),
        "{text}"
    );
}

#[test]
fn mistakes_with_several_ports_get_one_line_and_change_nothing() {
    let a = native_sim();
    let b = native_sim();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("never.csv");
    let out_text = out.to_str().expect("utf8 path");
    let before = run(&["params", "--port", &a.path, "--json"]);
    let cases: [(Vec<&str>, &str); 9] = [
        (
            vec![
                "record",
                "--port",
                &a.path,
                "--port",
                "/dev/motiontune-none",
                "--seconds",
                "1",
                "--out",
                out_text,
            ],
            "no such port: /dev/motiontune-none",
        ),
        (
            vec!["params", "--port", &a.path, "--port", &b.path, "pos.kp=7"],
            "NAME=VALUE writes go to one device: give one --port (nothing was written)",
        ),
        (
            vec![
                "record",
                "--port",
                &a.path,
                "--port",
                &b.path,
                "--label",
                "x",
                "--seconds",
                "1",
                "--out",
                out_text,
            ],
            "1 --label for 2 --port: give one label per port, or none",
        ),
        (
            vec![
                "record",
                "--port",
                &a.path,
                "--port",
                &b.path,
                "--label",
                "x",
                "--label",
                "x",
                "--seconds",
                "1",
                "--out",
                out_text,
            ],
            "device label \"x\" is given twice",
        ),
        (
            vec![
                "record",
                "--port",
                &a.path,
                "--label",
                "x.y",
                "--seconds",
                "1",
                "--out",
                out_text,
            ],
            "device label \"x.y\" holds '.'",
        ),
        (
            vec![
                "record",
                "--port",
                &a.path,
                "--port",
                &b.path,
                "--seconds",
                "1",
                "--out",
                "never.parquet",
            ],
            "several devices are recorded to CSV",
        ),
        (
            vec![
                "step",
                "--port",
                &a.path,
                "--port",
                &b.path,
                "--amplitude",
                "0.1",
            ],
            "--port",
        ),
        (
            vec![
                "step",
                "--port",
                &a.path,
                "--odrive-axis",
                "0",
                "--odrive-axis",
                "1",
                "--amplitude",
                "0.1",
                "--hold",
                "1",
            ],
            "--odrive-axis was given 2 times for one --port: one device is one axis",
        ),
        (
            vec![
                "record",
                "--port",
                &a.path,
                "--port",
                &b.path,
                "--port",
                &b.path,
                "--odrive-axis",
                "0",
                "--odrive-axis",
                "1",
                "--seconds",
                "1",
                "--out",
                out_text,
            ],
            "--odrive-axis was given 2 times for 3 --port: give it once, or once per --port",
        ),
    ];
    for (args, expected) in cases {
        let output = run(&args);
        assert_one_line_error(&output, expected);
    }
    assert!(!out.exists(), "a refused recording wrote a file");
    let output = run(&[
        "record",
        "--port",
        &a.path,
        "--label",
        "x",
        "--seconds",
        "1",
        "--out",
        out_text,
    ]);
    assert_one_line_error(&output, "--label names the devices of several --port");
    let after = run(&["params", "--port", &a.path, "--json"]);
    assert_eq!(
        after.stdout, before.stdout,
        "a refused command changed a parameter"
    );
}

#[test]
fn ctrl_c_keeps_every_sample_of_every_device() {
    let (a, b) = (native_sim(), native_sim());
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("interrupted.csv");
    let recorder = std::process::Command::new(common::BIN)
        .args([
            "record", "--port", &a.path, "--port", &b.path, "--label", "a",
        ])
        .args(["--label", "b", "--seconds", "30", "--out"])
        .arg(&out)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start motiontune record");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::fs::metadata(&out).map_or(true, |m| m.len() < 200_000) {
        assert!(std::time::Instant::now() < deadline, "nothing recorded");
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &recorder.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let output = recorder.wait_with_output().expect("the recorder ends");
    let said = stderr(&output);
    assert_eq!(output.status.code(), Some(130), "{said}");
    assert_eq!(said.trim_end().lines().count(), 1, "{said}");
    assert!(said.contains("interrupted: recorded to"), "{said}");
    for label in ["a", "b"] {
        let group = split(&out, label);
        assert!(
            group.rows.len() > 1000,
            "{label}: {} rows",
            group.rows.len()
        );
        assert!(
            said.contains(&format!("{label} ({SIM}): {} samples", group.rows.len())),
            "{said} but {label} has {} rows",
            group.rows.len()
        );
        assert_no_gap(&group, 1e-4);
    }
}

/// Writes `pos.kp` on the device at `port`.
fn set_kp(port: &str, value: &str) {
    let output = run(&["params", "--port", port, &format!("pos.kp={value}")]);
    assert!(output.status.success(), "{}", stderr(&output));
}

/// `pos.kp` on the device at `port`, as `params --json` reads it.
fn kp(port: &str) -> f64 {
    let output = run(&["params", "--port", port, "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let params: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    params
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == "pos.kp"))
        .and_then(|p| p["value"].as_f64())
        .expect("pos.kp")
}

#[test]
fn a_profile_of_two_devices_applies_per_label_and_only_with_write() {
    let (a, b) = (native_sim(), native_sim());
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("gantry.toml");
    let file_text = file.to_str().expect("utf8 path");
    let (a_kp, b_kp) = (kp(&a.path), kp(&b.path));
    set_kp(&b.path, "7");
    let output = run(&[
        "profile", "save", "--port", &a.path, "--port", &b.path, "--label", "x", "--label", "y",
        "--name", "gantry", "--out", file_text,
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("of x, y to"),
        "{}",
        stderr(&output)
    );
    let saved = std::fs::read_to_string(&file).expect("saved");
    assert_eq!(saved.matches("[[device]]").count(), 2, "{saved}");

    // Both gains move; the file is loaded with the ports the other way
    // round, so labels, not order, say which section is whose.
    set_kp(&a.path, "10");
    set_kp(&b.path, "4");
    let load = |write: bool| {
        let mut args = vec![
            "profile", "load", file_text, "--port", &b.path, "--port", &a.path, "--label", "y",
            "--label", "x",
        ];
        if write {
            args.push("--write");
        }
        run(&args)
    };
    let shown = load(false);
    assert!(shown.status.success(), "{}", stderr(&shown));
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(text.contains("## y\npos.kp: 4 -> 7 "), "{text}");
    assert!(
        text.contains(&format!("## x\npos.kp: 10 -> {a_kp} ")),
        "{text}"
    );
    assert!(
        text.contains("nothing written: add --write to write these 2 changes"),
        "{text}"
    );
    assert_eq!(
        (kp(&a.path), kp(&b.path)),
        (10.0, 4.0),
        "shown, not written"
    );

    let written = load(true);
    assert!(written.status.success(), "{}", stderr(&written));
    assert!(String::from_utf8_lossy(&written.stdout).contains("wrote 2 changes to 2 devices"));
    assert_eq!((kp(&a.path), kp(&b.path)), (a_kp, 7.0));
    assert_ne!(b_kp, 7.0, "the test moved b's gain");

    // A gain the guard holds back on one device (more than a factor of 3
    // in one write): nothing is written to either.
    set_kp(&a.path, "3");
    set_kp(&b.path, "4");
    assert_one_line_error(&load(true), "x: nothing was written to any device");
    assert_eq!((kp(&a.path), kp(&b.path)), (3.0, 4.0));

    // One device present: its section applies, the other is named.
    set_kp(&a.path, "10");
    let output = run(&[
        "profile", "load", file_text, "--port", &a.path, "--port", &b.path, "--label", "x",
        "--label", "z", "--write",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("## y\nnot connected: nothing is written for it"),
        "{text}"
    );
    assert!(
        text.contains("## z\nnot in the profile: left as it is"),
        "{text}"
    );
    assert_eq!(
        (kp(&a.path), kp(&b.path)),
        (a_kp, 4.0),
        "z is left as it is"
    );

    // A broken file, or a one-device profile for two ports: one line,
    // nothing written.
    set_kp(&a.path, "10");
    let broken = dir.path().join("broken.toml");
    std::fs::write(
        &broken,
        saved.replace("[[device]]", "[[device]]\nlabel = 5"),
    )
    .expect("write");
    let output = run(&[
        "profile",
        "load",
        broken.to_str().expect("utf8 path"),
        "--port",
        &a.path,
        "--write",
    ]);
    assert_one_line_error(&output, "broken.toml: line");
    let one = dir.path().join("one.toml");
    let output = run(&[
        "profile",
        "save",
        "--port",
        &a.path,
        "--out",
        one.to_str().expect("utf8"),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let output = run(&[
        "profile",
        "load",
        one.to_str().expect("utf8"),
        "--port",
        &a.path,
        "--port",
        &b.path,
        "--write",
    ]);
    assert_one_line_error(&output, "is a profile of one device: give one --port");
    assert_eq!(kp(&a.path), 10.0);
}
