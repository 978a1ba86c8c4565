//! The real SimpleFOC library as a test device: Arduino-FOC 2.4.0 from
//! `../shared/thirdparty` built with `g++` against the host shim in
//! `tests/simplefoc_host` (once per test run, cached under the target
//! directory by a hash of every source and flag), started with a sketch
//! configuration, serving its Commander on a pseudo-terminal, and asked for
//! its own variables (`motor.enabled`, the PID gains, the Commander's
//! verbosity …) through stdin and stdout, which the serial port never sees.
//!
//! Where the library's folder is missing (a clone on its own), starting a
//! sketch says so in one line on stderr and gives `None`: the test is
//! skipped, not failed.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use serde::{Deserialize, Deserializer};

use super::DeviceProcess;

/// The unchanged SimpleFOC sources (see `../shared/thirdparty/README.md`).
pub const SIMPLEFOC_LIBRARY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/thirdparty/Arduino-FOC-2.4.0"
);
/// `Arduino.h`, `Serial` on a pty, the simulated hardware and the sketch.
const SHIM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/simplefoc_host");

const STANDARD: &str = "-std=gnu++17";
const OPTIMIZE: &str = "-O2";
/// Our own code builds without a warning; the library's is not ours to fix.
const SHIM_WARNINGS: [&str; 3] = ["-Wall", "-Wextra", "-Werror"];
const LIBRARY_WARNINGS: &str = "-w";

/// How long the firmware has to answer a state request, or to reach a
/// state waited for: generous, for a loaded machine.
const PATIENCE: Duration = Duration::from_secs(15);

/// A sketch's configuration; each field is one option of the host program
/// (`sketch --help`). The default is the library's angle-control example:
/// motor under `M`, verbosity 2, angle mode, voltage torque control,
/// `monitor()` in `loop()` every 100 calls, started enabled.
#[derive(Clone, Debug)]
pub struct SketchConfig {
    /// `command.add(letter, doMotor, "motor")`.
    pub letter: char,
    /// `command.verbose`, 0 to 3.
    pub verbose: u8,
    /// `command.decimal_places`.
    pub decimals: u8,
    pub monitor_separator: char,
    /// `None` is the library's `'\0'` (no character).
    pub monitor_start_char: Option<char>,
    pub monitor_end_char: Option<char>,
    pub monitor_decimals: u8,
    /// `motor.controller` (0 torque … 6 custom).
    pub motion: u8,
    /// `motor.torque_controller` (0 voltage … 3 estimated current).
    pub torque: u8,
    /// Whether `loop()` calls `motor.monitor()`.
    pub monitor_in_loop: bool,
    /// A second command calling `command.motion(&motor, cmd)`, as the
    /// B_G431B_ESC1 example adds under `T`.
    pub target_letter: Option<char>,
    /// Whether the motor is still enabled when `setup()` ends.
    pub enabled: bool,
    pub monitor_downsample: u32,
    /// `motor.monitor_variables`, bit 6 the target … bit 0 the angle.
    pub monitor_variables: u8,
    /// Text printed for this long at the end of `setup()`, before the
    /// Commander is first run.
    pub boot_ms: u32,
    /// Let `initFOC()` find the sensor direction and electrical zero
    /// (about three more seconds of boot).
    pub calibrate: bool,
    /// Keep the library's default gains instead of the example's.
    pub library_defaults: bool,
    /// `loop()` calls per second of wall time.
    pub loop_hz: u32,
    /// A UART of this many baud behind `Serial` (a write waits while its
    /// 64-byte FIFO is full); `None`, a pty's speed.
    pub baud: Option<u32>,
    /// Whether the motor has a `command.motor` handler (under `letter`);
    /// without, only `target_letter`'s `command.motion`, as the
    /// B_G431B_ESC1 example has.
    pub motor_handler: bool,
    /// `motor.target` when `setup()` ends.
    pub target: f32,
    /// A second motor under this letter, its monitoring lines starting
    /// with it (`--second-letter`).
    pub second_letter: Option<char>,
}

