//! The C device kit in `assets/firmware`: the library built with the host
//! example under AddressSanitizer and UBSan, served on a pseudo-terminal and
//! held to the same end-to-end checks as the simulated drive; the library's
//! bytes against the protocol document's worked examples; warning-free
//! builds; and the Arduino example built for an Uno against the stock AVR
//! core.
#![cfg(unix)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::firmware::{FIRMWARE, LIBRARY, STRICT, build, build_dir};
use common::{DeviceProcess, RawPort, connect, get, next_value, set, status_flags, wait_for};
use motiontune::link::{Link, LinkEvent};
use motiontune::protocol::native::DeviceMessage;
use motiontune::protocol::native::message::host_type;
use motiontune::protocol::{ChannelRole, Command, DeviceErrorCode, Event};

const HOST_EXAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/firmware/host/sim_device.c"
);
const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/c_device/protocol_vectors.c"
);

/// Any memory error or undefined behaviour aborts the device at once.
const SANITIZERS: &[&str] = &[
    "-O1",
    "-g",
    "-fno-omit-frame-pointer",
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=all",
];

/// The host example's parameters, in index order.
const POS_KP: u8 = 0;
const SETPOINT: u8 = 4;
const INERTIA: u8 = 5;
const TIME_CONSTANT: u8 = 8;
const BAD_FRAMES: u8 = 9;
/// Channel positions in a sample.
const POSITION: usize = 1;
const EFFORT: usize = 3;

/// Compiles `sources` with `cc` (.ci/run installs it) into `name`.
fn compile(name: &str, sources: &[&str], flags: &[&str]) -> PathBuf {
    let program = build_dir("c_device").join(name);
    let mut cc = Process::new("cc");
    cc.args(STRICT)
        .args(flags)
        .arg("-I")
        .arg(FIRMWARE)
        .args(sources)
        .arg("-o")
        .arg(&program);
    build(cc, name);
    program
}

fn assert_vectors_match(program: &Path) {
    let output = Process::new(program)
        .output()
        .expect("run protocol_vectors");
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The host example under the sanitizers, with the opt-in excitation
/// (`MT_EXCITE_PARAMS`, which needs libm, named after the sources so the
/// linker takes what they use), built once per test run.
fn sanitized_device() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let flags = [SANITIZERS, &["-DMT_EXCITE_PARAMS"]].concat();
        compile(
            "sim_device_sanitized",
            &[LIBRARY, HOST_EXAMPLE, "-lm"],
            &flags,
        )
    })
}

/// The sanitized host example serving on its own pseudo-terminal. Dropping
/// it stops the device and fails the test if the device wrote anything to
/// stderr: a sanitizer report or a failed system call.
struct CDevice {
    process: Option<DeviceProcess>,
    stderr: tempfile::NamedTempFile,
}

impl CDevice {
    fn start(args: &[&str]) -> Self {
        let stderr = tempfile::NamedTempFile::new().expect("stderr file");
        let mut command = Process::new(sanitized_device());
        command
            .args(args)
            .stderr(stderr.reopen().expect("stderr file"));
        Self {
            process: Some(DeviceProcess::spawn(command)),
            stderr,
        }
    }

    fn path(&self) -> &str {
        &self.process.as_ref().expect("device running").path
    }
}

impl Drop for CDevice {
    fn drop(&mut self) {
        drop(self.process.take());
        let report = std::fs::read_to_string(self.stderr.path()).unwrap_or_default();
        if std::thread::panicking() {
            eprintln!("the C device's stderr:\n{report}");
        } else {
            assert!(report.is_empty(), "the C device reported:\n{report}");
        }
    }
}

#[test]
fn library_matches_the_documents_worked_examples() {
    let vectors = compile(
        "protocol_vectors_sanitized",
        &[LIBRARY, VECTORS],
        SANITIZERS,
    );
    assert_vectors_match(&vectors);
}

