//! Every text format a sketch prints, recorded by `motiontune record` over
//! a real pseudo-terminal with `--protocol lines` and `--protocol auto`,
//! while the sketch misbehaves as real ones do, from its first lines on
//! and again mid-stream: a banner, a debug print every 200 ms, bad values
//! (`nan`, `inf`, `ovf`, a word, an empty field), the loop blocking for
//! 400 ms (a stall) and its bytes held up for 150 ms (a USB hiccup).
//!
//! The sketch prints `micros()` as a plain data column (not declared as a
//! time column, so the host clock times the lines, except for timed
//! Teleplot), starting 2 s before it wraps: above 2²⁴, where an `f32`
//! rounds, then wrapping, within every recording.
//! Every recorded row is checked against the sketch's own log of what it
//! printed: no row missing between the first and the last, every clean
//! value exactly as printed, every bad value a gap in its channel only,
//! the recorded time span within 3 % of the device's real one, and the
//! same channel names either way. The text lines go to `--text-out`.
#![cfg(target_os = "linux")]

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::read_recording;
use motiontune::sim::drive::{DriveConfig, SETPOINT_INDEX};
use motiontune::sim::emulated::EmulatedDevice;
use motiontune::sim::firmware::lines::{
    LinesSketch, LinesSketchSettings, Mishap, Printed, Scheduled, SketchFormat,
};
use motiontune::sim::pty::PtyServer;

/// Where `micros()` starts: 2 s before it wraps, within every recording.
const MICROS_AT_START: u32 = u32::MAX - 2_000_000;
/// Seconds of device time each run records.
const SECONDS: &str = "3";
/// The sketch's banner: none of it may name a channel.
const BANNER: [&str; 3] = ["Booting...", "IMU found, starting", "Kp set to 2.5"];
const DEBUG_PRINT: &str = "debug: loop ok";

fn every(at: u64, every: u64, mishap: Mishap) -> Scheduled {
    Scheduled {
        at,
        every: Some(every),
        mishap,
    }
}

fn bad(field: usize, text: &str) -> Mishap {
    Mishap::BadValue {
        field,
        text: text.into(),
    }
}

/// What goes wrong, from the first samples on and again and again: at
/// 500 lines a second every run of 3 s has stalls, a hiccup and bad
/// values in it, wherever it starts.
fn mishaps(format: SketchFormat) -> Vec<Scheduled> {
    let mut mishaps = vec![
        every(1, 100, Mishap::Text(DEBUG_PRINT.into())),
        every(1, 97, bad(1, "nan")),
        every(4, 89, bad(2, "ovf")),
        every(7, 131, bad(0, "inf")),
        every(9, 151, bad(1, "err")),
        every(2, 700, Mishap::Stall { ms: 400 }),
        every(300, 500, Mishap::Hiccup { ms: 150 }),
    ];
    // Between tabs an empty field is no field: runs of blanks are one
    // separator, in every plotter.
    if format != SketchFormat::Header {
        mishaps.push(every(5, 73, bad(2, "")));
    }
    mishaps
}

/// One timed recording at a time: each holds a sketch emulator and a
/// `motiontune record` to real time, and seven of them at once on a
/// two-core machine delayed reads enough to lose a 400 ms stall off the
/// host clock in about one run in ten.
fn one_sketch_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn serve(format: SketchFormat) -> PtyServer<LinesSketch> {
    let mut sketch = LinesSketch::new(
        DriveConfig::default(),
        LinesSketchSettings {
            format,
            time_column: true,
            micros_at_start: MICROS_AT_START,
            banner: BANNER.map(String::from).into(),
            mishaps: mishaps(format),
            keep_log: true,
            // Booted by the host opening the port, as a board's DTR reset
            // does: its banner comes after the port opened.
            powered: false,
            ..LinesSketchSettings::default()
        },
    );
    // A setpoint away from 0, so the values printed are not all zeros.
    let _ = sketch.drive.set_param(SETPOINT_INDEX, 1.2345);
    PtyServer::start(sketch).expect("pty available")
}

/// What one `record` made of the sketch.
struct Recorded {
    header: Vec<String>,
    rows: Vec<Vec<f64>>,
    text: String,
}

