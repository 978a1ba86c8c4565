//! `motiontune sim --pty`: serve the simulated drive on a pseudo-terminal
//! until interrupted, printing its path first. The native drive then prints
//! one line per change of its output (enabled, disabled and why, in device
//! time); `--firmware` serves it behind another firmware's wire format.

use super::SimArgs;

/// How often the output's state changes are printed: well under any
/// watchdog time, so a test reading them times the trip closely.
#[cfg(unix)]
const REPORT_INTERVAL: std::time::Duration = std::time::Duration::from_millis(5);

#[cfg(unix)]
pub fn run(args: &SimArgs) -> anyhow::Result<()> {
    use crate::protocol::adapter::Protocol;
    use crate::sim::SimDevice;
    use crate::sim::device::DeviceSettings;
    use crate::sim::drive::DriveConfig;
    use crate::sim::firmware::lines::{LinesSketch, LinesSketchSettings};
    use crate::sim::firmware::odrive::{self, OdriveSim};
    use crate::sim::firmware::simplefoc::{self, SimpleFocFirmware};
    use crate::sim::pty::PtyServer;

    if !args.pty {
        anyhow::bail!(
            "`motiontune sim` needs --pty (the GUI and other commands use the built-in drive with --port sim)"
        );
    }
    if args.cascade && args.firmware != Protocol::Native {
        anyhow::bail!(
            "--cascade is an option of the native simulated drive: the {} emulator runs its firmware's own loops",
            args.firmware.key()
        );
    }
    match args.firmware {
        Protocol::Native => {
            let settings = DeviceSettings {
                loop_hz: args.loop_hz,
                watchdog_ms: args.watchdog_ms,
                enable_on_hello: args.enable_on_connect,
                ..DeviceSettings::default()
            };
            let config = DriveConfig {
                cascade: args.cascade.then(Default::default),
                ..DriveConfig::default()
            };
            let server = PtyServer::start(SimDevice::new(config, settings))?;
            let what = format!(
                "the simulated drive ({}{} Hz loop, watchdog {} ms{})",
                if args.cascade {
                    "position loop around a velocity loop, "
                } else {
                    ""
                },
                args.loop_hz,
                args.watchdog_ms,
                if args.enable_on_connect {
                    ", output enabled on HELLO"
                } else {
                    ""
                },
            );
            serve(&server, &what, |stdout| {
                use std::io::Write;
                for change in server.with_device(|device| device.take_output_changes()) {
                    // The drive keeps serving when nobody reads its log any more.
                    let _ = writeln!(stdout, "{change}").and_then(|()| stdout.flush());
                }
            })
        }
        Protocol::Lines => {
            let settings = LinesSketchSettings {
                loop_hz: args.loop_hz,
                print_every: (args.loop_hz / 500).max(1),
                ..LinesSketchSettings::default()
            };
            let server = PtyServer::start(LinesSketch::new(DriveConfig::default(), settings))?;
            serve(
                &server,
                "a serial-plotter sketch (setpoint:…,position:…,effort:… lines; commands kp, ki, kd, sp, enable, disable)",
                |_| {},
            )
        }
        Protocol::SimpleFoc => {
            let server = PtyServer::start(SimpleFocFirmware::new(DriveConfig::default()))?;
            let what = format!(
                "an emulated SimpleFOC sketch (Commander under 'M', {} Hz loop, no watchdog)",
                simplefoc::LOOP_HZ
            );
            serve(&server, &what, |_| {})
        }
        Protocol::Odrive => {
            let odrive = OdriveSim::with_version(DriveConfig::default(), args.odrive_version);
            let server = PtyServer::start(odrive)?;
            let what = format!(
                "an emulated ODrive (firmware {} ASCII, {} Hz loop)",
                args.odrive_version,
                odrive::LOOP_HZ
            );
            serve(&server, &what, |_| {})
        }
    }
}

/// Prints the pty's path, says what is served, and serves until the pty
/// closes, calling `report` every few milliseconds.
#[cfg(unix)]
fn serve<D: crate::sim::EmulatedDevice>(
    server: &crate::sim::pty::PtyServer<D>,
    what: &str,
    mut report: impl FnMut(&mut std::io::Stdout),
) -> anyhow::Result<()> {
    use std::io::Write;

    let mut stdout = std::io::stdout();
    writeln!(stdout, "{}", server.path())?;
    stdout.flush()?;
    eprintln!("serving {what} on {}; Ctrl-C stops", server.path());
    while server.is_running() {
        std::thread::sleep(REPORT_INTERVAL);
        report(&mut stdout);
    }
    anyhow::bail!("the pseudo-terminal closed")
}

#[cfg(not(unix))]
pub fn run(_args: &SimArgs) -> anyhow::Result<()> {
    anyhow::bail!("`motiontune sim --pty` needs a Unix pseudo-terminal; on Windows use --port sim")
}
