//! Writing samples to Parquet: a `time_s` column of f64 seconds and one
//! f32 column per channel named `name [unit]`, as the CSV's header names
//! them. Each [`ParquetRecorder::flush`] ends a row group.
//!
//! Crash safety: a Parquet file is read from its footer, at the end, which
//! a killed recorder never writes. So after the file's magic and after
//! every row group, a footer of its own is written as well (metadata, its
//! length, and `MTRG` where a footer has `PAR1`), naming the schema and
//! that one row group: bytes that other readers skip (every chunk is found
//! by its offset), and that they refuse as the end of a file rather than
//! show one row group of it. The final
//! footer names every row group, so pandas, polars and MATLAB read a
//! finished file as any other. A file cut anywhere ends after some small
//! footer; [`crate::record::read`] walks back from it, footer to footer,
//! and recovers every whole row group.

use std::io::Write;
use std::sync::Arc;

use parquet::basic::{Encoding, Repetition, Type as PhysicalType};
use parquet::data_type::{DoubleType, FloatType};
use parquet::file::metadata::{FileMetaData, ParquetMetaData, ParquetMetaDataWriter};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::{SchemaDescriptor, Type};

use super::read::SMALL_FOOTER_MAGIC;
use super::{RecordError, header_for};
use crate::protocol::{ChannelInfo, SampleBatch};

/// Rows held in memory before a row group is ended without a flush (a
/// second at 100 kHz).
const MAX_BUFFERED_ROWS: usize = 100_000;

/// Writes samples as Parquet row groups.
pub struct ParquetRecorder<W: Write + Send> {
    writer: SerializedFileWriter<W>,
    schema: Arc<SchemaDescriptor>,
    times: Vec<f64>,
    /// One column of values per channel, for the rows not yet written.
    columns: Vec<Vec<f32>>,
    rows: u64,
}

impl<W: Write + Send> ParquetRecorder<W> {
    /// Starts a recording: writes the magic and a footer without rows, so
    /// even a file killed before its first row group names its channels.
    pub fn new(sink: W, channels: &[ChannelInfo]) -> Result<Self, RecordError> {
        let fields = header_for(channels)
            .into_iter()
            .enumerate()
            .map(|(column, name)| {
                let physical = if column == 0 {
                    PhysicalType::DOUBLE
                } else {
                    PhysicalType::FLOAT
                };
                Type::primitive_type_builder(&name, physical)
                    .with_repetition(Repetition::REQUIRED)
                    .build()
                    .map(Arc::new)
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(parquet_error)?;
        let root = Type::group_type_builder("recording")
            .with_fields(fields)
            .build()
            .map_err(parquet_error)?;
        let properties = WriterProperties::builder()
            .set_created_by(format!("motiontune {}", env!("CARGO_PKG_VERSION")))
            .set_dictionary_enabled(false)
            .set_encoding(Encoding::PLAIN)
            .set_statistics_enabled(EnabledStatistics::None)
            .set_offset_index_disabled(true)
            .set_max_row_group_row_count(None)
            .build();
        let writer = SerializedFileWriter::new(sink, Arc::new(root), Arc::new(properties))
            .map_err(parquet_error)?;
        let schema = Arc::new(writer.schema_descr().clone());
        let mut recorder = Self {
            writer,
            schema,
            times: Vec::new(),
            columns: vec![Vec::new(); channels.len()],
            rows: 0,
        };
        recorder.write_small_footer()?;
        recorder.writer.flush()?;
        Ok(recorder)
    }

    /// Bytes handed to the sink so far, or held to be.
    pub fn bytes_written(&self) -> usize {
        self.writer.bytes_written()
    }

    /// Rows taken so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Takes every sample of a batch.
    pub fn write_batch(&mut self, batch: &SampleBatch) -> Result<(), RecordError> {
        if batch.channel_count != self.columns.len() {
            return Err(RecordError::ChannelMismatch {
                expected: self.columns.len(),
                got: batch.channel_count,
            });
        }
        for k in 0..batch.len() {
            self.times.push(batch.time_of(k));
            let row = &batch.values[k * batch.channel_count..(k + 1) * batch.channel_count];
            for (column, &value) in self.columns.iter_mut().zip(row) {
                column.push(value);
            }
        }
        self.rows += batch.len() as u64;
        if self.times.len() >= MAX_BUFFERED_ROWS {
            self.end_row_group()?;
        }
        Ok(())
    }

    /// Writes the rows taken so far as a row group with its small footer,
    /// and flushes the sink.
    pub fn flush(&mut self) -> Result<(), RecordError> {
        self.end_row_group()?;
        self.writer.flush()?;
        Ok(())
    }

    /// Writes what is left and the final footer; returns the sink.
    pub fn finish(mut self) -> Result<W, RecordError> {
        self.end_row_group()?;
        self.writer.into_inner().map_err(parquet_error)
    }

    fn end_row_group(&mut self) -> Result<(), RecordError> {
        if self.times.is_empty() {
            return Ok(());
        }
        let mut group = self.writer.next_row_group().map_err(parquet_error)?;
        let mut column = 0;
        while let Some(mut writer) = group.next_column().map_err(parquet_error)? {
            if column == 0 {
                writer
                    .typed::<DoubleType>()
                    .write_batch(&self.times, None, None)
            } else {
                writer
                    .typed::<FloatType>()
                    .write_batch(&self.columns[column - 1], None, None)
            }
            .map_err(parquet_error)?;
            writer.close().map_err(parquet_error)?;
            column += 1;
        }
        group.close().map_err(parquet_error)?;
        self.times.clear();
        self.columns.iter_mut().for_each(Vec::clear);
        self.write_small_footer()
    }

    /// A footer naming the schema and the last row group written (none at
    /// the start), for a reader to recover the file from if it ends here.
    fn write_small_footer(&mut self) -> Result<(), RecordError> {
        let groups: Vec<_> = self
            .writer
            .flushed_row_groups()
            .last()
            .cloned()
            .into_iter()
            .collect();
        let rows = groups.iter().map(|g| g.num_rows()).sum();
        let metadata = ParquetMetaData::new(
            FileMetaData::new(1, rows, None, None, Arc::clone(&self.schema), None),
            groups,
        );
        let mut footer = Vec::new();
        ParquetMetaDataWriter::new(&mut footer, &metadata)
            .finish()
            .map_err(parquet_error)?;
        // `MTRG`, not `PAR1`: a file cut after this footer is not taken
        // by other readers for a file of this one row group.
        let magic_at = footer.len() - SMALL_FOOTER_MAGIC.len();
        footer[magic_at..].copy_from_slice(SMALL_FOOTER_MAGIC);
        self.writer.write_all(&footer)?;
        Ok(())
    }
}

fn parquet_error(error: parquet::errors::ParquetError) -> RecordError {
    match error {
        parquet::errors::ParquetError::External(inner) => {
            match inner.downcast::<std::io::Error>() {
                Ok(io) => RecordError::Io(*io),
                Err(other) => RecordError::Io(std::io::Error::other(other)),
            }
        }
        other => RecordError::Io(std::io::Error::other(other)),
    }
}
