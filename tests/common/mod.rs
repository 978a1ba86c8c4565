//! Helpers shared by the end-to-end tests: the `motiontune` binary, devices
//! running in other processes, and the app driven headless.
#![allow(dead_code)] // each test crate uses its own subset

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, ChildStdout, Command, Output, Stdio};
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use motiontune::app::{App, AppOptions};
use motiontune::link::PortTarget;

mod port;
pub use port::*;

/// The `motiontune` binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_motiontune");

/// Runs `motiontune` with `args` to completion.
pub fn motiontune(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("run motiontune")
}

/// What a command wrote on stderr.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Fails unless the command failed with exactly one line on stderr that
/// contains `expected`.
pub fn assert_one_line_error(output: &Output, expected: &str) {
    let text = stderr(output);
    assert!(!output.status.success(), "should fail: {text}");
    assert_eq!(
        text.trim_end().lines().count(),
        1,
        "one line expected, got:\n{text}"
    );
    assert!(text.contains(expected), "expected {expected:?} in {text:?}");
    assert!(!text.contains("panicked"), "{text}");
}

/// Starts `motiontune record` from `port` into `out` for a minute and
/// SIGKILLs it `after` the file appears (a recorder killed mid-recording).
pub fn record_then_kill(port: &str, out: &std::path::Path, after: Duration) {
    let mut recorder = Command::new(BIN)
        .args(["record", "--port", port, "--seconds", "60", "--out"])
        .arg(out)
        .stderr(Stdio::null())
        .spawn()
        .expect("start motiontune record");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !out.exists() {
        assert!(Instant::now() < deadline, "the recording was never created");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(after);
    recorder.kill().expect("SIGKILL the recorder");
    recorder.wait().expect("reap the recorder");
}

/// A recorded CSV: its header and every row as numbers.
pub fn read_recording(path: &std::path::Path) -> (Vec<String>, Vec<Vec<f64>>) {
    let mut reader = csv::Reader::from_path(path).expect("recording is CSV");
    let header = reader
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    let rows = reader
        .records()
        .map(|r| {
            r.expect("row")
                .iter()
                .map(|f| f.parse().expect("number"))
                .collect()
        })
        .collect();
    (header, rows)
}

/// A device serving on a pseudo-terminal from another process, which
/// prints the pty's path as its first line; killed on drop.
pub struct DeviceProcess {
    child: Child,
    pub path: String,
}

impl DeviceProcess {
    /// Runs `program` with `args`, its stderr discarded.
    pub fn start(program: &str, args: &[&str]) -> Self {
        let mut command = Command::new(program);
        command.args(args).stderr(Stdio::null());
        Self::spawn(command)
    }

    /// Runs `command` as it is set up, reading the path from its stdout.
    pub fn spawn(command: Command) -> Self {
        Self::spawn_keeping_stdout(command).0
    }

    /// Runs `command` as [`spawn`](Self::spawn) does and hands back the
    /// rest of its stdout, for a device that says more there.
    pub fn spawn_keeping_stdout(mut command: Command) -> (Self, BufReader<ChildStdout>) {
        let program = command.get_program().to_string_lossy().into_owned();
        let mut child = command
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("path line");
        let path = line.trim().to_owned();
        assert!(path.starts_with("/dev/"), "{program} printed {path:?}");
        (Self { child, path }, stdout)
    }

    /// The device's stdin, when the command piped it; once.
    pub fn take_stdin(&mut self) -> Option<ChildStdin> {
        self.child.stdin.take()
    }
}

impl Drop for DeviceProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The real app, headless, connecting to the serial port at `path`.
pub fn app_on_port(path: &str) -> Harness<'static, App> {
    app_on(serial(path))
}

pub fn app_on(target: PortTarget) -> Harness<'static, App> {
    app_with(AppOptions {
        target,
        stream_divider: 10,
        ..AppOptions::default()
    })
}

/// The real app, headless, started with `options`.
pub fn app_with(options: AppOptions) -> Harness<'static, App> {
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .build_eframe(move |cc| App::new(cc, options));
    harness.step();
    harness
}

/// Steps the UI until `condition` holds (the link thread runs meanwhile).
pub fn step_until(
    harness: &mut Harness<'static, App>,
    what: &str,
    mut condition: impl FnMut(&mut Harness<'static, App>) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !condition(harness) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
        harness.step();
    }
}

/// Steps until every write the app sent has its answer.
pub fn wait_settled(harness: &mut Harness<'static, App>) {
    step_until(harness, "every write answered", |h| {
        h.state().session().is_some_and(|s| !s.write_in_flight())
    });
    harness.run_steps(2);
}

