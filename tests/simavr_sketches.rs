//! Sketches as people write them, compiled for an Uno against the stock
//! Arduino core and run on simavr's ATmega328P in real time
//! (`tests/simavr_sketches/`, `assets/firmware/host/simavr_uno.c`): the
//! adapters held to what real firmware on a real 8-bit core prints.
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
