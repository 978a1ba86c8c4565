//! Sketches as people write them, compiled for an Uno against the stock
//! Arduino core and run on simavr's ATmega328P in real time
//! (`tests/simavr_sketches/`, `assets/firmware/host/simavr_uno.c`): the
//! adapters held to what real firmware on a real 8-bit core prints:
//! `Serial.print`'s two decimals and its `nan`, `inf` and `ovf`, a banner
//! before the data, labels with spaces, debug prints among the data, and a
//! SimpleFOC sketch with its Commander and monitoring.
#![cfg(target_os = "linux")]

mod common;

use std::process::{Command as Process, Stdio};
use std::sync::{Mutex, MutexGuard};

use common::{DeviceProcess, motiontune as run, stderr};

/// One simulated Uno at a time: each takes most of a core to keep to real
/// time, and a late core is a slower UART.
fn one_uno_at_a_time() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The ELF at `elf` on a simulated Uno, its pty's path in `.path`.
fn start(elf: &std::path::Path, args: &[&str]) -> DeviceProcess {
    let mut command = Process::new(common::firmware::simavr_uno());
    command.arg(elf).args(args).stderr(Stdio::null());
    DeviceProcess::spawn(command)
}

/// `params` on the device, as (name, value as printed) pairs.
fn params(path: &str, protocol: &str, writes: &[&str]) -> (String, Vec<(String, String)>) {
    let mut args = vec!["params", "--port", path, "--protocol", protocol];
    args.extend_from_slice(writes);
    let output = run(&args);
    assert!(output.status.success(), "{protocol}: {}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let rows = text
        .lines()
        .skip(2)
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            Some((fields.next()?.to_owned(), fields.next()?.to_owned()))
        })
        .collect();
    (text, rows)
}

fn value<'a>(rows: &'a [(String, String)], name: &str) -> &'a str {
    rows.iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name} in {rows:?}"))
}

