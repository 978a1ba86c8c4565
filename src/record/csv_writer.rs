//! The CSV sample writer shared by headless recording and the GUI.

use std::io::Write;

use crate::protocol::{ChannelInfo, SampleBatch};

/// Why a recording failed.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The file could not be created; `reason` keeps the OS's error (its
    /// kind tells a missing folder from a refused one on every OS).
    #[error("cannot create {path}: {reason}")]
    Create {
        /// The file.
        path: String,
        /// What the system said.
        reason: std::io::Error,
    },
    #[error("cannot write recording: {0}")]
    /// The CSV writer failed.
    Write(#[from] csv::Error),
    #[error("cannot write recording: {0}")]
    /// Writing the file failed.
    Io(#[from] std::io::Error),
    #[error("batch has {got} channels but the recording has {expected}")]
    /// A batch's width differs from the recording's.
    ChannelMismatch {
        /// Channels in the recording.
        expected: usize,
        /// Channels in the batch.
        got: usize,
    },
}

/// Column names of a recording of these channels.
pub fn header_for(channels: &[ChannelInfo]) -> Vec<String> {
    std::iter::once("time_s".to_owned())
        .chain(channels.iter().map(ChannelInfo::label))
        .collect()
}

/// Rows are formatted in memory and reach the sink only whole, on
/// [`CsvRows::flush`] or when this much is waiting: a recording cut short
/// (crash, kill, full disk) ends on a complete row.
const MAX_BUFFERED: usize = 1 << 20;

/// CSV rows on their way to a sink, whole rows at a time; the one writer
/// under every recording's CSV file.
pub(super) struct CsvRows<W: Write> {
    text: csv::Writer<Vec<u8>>,
    sink: W,
    rows: u64,
}

impl<W: Write> CsvRows<W> {
    /// Starts a file with its header row.
    pub(super) fn new(sink: W, header: &[String]) -> Result<Self, RecordError> {
        let mut text = csv::Writer::from_writer(Vec::new());
        text.write_record(header)?;
        Ok(Self {
            text,
            sink,
            rows: 0,
        })
    }

    /// Rows written so far (the header not counted).
    pub(super) fn rows(&self) -> u64 {
        self.rows
    }

    /// Formats one row; hands the rows to the sink when enough wait.
    pub(super) fn write(&mut self, row: &[String]) -> Result<(), RecordError> {
        self.text.write_record(row)?;
        self.rows += 1;
        if self.text.get_ref().len() >= MAX_BUFFERED {
            self.flush()?;
        }
        Ok(())
    }

    /// Hands every complete row formatted so far to the sink, and flushes
    /// the sink.
    pub(super) fn flush(&mut self) -> Result<(), RecordError> {
        let rows_text = std::mem::replace(&mut self.text, csv::Writer::from_writer(Vec::new()));
        let mut text = rows_text
            .into_inner()
            .map_err(|e| RecordError::Io(std::io::Error::other(e.to_string())))?;
        self.sink.write_all(&text)?;
        text.clear();
        // Keep the buffer's memory for the next rows.
        self.text = csv::Writer::from_writer(text);
        self.sink.flush()?;
        Ok(())
    }

    /// Flushes and returns the sink.
    pub(super) fn finish(mut self) -> Result<W, RecordError> {
        self.flush()?;
        Ok(self.sink)
    }
}

/// Sample `k`'s values as the device wrote them, appended to `row`: a
/// counter or `micros()` column above 2^24 stays exact (an f32 would round
/// it).
pub(super) fn push_values(row: &mut Vec<String>, batch: &SampleBatch, k: usize) {
    let values = k * batch.channel_count..(k + 1) * batch.channel_count;
    match &batch.exact {
        Some(exact) => row.extend(exact[values].iter().map(f64::to_string)),
        None => row.extend(batch.values[values].iter().map(f32::to_string)),
    }
}

/// Writes samples as CSV rows.
pub struct CsvRecorder<W: Write> {
    rows: CsvRows<W>,
    channel_count: usize,
    row: Vec<String>,
}

impl<W: Write> CsvRecorder<W> {
    /// Starts a recording: writes the header row.
    pub fn new(sink: W, channels: &[ChannelInfo]) -> Result<Self, RecordError> {
        Ok(Self {
            rows: CsvRows::new(sink, &header_for(channels))?,
            channel_count: channels.len(),
            row: Vec::with_capacity(channels.len() + 1),
        })
    }

    /// Rows written so far (the header not counted).
    pub fn rows(&self) -> u64 {
        self.rows.rows()
    }

    /// Writes every sample of a batch.
    pub fn write_batch(&mut self, batch: &SampleBatch) -> Result<(), RecordError> {
        if batch.channel_count != self.channel_count {
            return Err(RecordError::ChannelMismatch {
                expected: self.channel_count,
                got: batch.channel_count,
            });
        }
        for k in 0..batch.len() {
            self.row.clear();
            self.row.push(batch.time_of(k).to_string());
            push_values(&mut self.row, batch, k);
            self.rows.write(&self.row)?;
        }
        Ok(())
    }

    /// Hands every complete row formatted so far to the sink, and flushes
    /// the sink.
    pub fn flush(&mut self) -> Result<(), RecordError> {
        self.rows.flush()
    }

    /// Flushes and returns the sink.
    pub fn finish(self) -> Result<W, RecordError> {
        self.rows.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ChannelRole;

    #[test]
    fn header_and_rows() {
        let channels = vec![
            ChannelInfo {
                name: "setpoint".into(),
                unit: "rad".into(),
                role: ChannelRole::Reference,
            },
            ChannelInfo {
                name: "count".into(),
                unit: String::new(),
                role: ChannelRole::Other,
            },
        ];
        let mut recorder = CsvRecorder::new(Vec::new(), &channels).expect("header");
        let batch = SampleBatch {
            first_tick: 1000,
            stride: 1,
            tick_hz: 10_000.0,
            channel_count: 2,
            values: vec![1.0, 0.25, 1.0, -0.5],
            exact: None,
        };
        recorder.write_batch(&batch).expect("rows");
        assert_eq!(recorder.rows(), 2);
        let text = String::from_utf8(recorder.finish().expect("flush")).expect("utf8");
        assert_eq!(
            text,
            "time_s,setpoint [rad],count\n0.1,1,0.25\n0.1001,1,-0.5\n"
        );
    }

    /// `micros()` printed as a data column, past 2^24 where an f32 keeps
    /// only every other integer, and a decimal of eight digits: written
    /// as printed. A gap is written as NaN.
    #[test]
    fn values_an_f32_cannot_hold_are_written_exactly() {
        let channels = vec![
            ChannelInfo {
                name: "micros".into(),
                unit: String::new(),
                role: ChannelRole::Other,
            },
            ChannelInfo {
                name: "angle".into(),
                unit: String::new(),
                role: ChannelRole::Other,
            },
        ];
        let mut recorder = CsvRecorder::new(Vec::new(), &channels).expect("header");
        let exact = vec![16_777_217.0, 0.123_456_78, 4_294_967_295.0, f64::NAN];
        let batch = SampleBatch::from_exact(0, 2000, 1e6, 2, exact);
        assert!(batch.exact.is_some());
        recorder.write_batch(&batch).expect("rows");
        let text = String::from_utf8(recorder.finish().expect("flush")).expect("utf8");
        assert_eq!(
            text,
            "time_s,micros,angle\n0,16777217,0.12345678\n0.002,4294967295,NaN\n"
        );
    }
}
