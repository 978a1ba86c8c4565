//! The recording file in the format asked for: CSV (the default, readable
//! anywhere) or Parquet (a quarter of the size, for long recordings), the
//! same calls for both.

use std::fs::File;
use std::path::Path;

use super::{CsvRecorder, ParquetRecorder, RecordError, RowFile};
use crate::protocol::{ChannelInfo, SampleBatch};

/// The format a recording is written in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordFormat {
    #[default]
    /// CSV.
    Csv,
    /// Parquet.
    Parquet,
}

impl RecordFormat {
    /// Parquet for a file named `.parquet` or `.pq`, else CSV.
    pub fn for_path(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("parquet") || e.eq_ignore_ascii_case("pq") => {
                Self::Parquet
            }
            _ => Self::Csv,
        }
    }

    /// Its name, as the user sees it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Csv => "CSV",
            Self::Parquet => "Parquet",
        }
    }

    /// The extension a file in this format is given.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Parquet => "parquet",
        }
    }
}

impl std::str::FromStr for RecordFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "csv" => Ok(Self::Csv),
            "parquet" => Ok(Self::Parquet),
            _ => Err(format!("'{text}' is not a recording format (csv, parquet)")),
        }
    }
}

/// A recording file being written, in either format.
pub enum SampleWriter {
    /// Writing CSV.
    Csv(CsvRecorder<RowFile>),
    /// Writing Parquet.
    Parquet(ParquetRecorder<File>),
}

impl SampleWriter {
    /// Creates `path` and writes what a recording starts with (the header
    /// row; Parquet's magic and a first footer), flushed.
    pub fn create(
        path: &Path,
        format: RecordFormat,
        channels: &[ChannelInfo],
    ) -> Result<Self, RecordError> {
        let create = |reason| RecordError::Create {
            path: path.display().to_string(),
            reason,
        };
        let mut writer = match format {
            RecordFormat::Csv => Self::Csv(CsvRecorder::new(
                RowFile::create(path).map_err(create)?,
                channels,
            )?),
            RecordFormat::Parquet => Self::Parquet(ParquetRecorder::new(
                File::create(path).map_err(create)?,
                channels,
            )?),
        };
        writer.flush()?;
        Ok(writer)
    }

    /// Rows taken so far.
    pub fn rows(&self) -> u64 {
        match self {
            Self::Csv(recorder) => recorder.rows(),
            Self::Parquet(recorder) => recorder.rows(),
        }
    }

    /// Takes every sample of a batch.
    pub fn write_batch(&mut self, batch: &SampleBatch) -> Result<(), RecordError> {
        match self {
            Self::Csv(recorder) => recorder.write_batch(batch),
            Self::Parquet(recorder) => recorder.write_batch(batch),
        }
    }

    /// Puts every row taken so far in the file, whole: what a kill from
    /// now on cannot take away.
    pub fn flush(&mut self) -> Result<(), RecordError> {
        match self {
            Self::Csv(recorder) => recorder.flush(),
            Self::Parquet(recorder) => recorder.flush(),
        }
    }

    /// Writes the rest (Parquet: the final footer) and syncs the file to
    /// the disk.
    pub fn finish(self) -> Result<(), RecordError> {
        match self {
            Self::Csv(recorder) => recorder.finish()?.sync_all()?,
            Self::Parquet(recorder) => recorder.finish()?.sync_all()?,
        }
        Ok(())
    }
}