fn record(server: &PtyServer<LinesSketch>, protocol: &str, dir: &Path, extra: &[&str]) -> Recorded {
    let out = dir.join(format!("{protocol}.csv"));
    let text_out = dir.join(format!("{protocol}-text.csv"));
    let args = [
        "record",
        "--port",
        server.path(),
        "--protocol",
        protocol,
        "--seconds",
        SECONDS,
        "--out",
        out.to_str().expect("utf-8 path"),
        "--text-out",
        text_out.to_str().expect("utf-8 path"),
    ];
    let child = Command::new(common::BIN)
        .args(args)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run motiontune");
    wait_until_open(child.id(), server.path());
    // After the reset an Uno's bootloader waits about a second before
    // the sketch runs; half of that leaves motiontune, however loaded the
    // machine, time to clear what the port held before it opened.
    std::thread::sleep(Duration::from_millis(500));
    server.with_device(LinesSketch::power_on);
    let output = child.wait_with_output().expect("motiontune ran");
    assert!(
        output.status.success(),
        "{protocol}: {}",
        common::stderr(&output)
    );
    let (header, rows) = read_recording(&out);
    let text = std::fs::read_to_string(&text_out).expect("text lines written");
    Recorded { header, rows, text }
}

/// Waits until process `pid` has the pty at `path` open.
fn wait_until_open(pid: u32, path: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let fds = format!("/proc/{pid}/fd");
    loop {
        let open = std::fs::read_dir(&fds).is_ok_and(|entries| {
            entries
                .flatten()
                .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|to| to == Path::new(path)))
        });
        if open {
            return;
        }
        assert!(Instant::now() < deadline, "motiontune never opened {path}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The value a printed field stands for: `None` for a gap.
fn printed_value(field: &str) -> Option<f64> {
    field.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Checks one run against the sketch's log.
/// `skipped_s` is time the emulated sketch never ran because its thread
/// was not scheduled (a loaded machine): its `micros()` lags real time by
/// that much, which the host's clock rightly sees.
fn check(
    format: SketchFormat,
    protocol: &str,
    recorded: &Recorded,
    log: &[Printed],
    skipped_s: f64,
) {
    let what = format!("{format:?} over --protocol {protocol}");
    let rows = &recorded.rows;
    assert!(rows.len() > 1000, "{what}: {} rows", rows.len());
    // Column 1 is micros(), printed as data: it finds the sample printed.
    let by_micros: HashMap<u32, (usize, &Printed)> = log
        .iter()
        .enumerate()
        .map(|(k, p)| (p.micros as u32, (k, p)))
        .collect();
    let mut printed = Vec::with_capacity(rows.len());
    for row in rows {
        let micros = row[1];
        assert_eq!(micros, micros.trunc(), "{what}: micros() {micros} exact");
        let &(k, sample) = by_micros
            .get(&(micros as u32))
            .unwrap_or_else(|| panic!("{what}: no sample printed at micros() {micros}"));
        for (c, field) in sample.fields.iter().enumerate() {
            let value = row[2 + c];
            match printed_value(field) {
                Some(expected) => assert_eq!(value, expected, "{what}: {field:?} at {micros}"),
                None => assert!(value.is_nan(), "{what}: {field:?} at {micros} is a gap"),
            }
        }
        printed.push((k, sample));
    }
    // One row for every sample printed from the first to the last.
    let (first, last) = (printed[0], printed[printed.len() - 1]);
    let ks: Vec<usize> = printed.iter().map(|(k, _)| *k).collect();
    assert_eq!(
        ks,
        (first.0..=last.0).collect::<Vec<_>>(),
        "{what}: rows in order, none missing"
    );
    // Time never runs backwards and never before 0.
    assert!(rows[0][0] >= 0.0, "{what}: starts at {}", rows[0][0]);
    for pair in rows.windows(2) {
        assert!(
            pair[1][0] > pair[0][0],
            "{what}: {} after {}",
            pair[1][0],
            pair[0][0]
        );
    }
    // The recording holds a stall of the sketch's, not only its edges.
    let stalls = printed
        .windows(2)
        .filter(|pair| pair[1].1.micros - pair[0].1.micros >= 300_000)
        .count();
    assert!(stalls >= 1, "{what}: a stall within the recording");
    let device_span = (last.1.micros - first.1.micros) as f64 * 1e-6;
    let recorded_span = rows[rows.len() - 1][0] - rows[0][0];
    let error = (recorded_span - device_span).abs() / device_span;
    // How far any one row sits from its device time (for the record).
    let worst_ms = rows
        .iter()
        .zip(&printed)
        .map(|(row, (_, p))| {
            let device = (p.micros - first.1.micros) as f64 * 1e-6;
            ((row[0] - rows[0][0]) - device).abs() * 1e3
        })
        .fold(0.0, f64::max);
    eprintln!(
        "{what}: {} rows, {stalls} stalls, recorded span {recorded_span:.4} s, device span \
         {device_span:.4} s, error {:.2} %, worst row {worst_ms:.1} ms, sketch not run {skipped_s} s",
        rows.len(),
        error * 100.0
    );
    assert!(
        (recorded_span - device_span).abs() <= 0.03 * device_span + skipped_s,
        "{what}: recorded {recorded_span} s for {device_span} s of the device's \
         ({skipped_s} s of it not run by a loaded machine)"
    );
    // Text lines are text, never channels; data lines never text.
    for line in BANNER.iter().chain([&DEBUG_PRINT]) {
        assert!(
            recorded.text.contains(line),
            "{what}: {line:?} in the text lines:\n{}",
            recorded.text
        );
    }
    for name in ["setpoint", "position", "Set point", ">"] {
        assert!(
            !recorded.text.contains(name),
            "{what}: a data line among the text lines:\n{}",
            recorded.text
        );
    }
}

fn channel_names(header: &[String]) -> Vec<String> {
    // `name [unit]`: the unit is Teleplot's.
    header[1..]
        .iter()
        .map(|h| h.split(" [").next().unwrap_or_default().to_owned())
        .collect()
}

fn each_protocol(format: SketchFormat) {
    let _turn = one_sketch_at_a_time();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut names = Vec::new();
    for protocol in ["lines", "auto"] {
        let server = serve(format);
        let recorded = record(&server, protocol, dir.path(), &[]);
        let log = server.with_device(|sketch| sketch.log().to_vec());
        let overruns = server.overruns();
        assert_eq!(
            overruns.output_bytes_dropped, 0,
            "{format:?} over {protocol}"
        );
        let skipped_s = overruns.ticks_skipped as f64 / 1000.0;
        check(format, protocol, &recorded, &log, skipped_s);
        names.push(channel_names(&recorded.header));
    }
    let time = match format {
        SketchFormat::Plain => "ch1",
        _ => "time",
    };
    let mut expected = vec![time.to_owned()];
    expected.extend(match format {
        SketchFormat::Plain => ["ch2", "ch3", "ch4"].map(String::from),
        _ => format.names().map(String::from),
    });
    assert_eq!(names[0], expected, "{format:?} over lines");
    assert_eq!(names[1], expected, "{format:?} over auto");
}

/// `micros()` declared as the time column: device time, exact to the
/// microsecond across its wrap (2 s in), the values exact, a stall a gap
/// of just its length.
#[test]
fn a_declared_micros_column_is_exact_device_time_across_its_wrap() {
    let _turn = one_sketch_at_a_time();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut wraps = 0;
    for protocol in ["lines", "auto"] {
        let server = serve(SketchFormat::Header);
        let recorded = record(
            &server,
            protocol,
            dir.path(),
            &["--lines-time-column", "1:us"],
        );
        let log = server.with_device(|sketch| sketch.log().to_vec());
        assert_eq!(
            channel_names(&recorded.header),
            ["setpoint", "position", "effort"],
            "{protocol}"
        );
        let rows = &recorded.rows;
        let micros = |row: &Vec<f64>| (row[0] * 1e6).round() as u64;
        let first = log
            .iter()
            .position(|p| p.micros == micros(&rows[0]))
            .expect("the first row was printed");
        assert!(rows.len() > 1000, "{protocol}: {} rows", rows.len());
        assert!(
            log.len() - first >= rows.len(),
            "{protocol}: every row printed"
        );
        let wrapped = rows.iter().any(|row| micros(row) > u64::from(u32::MAX));
        for (row, printed) in rows.iter().zip(&log[first..]) {
            assert_eq!(micros(row), printed.micros, "{protocol}: device time");
            for (c, field) in printed.fields.iter().enumerate() {
                match printed_value(field) {
                    Some(expected) => assert_eq!(row[1 + c], expected, "{protocol}: {field:?}"),
                    None => assert!(row[1 + c].is_nan(), "{protocol}: {field:?} is a gap"),
                }
            }
        }
        let since_start =
            |row: &Vec<f64>| micros(row) as f64 * 1e-6 - f64::from(MICROS_AT_START) * 1e-6;
        eprintln!(
            "{protocol}: {} rows, {:.3} s to {:.3} s after the sketch started, micros() wrapped within: {wrapped}",
            rows.len(),
            since_start(&rows[0]),
            since_start(&rows[rows.len() - 1]),
        );
        wraps += usize::from(wrapped);
    }
    assert_eq!(wraps, 2, "both recordings hold micros() wrapping");
}

#[test]
fn labelled_lines() {
    each_protocol(SketchFormat::Labelled);
}

#[test]
fn a_header_then_tab_separated_numbers() {
    each_protocol(SketchFormat::Header);
}

#[test]
fn plain_numbers() {
    each_protocol(SketchFormat::Plain);
}

#[test]
fn labels_with_spaces() {
    each_protocol(SketchFormat::SpacedLabels);
}

#[test]
fn teleplot() {
    each_protocol(SketchFormat::Teleplot);
}

#[test]
fn teleplot_with_timestamps() {
    each_protocol(SketchFormat::TeleplotTimed);
}

/// A sketch that prints only text (here `wait...` in every field, never
/// a number) is never described: the command ends with one line saying
/// it printed text and no data, not that it did not answer.
#[test]
fn a_sketch_printing_only_text_ends_with_one_line_saying_so() {
    let words = (0..3)
        .map(|field| every(0, 1, bad(field, "wait...")))
        .collect();
    let sketch = LinesSketch::new(
        DriveConfig::default(),
        LinesSketchSettings {
            format: SketchFormat::Plain,
            mishaps: words,
            ..LinesSketchSettings::default()
        },
    );
    let server = PtyServer::start(sketch).expect("pty available");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("never.csv");
    let output = common::motiontune(&[
        "record",
        "--port",
        server.path(),
        "--protocol",
        "lines",
        "--seconds",
        "1",
        "--out",
        out.to_str().expect("utf-8 path"),
    ]);
    common::assert_one_line_error(&output, "lines of text and no 3 of numbers");
}

/// A sketch logging 600 channels: lines of about 5 kB, 100 a second.
struct WideSketch {
    ticks: u64,
    output: Vec<u8>,
}

/// Channel `c` of line `k`: distinct, with decimals.
fn wide_value(k: u64, c: u64) -> String {
    format!("{}.{:03}", k * 1000 + c, c % 997)
}

impl EmulatedDevice for WideSketch {
    fn loop_hz(&self) -> u32 {
        1000
    }

    fn receive(&mut self, _bytes: &[u8]) {}

    fn advance(&mut self, ticks: u64) {
        for _ in 0..ticks {
            self.ticks += 1;
            if self.ticks.is_multiple_of(10) {
                let k = self.ticks / 10;
                let fields: Vec<String> = (0..600).map(|c| wide_value(k, c)).collect();
                self.output.extend_from_slice(fields.join(",").as_bytes());
                self.output.extend_from_slice(b"\r\n");
            }
        }
    }

    fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.output)
    }
}

/// Lines over 4096 bytes (600 channels) are read whole, every value exact.
#[test]
fn lines_of_five_kilobytes_are_read_whole() {
    let server = PtyServer::start(WideSketch {
        ticks: 0,
        output: Vec::new(),
    })
    .expect("pty available");
    let line_len = (0..600)
        .map(|c| wide_value(100, c).len() + 1)
        .sum::<usize>();
    assert!(line_len > 4096, "{line_len} bytes a line");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("wide.csv");
    let output = common::motiontune(&[
        "record",
        "--port",
        server.path(),
        "--protocol",
        "lines",
        "--seconds",
        "1",
        "--out",
        out.to_str().expect("utf-8 path"),
    ]);
    assert!(output.status.success(), "{}", common::stderr(&output));
    let (header, rows) = read_recording(&out);
    assert_eq!(header.len(), 601);
    assert!(rows.len() > 50, "{} rows", rows.len());
    for row in &rows {
        // The line's number, from its first value: every value as printed.
        let k = (row[1] / 1000.0).floor() as u64;
        for c in 0..600 {
            let expected: f64 = wide_value(k, c).parse().expect("a number");
            assert_eq!(row[1 + c as usize], expected, "line {k}, channel {c}");
        }
    }
}