#[test]
fn simplefoc_on_an_uno_is_found_read_written_and_recorded() {
    let Some(elf) = common::firmware::uno_simplefoc_sketch() else {
        eprintln!(
            "skipped: the SimpleFOC sources are not at {} (see ../shared/thirdparty/README.md)",
            common::SIMPLEFOC_LIBRARY
        );
        return;
    };
    let _turn = one_uno_at_a_time();
    let uno = start(elf, &[]);
    let (text, rows) = params(&uno.path, "auto", &[]);
    assert!(
        text.contains("SimpleFOC motor 'M'") && text.contains("speaking SimpleFOC Commander"),
        "{text}"
    );
    // What the sketch set, as the AVR's Serial.print(float) printed it.
    assert_eq!(value(&rows, "limit.voltage"), "3");
    assert_eq!(value(&rows, "vel.P"), "0.5");
    assert!(text.contains("vel open (3)"), "{text}");

    let (_, rows) = params(&uno.path, "simplefoc", &["vel.P=0.75"]);
    assert_eq!(value(&rows, "vel.P"), "0.75");
    let (_, rows) = params(&uno.path, "simplefoc", &[]);
    assert_eq!(value(&rows, "vel.P"), "0.75", "kept by the firmware");

    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("monitor.csv");
    let output = run(&[
        "record",
        "--port",
        &uno.path,
        "--protocol",
        "simplefoc",
        "--seconds",
        "2",
        "--out",
        out.to_str().expect("utf-8 path"),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let (header, rows) = common::read_recording(&out);
    assert!(header[1].starts_with("target"), "{header:?}");
    assert!(rows.len() > 40, "{} monitoring lines in 2 s", rows.len());
    assert!(
        rows.windows(2).all(|pair| pair[1][0] > pair[0][0]),
        "time moves on"
    );
}

/// Records `seconds` of the device at `path` speaking `protocol`.
fn record(
    path: &str,
    protocol: &str,
    seconds: &str,
    extra: &[&str],
) -> (Vec<String>, Vec<Vec<f64>>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("recording.csv");
    let mut args = vec![
        "record",
        "--port",
        path,
        "--protocol",
        protocol,
        "--seconds",
        seconds,
        "--out",
        out.to_str().expect("utf-8 path"),
    ];
    args.extend_from_slice(extra);
    let output = run(&args);
    assert!(output.status.success(), "{protocol}: {}", stderr(&output));
    common::read_recording(&out)
}

/// The column whose header starts with `name`.
fn column(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|h| h.starts_with(name))
        .unwrap_or_else(|| panic!("no column {name} in {header:?}"))
}

#[test]
fn nan_inf_and_ovf_are_gaps_in_their_column_only_and_every_line_is_kept() {
    let _turn = one_uno_at_a_time();
    let uno = start(&common::firmware::uno_test_sketch("plotter_floats"), &[]);
    let mut names = Vec::new();
    for protocol in ["lines", "auto"] {
        let (header, rows) = record(&uno.path, protocol, "3", &[]);
        assert_eq!(header.len(), 4, "time and three columns: {header:?}");
        let (wave, ratio, count) = (1, 2, 3);
        // Over 100 lines a second on an idle machine; simavr runs slower
        // than real time on a loaded one (276 lines in 3 s was seen while
        // a build ran), and these lines are timed by the host. What is
        // checked is that none of them is lost.
        assert!(rows.len() > 150, "{protocol}: {} rows", rows.len());
        for pair in rows.windows(2) {
            assert_eq!(
                pair[1][count],
                pair[0][count] + 1.0,
                "{protocol}: a line lost"
            );
        }
        for row in &rows {
            let n = row[count];
            assert_eq!(n.fract(), 0.0, "the count is exact: {n}");
            let n = n as u64;
            assert_eq!(
                row[wave],
                (n % 200) as f64 * 0.25 - 25.0,
                "{protocol}: line {n}"
            );
            match n % 50 {
                10 | 20 | 30 => assert!(row[ratio].is_nan(), "{protocol}: line {n}: {row:?}"),
                _ => assert_eq!(row[ratio], (n % 7) as f64 * 0.5, "{protocol}: line {n}"),
            }
        }
        // Timed by their arrival (the host clock's accuracy is
        // tests/lines_formats.rs's to prove; a simulated core on a loaded
        // machine runs behind real time): time only moves on.
        assert!(
            rows.windows(2).all(|pair| pair[1][0] > pair[0][0]),
            "{protocol}: time went back"
        );
        names.push(header);
    }
    assert_eq!(names[0], names[1], "lines and auto name the columns alike");
}

#[test]
fn a_banner_and_debug_prints_are_text_and_labels_keep_their_spaces() {
    let _turn = one_uno_at_a_time();
    // Each open restarts the sketch, so the host sees its banner.
    let uno = start(
        &common::firmware::uno_test_sketch("banner_labels"),
        &["--reset-on-open=200"],
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let mut names = Vec::new();
    for protocol in ["lines", "auto"] {
        let text_out = dir.path().join(format!("{protocol}.txt"));
        let (header, rows) = record(
            &uno.path,
            protocol,
            "2",
            &["--text-out", text_out.to_str().expect("utf-8 path")],
        );
        assert_eq!(header.len(), 3, "{protocol}: {header:?}");
        let speed = column(&header, "Motor speed");
        let current = column(&header, "Motor current");
        assert!(rows.len() > 150, "{protocol}: {} rows", rows.len());
        // Line n has speed (n % 40) / 2 and current (n % 13) / 4: each row
        // names its n modulo 520, and the next row is n + 1.
        let n_of = |row: &Vec<f64>| {
            (0..520u32)
                .find(|n| {
                    f64::from(n % 40) * 0.5 == row[speed]
                        && f64::from(n % 13) * 0.25 == row[current]
                })
                .unwrap_or_else(|| panic!("{protocol}: no line prints {row:?}"))
        };
        for pair in rows.windows(2) {
            assert_eq!(
                n_of(&pair[1]),
                (n_of(&pair[0]) + 1) % 520,
                "{protocol}: a line lost"
            );
        }
        let text = std::fs::read_to_string(&text_out).expect("text lines");
        // "Booting..." may come glued to a line the sketch was printing
        // when the open reset it (stale bytes still on their way, as an
        // Uno's USB chip holds them): whether that line is text or a row
        // with a gap depends on where it was cut, so it is not asked for.
        for line in ["IMU found, starting", "debug: 100 lines"] {
            assert!(text.contains(line), "{protocol}: {line:?} not in {text}");
        }
        names.push(header);
    }
    assert_eq!(names[0], names[1], "lines and auto name the columns alike");
}
