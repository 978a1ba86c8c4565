//! motiontune: tune motor drives over USB serial.
//!
//! Data flows one way: device → [`link`] thread (owns the port, decodes with
//! [`protocol`]) → channel → [`history`] → plots in [`app`]; user actions go
//! back as commands through the link. The [`sim`]ulated drive is a device
//! like any other.

/// Step metrics and other analysis: plain functions over sample slices.
pub mod analysis;
/// The egui application: panels for connection, plot, gains and status.
pub mod app;
/// Triggered capture: level and write triggers, pre/post windows.
pub mod capture;
/// Headless commands: ports, sim, record, params, step, analyze.
pub mod cli;
/// What is known about a connected device: its event log.
pub mod device;
/// Sample storage and per-pixel thinning for plots.
pub mod history;
/// Ctrl-C and SIGTERM: one handler for the process, one flag for all.
pub mod interrupt;
/// Transports and the link thread; connection health.
pub mod link;
/// Parameter profiles: TOML files of the gains and settings, diffed against a device.
pub mod profile;
/// Wire formats turned into the app's events and commands.
pub mod protocol;
/// CSV recording and export, headless and on a writer thread.
pub mod record;
/// The simulated drive: physics, controller, firmware emulation.
pub mod sim;
/// Tuning procedures (step tests) as state machines fed in device time.
pub mod tuning;