#[test]
fn library_and_host_example_build_clean_when_optimised() {
    // -O2 runs the flow analyses behind several warnings that -O1 skips.
    compile("sim_device", &[LIBRARY, HOST_EXAMPLE], &["-O2"]);
    compile(
        "sim_device_excite",
        &[LIBRARY, HOST_EXAMPLE, "-lm"],
        &["-O2", "-DMT_EXCITE_PARAMS"],
    );
    let vectors = compile("protocol_vectors", &[LIBRARY, VECTORS], &["-O2"]);
    assert_vectors_match(&vectors);
}

#[test]
fn hello_gives_the_full_description() {
    let device = CDevice::start(&[]);
    let (_link, info) = connect(device.path(), 0);
    assert_eq!(
        (info.name.as_str(), info.firmware.as_str()),
        ("motiontune C sim servo", "1.0.0")
    );
    assert_eq!(
        (info.protocol_version, info.loop_hz, info.watchdog_ms),
        (1, 10_000, 500)
    );
    let channels: Vec<_> = info
        .channels
        .iter()
        .map(|c| (c.name.as_str(), c.unit.as_str(), c.role))
        .collect();
    assert_eq!(
        channels,
        [
            ("setpoint", "rad", ChannelRole::Reference),
            ("position", "rad", ChannelRole::Feedback),
            ("velocity", "rad/s", ChannelRole::Other),
            ("effort", "A", ChannelRole::Effort),
        ]
    );
    let params: Vec<_> = info
        .params
        .iter()
        .map(|p| {
            (
                p.name.as_str(),
                p.unit.as_str(),
                p.flags.0,
                p.min,
                p.max,
                p.value,
            )
        })
        .collect();
    assert_eq!(
        params,
        [
            ("pos.kp", "A/rad", 0x0C, 0.01, 1000.0, 20.0),
            ("pos.ki", "A/(rad·s)", 0x04, 0.0, 10_000.0, 20.0),
            ("pos.kd", "A·s/rad", 0x04, 0.0, 50.0, 0.3),
            ("pos.output_limit", "A", 0, 0.0, 20.0, 5.0),
            ("pos.setpoint", "rad", 0x02, -100.0, 100.0, 0.0),
            ("plant.inertia", "kg·m²", 0x08, 1e-6, 1.0, 1e-4),
            ("plant.viscous", "N·m·s/rad", 0x08, 1e-6, 1.0, 1e-4),
            ("plant.torque_constant", "N·m/A", 0, 1e-3, 2.0, 0.05),
            ("plant.time_constant", "s", 0x01, 0.0, 1e6, 1.0),
            ("link.bad_frames", "", 0x01, 0.0, 4_294_967_296.0, 0.0),
            ("relay.active", "", 0x60, 0.0, 1.0, 0.0),
            ("relay.amplitude", "A", 0, 0.0, 20.0, 1.0),
            ("relay.hysteresis", "rad", 0, 0.0, 1e6, 0.0),
            ("relay.travel", "rad", 0, 0.0, 1e6, 0.5),
            ("relay.bias", "A", 0, -20.0, 20.0, 0.0),
            ("excite.active", "", 0x60, 0.0, 1.0, 0.0),
            ("excite.kind", "", 0x70, 0.0, 1.0, 0.0),
            ("excite.point", "", 0x70, 0.0, 1.0, 0.0),
            ("excite.amplitude", "rad or A", 0x40, 0.0, 20.0, 0.2),
            ("excite.f0", "Hz", 0x40, 0.01, 5000.0, 1.0),
            ("excite.f1", "Hz", 0x40, 0.01, 5000.0, 100.0),
            ("excite.duration", "s", 0x40, 0.01, 600.0, 10.0),
        ]
    );
}