impl Default for SketchConfig {
    fn default() -> Self {
        Self {
            letter: 'M',
            verbose: 2,
            decimals: 3,
            monitor_separator: '\t',
            monitor_start_char: None,
            monitor_end_char: None,
            monitor_decimals: 4,
            motion: 2,
            torque: 0,
            monitor_in_loop: true,
            target_letter: None,
            enabled: true,
            monitor_downsample: 100,
            monitor_variables: 0b110_0011,
            boot_ms: 0,
            calibrate: false,
            library_defaults: false,
            loop_hz: 10_000,
            baud: None,
            motor_handler: true,
            target: 0.0,
            second_letter: None,
        }
    }
}

impl SketchConfig {
    fn args(&self) -> Vec<String> {
        let character = |c: Option<char>| c.map_or_else(|| "none".to_owned(), String::from);
        let mut args = vec![
            "--state-on-stdin".to_owned(),
            format!("--letter={}", self.letter),
            format!("--verbose={}", self.verbose),
            format!("--decimals={}", self.decimals),
            format!("--separator={}", self.monitor_separator),
            format!("--start-char={}", character(self.monitor_start_char)),
            format!("--end-char={}", character(self.monitor_end_char)),
            format!("--monitor-decimals={}", self.monitor_decimals),
            format!("--motion={}", self.motion),
            format!("--torque={}", self.torque),
            format!("--downsample={}", self.monitor_downsample),
            format!("--monitor-vars={:07b}", self.monitor_variables),
            format!("--boot-ms={}", self.boot_ms),
            format!("--loop-hz={}", self.loop_hz),
            format!("--target={}", self.target),
        ];
        let flags = [
            (!self.monitor_in_loop, "--no-monitor"),
            (!self.enabled, "--disabled"),
            (self.calibrate, "--calibrate"),
            (self.library_defaults, "--library-defaults"),
            (!self.motor_handler, "--no-motor"),
        ];
        args.extend(flags.iter().filter(|f| f.0).map(|f| f.1.to_owned()));
        if let Some(letter) = self.target_letter {
            args.push(format!("--target-letter={letter}"));
        }
        if let Some(baud) = self.baud {
            args.push(format!("--baud={baud}"));
        }
        if let Some(letter) = self.second_letter {
            args.push(format!("--second-letter={letter}"));
        }
        args
    }

    /// Starts the sketch and waits until `loop()` runs, so the Commander
    /// answers at once; `None` (with one line on stderr) where the library
    /// is missing.
    pub fn start(&self) -> Option<RealSimpleFoc> {
        let mut device = self.start_booting()?;
        device.wait_for("loop() to run", |state| state.loops > 0);
        Some(device)
    }

    /// Starts the sketch without waiting for `setup()` to end: a client
    /// opening the port meets the boot messages.
    pub fn start_booting(&self) -> Option<RealSimpleFoc> {
        let Some(program) = host_program() else {
            eprintln!(
                "skipped: the SimpleFOC sources are not at {SIMPLEFOC_LIBRARY} \
                 (see ../shared/thirdparty/README.md)"
            );
            return None;
        };
        let mut command = Command::new(program);
        command
            .args(self.args())
            .stdin(Stdio::piped())
            .stderr(Stdio::inherit());
        let (mut process, stdout) = DeviceProcess::spawn_keeping_stdout(command);
        let requests = process.take_stdin().expect("stdin piped");
        let (send, answers) = channel();
        std::thread::spawn(move || {
            for line in stdout.lines() {
                if line.is_err() || send.send(line.unwrap_or_default()).is_err() {
                    return;
                }
            }
        });
        Some(RealSimpleFoc {
            process,
            requests,
            answers,
        })
    }
}

/// A sketch on the real library, running; killed on drop.
pub struct RealSimpleFoc {
    process: DeviceProcess,
    requests: ChildStdin,
    answers: Receiver<String>,
}

impl RealSimpleFoc {
    /// The pty to open as a serial port.
    pub fn path(&self) -> &str {
        &self.process.path
    }

