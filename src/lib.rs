//! motiontune: tune motor drives over USB serial.
//!
//! Data flows one way: device → [`link`] thread (owns the port, decodes
//! with [`protocol`], runs the [`tuning`] procedures at the stream's rate) →
//! channel → [`history`] → plots in [`app`]; user actions go back as
//! commands through the link. The [`sim`]ulated drive is a device like any
//! other. `docs/ARCHITECTURE.md` draws the picture; each module below owns
//! one concern and says so in its own documentation.

/// Analysis of recorded responses as plain functions over slices: step
/// metrics, identification, tuning rules, frequency response.
pub mod analysis;
/// The egui application: one file per pane; panes read the selected
/// device's session and send intents.
pub mod app;
/// Triggered capture, as on an oscilloscope: level and write triggers,
/// pre/post windows, kept captures.
pub mod capture;
/// The command line: argument parsing and the headless commands (`ports`,
/// `sim`, `record`, `params`, `step`, `autotune`, `bode`, `analyze`).
pub mod cli;
/// What is known about a connected device, with no egui: the session (link,
/// description, parameters in force, history, procedures, health), its
/// event log and its console; the store of the devices connected at once
/// and their recording into one file; and a recording opened as a
/// read-only device.
pub mod device;
/// Sample storage behind the plots: the bounded store, its min/max summary
/// and per-pixel thinning.
pub mod history;
/// Ctrl-C and SIGTERM: one handler for the process, one flag for all.
pub mod interrupt;
/// Transports and the link thread that owns one; ports, open errors,
/// connection health.
pub mod link;
/// Parameter profiles: TOML files of the gains and plain settings, diffed
/// against a device.
pub mod profile;
/// The device model every wire format becomes, and one adapter per wire
/// format (native, text lines, SimpleFOC, ODrive, auto-detection).
pub mod protocol;
/// Files of samples: recordings and exports to CSV or Parquet (headless
/// and on a writer thread), reading recordings back, and the stored step
/// runs with their export and import.
pub mod record;
/// The simulated drive (physics, controller, native firmware) and
/// emulators of other firmware.
pub mod sim;
/// Tuning procedures as state machines fed in device time (step test,
/// excitation, relay), model-based auto-tune, and the write guard every
/// parameter write passes. No threads, no I/O.
pub mod tuning;