/// The kit's excitation (`mt_add_excite`, `mt_excite_step`, opt-in with
/// `MT_EXCITE_PARAMS`) under the sanitizers, run by `motiontune bode`: the
/// device injects on its output, the plant it measures is the example's
/// motor, Kt / (J·s² + b·s), within 1 dB at every coherent point from 10
/// to 500 Hz (its encoder is exact), and the run ends with
/// `excite.active` 0 and every setting as it was.
#[test]
fn excitation_measures_the_motor_and_ends_off() {
    let device = CDevice::start(&[]);
    let (link, info) = connect(device.path(), 0);
    let settings: Vec<(usize, f32)> = info
        .params
        .iter()
        .enumerate()
        .filter(|(_, p)| p.name.starts_with("excite."))
        .map(|(k, p)| (k, p.value))
        .collect();
    drop(link);
    let output = common::motiontune(&[
        "bode",
        "--port",
        device.path(),
        "--from",
        "5",
        "--to",
        "500",
        "--duration",
        "4",
        "--json",
    ]);
    assert!(output.status.success(), "{}", common::stderr(&output));
    let result: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(result["excited_by"], "device");
    assert_eq!(result["injected_at"], "effort");
    let (kt, j, b) = (0.05, 1e-4, 1e-4);
    let mut compared = 0;
    for point in result["points"].as_array().expect("points") {
        let number = |key: &str| point[key].as_f64().unwrap_or(f64::NAN);
        let f = number("frequency_hz");
        if number("coherence") < 0.9 || f < 10.0 {
            continue;
        }
        let w = std::f64::consts::TAU * f;
        let expected = 20.0 * (kt / (j * w * w).hypot(b * w)).log10();
        let error = number("plant_db") - expected;
        assert!(error.abs() < 1.0, "{f} Hz: {error:.2} dB off the motor");
        compared += 1;
    }
    assert!(compared > 50, "{compared} coherent points");
    assert!(
        result["coherent_max_hz"].as_f64().expect("coherent") > 400.0,
        "{result}"
    );

    let (link, _) = connect(device.path(), 0);
    for (index, value) in settings {
        assert_eq!(
            get(&link, index as u8),
            value,
            "{}",
            info.params[index].name
        );
    }
}

/// The kit's relay mode (`mt_add_relay`, `mt_relay_step`) under the
/// sanitizers, run by `motiontune autotune --method relay`: a steady limit
/// cycle is measured, and the relay is off and the gains untouched after.
#[test]
fn relay_mode_runs_an_autotune_and_ends_off() {
    let device = CDevice::start(&[]);
    let output = common::motiontune(&[
        "autotune",
        "--port",
        device.path(),
        "--method",
        "relay",
        "--rule",
        "tl-pid",
        "--hysteresis",
        "0",
        "--json",
    ]);
    assert!(output.status.success(), "{}", common::stderr(&output));
    let result: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let ku = result["ultimate_gain"].as_f64().expect("Ku");
    let tu = result["ultimate_period_s"].as_f64().expect("Tu");
    assert!(ku > 0.0 && tu > 0.0, "{result}");
    assert!(result["relay"]["period_spread"].as_f64().expect("spread") <= 0.05);
    assert_eq!(result["written"], false);

    let (link, info) = connect(device.path(), 0);
    let active = info
        .params
        .iter()
        .position(|p| p.name == "relay.active")
        .expect("relay.active declared");
    assert_eq!(get(&link, active as u8), 0.0, "relay left on");
    assert_eq!(get(&link, POS_KP), 20.0, "kp written without --write");
}

#[test]
fn streams_at_full_rate_with_no_tick_missing() {
    // Start near the u32 limit so the stream crosses the tick wrap-around.
    let first_tick = (u32::MAX - 5_000).to_string();
    let device = CDevice::start(&["--first-tick", &first_tick]);
    let (link, _) = connect(device.path(), 1);
    let times = common::assert_streams_without_a_gap(&link, 30_000, 10_000.0);
    let wrap_s = 2f64.powi(32) / 10_000.0;
    assert!(
        times[0] < wrap_s && wrap_s < times[times.len() - 1],
        "the stream from {} s to {} s should cross the wrap at {wrap_s} s",
        times[0],
        times[times.len() - 1]
    );
}

