//! The SimpleFOC adapter held to the real library: Arduino-FOC 2.4.0's
//! Commander, `FOCMotor::monitor()` and `BLDCMotor` built on the host and
//! run as a device behind a pseudo-terminal (`tests/common/simplefoc_real.rs`),
//! its own variables read to prove what the app's commands did to it.
//! `motiontune params` lists the values the firmware holds and its writes
//! reach the firmware's variables; the link streams `monitor()`'s lines and
//! moves the motor; sketch configurations the adapter supports (another
//! letter, verbosity 1 and 3, text while it boots) are described; and the
//! emulated sketch (`src/sim/firmware/simplefoc.rs`) answers every command
//! the adapter sends in the real library's format.
//! Skipped, with a line on stderr, where the library's sources are missing.
#![cfg(unix)]

mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use common::{
    Sketch, SketchConfig, assert_lists_what_the_firmware_holds, connect_simplefoc,
    simplefoc_params, wait_for,
};
use motiontune::link::Link;
use motiontune::protocol::simplefoc::motor_params;
use motiontune::protocol::{Command, Event};

#[test]
fn params_lists_the_values_the_firmware_holds() {
    let Some(mut sketch) = SketchConfig::default().start() else {
        return;
    };
    let before = sketch.state();
    let listed = simplefoc_params(sketch.path(), &[]);
    assert_lists_what_the_firmware_holds(&listed, &before);
    // Reading them all went through the motor's command handler.
    let after = sketch.state();
    assert!(
        after.motor_commands >= 29,
        "{} motor commands",
        after.motor_commands
    );
}

#[test]
fn a_write_with_params_changes_the_firmware_variable() {
    let Some(mut sketch) = SketchConfig::default().start() else {
        return;
    };
    let writes = [
        ("vel.P", 0.25),
        ("angle.P", 12.5),
        ("limit.velocity", 15.0),
        ("vel.Tf", 0.02),
    ];
    let args: Vec<String> = writes
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let listed = simplefoc_params(sketch.path(), &args);
    let state = sketch.state();
    for (name, value) in writes {
        assert_eq!(state.param(name), value, "{name}");
        let shown = listed.iter().find(|(n, _)| n == name).expect("listed").1;
        assert_eq!(shown, value, "{name}");
    }
    // The Commander's velocity limit also limits the angle loop
    // (FOCMotor::updateVelocityLimit).
    assert_eq!(state.p_angle.limit, 15.0);
}

#[test]
fn params_reads_a_sketch_under_another_letter_in_verbosity_1_and_3() {
    for verbose in [1, 3] {
        let config = SketchConfig {
            letter: 'N',
            verbose,
            // A second handler, as the B_G431B_ESC1 example has, is left
            // alone.
            target_letter: Some('T'),
            ..SketchConfig::default()
        };
        let Some(mut sketch) = config.start() else {
            return;
        };
        let listed = simplefoc_params(sketch.path(), &["--simplefoc-letter", "N", "angle.P=7"]);
        let after = sketch.state();
        assert_eq!(after.p_angle.p, 7.0, "@{verbose}");
        assert_lists_what_the_firmware_holds(&listed, &after);
        assert_eq!(after.target_commands, 0);
    }
}

#[test]
fn params_passes_over_the_text_a_sketch_printed_while_it_booted() {
    let config = SketchConfig {
        boot_ms: 300,
        ..SketchConfig::default()
    };
    let Some(mut sketch) = config.start() else {
        return;
    };
    let listed = simplefoc_params(sketch.path(), &[]);
    let state = sketch.state();
    assert_lists_what_the_firmware_holds(&listed, &state);
}

#[test]
fn a_sketch_printing_more_decimals_carries_finer_gains() {
    // docs/DEVICES.md suggests `command.decimal_places = 6` for this.
    let config = SketchConfig {
        decimals: 6,
        ..SketchConfig::default()
    };
    let Some(mut sketch) = config.start() else {
        return;
    };
    let listed = simplefoc_params(sketch.path(), &["vel.P=0.123457", "vel.Tf=0.000123"]);
    let state = sketch.state();
    for (name, value) in [("vel.P", 0.123_457), ("vel.Tf", 0.000_123)] {
        assert_eq!(state.param(name), value, "{name}");
        let shown = listed.iter().find(|(n, _)| n == name).expect("listed").1;
        assert_eq!(shown, value, "{name}");
    }
}

