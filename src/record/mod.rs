//! Recording samples to CSV: one header row (`time_s`, then `name [unit]`
//! per channel) and one row per sample, time in seconds of device time.

mod csv_writer;

pub use csv_writer::{CsvRecorder, RecordError, header_for};
