//! Recording from the app, on a thread of its own: the app hands
//! over every batch as it arrives and never waits for the disk. Rows are
//! flushed to the file at least once a second, so a crash loses at most
//! the last second. A write error stops the recording (and says why);
//! streaming goes on. A file named `.parquet` is written as Parquet, any
//! other as CSV ([`RecordFormat::for_path`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use super::{RecordError, RecordFormat, SampleWriter};
use crate::protocol::{ChannelInfo, SampleBatch};

/// The longest rows wait in memory before they reach the file.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(500);

/// A recording in progress, or finishing after [`Recording::stop`].
pub struct Recording {
    path: PathBuf,
    batches: Option<Sender<SampleBatch>>,
    rows_written: Arc<AtomicU64>,
    thread: Option<WriterThread>,
    /// Set once the thread has ended.
    outcome: Option<Result<u64, String>>,
}

impl Recording {
    /// Creates `path` (with the header row for `channels`) and starts the
    /// writer thread. Fails at once if the file cannot be created.
    pub fn start(path: &Path, channels: &[ChannelInfo]) -> Result<Self, RecordError> {
        let recorder = SampleWriter::create(path, RecordFormat::for_path(path), channels)?;
        let rows_written = Arc::new(AtomicU64::new(0));
        let sink = CountedRows {
            recorder,
            rows: Arc::clone(&rows_written),
        };
        let (sender, thread) = spawn_writer("recorder", sink)?;
        Ok(Self {
            path: path.to_owned(),
            batches: Some(sender),
            rows_written,
            thread: Some(thread),
            outcome: None,
        })
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Rows on their way to the file or in it.
    pub fn rows_written(&self) -> u64 {
        self.rows_written.load(Ordering::Relaxed)
    }

    /// Queues a batch; never blocks. Ignored once stopped.
    pub fn write(&mut self, batch: &SampleBatch) {
        if let Some(sender) = &self.batches
            && sender.send(batch.clone()).is_err()
        {
            // The thread ended early: `outcome` says why.
            self.batches = None;
        }
    }

    /// Whether batches are still taken.
    pub fn is_running(&self) -> bool {
        self.batches.is_some() && self.outcome.is_none()
    }

    /// Stops taking batches; the thread writes what is queued, flushes and
    /// closes the file on its own, without holding up the caller.
    pub fn stop(&mut self) {
        self.batches = None;
    }

    /// Once the thread has ended (stopped, or failed): the rows written, or
    /// why it failed. Never blocks.
    pub fn outcome(&mut self) -> Option<Result<u64, String>> {
        if self.outcome.is_none()
            && let Some(ended) = join_finished(&mut self.thread)
        {
            self.batches = None;
            self.outcome = Some(ended.map(|()| self.rows_written()));
        }
        self.outcome.clone()
    }
}

/// What a writer thread writes to: a file that takes one kind of item
/// (a batch, a device's batch) and whose rows are flushed now and then.
pub(super) trait RowSink: Send + 'static {
    /// What the app hands over.
    type Item: Send + 'static;
    /// Writes one item's rows.
    fn write(&mut self, item: &Self::Item) -> Result<(), RecordError>;
    /// Hands the rows so far to the file.
    fn flush(&mut self) -> Result<(), RecordError>;
    /// Flushes and closes the file.
    fn finish(self) -> Result<(), RecordError>;
}

/// A writer thread: how it ended, once joined.
pub(super) type WriterThread = JoinHandle<Result<(), RecordError>>;

/// Starts a thread named `name` that writes every item sent to `sink`,
/// flushing at least every [`FLUSH_INTERVAL`], until the sender is
/// dropped; then it finishes the file. A write error ends it early.
pub(super) fn spawn_writer<S: RowSink>(
    name: &str,
    sink: S,
) -> Result<(Sender<S::Item>, WriterThread), RecordError> {
    let (sender, receiver) = crossbeam_channel::unbounded();
    let thread = std::thread::Builder::new()
        .name(name.into())
        .spawn(move || write_until_stopped(sink, &receiver))
        .map_err(RecordError::Io)?;
    Ok((sender, thread))
}

/// A one-device recording, its rows counted for the app to show.
struct CountedRows {
    recorder: SampleWriter,
    rows: Arc<AtomicU64>,
}

impl RowSink for CountedRows {
    type Item = SampleBatch;

    fn write(&mut self, batch: &SampleBatch) -> Result<(), RecordError> {
        self.recorder.write_batch(batch)?;
        self.rows.store(self.recorder.rows(), Ordering::Relaxed);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), RecordError> {
        self.recorder.flush()
    }

    fn finish(self) -> Result<(), RecordError> {
        self.recorder.finish()
    }
}

/// Once the writer `thread` has ended: how, in one line for the user.
/// Never blocks; `None` while it runs (or once taken).
pub(super) fn join_finished(thread: &mut Option<WriterThread>) -> Option<Result<(), String>> {
    if !thread.as_ref().is_some_and(JoinHandle::is_finished) {
        return None;
    }
    thread.take().map(|thread| match thread.join() {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err("the recorder thread failed".to_owned()),
    })
}