/// The values of the next `count` samples the link delivers.
fn samples(link: &Link, count: usize) -> Vec<Vec<f32>> {
    let mut rows = Vec::new();
    while rows.len() < count {
        let batch = wait_for(link, 5, |event| match event {
            Event::Samples { batch, .. } => Some(batch),
            _ => None,
        });
        rows.extend((0..batch.len()).map(|k| batch.sample(k).to_vec()));
    }
    rows
}

#[test]
fn the_link_streams_the_monitor_and_moves_the_motor() {
    let Some(mut sketch) = SketchConfig::default().start() else {
        return;
    };
    let (link, info) = connect_simplefoc(sketch.path(), 1);
    let rows = samples(&link, 200);
    assert!(rows.iter().all(|row| row.len() == 7), "{:?}", rows[0]);
    let state = sketch.state();
    assert_eq!(state.monitor_variables, 0b111_1111);
    // Lines of about 50 bytes from a 10 kHz loop within 70 % of 115200
    // baud: one in 60 to 80 calls.
    assert!(
        (50..=80).contains(&state.monitor_downsample),
        "MMD{}",
        state.monitor_downsample
    );

    let target = info
        .params
        .iter()
        .position(|p| p.name == "target")
        .expect("target described") as u8;
    link.send(Command::Set {
        index: target,
        value: 1.5,
    });
    let state = sketch.wait_for("the motor to reach the target", |s| {
        (s.shaft_angle - 1.5).abs() < 0.01
    });
    assert_eq!(state.target, 1.5);
    // The stream shows it too: the target (first) and the angle (last).
    let deadline = Instant::now() + Duration::from_secs(10);
    while !samples(&link, 1)
        .iter()
        .any(|row| row[0] == 1.5 && (row[6] - 1.5).abs() < 0.02)
    {
        assert!(
            Instant::now() < deadline,
            "the stream never showed the move"
        );
    }
    let health = link.health().snapshot();
    assert_eq!(health.framing_errors + health.message_errors, 0);
}

#[test]
fn enable_and_disable_switch_the_motor_and_its_driver() {
    let config = SketchConfig {
        enabled: false,
        ..SketchConfig::default()
    };
    let Some(mut sketch) = config.start() else {
        return;
    };
    assert_eq!(sketch.state().enabled, 0);
    let (link, _) = connect_simplefoc(sketch.path(), 0);
    let found = wait_for(&link, 5, |event| match event {
        Event::Status { flags, .. } => Some(flags.enabled()),
        _ => None,
    });
    assert!(!found, "the description says the motor is off");
    for on in [true, false, true] {
        link.send(Command::Enable(on));
        let enabled = wait_for(&link, 5, |event| match event {
            Event::Status { flags, .. } => Some(flags.enabled()),
            _ => None,
        });
        assert_eq!(enabled, on);
        let state = sketch.state();
        assert_eq!(state.enabled, i32::from(on));
        assert_eq!(state.driver_enabled, on);
    }
}

/// A person at a serial terminal typing at a Commander.
struct Terminal {
    port: Box<dyn serialport::SerialPort>,
    received: Vec<u8>,
}

impl Terminal {
    fn open(path: &str) -> Self {
        let port = serialport::new(path, 115_200)
            .timeout(Duration::from_millis(20))
            .open()
            .expect("open the pty");
        Self {
            port,
            received: Vec::new(),
        }
    }

