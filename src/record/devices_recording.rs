//! Several devices recorded into one file from the app, on a thread of
//! its own: the layout of [`super::devices`] (the file `record --port A
//! --port B` writes, through the same [`DevicesCsv`]), fed one device's
//! batch at a time with that device's host offset as it stands. The app
//! hands batches over and never waits for the disk; rows reach the file at
//! least every [`FLUSH_INTERVAL`](super::FLUSH_INTERVAL), so a crash loses
//! at most that much. A write error ends the recording and says why; the
//! file keeps every whole row up to then.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_channel::Sender;

use super::devices::DevicesCsv;
use super::recording::{RowSink, WriterThread, join_finished, spawn_writer};
use super::{RecordError, RowFile};
use crate::protocol::{ChannelInfo, SampleBatch};

/// One device's batch on its way to the file.
struct DeviceBatch {
    /// The device's column group.
    device: usize,
    batch: SampleBatch,
    /// Host minus device time for these samples.
    host_offset_s: f64,
}

/// A recording of several devices in progress, or finishing after
/// [`DevicesRecording::stop`].
pub struct DevicesRecording {
    path: PathBuf,
    batches: Option<Sender<DeviceBatch>>,
    /// Rows written of each device, in column-group order.
    rows: Arc<[AtomicU64]>,
    thread: Option<WriterThread>,
    /// Set once the thread has ended.
    outcome: Option<Result<(), String>>,
}

impl DevicesRecording {
    /// Creates `path` with the header for `devices` (each a label and its
    /// channels, in column-group order) and starts the writer thread.
    /// Fails at once if the file cannot be created.
    pub fn start(path: &Path, devices: &[(String, Vec<ChannelInfo>)]) -> Result<Self, RecordError> {
        let file = RowFile::create(path).map_err(|reason| RecordError::Create {
            path: path.display().to_string(),
            reason,
        })?;
        let mut file = DevicesCsv::new(file, devices)?;
        file.flush()?;
        let rows: Arc<[AtomicU64]> = devices.iter().map(|_| AtomicU64::new(0)).collect();
        let sink = DevicesFile {
            file,
            rows: Arc::clone(&rows),
        };
        let (sender, thread) = spawn_writer("devices recorder", sink)?;
        Ok(Self {
            path: path.to_owned(),
            batches: Some(sender),
            rows,
            thread: Some(thread),
            outcome: None,
        })
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Rows of each device in the file so far, in column-group order.
    pub fn rows(&self) -> Vec<u64> {
        self.rows
            .iter()
            .map(|r| r.load(Ordering::Relaxed))
            .collect()
    }

    /// Queues device `device`'s batch, its samples at their device time
    /// plus `host_offset_s` on the host axis; never blocks. Ignored once
    /// stopped.
    pub fn write(&mut self, device: usize, batch: SampleBatch, host_offset_s: f64) {
        let item = DeviceBatch {
            device,
            batch,
            host_offset_s,
        };
        if let Some(sender) = &self.batches
            && sender.send(item).is_err()
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

    /// Once the thread has ended (stopped, or failed): nothing, or why it
    /// failed. Never blocks.
    pub fn outcome(&mut self) -> Option<Result<(), String>> {
        if self.outcome.is_none()
            && let Some(ended) = join_finished(&mut self.thread)
        {
            self.batches = None;
            self.outcome = Some(ended);
        }
        self.outcome.clone()
    }
}

/// The file on the writer thread, each device's rows counted.
struct DevicesFile {
    file: DevicesCsv<RowFile>,
    rows: Arc<[AtomicU64]>,
}

impl RowSink for DevicesFile {
    type Item = DeviceBatch;

    fn write(&mut self, item: &DeviceBatch) -> Result<(), RecordError> {
        self.file
            .write_batch(item.device, &item.batch, item.host_offset_s)?;
        if let Some(rows) = self.rows.get(item.device) {
            rows.fetch_add(item.batch.len() as u64, Ordering::Relaxed);
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), RecordError> {
        self.file.flush()
    }

    fn finish(self) -> Result<(), RecordError> {
        self.file.finish()?.sync_all()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::read::{self, ReadOptions};
    use crate::record::recording::tests::{channels, wait_for};

    #[test]
    fn each_device_reads_back_on_its_own_time() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("both.csv");
        let devices = [("x".to_owned(), channels()), ("y".to_owned(), channels())];
        let mut recording = DevicesRecording::start(&path, &devices).expect("started");
        let batch = |first, n: usize| {
            SampleBatch::from_exact(first, 1, 1000.0, 1, (0..n).map(|k| k as f64).collect())
        };
        recording.write(0, batch(0, 10), 2.0);
        recording.write(1, batch(500, 5), 1.5);
        recording.write(0, batch(10, 10), 2.0);
        recording.stop();
        recording.write(1, batch(505, 5), 1.5);
        let outcome = wait_for(|| recording.outcome());
        assert_eq!(outcome, Ok(()));
        assert_eq!(recording.rows(), [20, 5], "nothing taken after stop");
        let options = |device: &str| ReadOptions {
            device: Some(device.to_owned()),
            ..ReadOptions::default()
        };
        let x = read::open(&path, &options("x")).expect("x reads back");
        assert_eq!(x.times.len(), 20);
        assert!((x.times[19] - 0.019).abs() < 1e-9, "{}", x.times[19]);
        let y = read::open(&path, &options("y")).expect("y reads back");
        assert_eq!(y.times.len(), 5);
        assert!((y.times[0] - 0.5).abs() < 1e-9, "{}", y.times[0]);
    }
}