/// Moves a slider as assistive technology (or typing) would: one value.
pub fn set_slider(harness: &mut Harness<'static, App>, name: &str, value: f64) {
    use egui_kittest::kittest::Queryable;
    harness
        .get_by_role_and_label(egui::accesskit::Role::Slider, name)
        .set_value_accesskit(value);
    harness.step();
}

/// Steps for `seconds` of wall time, the link thread running meanwhile:
/// long enough for a write, had one been sent, to reach the device.
pub fn run_for(harness: &mut Harness<'static, App>, seconds: f64) {
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    while Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
        harness.step();
    }
}

/// Steps until the app has the device's description.
pub fn wait_connected(harness: &mut Harness<'static, App>) {
    step_until(harness, "connection", |h| {
        h.state().session().is_some_and(|s| s.is_connected())
    });
    harness.step();
}

/// Steps until `count` devices are connected, each described.
pub fn wait_devices_connected(harness: &mut Harness<'static, App>, count: usize) {
    step_until(harness, &format!("{count} devices connected"), |h| {
        let devices = h.state().devices();
        devices.len() == count && devices.iter().all(|d| d.session.is_connected())
    });
}

/// Steps until every device's history spans more than `seconds` of its
/// own time.
pub fn wait_every_device_streaming(harness: &mut Harness<'static, App>, seconds: f64) {
    step_until(harness, "every device streaming", |h| {
        h.state().devices().iter().all(|d| {
            d.session
                .history
                .as_ref()
                .and_then(|history| history.time_span())
                .is_some_and(|(first, last)| last - first > seconds)
        })
    });
}

/// Types `folder` into the scope's save folder, where recordings go.
pub fn set_folder(harness: &mut Harness<'static, App>, folder: &str) {
    use egui_kittest::kittest::Queryable;
    harness.get_by_label("Save folder").focus();
    harness.step();
    harness.get_by_label("Save folder").type_text(folder);
    harness.step();
    // Give the keyboard back, so plot keys work again.
    harness.key_press(egui::Key::Tab);
    harness.step();
}

/// Steps until the app's history holds more than `count` samples.
pub fn wait_for_samples(harness: &mut Harness<'static, App>, count: usize) {
    step_until(harness, "samples in the history", |h| {
        h.state()
            .session()
            .and_then(|s| s.history.as_ref())
            .is_some_and(|history| history.len() > count)
    });
}

mod display;
#[allow(unused_imports)] // only the process-level tests use these
pub use display::*;
mod sim_log;
#[allow(unused_imports)]
pub use sim_log::*;
#[cfg(unix)]
mod proxy;
#[cfg(unix)]
#[allow(unused_imports)]
pub use proxy::*;
#[cfg(unix)]
mod simplefoc_real;
#[cfg(unix)]
#[allow(unused_imports)]
pub use simplefoc_real::*;
#[cfg(unix)]
mod simplefoc_sketches;
#[cfg(unix)]
#[allow(unused_imports)]
pub use simplefoc_sketches::*;
#[cfg(unix)]
pub mod devices;
#[cfg(unix)]
pub mod firmware;

/// eframe's storage, in memory, as its file storage behaves: the
/// settings a test saves and a later launch in the same test reads.
#[derive(Default)]
pub struct Memory(pub HashMap<String, String>);

impl eframe::Storage for Memory {
    fn get_string(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }
    fn set_string(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }
    fn remove_string(&mut self, key: &str) {
        self.0.remove(key);
    }
    fn flush(&mut self) {}
}

/// Types `text` into the field labelled `label` (a text field or a
/// number's), replacing what it held, as a user does: focus, select all,
/// type.
pub fn type_into(harness: &mut Harness<'static, App>, label: &str, text: &str) {
    use egui_kittest::kittest::Queryable;
    harness.get_by_label(label).focus();
    harness.step();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.step();
    harness.get_by_label(label).type_text(text);
    harness.step();
}

/// Types `text` into the text field labelled `label`, replacing what it
/// held, as [`type_into`] does; a slider or a label of the same name (a
/// parameter's row has both) is left alone.
pub fn type_into_text_field(harness: &mut Harness<'static, App>, label: &str, text: &str) {
    use egui::accesskit::Role;
    use egui_kittest::kittest::Queryable;
    harness
        .get_by_role_and_label(Role::TextInput, label)
        .focus();
    harness.step();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.step();
    harness
        .get_by_role_and_label(Role::TextInput, label)
        .type_text(text);
    harness.step();
}
