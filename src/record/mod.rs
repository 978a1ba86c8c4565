//! Recording samples to CSV: one header row (`time_s`, then `name [unit]`
//! per channel) and one row per sample, time in seconds of device time;
//! or to Parquet, the same columns ([`RecordFormat`], docs/RECORDINGS.md).
//! Headless recording writes directly; the app records and exports
//! through a writer thread, one device to its own file or several into one
//! ([`DevicesRecording`], the layout of [`devices`]). The device's text lines can go to a file of
//! their own beside it ([`TextLog`]). Measured step runs are kept for A/B
//! comparison in a JSON file of their own ([`RunStore`]), grouped by
//! device and unit for it ([`RunFilter`]), and exported to and imported
//! from files of the same format ([`ImportOutcome`]). Recordings,
//! ours and other tools' CSV, are opened by [`read`].

mod csv_writer;
pub mod devices;
mod devices_recording;
mod parquet_writer;
pub mod read;
mod recording;
mod row_file;
mod run_exchange;
mod run_groups;
mod sample_writer;
mod step_runs;
mod text_log;

pub use csv_writer::{CsvRecorder, RecordError, header_for};
pub use devices_recording::DevicesRecording;
pub use parquet_writer::ParquetRecorder;
pub use recording::{FLUSH_INTERVAL, Recording};
pub use row_file::RowFile;
pub use run_exchange::{ExchangeError, ImportOutcome};
pub use run_groups::{RunFilter, RunGroup, filter_choices};
pub use sample_writer::{RecordFormat, SampleWriter};
pub use step_runs::{
    GainValue, MAX_TRACE_POINTS, RunContext, RunStore, RunsFileError, StepRun, Trace,
};
pub use text_log::TextLog;
