//! What survives a crash: processes killed with SIGKILL while they talk to
//! the simulated drive over a real pseudo-terminal. The drive runs as
//! `motiontune sim --pty`, the app as its own process (the GUI in a real
//! window under Xvfb).

mod common;

use std::time::{Duration, Instant};

use common::{SimProcess, VirtualDisplay};

/// The drive's watchdog time in these tests (the default of `motiontune sim`).
const WATCHDOG: Duration = Duration::from_millis(500);

/// Time allowed, beyond the watchdog time, between the trip and the test
/// reading the sim's line about it. The trip itself comes at most one
/// watchdog time after the kill in device time, which the sim keeps to the
/// wall clock within its 1 ms serving loop (the last host frame preceded
/// the kill). After it: up to 5 ms until the sim prints, a pipe, and the
/// reader thread waking; 150 ms covers those with room for a scheduler
/// delay on a loaded 2-core machine, and is still short of the 200 ms PING
/// period, so a drive still being fed would not pass.
const OBSERVATION_MARGIN: Duration = Duration::from_millis(150);

#[test]
fn a_killed_gui_leaves_the_drive_disabled_within_its_watchdog_time() {
    let sim = SimProcess::start(&[
        "--enable-on-connect",
        "--watchdog-ms",
        &WATCHDOG.as_millis().to_string(),
    ]);
    let display = VirtualDisplay::start();
    let logs = tempfile::tempdir().expect("tempdir");
    let mut gui = display.run_app(&["--port", &sim.path], &logs.path().join("gui.log"));

    // A debug build starting a window on a busy machine can be slow.
    let (_, enabled) = sim
        .next_line(Duration::from_secs(60))
        .unwrap_or_else(|| panic!("the GUI never said HELLO: {}", gui.stderr()));
    assert!(
        enabled.starts_with("output enabled") && enabled.contains("HELLO"),
        "{enabled}"
    );

    // Only the GUI's heartbeat keeps the drive on: four watchdog times
    // without a line from the sim prove it feeds the watchdog.
    let fed_until = Instant::now() + 4 * WATCHDOG + Duration::from_millis(100);
    while let Some(left) = fed_until.checked_duration_since(Instant::now()) {
        if let Some((_, line)) = sim.next_line(left.min(Duration::from_millis(100))) {
            panic!("the drive changed state while the GUI ran: {line}");
        }
        gui.assert_running();
    }

    let killed_at = Instant::now();
    gui.kill();
    let (at, disabled) = sim
        .next_line(Duration::from_secs(5))
        .expect("the drive stayed enabled after the GUI was killed");
    let latency = at.duration_since(killed_at);
    eprintln!("SIGKILL to \"{disabled}\": {} ms", latency.as_millis());
    assert!(
        disabled.starts_with("output disabled") && disabled.contains("watchdog"),
        "{disabled}"
    );
    assert!(
        latency <= WATCHDOG + OBSERVATION_MARGIN,
        "the drive was disabled {} ms after the kill",
        latency.as_millis()
    );
}
