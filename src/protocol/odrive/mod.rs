//! ODrive's ASCII protocol, firmware 0.5.1 to 0.5.6: request lines with
//! the optional `*checksum` ([`line`]), what replies say about the values
//! held ([`values`]), the properties offered ([`params`]), the axis's state
//! switches and errors ([`axis`]), and the adapter that polls feedback,
//! reads and writes properties and drives the axis ([`adapter`]).

pub mod adapter;
pub mod axis;
pub mod line;
pub mod params;
pub mod values;

pub use adapter::OdriveAdapter;

/// What the user chooses about an ODrive connection (the firmware cannot
/// say which axis is the motor being tuned).
#[derive(Clone, Debug, PartialEq)]
pub struct OdriveSettings {
    /// The axis tuned: 0 or 1.
    pub axis: u8,
    /// Feedback polls per second at `Stream { divider: 1 }`.
    pub poll_hz: f64,
    /// Read `motor.current_control.Iq_measured` with every feedback poll and
    /// stream it as the effort channel (halves the poll rate the link
    /// reaches at low baud rates).
    pub poll_effort: bool,
    /// Append `*checksum` to every request, so the firmware checksums its
    /// replies and corrupted replies are detected.
    pub checksum: bool,
}

impl Default for OdriveSettings {
    fn default() -> Self {
        Self {
            axis: 0,
            poll_hz: 200.0,
            poll_effort: true,
            checksum: true,
        }
    }
}