#[test]
fn record_keeps_every_tick_after_a_divider_change() {
    let device = CDevice::start(&[]);
    // A divider-10 stream first: the next recording must not inherit it.
    let (_, coarse) = common::record(device.path(), "1", "10");
    assert_eq!(coarse.len(), 1_000, "1 s at 1 kHz");
    let (header, rows) = common::record(device.path(), "2", "1");
    assert_eq!(header, common::SERVO_COLUMNS);
    assert_eq!(rows.len(), 20_000, "2 s at 10 kHz");
    let times: Vec<f64> = rows.iter().map(|row| row[0]).collect();
    common::assert_evenly_spaced(&times, 1e-4);
}

#[test]
fn set_is_clamped_applied_and_read_back() {
    let device = CDevice::start(&[]);
    let (link, _) = connect(device.path(), 0);
    assert_eq!(set(&link, POS_KP, 5000.0), 1000.0, "kp max is 1000");
    assert_eq!(set(&link, POS_KP, -1.0), 0.01, "kp min is 0.01");
    assert_eq!(set(&link, POS_KP, 42.5), 42.5);
    assert_eq!(set(&link, POS_KP, f32::NAN), 42.5, "NaN keeps the value");
    assert_eq!(get(&link, POS_KP), 42.5);

    // A plant change moves the derived time constant, which the device
    // reports unprompted.
    assert_eq!(set(&link, INERTIA, 2e-4), 2e-4);
    let time_constant = next_value(&link, TIME_CONSTANT);
    assert!((time_constant - 2.0).abs() < 1e-5, "{time_constant}");
}

#[test]
fn read_only_parameter_is_refused() {
    let device = CDevice::start(&[]);
    let (link, _) = connect(device.path(), 0);
    link.send(Command::Set {
        index: TIME_CONSTANT,
        value: 7.0,
    });
    let refusal = wait_for(&link, 2, |event| match event {
        Event::Refused { request, code } => Some((request, code)),
        _ => None,
    });
    assert_eq!(refusal, (host_type::SET, DeviceErrorCode::ReadOnly));
    assert_eq!(get(&link, TIME_CONSTANT), 1.0, "unchanged");
}

/// Waits for the answer to ENABLE and returns the tick it was applied at.
fn enable(link: &Link, on: bool) -> u32 {
    link.send(Command::Enable(on));
    wait_for(link, 2, |event| match event {
        Event::Status { flags, tick } if flags.enabled() == on => Some(tick),
        _ => None,
    })
}

#[test]
fn enable_drives_the_motor_to_its_setpoint_and_disable_stops_it_at_once() {
    let device = CDevice::start(&[]);
    let (link, _) = connect(device.path(), 10);
    assert_eq!(set(&link, SETPOINT, 0.5), 0.5);
    let enabled_at = enable(&link, true);
    // One second of device time later the loop has settled on the setpoint.
    let settled = wait_for(&link, 5, |event| match event {
        Event::Samples { batch, .. } if batch.first_tick >= i64::from(enabled_at) + 10_000 => {
            Some(batch.sample(0).to_vec())
        }
        _ => None,
    });
    assert!(
        (settled[POSITION] - 0.5).abs() < 0.005,
        "position {} after 1 s",
        settled[POSITION]
    );

    let disabled_at = i64::from(enable(&link, false));
    let mut checked = 0;
    while checked < 100 {
        let batch = wait_for(&link, 2, |event| match event {
            Event::Samples { batch, .. } => Some(batch),
            _ => None,
        });
        for k in 0..batch.len() {
            if batch.first_tick + k as i64 * i64::from(batch.stride) >= disabled_at {
                assert_eq!(batch.sample(k)[EFFORT], 0.0, "effort after ENABLE 0");
                checked += 1;
            }
        }
    }
}

