//! A recording opened as a read-only device: the file read (on whatever
//! thread calls [`load`], reporting [`LoadProgress`] as it goes), its rows
//! put into a [`History`] as a device's stream would have put them, its
//! channels described with their units and the roles their names give
//! them, and its steps measured as `motiontune analyze` measures them.
//!
//! The contract:
//! - Every row the reader kept is in the history, values bit for bit,
//!   times on the recording's [`TickGrid`] (exact for every recording
//!   motiontune makes). The history holds the whole file.
//! - A time step more than [`GAP_FACTOR`] times the usual one (the median)
//!   breaks the lines there, as lost samples do on a live stream; uneven
//!   steps below that (a serial log's jitter) do not.
//! - Steps are found and measured by [`measure_steps`] over the file's
//!   times and the channels named as the native devices name them
//!   (`setpoint`/`reference`, `position`/`feedback`, `effort`), with the
//!   default options: the figures `motiontune analyze` gives. A setpoint
//!   that changes more than [`MAX_STEPS`] times is an excitation instead:
//!   its frequency response is estimated as a live broadband
//!   measurement's is ([`crate::tuning::recorded_response`]).
//! - Rows the reader could not read whole are reported by line number,
//!   never dropped in silence; a file that cannot be opened is one line.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

use crate::history::History;
use crate::protocol::{ChannelInfo, DeviceInfo, SampleBatch};
use crate::record::read::{self, FileFormat, ReadOptions, RecordedFile, RowProblem, TickGrid};
use crate::tuning::{FrequencyMeasurement, StepResponse};

/// A time step this many times the median breaks the line.
pub const GAP_FACTOR: i64 = 10;

/// Most steps measured in one file: a setpoint that changes more often is
/// an excitation (a sine, a chirp), not steps, and measuring every sample
/// as a step would cost minutes and gigabytes.
pub const MAX_STEPS: usize = 1000;

/// Most samples one batch into the history carries.
const BATCH_LEN: usize = 4096;

/// Bytes read from the file at a time, between progress reports.
const READ_CHUNK: usize = 4 << 20;

/// How far a [`load`] has come, read from any thread.
#[derive(Debug, Default)]
pub struct LoadProgress {
    stage: AtomicU8,
    done: AtomicU64,
    total: AtomicU64,
}

/// What a [`load`] is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadStage {
    /// Reading the file's bytes.
    Reading,
    /// Parsing them into rows.
    Parsing,
    /// Putting the rows into the history.
    Storing,
    /// Finding and measuring the steps.
    Measuring,
}

impl LoadStage {
    /// What it is, in the user's words.
    pub fn label(self) -> &'static str {
        match self {
            Self::Reading => "reading",
            Self::Parsing => "parsing",
            Self::Storing => "storing",
            Self::Measuring => "measuring steps",
        }
    }
}

impl LoadProgress {
    /// The stage, and the share of the whole load done (0 to 1).
    pub fn get(&self) -> (LoadStage, f32) {
        let stage = match self.stage.load(Ordering::Relaxed) {
            0 => LoadStage::Reading,
            1 => LoadStage::Parsing,
            2 => LoadStage::Storing,
            _ => LoadStage::Measuring,
        };
        let total = self.total.load(Ordering::Relaxed).max(1);
        let within = self.done.load(Ordering::Relaxed).min(total) as f32 / total as f32;
        // Shares of a typical load's time: parsing a CSV is the longest.
        let (start, share) = match stage {
            LoadStage::Reading => (0.0, 0.2),
            LoadStage::Parsing => (0.2, 0.5),
            LoadStage::Storing => (0.7, 0.25),
            LoadStage::Measuring => (0.95, 0.05),
        };
        (stage, start + share * within)
    }

    fn set(&self, stage: LoadStage, done: u64, total: u64) {
        self.total.store(total, Ordering::Relaxed);
        self.done.store(done, Ordering::Relaxed);
        self.stage.store(stage as u8, Ordering::Relaxed);
    }

    fn advance(&self, done: u64) {
        self.done.store(done, Ordering::Relaxed);
    }
}

/// A recording, loaded.
#[derive(Debug)]
pub struct RecordedDevice {
    /// The file.
    pub path: PathBuf,
    /// Its channels as a device would describe them; no parameters.
    pub info: DeviceInfo,
    /// Every row read.
    pub history: History,
    /// Rows read.
    pub rows: usize,
    /// The clock its times were put on.
    pub rate_hz: f64,
    /// Every time is held exactly as written.
    pub exact: bool,
    /// Every step of its reference, measured; empty when it has no
    /// reference or feedback channel.
    pub steps: Vec<StepResponse>,
    /// Why no step was measured, when none was.
    pub no_steps: Option<String>,
    /// The frequency response of a setpoint that is an excitation (it
    /// changes more than [`MAX_STEPS`] times), or why it has none.
    pub response: Option<Result<FrequencyMeasurement, String>>,
    /// The rows that could not be read whole.
    pub problems: Vec<RowProblem>,
    /// Problems beyond those listed.
    pub problems_not_listed: usize,
    /// What kind of file it was and how it was read.
    pub format: FileFormat,
}

