//! The simulated drive: a DC motor with load ([`plant`]) under a PID
//! position loop ([`controller`]) or, as an option, a position loop around
//! a velocity loop ([`cascade`]), wrapped in firmware that speaks the
//! native protocol byte for byte ([`device`]). It runs in-process as the
//! app's default device ([`realtime`]) or behind a pseudo-terminal ([`pty`]).

pub mod cascade;
pub mod controller;
pub mod device;
pub mod drive;
pub mod emulated;
pub mod excite;
pub mod firmware;
pub mod noise;
pub mod plant;
#[cfg(unix)]
pub mod pty;
pub mod realtime;

pub use device::SimDevice;
pub use drive::{DriveConfig, SimDrive};
pub use emulated::EmulatedDevice;
