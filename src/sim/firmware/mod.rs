//! Emulators of firmware people already run on their boards, each wrapping
//! the simulated drive behind that firmware's own wire format exactly as
//! its published behaviour describes, quirks included. They are what the
//! protocol adapters are tested against, what `motiontune sim --pty
//! --firmware NAME` serves, and what `--port sim:NAME` runs in process
//! ([`emulator`]).
pub mod lines;
pub mod odrive;

pub mod simplefoc;

use super::device::{DeviceSettings, SimDevice};
use super::drive::DriveConfig;
use super::emulated::EmulatedDevice;
use crate::protocol::adapter::Protocol;

/// The emulator of `firmware` with its default settings, on the default
/// drive: what `--port sim:NAME` connects to in process.
pub fn emulator(firmware: Protocol) -> Box<dyn EmulatedDevice> {
    let config = DriveConfig::default();
    match firmware {
        Protocol::Native => Box::new(SimDevice::new(config, DeviceSettings::default())),
        Protocol::Lines => Box::new(lines::LinesSketch::new(
            config,
            lines::LinesSketchSettings::default(),
        )),
        Protocol::SimpleFoc => Box::new(simplefoc::SimpleFocFirmware::new(config)),
        Protocol::Odrive => Box::new(odrive::OdriveSim::new(config)),
    }
}