/// Reads the recording at `path` (CSV read with `options`, or Parquet) and
/// makes it a device; one line when it cannot be opened.
pub fn load(
    path: &Path,
    options: &ReadOptions,
    progress: &LoadProgress,
) -> Result<RecordedDevice, String> {
    let bytes = read_with_progress(path, progress)
        .map_err(|error| format!("cannot open {}: {error}", path.display()))?;
    progress.set(LoadStage::Parsing, 0, 1);
    let file = read::read_bytes(bytes, options)
        .map_err(|error| format!("cannot open {}: {error}", path.display()))?;
    if file.times.is_empty() {
        return Err(format!(
            "cannot open {}: it holds no row of samples",
            path.display()
        ));
    }
    progress.set(LoadStage::Storing, 0, file.times.len() as u64);
    let grid = file.tick_grid();
    let history = history_of(&file, &grid, progress);
    progress.set(LoadStage::Measuring, 0, 1);
    let measured::Measured {
        steps,
        no_steps,
        response,
    } = measured::measure(&file, &grid);
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into(),
    );
    let info = DeviceInfo {
        name,
        firmware: match &file.format {
            FileFormat::Csv(_) => "CSV recording".into(),
            FileFormat::Parquet(_) => "Parquet recording".into(),
        },
        protocol_version: 0,
        loop_hz: grid.rate_hz.round().clamp(1.0, f64::from(u32::MAX)) as u32,
        watchdog_ms: 0,
        channels: file
            .channels
            .iter()
            .map(|channel| ChannelInfo {
                name: channel.name.clone(),
                unit: channel.unit.clone(),
                role: channel.role(),
            })
            .collect(),
        params: Vec::new(),
        other_axes: Vec::new(),
    };
    Ok(RecordedDevice {
        path: path.to_owned(),
        info,
        rows: file.times.len(),
        rate_hz: grid.rate_hz,
        exact: grid.exact,
        history,
        steps,
        no_steps,
        response,
        problems: file.problems,
        problems_not_listed: file.problems_not_listed,
        format: file.format,
    })
}

/// The file's bytes, read a chunk at a time so progress can be shown.
fn read_with_progress(path: &Path, progress: &LoadProgress) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    progress.set(LoadStage::Reading, 0, total);
    let mut bytes = Vec::with_capacity(total as usize);
    loop {
        let start = bytes.len();
        bytes.resize(start + READ_CHUNK, 0);
        let read = file.read(&mut bytes[start..])?;
        bytes.truncate(start + read);
        if read == 0 {
            return Ok(bytes);
        }
        progress.advance(bytes.len() as u64);
    }
}

/// Every row of `file` in a history, in batches of evenly spaced ticks.
fn history_of(file: &RecordedFile, grid: &TickGrid, progress: &LoadProgress) -> History {
    let ticks = &grid.ticks;
    let rows = ticks.len();
    let channel_count = file.channels.len();
    let mut history = History::new(channel_count, rows as u64);
    let step = |row: usize| ticks[row + 1] - ticks[row];
    let usual = median_step(ticks);
    let gap = usual.saturating_mul(GAP_FACTOR);
    let mut row = 0;
    let mut lost_before = 0;
    while row < rows {
        // A batch's stride is the step out of its first row, so the next
        // batch starts where this one's next tick falls: the timeline
        // draws the line on across uneven steps.
        let out = if row + 1 < rows { step(row) } else { usual };
        let stride = if (1..=gap).contains(&out) { out } else { usual };
        let mut end = row + 1;
        while end < rows && end - row < BATCH_LEN && step(end - 1) == stride {
            let next_differs = end + 1 < rows && step(end) != stride;
            if next_differs {
                // Row `end` starts the next batch at this batch's next tick.
                break;
            }
            end += 1;
        }
        let mut values = Vec::with_capacity((end - row) * channel_count);
        for sample in row..end {
            values.extend(file.columns.iter().map(|column| column[sample]));
        }
        let batch = SampleBatch {
            first_tick: ticks[row],
            stride: u32::try_from(stride).unwrap_or(u32::MAX),
            tick_hz: grid.rate_hz,
            channel_count,
            values,
            exact: None,
        };
        history.push_batch(&batch, lost_before);
        lost_before = u64::from(end < rows && !(1..=gap).contains(&step(end - 1)));
        row = end;
        progress.advance(row as u64);
    }
    history
}

/// The median step between rows, in ticks (at least one).
fn median_step(ticks: &[i64]) -> i64 {
    let mut steps: Vec<i64> = ticks.windows(2).map(|t| t[1] - t[0]).collect();
    if steps.is_empty() {
        return 1;
    }
    let middle = steps.len() / 2;
    (*steps.select_nth_unstable(middle).1).max(1)
}

mod measured;
#[cfg(test)]
mod tests;
