//! `motiontune sim --pty`: serve the simulated drive on a pseudo-terminal
//! until interrupted, printing its path first and then one line per change
//! of the drive's output (enabled, disabled and why, in device time).

use super::SimArgs;

/// How often the output's state changes are printed: well under any
/// watchdog time, so a test reading them times the trip closely.
#[cfg(unix)]
const REPORT_INTERVAL: std::time::Duration = std::time::Duration::from_millis(5);

#[cfg(unix)]
pub fn run(args: &SimArgs) -> anyhow::Result<()> {
    use std::io::Write;

    use crate::sim::SimDevice;
    use crate::sim::device::DeviceSettings;
    use crate::sim::drive::DriveConfig;
    use crate::sim::pty::PtyServer;

    if !args.pty {
        anyhow::bail!(
            "`motiontune sim` needs --pty (the GUI and other commands use the built-in drive with --port sim)"
        );
    }
    match args.firmware {
        crate::protocol::adapter::Protocol::Native => {}
        crate::protocol::adapter::Protocol::SimpleFoc => return serve_simplefoc(),
        other => {
            anyhow::bail!("the simulated drive cannot speak {other} yet: use --firmware native")
        }
    }
    let settings = DeviceSettings {
        loop_hz: args.loop_hz,
        watchdog_ms: args.watchdog_ms,
        enable_on_hello: args.enable_on_connect,
        ..DeviceSettings::default()
    };
    let server = PtyServer::start(SimDevice::new(DriveConfig::default(), settings))?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "{}", server.path())?;
    stdout.flush()?;
    eprintln!(
        "serving the simulated drive ({} Hz loop, watchdog {} ms{}) on {}; Ctrl-C stops",
        args.loop_hz,
        args.watchdog_ms,
        if args.enable_on_connect {
            ", output enabled on HELLO"
        } else {
            ""
        },
        server.path()
    );
    while server.is_running() {
        std::thread::sleep(REPORT_INTERVAL);
        for change in server.with_device(|device| device.take_output_changes()) {
            // The drive keeps serving when nobody reads its log any more.
            let _ = writeln!(stdout, "{change}").and_then(|()| stdout.flush());
        }
    }
    server.stop()?;
    anyhow::bail!("the pseudo-terminal closed")
}

/// Serves the emulated SimpleFOC sketch until the pty closes.
#[cfg(unix)]
fn serve_simplefoc() -> anyhow::Result<()> {
    use std::io::Write;

    use crate::sim::drive::DriveConfig;
    use crate::sim::firmware::simplefoc::{LOOP_HZ, SimpleFocFirmware};
    use crate::sim::pty::PtyServer;

    let server = PtyServer::start(SimpleFocFirmware::new(DriveConfig::default()))?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "{}", server.path())?;
    stdout.flush()?;
    eprintln!(
        "serving an emulated SimpleFOC sketch (Commander under 'M', {LOOP_HZ} Hz loop, no watchdog) on {}; Ctrl-C stops",
        server.path()
    );
    while server.is_running() {
        std::thread::sleep(REPORT_INTERVAL);
    }
    server.stop()?;
    anyhow::bail!("the pseudo-terminal closed")
}

#[cfg(not(unix))]
pub fn run(_args: &SimArgs) -> anyhow::Result<()> {
    anyhow::bail!("`motiontune sim --pty` needs a Unix pseudo-terminal; on Windows use --port sim")
}