    /// Sends `line` and returns the lines the Commander printed for it
    /// (monitoring lines left out), read up to the answer to a `?` sent
    /// after it (whose last handler is the sketch's target handler), so
    /// nothing depends on timing.
    fn exchange(&mut self, line: &str) -> Vec<String> {
        self.port
            .write_all(format!("{line}\n?\n").as_bytes())
            .expect("write");
        let deadline = Instant::now() + Duration::from_secs(10);
        let end = loop {
            if let Some(at) = find(&self.received, SCAN_END) {
                break at;
            }
            assert!(Instant::now() < deadline, "no answer to {line:?}");
            let mut buf = [0u8; 4096];
            match self.port.read(&mut buf) {
                Ok(n) => self.received.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(e) => panic!("read: {e}"),
            }
        };
        let reply_end = self.received[..end]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |at| at + 1);
        let text = String::from_utf8_lossy(&self.received[..reply_end]).into_owned();
        self.received.drain(..end + SCAN_END.len());
        text.split_inclusive('\n')
            .filter(|l| !l.contains('\t') && !l.ends_with(":motor\r\n"))
            .map(String::from)
            .collect()
    }
}

/// The end of the `?` reply: the target handler, registered last.
const SCAN_END: &[u8] = b":target\r\n";

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A reply with every number replaced by `#`: the two sketches hold other
/// values, the format is what has to agree.
fn shape(reply: &str) -> String {
    let mut shaped = String::new();
    let mut chars = reply.chars().peekable();
    while let Some(c) = chars.next() {
        let starts_number =
            c.is_ascii_digit() || (c == '-' && chars.peek().is_some_and(char::is_ascii_digit));
        if !starts_number {
            shaped.push(c);
            continue;
        }
        while chars.next_if(|d| d.is_ascii_digit() || *d == '.').is_some() {}
        shaped.push('#');
    }
    shaped
}

/// Every command the adapter sends (each parameter read and written, the
/// status, the monitor's variables and rate, the Commander's own), every
/// other motor command (R, I, K, S, W, F, the motion time and downsample,
/// the target with limits), lines ended by `\r`, and the target handler's,
/// in each verbosity that prints; then `MFR`, the sensor alignment again.
/// (`?` ends every exchange, so it is compared every time.)
fn commands() -> Vec<String> {
    let params = motor_params();
    let mut commands = vec!["MMD0".to_owned()];
    for verbose in ["@2", "@1", "@3"] {
        commands.push(verbose.to_owned());
        commands.extend(params.iter().map(|p| format!("M{}", p.read_letters())));
        for param in &params {
            let value = if param.name == "motion" { "2" } else { "1" };
            commands.push(format!("M{}{value}", param.letters));
        }
        commands.extend(
            [
                "ME0",
                "ME1",
                "ME",
                "MMS1111111",
                "MMS",
                "MMD10",
                "MMD0",
                "MT",
                "M",
                "#",
                "MMG5",
                "MMG7",
                "MMG9",
                "MX",
                "MVX",
                "MLX",
                "@",
                "#12",
                "MVP",
                "#3",
                "MR",
                "MI",
                "MID",
                "MIQ",
                "MK",
                "MSM",
                "MSE",
                "MWT",
                "MWC",
                "MWX",
                "MFP",
                "MFC",
                "MFC100000",
                "MFX",
                "MCT",
                "MCD",
                "MCD0",
                "MTT",
                "MM#",
                "MM#4",
                "MMC",
                "MMS1100011",
                "M-0.5 3 4",
                "M0",
                "MLV20",
                "MMD-1",
                "MMD0",
                "MVP\r",
                "MMS\r",
                "MC\r",
                "@\r",
                "TC",
                "TE",
                "TT",
                "TCD",
                "T",
                "T1.5",
                "TVP",
                "T0",
            ]
            .map(String::from),
        );
    }
    commands.extend(["@2", "MFR", "MSE"].map(String::from));
    commands
}

