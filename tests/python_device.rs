//! An independent device: `tests/python_device/device.py` was written from
//! `docs/PROTOCOL.md` alone (standard-library Python on a pseudo-terminal),
//! without reading this crate. The app must stream from it, show and write
//! its parameters, and the document's worked examples must match it.
#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_motiontune");
const DEVICE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python_device/device.py");

struct PythonDevice {
    child: Child,
    path: String,
}

impl PythonDevice {
    fn start() -> Self {
        let mut child = Command::new("python3")
            .arg(DEVICE)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 is needed for this test (.ci/run installs it)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("path line");
        let path = line.trim().to_owned();
        assert!(path.starts_with("/dev/"), "device printed {path:?}");
        Self { child, path }
    }
}

impl Drop for PythonDevice {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("run motiontune")
}

fn record(path: &str, seconds: &str, divider: &str) -> Vec<Vec<f64>> {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("py.csv");
    let out_text = out.to_str().expect("utf8");
    let output = run(&[
        "record",
        "--port",
        path,
        "--seconds",
        seconds,
        "--divider",
        divider,
        "--out",
        out_text,
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut reader = csv::Reader::from_path(&out).expect("csv");
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    assert_eq!(
        header,
        ["time_s", "reference [V]", "response [V]", "counter"]
    );
    reader
        .records()
        .map(|r| {
            r.expect("row")
                .iter()
                .map(|f| f.parse().expect("number"))
                .collect()
        })
        .collect()
}

#[test]
fn document_examples_match_the_independent_implementation() {
    let status = Command::new("python3")
        .args([DEVICE, "--selftest"])
        .stdout(Stdio::null())
        .status()
        .expect("python3");
    assert!(status.success());
}

#[test]
fn app_records_the_independent_device_without_a_gap() {
    let device = PythonDevice::start();
    // A divider-10 stream first: the next recording must not inherit it.
    let coarse = record(&device.path, "1", "10");
    assert_eq!(coarse.len(), 100);
    let rows = record(&device.path, "2", "1");
    assert_eq!(rows.len(), 2000, "2 s at 1 kHz");
    for pair in rows.windows(2) {
        assert!(
            ((pair[1][0] - pair[0][0]) - 1e-3).abs() < 1e-9,
            "gap after t={}",
            pair[0][0]
        );
        assert_eq!(
            pair[1][3] - pair[0][3],
            1.0,
            "counter must rise by one tick"
        );
    }
}

#[test]
fn app_writes_the_independent_devices_parameters() {
    let device = PythonDevice::start();
    let output = run(&[
        "params",
        "--port",
        &device.path,
        "amplitude=20",
        "tau=0.1",
        "--json",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("amplitude: asked 20, device applied 10")
    );
    let params: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let value = |name: &str| {
        params
            .as_array()
            .expect("array")
            .iter()
            .find(|p| p["name"] == name)
            .expect("listed")["value"]
            .as_f64()
            .expect("number")
    };
    assert_eq!(value("amplitude"), 10.0);
    assert!((value("tau") - 0.1).abs() < 1e-6);

    let output = run(&["params", "--port", &device.path, "serial=1"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("read-only"));
}