#[test]
fn ping_is_answered_with_its_token() {
    let device = CDevice::start(&[]);
    {
        let mut port = RawPort::open(device.path());
        port.send(&Command::Ping { token: 0xDEAD_BEEF });
        let token = port.read_until(|m| match m {
            DeviceMessage::Pong { token } => Some(token),
            _ => None,
        });
        assert_eq!(token, 0xDEAD_BEEF);
    }
    let (link, _) = connect(device.path(), 0);
    let deadline = Instant::now() + Duration::from_secs(2);
    while link.health().snapshot().rtt_ms.is_none() {
        assert!(Instant::now() < deadline, "no PING round trip measured");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn watchdog_disables_a_silent_hosts_drive() {
    let device = CDevice::start(&["--watchdog-ms", "200"]);
    let mut port = RawPort::open(device.path());
    port.send(&Command::Enable(true));
    assert!(port.read_until(status_flags).enabled());
    let enabled = Instant::now();
    // Say nothing: the device must trip on its own and report it.
    let flags = port.read_until(status_flags);
    let silent = enabled.elapsed();
    assert!(!flags.enabled() && flags.watchdog_tripped(), "{flags:?}");
    assert!(
        silent >= Duration::from_millis(150),
        "tripped after only {silent:?}"
    );
    port.send(&Command::Enable(true));
    let flags = port.read_until(status_flags);
    assert!(
        flags.enabled() && !flags.watchdog_tripped(),
        "ENABLE 1 clears the trip: {flags:?}"
    );
    port.send(&Command::Enable(false));
    assert!(!port.read_until(status_flags).enabled());
}

#[test]
fn heartbeat_keeps_the_drive_enabled_and_disconnect_disables_it() {
    let device = CDevice::start(&[]);
    let (link, _) = connect(device.path(), 0);
    enable(&link, true);
    // Three watchdog periods: the link's PINGs must keep it alive.
    std::thread::sleep(Duration::from_millis(1500));
    for event in link.events().try_iter() {
        if let LinkEvent::Device(Event::Status { flags, .. }) = event {
            assert!(!flags.watchdog_tripped(), "tripped while the host pinged");
        }
    }
    drop(link);
    // The link sent ENABLE 0 on its way out; the next client sees it.
    let mut port = RawPort::open(device.path());
    port.send(&Command::Stream { divider: 0 });
    let flags = port.read_until(status_flags);
    assert!(!flags.enabled() && !flags.watchdog_tripped(), "{flags:?}");
}

#[test]
fn resyncs_after_garbage_and_counts_it() {
    let device = CDevice::start(&[]);
    let mut port = RawPort::open(device.path());
    port.send_bytes(b"\x13\x37garbage\x00");
    port.send_bytes(&[0x04, 0x01, 0xD1, 0xF2, 0x00]); // HELLO with a bad CRC
    port.send_bytes(&[0xFF; 300]); // longer than any frame
    port.send_bytes(&[0x00, 0x00]); // ends it, then an empty frame
    port.send(&Command::Hello);
    let refusal = |message: &DeviceMessage| {
        if let DeviceMessage::Error { .. } = message {
            panic!("the device refused something: {message:?}");
        }
    };
    let channels = port.read_until(|m| {
        refusal(&m);
        match m {
            DeviceMessage::Device { channel_count, .. } => Some(channel_count),
            _ => None,
        }
    });
    assert_eq!(channels, 4);
    port.send(&Command::Get { index: BAD_FRAMES });
    let bad_frames = port.read_until(|m| {
        refusal(&m);
        match m {
            DeviceMessage::Value { index, value } if index == BAD_FRAMES => Some(value),
            _ => None,
        }
    });
    assert_eq!(bad_frames, 4.0, "garbage, bad CRC, oversize, empty");
}

#[test]
fn refuses_what_it_must() {
    let device = CDevice::start(&[]);
    let mut port = RawPort::open(device.path());
    port.send(&Command::Get { index: 99 });
    port.send(&Command::Set {
        index: 99,
        value: 1.0,
    });
    port.send(&Command::Save);
    port.send_payload(&[host_type::SET, 0x01]); // no value
    port.send_payload(&[0x55]); // not a host message
    let mut refusals = Vec::new();
    while refusals.len() < 5 {
        refusals.push(port.read_until(|m| match m {
            DeviceMessage::Error { request, code } => Some((request, code)),
            _ => None,
        }));
    }
    assert_eq!(
        refusals,
        [(0x02, 3), (0x03, 3), (0x07, 5), (0x03, 2), (0x55, 1)]
    );
}

/// The Arduino build, Linux only: the AVR toolchain and core are Debian's
/// packages.
#[cfg(target_os = "linux")]
mod arduino {
    use super::*;

    const UNO_FLASH: u64 = 32_256;
    const UNO_RAM: u64 = 2_048;
    /// RAM left free for the stack: the deepest call chain (a HELLO answer
    /// being written) with the control interrupt on top of it.
    const STACK_HEADROOM: u64 = 256;

    #[test]
    fn arduino_sketch_builds_for_an_uno_against_the_stock_core() {
        let elf = common::firmware::uno_sketch();

        // Berkeley format: text, data, bss, ...
        let size = Process::new("avr-size")
            .arg(elf)
            .output()
            .expect("avr-size");
        let report = String::from_utf8_lossy(&size.stdout);
        let numbers: Vec<u64> = report
            .lines()
            .nth(1)
            .expect("avr-size row")
            .split_whitespace()
            .take(3)
            .map(|n| n.parse().expect("a size"))
            .collect();
        let (flash, ram) = (numbers[0] + numbers[1], numbers[1] + numbers[2]);
        assert!(flash <= UNO_FLASH, "{flash} bytes of flash:\n{report}");
        assert!(
            ram + STACK_HEADROOM <= UNO_RAM,
            "{ram} bytes of static RAM leave too little stack:\n{report}"
        );
    }
}

/// A link to `axis` of the native device at `path`, described.
fn connect_axis(path: &str, axis: &str) -> (Link, motiontune::protocol::DeviceInfo) {
    let settings = motiontune::protocol::adapter::AdapterSettings {
        native_axis: Some(axis.to_owned()),
        ..Default::default()
    };
    let target = motiontune::link::PortTarget::parse(path, 115_200).speaking(
        motiontune::protocol::adapter::ProtocolChoice::Only(
            motiontune::protocol::adapter::Protocol::Native,
        ),
        settings,
    );
    common::connect_to(target, 1, 5)
}

#[test]
fn a_gantry_s_two_axes_are_two_devices_over_its_one_port() {
    let device = CDevice::start(&["--axes", "2"]);
    let (x, info_x) = connect_axis(device.path(), "x");
    let (y, info_y) = connect_axis(device.path(), "y");
    assert_eq!(info_x.name, "motiontune C sim gantry x");
    assert_eq!(info_y.name, "motiontune C sim gantry y");
    for info in [&info_x, &info_y] {
        let channels: Vec<_> = info
            .channels
            .iter()
            .map(|c| (c.name.as_str(), c.role))
            .collect();
        assert_eq!(
            channels,
            [
                ("setpoint", ChannelRole::Reference),
                ("position", ChannelRole::Feedback),
                ("velocity", ChannelRole::Other),
                ("effort", ChannelRole::Effort),
            ]
        );
        let params: Vec<_> = info.params.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            params,
            [
                "kp",
                "ki",
                "kd",
                "output_limit",
                "setpoint",
                "link.bad_frames"
            ]
        );
    }
    // Each axis's parameters are its own: y's kp written, x's untouched.
    assert_eq!(set(&y, 0, 35.0), 35.0);
    assert_eq!(get(&x, 0), 20.0);
    // The device has one output: x switches it on for both.
    x.send(Command::Enable(true));
    for link in [&x, &y] {
        wait_for(link, 2, |event| match event {
            Event::Status { flags, .. } if flags.enabled() => Some(()),
            _ => None,
        });
    }
    assert_eq!(set(&y, 4, 0.5), 0.5);
    let (times_x, times_y) = std::thread::scope(|scope| {
        let first = scope.spawn(|| common::assert_streams_without_a_gap(&x, 10_000, 10_000.0));
        let second = common::assert_streams_without_a_gap(&y, 10_000, 10_000.0);
        (first.join().expect("x streamed"), second)
    });
    assert!(times_x.len() >= 10_000 && times_y.len() >= 10_000);
    let position = |link: &Link| {
        wait_for(link, 2, |event| match event {
            Event::Samples { batch, .. } if !batch.is_empty() => {
                Some(batch.sample(batch.len() - 1)[POSITION])
            }
            _ => None,
        })
    };
    assert!((position(&y) - 0.5).abs() < 0.01, "y moved to its setpoint");
    assert!(position(&x).abs() < 0.01, "x held where it was");
    // A request for a parameter the axis does not have is refused there.
    y.send(Command::Get { index: 6 });
    let refused = wait_for(&y, 2, |event| match event {
        Event::Refused { request, code } => Some((request, code)),
        _ => None,
    });
    assert_eq!(refused, (host_type::GET, DeviceErrorCode::BadIndex));
    // Letting go of x switches the one output off (x switched it on); y
    // streams on and hears it.
    drop(x);
    wait_for(&y, 2, |event| match event {
        Event::Status { flags, .. } if !flags.enabled() => Some(()),
        _ => None,
    });
    common::assert_streams_without_a_gap(&y, 2_000, 10_000.0);
    drop(y);

    // From the command line: the port twice, one axis each, one file.
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("gantry.csv");
    let output = common::motiontune(&[
        "record",
        "--seconds",
        "1",
        "--out",
        out.to_str().expect("utf8 path"),
        "--port",
        device.path(),
        "--port",
        device.path(),
        "--axis",
        "x",
        "--axis",
        "y",
    ]);
    assert!(output.status.success(), "{}", common::stderr(&output));
    for axis in ["x", "y"] {
        let options = motiontune::record::read::ReadOptions {
            device: Some(format!("motiontune C sim gantry {axis}")),
            ..Default::default()
        };
        let file = motiontune::record::read::open(&out, &options).expect("reads");
        assert!(file.problems.is_empty(), "{:?}", file.problems);
        assert_eq!(file.times.len(), 10_000, "axis {axis}");
        common::assert_evenly_spaced(&file.times, 1e-4);
    }
}

#[test]
fn the_window_connects_a_gantry_s_axes_as_devices_and_esc_stops_them() {
    use egui_kittest::kittest::Queryable;
    let device = CDevice::start(&["--axes", "2"]);
    let mut harness = common::app_on_port(device.path());
    common::wait_connected(&mut harness);
    let whole = harness.state().session().and_then(|s| s.info.clone());
    assert_eq!(
        whole.map(|i| i.channels.len()),
        Some(8),
        "the whole device first"
    );
    harness
        .get_by_label("Connect axes x, y of motiontune C sim gantry")
        .click_accesskit();
    harness.step();
    common::wait_devices_connected(&mut harness, 2);
    let labels: Vec<String> = harness
        .state()
        .devices()
        .iter()
        .map(|d| d.label().to_owned())
        .collect();
    assert_eq!(
        labels,
        ["motiontune C sim gantry x", "motiontune C sim gantry y"]
    );
    common::wait_every_device_streaming(&mut harness, 0.2);
    harness.get_by_label("Enable output").click_accesskit();
    harness.step();
    common::step_until(&mut harness, "the output on", |h| {
        h.state()
            .devices()
            .iter()
            .all(|d| d.session.output_enabled())
    });
    harness.key_press(egui::Key::Escape);
    harness.step();
    common::step_until(&mut harness, "every axis off", |h| {
        h.state()
            .devices()
            .iter()
            .all(|d| !d.session.output_enabled())
    });
}