    /// The firmware's variables now, read between two `loop()` calls.
    pub fn state(&mut self) -> FirmwareState {
        self.requests
            .write_all(b"\n")
            .and_then(|()| self.requests.flush())
            .expect("the SimpleFOC host program takes state requests");
        let line = self
            .answers
            .recv_timeout(PATIENCE)
            .expect("the SimpleFOC host program answers a state request");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("state line {line:?}: {e}"))
    }

    /// Reads the state until `condition` holds; fails after 15 s.
    pub fn wait_for(
        &mut self,
        what: &str,
        mut condition: impl FnMut(&FirmwareState) -> bool,
    ) -> FirmwareState {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let state = self.state();
            if condition(&state) {
                return state;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; the firmware holds {state:#?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The firmware's own variables, named as in the library (`motor.` and
/// `command.` left out). A float the firmware holds as NaN or infinity
/// (written as `null`) reads as NaN.
#[derive(Clone, Debug, Deserialize)]
pub struct FirmwareState {
    /// `micros()` when the state was read.
    pub micros: u64,
    /// `loop()` calls so far.
    pub loops: u64,
    /// Lines the Commander ran: every `\n` or `\r` it read.
    pub commands: u64,
    /// Calls of the motor's command handler (`doMotor`).
    pub motor_commands: u64,
    /// Calls of the target handler (`doTarget`), when the sketch has one.
    pub target_commands: u64,
    /// The last 256 lines the Commander read, each with its line end; a
    /// byte outside printable ASCII is the character of that code.
    pub lines: Vec<String>,
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// Output dropped because no client read it.
    pub bytes_dropped: u64,
    /// Time the sketch's writes waited for the emulated UART, µs.
    pub blocked_us: u64,

    pub enabled: i32,
    pub motor_status: u8,
    /// The motion control type (`MotionControlType`, 0 torque … 6 custom).
    pub controller: u8,
    pub torque_controller: u8,
    #[serde(deserialize_with = "float")]
    pub target: f32,
    #[serde(deserialize_with = "float")]
    pub shaft_angle: f32,
    #[serde(deserialize_with = "float")]
    pub shaft_velocity: f32,
    /// What the motion loop asks of the torque loop (V in voltage mode).
    #[serde(deserialize_with = "float")]
    pub current_sp: f32,
    #[serde(deserialize_with = "float")]
    pub shaft_velocity_sp: f32,
    #[serde(deserialize_with = "float")]
    pub shaft_angle_sp: f32,
    #[serde(deserialize_with = "float")]
    pub voltage_q: f32,
    #[serde(deserialize_with = "float")]
    pub voltage_d: f32,
    #[serde(deserialize_with = "float")]
    pub voltage_limit: f32,
    #[serde(deserialize_with = "float")]
    pub current_limit: f32,
    #[serde(deserialize_with = "float")]
    pub velocity_limit: f32,
    #[serde(rename = "P_angle")]
    pub p_angle: Pid,
    #[serde(rename = "PID_velocity")]
    pub pid_velocity: Pid,
    #[serde(rename = "PID_current_q")]
    pub pid_current_q: Pid,
    #[serde(rename = "PID_current_d")]
    pub pid_current_d: Pid,
    #[serde(rename = "LPF_angle_Tf", deserialize_with = "float")]
    pub lpf_angle_tf: f32,
    #[serde(rename = "LPF_velocity_Tf", deserialize_with = "float")]
    pub lpf_velocity_tf: f32,
    #[serde(rename = "LPF_current_q_Tf", deserialize_with = "float")]
    pub lpf_current_q_tf: f32,
    #[serde(rename = "LPF_current_d_Tf", deserialize_with = "float")]
    pub lpf_current_d_tf: f32,
    pub monitor_downsample: u32,
    pub monitor_variables: u8,
    pub monitor_decimals: u32,
    /// `command.verbose`.
    pub verbose: u8,
    /// `command.decimal_places`.
    pub decimal_places: u8,
    #[serde(deserialize_with = "float")]
    pub zero_electric_angle: f32,
    pub sensor_direction: i8,

    /// The simulated driver's enable state and how often it was switched.
    pub driver_enabled: bool,
    pub driver_enable_calls: u64,
    pub driver_disable_calls: u64,
    /// The simulated motor's true shaft angle and speed.
    pub plant_angle: f64,
    pub plant_velocity: f64,
    /// The second motor's, when the sketch has one.
    #[serde(default)]
    pub second: Option<SecondMotor>,
}

/// The second motor's variables (`--second-letter`).
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct SecondMotor {
    pub motor_commands: u64,
    pub enabled: i32,
    #[serde(deserialize_with = "float")]
    pub target: f32,
    #[serde(rename = "velocity_P", deserialize_with = "float")]
    pub velocity_p: f32,
    #[serde(deserialize_with = "float")]
    pub voltage_limit: f32,
    pub monitor_downsample: u32,
    pub monitor_variables: u8,
    pub plant_angle: f64,
}

impl FirmwareState {
    /// The firmware's own value of the parameter the SimpleFOC adapter
    /// calls `name` (`vel.P`, `angle.Tf`, `limit.voltage`, `motion` …).
    pub fn param(&self, name: &str) -> f32 {
        let (group, field) = name.split_once('.').unwrap_or((name, ""));
        let (pid, filter) = match group {
            "vel" => (&self.pid_velocity, self.lpf_velocity_tf),
            "angle" => (&self.p_angle, self.lpf_angle_tf),
            "curr_q" => (&self.pid_current_q, self.lpf_current_q_tf),
            "curr_d" => (&self.pid_current_d, self.lpf_current_d_tf),
            "limit" => {
                return match field {
                    "current" => self.current_limit,
                    "voltage" => self.voltage_limit,
                    "velocity" => self.velocity_limit,
                    _ => panic!("no firmware variable for {name}"),
                };
            }
            "motion" => return f32::from(self.controller),
            "target" => return self.target,
            _ => panic!("no firmware variable for {name}"),
        };
        match field {
            "P" => pid.p,
            "I" => pid.i,
            "D" => pid.d,
            "ramp" => pid.output_ramp,
            "limit" => pid.limit,
            "Tf" => filter,
            _ => panic!("no firmware variable for {name}"),
        }
    }
}

/// A `PIDController`'s settings.
#[derive(Clone, Copy, Debug, Deserialize)]
pub struct Pid {
    #[serde(rename = "P", deserialize_with = "float")]
    pub p: f32,
    #[serde(rename = "I", deserialize_with = "float")]
    pub i: f32,
    #[serde(rename = "D", deserialize_with = "float")]
    pub d: f32,
    #[serde(deserialize_with = "float")]
    pub output_ramp: f32,
    #[serde(deserialize_with = "float")]
    pub limit: f32,
}

/// A float as the firmware holds it: printed exactly, `null` for NaN.
fn float<'de, D: Deserializer<'de>>(from: D) -> Result<f32, D::Error> {
    Ok(Option::<f64>::deserialize(from)?.map_or(f32::NAN, |value| value as f32))
}

/// `motiontune params --json --protocol simplefoc` on the port at `path`,
/// with `extra` arguments (writes, adapter options): every parameter's name
/// and value.
pub fn simplefoc_params(path: &str, extra: &[&str]) -> Vec<(String, f32)> {
    let mut args = vec![
        "params",
        "--port",
        path,
        "--protocol",
        "simplefoc",
        "--json",
    ];
    args.extend_from_slice(extra);
    let output = super::motiontune(&args);
    assert!(output.status.success(), "{}", super::stderr(&output));
    let listed: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    listed
        .as_array()
        .expect("an array of parameters")
        .iter()
        .map(|p| {
            let name = p["name"].as_str().expect("name").to_owned();
            (name, p["value"].as_f64().expect("value") as f32)
        })
        .collect()
}

/// Fails unless every parameter `listed` shows the value the firmware
/// holds: exactly (the adapter reads with 12 decimals, which carry every
/// `f32` from 1e-5 up), or within half the twelfth decimal.
pub fn assert_lists_what_the_firmware_holds(listed: &[(String, f32)], state: &FirmwareState) {
    assert_eq!(listed.len(), 29, "{listed:?}");
    for (name, shown) in listed {
        let held = state.param(name);
        assert!(
            shown == &held || (f64::from(*shown) - f64::from(held)).abs() <= 5e-13,
            "{name}: the app shows {shown}, the firmware holds {held}"
        );
    }
}

/// The host program, built once per test run (and kept between runs while
/// no source or flag changes); `None` where the library is missing.
fn host_program() -> Option<&'static Path> {
    static BUILT: OnceLock<Option<PathBuf>> = OnceLock::new();
    BUILT.get_or_init(build_host_program).as_deref()
}

fn build_host_program() -> Option<PathBuf> {
    let library = Path::new(SIMPLEFOC_LIBRARY).join("src");
    if !library.is_dir() {
        return None;
    }
    let shim = Path::new(SHIM);
    let library_files = source_files(&library);
    let shim_files = source_files(shim);
    let mut hasher = std::hash::DefaultHasher::new();
    for file in library_files.iter().chain(&shim_files) {
        std::hash::Hash::hash(&file, &mut hasher);
        let text = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        std::hash::Hash::hash(&text, &mut hasher);
    }
    std::hash::Hash::hash(
        &[
            STANDARD,
            OPTIMIZE,
            LIBRARY_WARNINGS,
            &SHIM_WARNINGS.join(" "),
        ],
        &mut hasher,
    );
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("simplefoc_host")
        .join(format!("{:016x}", std::hash::Hasher::finish(&hasher)));
    let program = dir.join("sketch");
    if program.is_file() {
        return Some(program);
    }
    // Each process builds in a folder of its own and renames the program
    // into place, so test binaries building at once never see half a file.
    let work = dir.join(format!("build-{}", std::process::id()));
    std::fs::create_dir_all(&work).expect("build folder");
    let started = Instant::now();
    let compile = |files: &[PathBuf], warnings: &[&str]| {
        let mut gcc = Command::new("g++");
        gcc.current_dir(&work)
            .args([STANDARD, OPTIMIZE, "-c", "-I"])
            .arg(shim)
            .arg("-isystem")
            .arg(&library)
            .args(warnings)
            .args(
                files
                    .iter()
                    .filter(|f| f.extension().is_some_and(|e| e == "cpp")),
            );
        spawn_compiler(gcc)
    };
    // Two compilers side by side: the library and the shim.
    let library_build = compile(&library_files, &[LIBRARY_WARNINGS]);
    let shim_build = compile(&shim_files, &SHIM_WARNINGS);
    finish_compiler(library_build, "the SimpleFOC library");
    finish_compiler(shim_build, "the host shim (tests/simplefoc_host)");
    let objects: Vec<PathBuf> = std::fs::read_dir(&work)
        .expect("build folder")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "o"))
        .collect();
    let mut link = Command::new("g++");
    link.args(&objects).arg("-o").arg(work.join("sketch"));
    finish_compiler(spawn_compiler(link), "linking the host program");
    std::fs::rename(work.join("sketch"), &program).expect("program in place");
    let _ = std::fs::remove_dir_all(&work);
    eprintln!(
        "built the SimpleFOC host program in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Some(program)
}

/// The `.cpp` and `.h` files below `dir`, in a stable order.
fn source_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let entries = std::fs::read_dir(&folder)
            .unwrap_or_else(|e| panic!("{}: {e}", folder.display()))
            .filter_map(Result::ok);
        for entry in entries {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "cpp" || e == "h") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn spawn_compiler(mut command: Command) -> std::process::Child {
    command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run g++ (install build-essential): {e}"))
}

fn finish_compiler(child: std::process::Child, what: &str) {
    let output = child.wait_with_output().expect("g++ ran");
    assert!(
        output.status.success() && output.stderr.is_empty(),
        "{what}:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
