//! `motiontune sim --pty`: serve the simulated drive on a pseudo-terminal
//! until interrupted.

use super::SimArgs;

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
    let settings = DeviceSettings {
        loop_hz: args.loop_hz,
        watchdog_ms: args.watchdog_ms,
        ..DeviceSettings::default()
    };
    let server = PtyServer::start(SimDevice::new(DriveConfig::default(), settings))?;
    println!("{}", server.path());
    std::io::stdout().flush()?;
    eprintln!(
        "serving the simulated drive ({} Hz loop, watchdog {} ms) on {}; Ctrl-C stops",
        args.loop_hz,
        args.watchdog_ms,
        server.path()
    );
    while server.is_running() {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    server.stop()?;
    anyhow::bail!("the pseudo-terminal closed")
}

#[cfg(not(unix))]
pub fn run(_args: &SimArgs) -> anyhow::Result<()> {
    anyhow::bail!("`motiontune sim --pty` needs a Unix pseudo-terminal; on Windows use --port sim")
}
