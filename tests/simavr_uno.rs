//! The kit's Arduino example as real firmware: compiled for an Uno, run on
//! simavr's ATmega328P at 16 MHz in real time with a motor on its pins
//! (`assets/firmware/host/simavr_uno.c`), its UART at 115200 baud on a
//! pseudo-terminal. Found, described, written, stepped and streamed past
//! what the UART carries, end to end through the command line and the link.
#![cfg(target_os = "linux")]

mod common;

use std::io::BufRead;
use std::process::{Command as Process, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use common::{DeviceProcess, connect, motiontune as run, set, stderr, wait_for};
use motiontune::protocol::{Command, Event};
use serde_json::Value;

/// The sketch's parameters, in index order.
const POS_KP: u8 = 0;

/// One simulated Uno at a time: each takes most of a core to keep to real
/// time, and a late core is a slower UART.
fn one_uno_at_a_time() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One line of the host's trace: simulated time, the bridge's signed duty
/// and the position the encoder shows.
#[derive(Clone, Copy, Debug)]
struct Trace {
    time: f64,
    duty: f64,
}

/// The sketch on a simulated Uno, its trace collected as it comes.
struct Uno {
    device: DeviceProcess,
    trace: Arc<Mutex<Vec<Trace>>>,
}

impl Uno {
    /// Starts the sketch with a load that takes `load` duty to hold.
    fn start(load: f64) -> Self {
        Self::start_with(&["--load", &load.to_string()])
    }

    fn start_with(args: &[&str]) -> Self {
        let mut command = Process::new(common::firmware::simavr_uno());
        command
            .arg(common::firmware::uno_sketch())
            .arg("--trace")
            .args(args)
            .stderr(Stdio::null());
        let (device, stdout) = DeviceProcess::spawn_keeping_stdout(command);
        let trace = Arc::new(Mutex::new(Vec::new()));
        let collected = Arc::clone(&trace);
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                if let Some(point) = parse_trace(&line) {
                    collected.lock().expect("trace").push(point);
                }
            }
        });
        Self { device, trace }
    }

    fn path(&self) -> &str {
        &self.device.path
    }

    fn trace(&self) -> Vec<Trace> {
        self.trace.lock().expect("trace").clone()
    }

    /// Waits up to `seconds` for a trace line `pick` accepts, after `after`.
    fn wait_for(&self, after: f64, seconds: u64, pick: impl Fn(&Trace) -> bool) -> Trace {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            if let Some(found) = self.trace().into_iter().find(|t| t.time > after && pick(t)) {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "no such trace line: {:?}",
                self.trace().last()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `motiontune record` of 2 s at `divider` into `out`.
    fn record(&self, divider: &str, out: &std::path::Path) -> std::process::Output {
        run(&[
            "record",
            "--port",
            self.path(),
            "--protocol",
            "native",
            "--divider",
            divider,
            "--seconds",
            "2",
            "--out",
            out.to_str().expect("utf-8 path"),
        ])
    }

    fn now(&self) -> f64 {
        self.trace().last().map_or(0.0, |t| t.time)
    }
}

fn parse_trace(line: &str) -> Option<Trace> {
    let mut fields = line.strip_prefix("trace ")?.split(' ');
    let mut value = |key: &str| -> Option<f64> { fields.next()?.strip_prefix(key)?.parse().ok() };
    Some(Trace {
        time: value("t=")?,
        duty: value("duty=")?,
    })
}

fn number(value: &Value, key: &str) -> f64 {
    value[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number in {value}"))
}

#[test]
fn the_sketch_is_found_described_and_keeps_a_write() {
    let _turn = one_uno_at_a_time();
    let uno = Uno::start(0.0);
    // Found by probing: nothing says which protocol it speaks.
    let output = run(&["params", "--port", uno.path()]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        text.contains("arduino servo") && text.contains("native"),
        "{text}"
    );
    let output = run(&["params", "--port", uno.path(), "pos.kp=3.25"]);
    assert!(output.status.success(), "{}", stderr(&output));
    // A new connection reads the value the firmware now holds.
    let output = run(&["params", "--port", uno.path(), "--protocol", "native"]);
    let text = String::from_utf8_lossy(&output.stdout);
    let kp = text
        .lines()
        .find(|line| line.starts_with("pos.kp "))
        .and_then(|line| line.split_whitespace().nth(1))
        .unwrap_or_else(|| panic!("no pos.kp in {text}"));
    assert_eq!(kp, "3.25");
}

#[test]
fn a_step_test_closes_the_loop_on_the_simulated_motor() {
    let _turn = one_uno_at_a_time();
    let uno = Uno::start(0.0);
    let output = run(&[
        "step",
        "--port",
        uno.path(),
        "--protocol",
        "native",
        "--divider",
        "5",
        "--amplitude",
        "1",
        "--hold",
        "1",
        "--json",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let document: Value = serde_json::from_slice(&output.stdout).expect("json");
    let step = &document["steps"][0];
    eprintln!("{step}");
    assert!((number(step, "to") - number(step, "from") - 1.0).abs() < 1e-6);
    assert!(
        (number(step, "final_value") - number(step, "to")).abs() < 0.05,
        "{step}"
    );
    assert!(number(step, "overshoot") < 25.0, "{step}");
    assert!(number(step, "rise_time") < 0.3, "{step}");
}

#[test]
fn past_what_the_uart_carries_the_sketch_drops_samples_and_keeps_listening() {
    let _turn = one_uno_at_a_time();
    let uno = Uno::start(0.15);
    // Divider 1: four channels at 1 kHz want ~17 kB/s of a ~10.5 kB/s UART.
    let out = tempfile::NamedTempFile::new().expect("temp file");
    let output = uno.record("1", out.path());
    assert!(output.status.success(), "{}", stderr(&output));
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        stderr(&output)
    );
    assert!(
        said.contains("samples lost"),
        "the link was not saturated: {said}"
    );
    // The command says what the link carried and the divider that fits.
    assert!(said.contains("divider 2 fits"), "{said}");

    // Still at divider 1, the firmware hears a write, ENABLE 1 and ENABLE 0.
    let (link, _) = connect(uno.path(), 1);
    assert_eq!(set(&link, POS_KP, 2.5), 2.5);
    link.send(Command::Enable(true));
    wait_for(&link, 3, |event| match event {
        Event::Status { flags, .. } if flags.enabled() => Some(()),
        _ => None,
    });
    // Holding the load takes the bridge.
    let holding = uno.wait_for(uno.now(), 5, |t| t.duty.abs() > 0.05);
    link.send(Command::Enable(false));
    let flags = wait_for(&link, 3, |event| match event {
        Event::Status { flags, .. } if !flags.enabled() => Some(flags),
        _ => None,
    });
    assert!(
        !flags.watchdog_tripped(),
        "off by the watchdog, not by ENABLE 0: {flags:?}"
    );
    let off = uno.wait_for(holding.time, 5, |t| t.duty == 0.0);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        uno.trace()
            .iter()
            .filter(|t| t.time > off.time)
            .all(|t| t.duty == 0.0),
        "the bridge stays off"
    );
    drop(link);
    let output = run(&["params", "--port", uno.path(), "--protocol", "native"]);
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn the_sketch_s_watchdog_stops_the_motor_when_the_host_is_killed() {
    let _turn = one_uno_at_a_time();
    // At a divider the UART carries, and at one it does not: skipped ticks
    // count towards the watchdog as ticks run do.
    for divider in ["5", "1"] {
        let uno = Uno::start(0.15);
        let mut step = Process::new(common::BIN)
            .args([
                "step",
                "--port",
                uno.path(),
                "--protocol",
                "native",
                "--divider",
                divider,
                "--amplitude",
                "0.5",
                "--hold",
                "10",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start motiontune step");
        let holding = uno.wait_for(uno.now(), 10, |t| t.duty.abs() > 0.05);
        std::thread::sleep(Duration::from_millis(300));
        // SIGKILL: no ENABLE 0 on the way out; only the sketch's watchdog
        // (500 ms without a PING) can switch the bridge off.
        step.kill().expect("kill");
        step.wait().expect("wait");
        let killed = uno.now();
        assert!(killed > holding.time);
        let off = uno.wait_for(killed, 5, |t| t.duty == 0.0);
        eprintln!(
            "divider {divider}: bridge off {:.3} s after the kill",
            off.time - killed
        );
        assert!(
            off.time - killed < 1.0,
            "divider {divider}: {} s",
            off.time - killed
        );
    }
}

#[test]
fn at_the_divider_offered_every_sample_arrives() {
    let _turn = one_uno_at_a_time();
    let uno = Uno::start(0.0);
    let out = tempfile::NamedTempFile::new().expect("temp file");
    let output = uno.record("2", out.path());
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!stderr(&output).contains("lost"), "{}", stderr(&output));
    let (_, rows) = common::read_recording(out.path());
    // 500 samples a second, one tick stride apart, for two seconds.
    assert!(rows.len() >= 999, "{} rows", rows.len());
    common::assert_evenly_spaced(&rows.iter().map(|row| row[0]).collect::<Vec<_>>(), 0.002);
}

#[test]
fn the_app_offers_the_divider_that_fits_and_reconnects_with_it() {
    use egui_kittest::kittest::Queryable;
    let _turn = one_uno_at_a_time();
    let uno = Uno::start(0.0);
    let mut harness = common::app_with(motiontune::app::AppOptions {
        target: common::serial(uno.path()),
        stream_divider: 1,
        ..motiontune::app::AppOptions::default()
    });
    common::wait_connected(&mut harness);
    common::run_for(&mut harness, 2.0);
    harness.get_by_label_contains("divider 2 fits");
    harness.get_by_label("Use divider 2").click();
    harness.step();
    common::wait_connected(&mut harness);
    common::run_for(&mut harness, 2.5);
    assert!(
        harness.query_by_label_contains("fits").is_none(),
        "still saturated at divider 2"
    );
    let session = harness.state().session().expect("session");
    assert_eq!(session.stream_hz(), Some(500.0));
}

#[test]
fn an_uno_that_restarts_when_the_port_opens_is_waited_for() {
    let _turn = one_uno_at_a_time();
    // As on Linux and macOS, opening the port raises DTR, which resets an
    // Uno: one second in the bootloader, then the sketch from the start.
    let uno = Uno::start_with(&["--reset-on-open=1000"]);
    let before = uno.now();
    for protocol in ["native", "auto"] {
        let output = run(&["params", "--port", uno.path(), "--protocol", protocol]);
        assert!(output.status.success(), "{protocol}: {}", stderr(&output));
        assert!(
            String::from_utf8_lossy(&output.stdout).contains("arduino servo"),
            "{protocol}"
        );
    }
    // Each open restarted the core: the trace skips the time it was held.
    // The last line before the first reset may be the one `before` read,
    // and the trace is read on another thread: wait for a line past now.
    uno.wait_for(uno.now(), 5, |_| true);
    let trace = uno.trace();
    let restarts = trace
        .windows(2)
        .filter(|pair| pair[0].time >= before && pair[1].time - pair[0].time > 0.9)
        .count();
    assert_eq!(restarts, 2, "one restart per open");
}
