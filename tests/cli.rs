//! The `motiontune` binary as a user runs it: `sim --pty` in one process,
//! `record` and `params` in others, and one clear line for every mistake.
#![cfg(unix)]

mod common;

use common::{DeviceProcess, assert_one_line_error, motiontune as run, stderr};

/// `motiontune sim --pty` in another process.
fn start_sim() -> DeviceProcess {
    DeviceProcess::start(common::BIN, &["sim", "--pty"])
}

#[test]
fn record_from_a_pty_sim_keeps_every_tick_of_all_eight_channels() {
    let sim = start_sim();
    let (header, rows) = common::record(&sim.path, "3", "1");
    assert_eq!(header[..5], common::SERVO_COLUMNS);
    assert_eq!(
        header[5..],
        [
            "following error [rad]",
            "p term [A]",
            "i term [A]",
            "d term [A]"
        ]
    );
    let times: Vec<f64> = rows.iter().map(|row| row[0]).collect();
    assert_eq!(times.len(), 30_000, "3 s at 10 kHz");
    common::assert_evenly_spaced(&times, 1e-4);
    // Each value sits in its own column: the output is off, so the
    // controller's terms and effort are zero and the following error is
    // the setpoint minus the (noisy) position.
    let column = |name: &str| header.iter().position(|h| h == name).expect(name);
    let [setpoint, position, effort, error, p, i, d] = [
        "setpoint [rad]",
        "position [rad]",
        "effort [A]",
        "following error [rad]",
        "p term [A]",
        "i term [A]",
        "d term [A]",
    ]
    .map(column);
    for row in &rows {
        assert_eq!([row[effort], row[p], row[i], row[d]], [0.0; 4], "{row:?}");
        assert!(
            (row[error] - (row[setpoint] - row[position])).abs() < 1e-6,
            "{row:?}"
        );
    }
    assert!(
        rows.iter().any(|row| row[error] != 0.0),
        "the encoder is noisy"
    );
}

#[test]
fn params_writes_clamps_and_prints_json() {
    let sim = start_sim();
    let output = run(&[
        "params",
        "--port",
        &sim.path,
        "pos.kp=5000",
        "pos.kd=1.5",
        "--json",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stderr(&output).contains("pos.kp: asked 5000, device applied 1000"));
    let params: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let find = |name: &str| {
        params
            .as_array()
            .expect("array")
            .iter()
            .find(|p| p["name"] == name)
            .cloned()
            .expect("param listed")
    };
    assert_eq!(find("pos.kp")["value"], 1000.0);
    assert_eq!(find("pos.kp")["max"], 1000.0);
    assert_eq!(find("pos.kd")["value"], 1.5);
    assert_eq!(find("pos.kd")["unit"], "A·s/rad");
    assert_eq!(find("plant.resonance")["read_only"], true);

    // The values stay in force for the next client, which finds the
    // protocol on its own.
    let output = run(&["params", "--port", &sim.path]);
    let table = String::from_utf8_lossy(&output.stdout);
    let header = table.lines().next().unwrap_or_default();
    assert!(
        header.starts_with("# motiontune sim")
            && header.ends_with("speaking motiontune native protocol"),
        "{header}"
    );
    let kd_line = table
        .lines()
        .find(|l| l.starts_with("pos.kd "))
        .expect("kd row");
    assert!(kd_line.contains("1.5"), "{kd_line}");
}

#[test]
fn bad_params_change_nothing() {
    let sim = start_sim();
    let output = run(&["params", "--port", &sim.path, "pos.kp=7", "pos.nope=1"]);
    assert_one_line_error(&output, "unknown parameter 'pos.nope'");
    let output = run(&["params", "--port", &sim.path, "plant.resonance=3"]);
    assert_one_line_error(&output, "read-only");
    let output = run(&["params", "--port", &sim.path, "pos.kp=fast"]);
    assert_one_line_error(&output, "not a number");
    assert_eq!(output.status.code(), Some(2));

    let output = run(&["params", "--port", &sim.path, "--json"]);
    let params: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let kp = params
        .as_array()
        .expect("array")
        .iter()
        .find(|p| p["name"] == "pos.kp")
        .expect("kp")["value"]
        .clone();
    assert_eq!(
        kp, 20.0,
        "the valid write before the bad name must not have happened"
    );
}

#[test]
fn in_process_sim_answers_params() {
    let output = run(&["params", "--port", "sim", "pos.setpoint=0.5", "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let params: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert!(
        params
            .as_array()
            .expect("array")
            .iter()
            .any(|p| p["name"] == "pos.setpoint" && p["value"] == 0.5)
    );
}

#[test]
fn user_mistakes_give_one_line() {
    let output = run(&[
        "record",
        "--port",
        "/dev/motiontune-missing",
        "--seconds",
        "1",
        "--out",
        "/tmp/x.csv",
    ]);
    assert_one_line_error(&output, "no such port: /dev/motiontune-missing");
    let output = run(&[
        "record",
        "--port",
        "sim",
        "--seconds",
        "-2",
        "--out",
        "/tmp/x.csv",
    ]);
    assert_one_line_error(&output, "not a duration");
    let output = run(&["--port", "sim", "--baud", "fast"]);
    assert_one_line_error(&output, "not a baud rate");
    let output = run(&["sim"]);
    assert_one_line_error(&output, "needs --pty");
}

#[test]
fn busy_port_is_reported() {
    let sim = start_sim();
    let _holder = serialport::new(&sim.path, 115_200)
        .open()
        .expect("first open");
    let output = run(&["params", "--port", &sim.path]);
    assert_one_line_error(&output, "is busy");
}

#[test]
fn ports_lists_the_simulated_drive() {
    let output = run(&["ports"]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.lines().next().is_some_and(|l| l.starts_with("sim ")),
        "{text}"
    );
}

#[test]
fn silent_and_foreign_devices_are_named_as_such() {
    use std::io::Write;

    use serialport::{SerialPort, TTYPort};

    let (mut master, slave) = TTYPort::pair().expect("pty pair");
    let path = slave.name().expect("slave name");
    let output = run(&["params", "--port", &path, "--protocol", "native"]);
    assert_one_line_error(
        &output,
        "did not answer within 2 s as motiontune native protocol",
    );
    let output = run(&["params", "--port", &path]);
    assert_one_line_error(
        &output,
        "did not answer within 5 s as any protocol motiontune knows (tried native",
    );

    // A serial-plotter style text stream is not this protocol.
    master
        .set_timeout(std::time::Duration::from_millis(50))
        .expect("timeout");
    let talker = std::thread::spawn(move || {
        for _ in 0..300 {
            let _ = master.write_all(b"1.0 2.0 3.0\r\n");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    });
    let output = run(&["params", "--port", &path, "--protocol", "native"]);
    assert_one_line_error(&output, "not motiontune native protocol");
    talker.join().expect("talker");
}