fn write_until_stopped<S: RowSink>(
    mut sink: S,
    items: &Receiver<S::Item>,
) -> Result<(), RecordError> {
    let mut last_flush = Instant::now();
    loop {
        let wait = FLUSH_INTERVAL.saturating_sub(last_flush.elapsed());
        match items.recv_timeout(wait) {
            Ok(item) => sink.write(&item)?,
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if last_flush.elapsed() >= FLUSH_INTERVAL {
            sink.flush()?;
            last_flush = Instant::now();
        }
    }
    sink.finish()
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::protocol::ChannelRole;

    /// One channel, a position in radians.
    pub(in crate::record) fn channels() -> Vec<ChannelInfo> {
        vec![ChannelInfo {
            name: "position".into(),
            unit: "rad".into(),
            role: ChannelRole::Feedback,
        }]
    }

    fn batch(first_tick: i64, n: usize) -> SampleBatch {
        SampleBatch {
            first_tick,
            stride: 1,
            tick_hz: 1000.0,
            channel_count: 1,
            values: (0..n).map(|k| (first_tick as usize + k) as f32).collect(),
            exact: None,
        }
    }

    fn wait_for_outcome(recording: &mut Recording) -> Result<u64, String> {
        wait_for(|| recording.outcome())
    }

    /// What `outcome` gives once a writer thread has ended; fails after 5 s.
    pub(in crate::record) fn wait_for<T>(mut outcome: impl FnMut() -> Option<T>) -> T {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(outcome) = outcome() {
                return outcome;
            }
            assert!(Instant::now() < deadline, "the writer thread never ended");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn whole_rows_reach_the_file_while_recording_and_all_at_the_end() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("run.csv");
        let mut recording = Recording::start(&path, &channels()).expect("started");
        recording.write(&batch(0, 100));
        std::thread::sleep(FLUSH_INTERVAL * 2);
        let text = std::fs::read_to_string(&path).expect("readable");
        assert_eq!(
            text.lines().count(),
            101,
            "header and 100 rows within the flush interval"
        );
        assert!(text.ends_with('\n'), "only whole rows");
        recording.write(&batch(100, 50));
        recording.stop();
        recording.write(&batch(150, 50));
        assert_eq!(
            wait_for_outcome(&mut recording),
            Ok(150),
            "nothing taken after stop"
        );
        let text = std::fs::read_to_string(&path).expect("readable");
        assert_eq!(text.lines().count(), 151);
        assert_eq!(text.lines().last(), Some("0.149,149"));
    }

    /// Read while the recorder still runs, the file is what a kill now
    /// would leave: every row of the last flush, no footer at the end.
    #[test]
    fn a_parquet_recording_opens_while_recording_and_whole_at_the_end() {
        use crate::record::read::{self, FileFormat, ReadOptions};
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("run.parquet");
        let mut recording = Recording::start(&path, &channels()).expect("started");
        recording.write(&batch(0, 100));
        std::thread::sleep(FLUSH_INTERVAL * 2);
        recording.write(&batch(100, 50));
        let midway = read::open(&path, &ReadOptions::default()).expect("readable");
        assert!(
            midway.times.len() >= 100,
            "the rows of the first flush: {}",
            midway.times.len()
        );
        assert_eq!(midway.channels[0].label(), "position [rad]");
        recording.stop();
        assert_eq!(wait_for_outcome(&mut recording), Ok(150));
        let whole = read::open(&path, &ReadOptions::default()).expect("readable");
        assert_eq!(whole.times.len(), 150);
        assert_eq!(whole.columns[0][149], 149.0);
        assert!(matches!(
            whole.format,
            FileFormat::Parquet(read::ParquetInfo {
                bytes_left_out: 0,
                ..
            })
        ));
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_full_disk_is_a_clear_error() {
        let error = Recording::start(Path::new("/dev/full"), &channels())
            .err()
            .expect("no space to write");
        assert!(
            error.to_string().contains("No space left on device"),
            "{error}"
        );
    }

    #[test]
    fn a_missing_folder_is_a_clear_error() {
        let folder = tempfile::tempdir().expect("temp dir");
        let path = folder.path().join("nonexistent-folder").join("run.csv");
        let error = Recording::start(&path, &channels())
            .err()
            .expect("cannot create");
        // The OS's words differ (Windows: "The system cannot find the path
        // specified. (os error 3)"); the kind does not.
        match &error {
            RecordError::Create {
                path: named,
                reason,
            } => {
                assert_eq!(named, &path.display().to_string());
                assert_eq!(reason.kind(), std::io::ErrorKind::NotFound);
            }
            other => panic!("{other:?}"),
        }
        let text = error.to_string();
        assert!(
            text.starts_with(&format!("cannot create {}: ", path.display())),
            "{text}"
        );
        assert_eq!(text.lines().count(), 1, "{text}");
    }
}