#[test]
fn the_emulated_sketch_answers_in_the_real_library_s_format() {
    let config = SketchConfig {
        target_letter: Some('T'),
        ..SketchConfig::default()
    };
    let sketches: Vec<Sketch> = config.start_both().collect();
    let [real_sketch, emulated] = sketches.as_slice() else {
        return;
    };
    let mut real = Terminal::open(real_sketch.path());
    let mut emulator = Terminal::open(emulated.path());
    // What each printed before (boot messages, monitoring) is not compared.
    real.exchange("MMD0");
    emulator.exchange("MMD0");
    let mut differences = Vec::new();
    for command in commands() {
        let real_reply = real.exchange(&command);
        let emulated_reply = emulator.exchange(&command);
        if command == "MFR" {
            assert_eq!(real_reply.last().map(String::as_str), Some("done\r\n"));
        }
        let shapes = |lines: &[String]| lines.iter().map(|l| shape(l)).collect::<Vec<_>>();
        if shapes(&real_reply) != shapes(&emulated_reply) {
            differences.push(format!(
                "{command:?}: real {real_reply:?}, emulated {emulated_reply:?}"
            ));
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// The emulator's sketch starts as the library's does with its defaults
/// (defaults.h, FOCMotor.h:254-292): the velocity ramp not set, the angle
/// loop P only with no ramp and no filter, the current filters at
/// 1/(2π·300), the limits pushed into the PIDs by `init()`.
#[test]
fn the_emulated_sketch_starts_with_the_library_s_defaults() {
    let config = SketchConfig {
        library_defaults: true,
        ..SketchConfig::default()
    };
    let mut states: Vec<_> = config.start_both().map(|mut s| s.state()).collect();
    let [real, emulated] = states.as_mut_slice() else {
        return;
    };
    let pids = |s: &common::FirmwareState| {
        [s.pid_velocity, s.p_angle, s.pid_current_q, s.pid_current_d]
            .map(|p| (p.p, p.i, p.d, p.output_ramp, p.limit))
    };
    assert_eq!(pids(emulated), pids(real));
    let filters = |s: &common::FirmwareState| {
        [
            s.lpf_velocity_tf,
            s.lpf_angle_tf,
            s.lpf_current_q_tf,
            s.lpf_current_d_tf,
        ]
    };
    assert_eq!(filters(emulated), filters(real));
    let rest = |s: &common::FirmwareState| {
        (
            s.voltage_limit,
            s.current_limit,
            s.velocity_limit,
            s.controller,
            s.torque_controller,
            s.enabled,
            s.monitor_downsample,
            s.monitor_variables,
            s.monitor_decimals,
            s.verbose,
            s.decimal_places,
        )
    };
    assert_eq!(rest(emulated), rest(real));
    assert_eq!(real.pid_velocity.output_ramp, -12345.0, "NOT_SET");
}

/// The text `setup()` prints, as a client opening the port meets it.
fn boot_text(sketch: &Sketch) -> String {
    let mut port = serialport::new(sketch.path(), 115_200)
        .timeout(Duration::from_millis(20))
        .open()
        .expect("open the pty");
    let mut text = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while find(&text, b"serial terminal:\r\n").is_none() {
        assert!(Instant::now() < deadline, "{}: {text:?}", sketch.name());
        let mut buf = [0u8; 1024];
        match port.read(&mut buf) {
            Ok(n) => text.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(e) => panic!("read: {e}"),
        }
    }
    String::from_utf8_lossy(&text).into_owned()
}

/// The emulator's `setup()` prints the library's text (FOCMotor.cpp:91,
/// BLDCMotor.cpp:73,102, FOCMotor.cpp:849-923, 811-815) and the sketch's.
#[test]
fn the_emulated_sketch_boots_with_the_library_s_text() {
    let config = SketchConfig {
        monitor_downsample: 0,
        ..SketchConfig::default()
    };
    let texts: Vec<String> = config
        .start_both_booting()
        .map(|sketch| boot_text(&sketch))
        .collect();
    if let [real, emulated] = texts.as_slice() {
        assert_eq!(emulated, real);
    }
}

/// Lines typed in the console reach the real Commander once, its replies
/// come back as text (never as a value or a sample), the stream goes on,
/// and a typed write is read back as the firmware holds it.
#[test]
fn typed_lines_reach_the_real_commander_once_and_its_replies_are_text() {
    let Some(mut sketch) = SketchConfig::default().start() else {
        return;
    };
    let proxy = common::Proxy::start_framed(sketch.path(), common::Framing::Lines);
    let (link, info) = connect_simplefoc(&proxy.path, 1);
    proxy.keep_host_bytes();
    let vel_p = info
        .params
        .iter()
        .position(|p| p.name == "vel.P")
        .expect("vel.P described") as u8;
    let held = sketch.state().pid_velocity.p;
    samples(&link, 20);

    link.send(Command::Text("MVP".to_owned()));
    let reply = wait_for(&link, 5, |event| match event {
        Event::Text { message, .. } if message.starts_with("MVP") => Some(message),
        Event::Value { index, .. } if index == vel_p => panic!("a typed read taken for a value"),
        _ => None,
    });
    let printed: f32 = reply["MVP".len()..]
        .parse()
        .expect("a number after the echo");
    assert!(
        (printed - held).abs() <= held.abs() * 1e-6,
        "{reply} for {held}"
    );

    link.send(Command::Text("MVP0.25".to_owned()));
    let value = wait_for(&link, 5, |event| match event {
        Event::Value { index, value } if index == vel_p => Some(value),
        _ => None,
    });
    assert_eq!(value, 0.25, "read back after the typed write");
    assert_eq!(sketch.state().pid_velocity.p, 0.25);
    assert!(samples(&link, 20).iter().all(|row| row.len() == 7));

    // Each typed line once; then the adapter's own read of what the write
    // changed.
    let sent: Vec<String> = proxy
        .host_lines()
        .into_iter()
        .filter(|line| line.starts_with("MVP"))
        .collect();
    assert_eq!(sent, ["MVP", "MVP0.25", "MVP"]);
    let bytes = proxy.log.host_bytes.lock().expect("log lock").clone();
    assert!(bytes.windows(4).any(|w| w == b"MVP\n"), "ended by \\n");
    let health = link.health().snapshot();
    assert_eq!(health.framing_errors + health.message_errors, 0);
}

/// A sketch with two motors under M and N, each tagging its monitoring
/// lines with its letter, the Commander in @2 with 3 decimals as sketches
/// leave it.
fn two_motors() -> SketchConfig {
    SketchConfig {
        monitor_start_char: Some('M'),
        second_letter: Some('N'),
        ..SketchConfig::default()
    }
}

/// A link to the motor under `letter` of the sketch on `path`, its
/// description, and the text it said before it.
fn connect_motor(
    path: &str,
    letter: char,
) -> (Link, motiontune::protocol::DeviceInfo, Vec<String>) {
    use motiontune::link::{LinkOptions, PortTarget};
    use motiontune::protocol::adapter::{AdapterSettings, Protocol, ProtocolChoice};
    use motiontune::protocol::simplefoc::SimpleFocSettings;
    let settings = AdapterSettings {
        simplefoc: SimpleFocSettings {
            letter,
            ..SimpleFocSettings::default()
        },
        ..AdapterSettings::default()
    };
    let target = PortTarget::parse(path, 115_200)
        .speaking(ProtocolChoice::Only(Protocol::SimpleFoc), settings);
    let mut options = LinkOptions::new(target);
    options.stream_divider = 1;
    let link = Link::open(options);
    let mut said = Vec::new();
    let info = wait_for(&link, 10, |event| match event {
        Event::Described(info) => Some(info),
        Event::Text { message, .. } => {
            said.push(message);
            None
        }
        _ => None,
    });
    (link, info, said)
}

fn param_index(info: &motiontune::protocol::DeviceInfo, name: &str) -> u8 {
    info.params
        .iter()
        .position(|p| p.name == name)
        .unwrap_or_else(|| panic!("{name} described")) as u8
}

#[test]
fn two_motors_of_one_sketch_are_two_devices_over_one_port() {
    // Two motors under M and N, each tagging its monitoring lines with its
    // letter; the Commander in @2 with 3 decimals, as sketches leave it.
    let Some(mut sketch) = two_motors().start() else {
        return;
    };
    let (m, m_info, said) = connect_motor(sketch.path(), 'M');
    assert!(
        said.iter()
            .any(|text| text.contains("other motors (N 'motor 2')")),
        "{said:?}"
    );
    let (n, n_info, _) = connect_motor(sketch.path(), 'N');
    // Each described its own motor's gains.
    let value = |info: &motiontune::protocol::DeviceInfo, name: &str| {
        info.params[usize::from(param_index(info, name))].value
    };
    assert_eq!(value(&m_info, "vel.P"), 0.2);
    assert_eq!(value(&n_info, "vel.P"), 0.3);
    assert_eq!(value(&n_info, "limit.voltage"), 5.0);

    // A gain written to M lands on M alone.
    m.send(Command::Set {
        index: param_index(&m_info, "vel.P"),
        value: 0.25,
    });
    let state = sketch.wait_for("M's vel.P", |s| s.pid_velocity.p == 0.25);
    let second = |state: &common::FirmwareState| state.second.clone().expect("a second motor");
    assert_eq!(second(&state).velocity_p, 0.3);

    // N turns to 2 rad; M holds 0; each stream shows its own motor.
    n.send(Command::Set {
        index: param_index(&n_info, "target"),
        value: 2.0,
    });
    let state = sketch.wait_for("N at its target", |s| {
        (second(s).plant_angle - 2.0).abs() < 0.02
    });
    assert!(
        state.plant_angle.abs() < 0.05,
        "M moved: {}",
        state.plant_angle
    );
    assert_eq!(state.target, 0.0);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !samples(&n, 1).iter().any(|row| (row[6] - 2.0).abs() < 0.05) {
        assert!(
            Instant::now() < deadline,
            "N's stream never showed the move"
        );
    }
    let rows = samples(&m, 50);
    assert!(
        rows.iter().all(|row| row[0] == 0.0 && row[6].abs() < 0.05),
        "M's stream shows N: {:?}",
        rows.last()
    );
    for link in [&m, &n] {
        let health = link.health().snapshot();
        assert_eq!(
            health.framing_errors + health.message_errors,
            0,
            "{health:?}"
        );
    }

    // M lets go first: N's session keeps @3 and streams on.
    drop(m);
    std::thread::sleep(Duration::from_millis(300));
    let state = sketch.state();
    assert_eq!((state.verbose, state.decimal_places), (3, 12));
    assert_eq!(samples(&n, 20).len(), 20);
    // The last lets go: the Commander is as the first link found it.
    drop(n);
    let state = sketch.wait_for("the Commander put back", |s| s.verbose == 2);
    assert_eq!(state.decimal_places, 3);
}

#[test]
fn a_motor_whose_monitoring_names_no_motor_is_told_what_to_set() {
    // M prints its monitoring lines bare; N tags its own.
    let config = SketchConfig {
        second_letter: Some('N'),
        ..SketchConfig::default()
    };
    let Some(sketch) = config.start() else {
        return;
    };
    let (m, _, _) = connect_motor(sketch.path(), 'M');
    let (n, _, _) = connect_motor(sketch.path(), 'N');
    let told = wait_for(&m, 10, |event| match event {
        Event::Text { message, .. } if message.contains("monitor_start_char") => Some(message),
        _ => None,
    });
    assert!(told.contains("Commander letter"), "{told}");
    // N's own lines still reach N, and none of M's bare ones did.
    let rows = samples(&n, 50);
    assert!(rows.iter().all(|row| row.len() == 7));
    assert_eq!(m.health().snapshot().message_errors, 0);
}

#[test]
fn params_and_record_take_both_motors_of_one_port() {
    let Some(mut sketch) = two_motors().start() else {
        return;
    };
    let path = sketch.path().to_owned();
    let both = ["--port", &path, "--port", &path];
    let letters = ["--simplefoc-letter", "M", "--simplefoc-letter", "N"];
    let mut args = vec!["params", "--json"];
    args.extend(both);
    args.extend(letters);
    let output = common::motiontune(&args);
    assert!(output.status.success(), "{}", common::stderr(&output));
    let devices: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let gain = |device: &serde_json::Value| {
        device["params"]
            .as_array()
            .and_then(|params| params.iter().find(|p| p["name"] == "vel.P"))
            .and_then(|p| p["value"].as_f64())
            .map(|value| value as f32)
    };
    let devices = devices.as_array().expect("one entry per motor");
    assert_eq!(devices.len(), 2);
    assert_eq!(gain(&devices[0]), Some(0.2));
    assert_eq!(gain(&devices[1]), Some(0.3));

    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("motors.csv");
    let out_arg = out.to_str().expect("utf-8 path");
    let mut args = vec!["record", "--seconds", "1", "--out", out_arg];
    args.extend(both);
    args.extend(letters);
    args.extend(["--label", "left", "--label", "right"]);
    let output = common::motiontune(&args);
    assert!(output.status.success(), "{}", common::stderr(&output));
    let text = std::fs::read_to_string(&out).expect("recording");
    let header = text.lines().next().expect("header");
    for label in ["left", "right"] {
        assert!(header.contains(&format!("{label}.time_s")), "{header}");
        assert!(header.contains(&format!("{label}.angle")), "{header}");
    }
    let said = common::stderr(&output);
    for label in ["left", "right"] {
        // "left (SimpleFOC motor 'M'): 118 samples, …; right (…"
        let samples: usize = said
            .split(&format!("{label} (SimpleFOC motor '"))
            .nth(1)
            .and_then(|rest| rest.split("): ").nth(1)?.split(' ').next()?.parse().ok())
            .unwrap_or_else(|| panic!("no count for {label} in {said}"));
        assert!(samples > 50, "{label}: {samples} samples\n{said}");
    }
    // Both put back: the Commander as the sketch left it.
    let state = sketch.wait_for("the Commander put back", |s| s.verbose == 2);
    assert_eq!(state.decimal_places, 3);
    // The same motor twice is refused, naming it.
    let mut args = vec!["params"];
    args.extend(both);
    args.extend(["--simplefoc-letter", "M", "--simplefoc-letter", "M"]);
    let output = common::motiontune(&args);
    assert!(!output.status.success());
    assert!(
        common::stderr(&output).contains("motor M is already connected"),
        "{}",
        common::stderr(&output)
    );
    // One device per command elsewhere: a second letter is refused.
    let output = common::motiontune(&[
        "params",
        "--port",
        &path,
        "--simplefoc-letter",
        "M",
        "--simplefoc-letter",
        "N",
    ]);
    assert!(!output.status.success());
    assert!(
        common::stderr(&output).contains("--simplefoc-letter was given 2 times"),
        "{}",
        common::stderr(&output)
    );
}

/// The window connected to the motor under M of the sketch on `path`.
fn window_on_motor_m(path: &str) -> egui_kittest::Harness<'static, motiontune::app::App> {
    use motiontune::protocol::adapter::{AdapterSettings, Protocol, ProtocolChoice};
    let target = motiontune::link::PortTarget::parse(path, 115_200).speaking(
        ProtocolChoice::Only(Protocol::SimpleFoc),
        AdapterSettings::default(),
    );
    let mut harness = common::app_on(target);
    common::wait_connected(&mut harness);
    harness
}

#[test]
fn the_window_adds_the_sketch_s_second_motor_and_esc_stops_both() {
    use egui_kittest::kittest::Queryable;
    let Some(mut sketch) = two_motors().start() else {
        return;
    };
    let mut harness = window_on_motor_m(sketch.path());
    // The second motor: its letter typed in the bar over the first's, as
    // a user does, then Add device.
    common::type_into_text_field(&mut harness, "Motor letter", "N");
    harness.step();
    assert_eq!(
        harness
            .get_by_role_and_label(egui::accesskit::Role::TextInput, "Motor letter")
            .value()
            .as_deref(),
        Some("N")
    );
    harness.get_by_label("Add device").click_accesskit();
    harness.step();
    common::wait_devices_connected(&mut harness, 2);
    let labels: Vec<String> = harness
        .state()
        .devices()
        .iter()
        .map(|d| d.label().to_owned())
        .collect();
    assert_eq!(labels, ["SimpleFOC motor 'M'", "SimpleFOC motor 'N'"]);
    common::wait_every_device_streaming(&mut harness, 0.2);
    // Both motors run; Esc switches both off in the firmware.
    let state = sketch.state();
    assert_eq!((state.enabled, second_enabled(&state)), (1, 1));
    harness.key_press(egui::Key::Escape);
    harness.step();
    sketch.wait_for("both motors off", |s| {
        s.enabled == 0 && second_enabled(s) == 0
    });
}

fn second_enabled(state: &common::FirmwareState) -> i32 {
    state.second.as_ref().map_or(-1, |second| second.enabled)
}

#[test]
fn two_motors_on_one_uart_share_what_it_carries() {
    // A UART of 115200 baud behind Serial: a full one stalls the loop.
    let config = SketchConfig {
        baud: Some(115_200),
        ..two_motors()
    };
    let Some(mut sketch) = config.start() else {
        return;
    };
    let (m, _, _) = connect_motor(sketch.path(), 'M');
    let alone = sketch.wait_for("M streaming", |s| s.monitor_downsample != 100);
    let (n, _, _) = connect_motor(sketch.path(), 'N');
    // Each motor now prints half as often as M did alone.
    let state = sketch.wait_for("both plans for half the port", |s| {
        s.monitor_downsample >= 2 * alone.monitor_downsample - 1
            && s.second
                .as_ref()
                .is_some_and(|n| n.monitor_downsample >= 2 * alone.monitor_downsample - 1)
    });
    // What the sketch wrote stays under the 70 % the plans share (a
    // loop slowed by a busy host writes less, never more); without the
    // share both plans ask for 140 %, and the UART runs full.
    let before = (state.bytes_out, state.micros);
    std::thread::sleep(Duration::from_secs(2));
    let after = sketch.state();
    let seconds = (after.micros - before.1) as f64 / 1e6;
    let used = (after.bytes_out - before.0) as f64 / seconds / 11_520.0;
    assert!(
        used < 0.8,
        "the UART carried {:.0} % of what it can",
        used * 100.0
    );
    assert_eq!(samples(&m, 50).len(), 50);
    assert_eq!(samples(&n, 50).len(), 50);
    // N lets go: M takes the whole port again.
    drop(n);
    sketch.wait_for("M alone again", |s| {
        s.monitor_downsample <= alone.monitor_downsample + 1
    });
}

#[test]
fn the_commander_is_put_back_whichever_motor_closes_first() {
    let config = SketchConfig {
        verbose: 1,
        decimals: 4,
        ..two_motors()
    };
    let Some(mut sketch) = config.start() else {
        return;
    };
    let before = sketch.state();
    // Both at once, as Reconnect last devices opens them.
    let path = sketch.path().to_owned();
    let second = path.clone();
    let n = std::thread::spawn(move || connect_motor(&second, 'N'));
    let (m, m_info, _) = connect_motor(&path, 'M');
    let (n, n_info, _) = n.join().expect("N connects");
    assert_eq!(
        m_info.params[usize::from(param_index(&m_info, "vel.P"))].value,
        0.2
    );
    assert_eq!(
        n_info.params[usize::from(param_index(&n_info, "vel.P"))].value,
        0.3
    );
    assert_eq!(samples(&m, 20).len(), 20);
    assert_eq!(samples(&n, 20).len(), 20);
    drop(n);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(sketch.state().verbose, 3, "M's session goes on");
    assert_eq!(samples(&m, 20).len(), 20);
    drop(m);
    let state = sketch.wait_for("the Commander put back", |s| s.verbose == 1);
    assert_eq!(state.decimal_places, 4);
    // Each motor as found: its monitoring, output, mode and target (the
    // plant's angle aside, which the motor holds).
    let as_found = |s: &common::FirmwareState| {
        let second = s.second.clone().map(|mut n| {
            n.plant_angle = 0.0;
            n.motor_commands = 0;
            n
        });
        (
            (s.monitor_downsample, s.monitor_variables, s.enabled),
            (s.controller, s.target, s.pid_velocity.p),
            second,
        )
    };
    assert_eq!(as_found(&state), as_found(&before));
}

#[test]
fn the_device_list_offers_the_sketch_s_other_motor() {
    use egui_kittest::kittest::Queryable;
    let Some(sketch) = two_motors().start() else {
        return;
    };
    let mut harness = window_on_motor_m(sketch.path());
    // M's description names N: one click adds it over the same port.
    harness
        .get_by_label("Add motor N of SimpleFOC motor 'M'")
        .click_accesskit();
    harness.step();
    common::wait_devices_connected(&mut harness, 2);
    let n = harness
        .state()
        .devices()
        .iter()
        .nth(1)
        .map(|d| d.label().to_owned());
    assert_eq!(n.as_deref(), Some("SimpleFOC motor 'N'"));
    harness.run_steps(2);
    assert!(
        harness.query_by_label_contains("Add motor").is_none(),
        "no motor left to add"
    );
}
