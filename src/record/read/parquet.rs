//! Reading motiontune's Parquet recordings (`time_s` f64, one f32 column
//! per channel, see `record/parquet_writer.rs`), finished or cut short:
//! the footer at the end names every row group; a file without one is
//! read from the last small footer the recorder left, walking back from
//! footer to footer to the first (see the writer's contract).

use std::sync::Arc;

use bytes::Bytes;
use parquet::column::reader::{ColumnReader, ColumnReaderImpl, get_column_reader};
use parquet::data_type::DataType;
use parquet::errors::ParquetError;
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader, RowGroupMetaData};
use parquet::file::serialized_reader::SerializedPageReader;
use parquet::schema::types::ColumnDescPtr;

use super::layout::split_header;
use super::{ReadError, RecordedChannel, RecordedFile};

/// The magic at both ends of a Parquet file.
pub const MAGIC: &[u8; 4] = b"PAR1";

/// What was found in a Parquet file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParquetInfo {
    pub row_groups: usize,
    /// Bytes after the last footer: a row group the recorder was writing
    /// when it was stopped, left out. Zero for a finished file.
    pub bytes_left_out: u64,
}

/// Reads a Parquet recording from its bytes.
pub fn read_parquet(bytes: Vec<u8>) -> Result<RecordedFile, ReadError> {
    let data = Bytes::from(bytes);
    let (last, end) = last_footer(&data).ok_or(ReadError::NoFooter)?;
    let schema = last.file_metadata().schema_descr_ptr();
    let mut groups: Vec<RowGroupMetaData> = last.row_groups().to_vec();
    // Walk back: the bytes before the earliest group known end in the
    // footer of the group before it, down to the footer of none.
    let mut before = groups.first().map(group_start);
    while let Some(start) = before {
        let Some((footer, _)) = footer_ending_at(&data, start) else {
            return Err(ReadError::Parquet(format!(
                "no footer before the row group at byte {start}: not a file motiontune wrote"
            )));
        };
        let earlier = footer.row_groups();
        before = earlier.first().map(group_start).filter(|&s| s < start);
        groups.splice(0..0, earlier.iter().cloned());
    }

    let columns = schema.columns();
    let Some((time_column, channel_columns)) = columns.split_first() else {
        return Err(ReadError::Parquet("the file has no columns".into()));
    };
    let channels = channel_columns
        .iter()
        .map(|c| {
            let (name, unit) = split_header(c.name());
            RecordedChannel {
                name: name.to_owned(),
                unit: unit.to_owned(),
            }
        })
        .collect();
    let rows: usize = groups.iter().map(|g| g.num_rows() as usize).sum();
    let mut times = Vec::with_capacity(rows);
    let mut values: Vec<Vec<f32>> = vec![Vec::with_capacity(rows); channel_columns.len()];
    for group in &groups {
        let group_rows = group.num_rows() as usize;
        read_column(
            &data,
            group,
            0,
            time_column,
            group_rows,
            &mut Column::Time(&mut times),
        )?;
        for (c, (descr, out)) in channel_columns.iter().zip(&mut values).enumerate() {
            read_column(
                &data,
                group,
                c + 1,
                descr,
                group_rows,
                &mut Column::Values(out),
            )?;
        }
    }
    Ok(RecordedFile {
        channels,
        times,
        columns: values,
        problems: Vec::new(),
        problems_not_listed: 0,
        format: super::FileFormat::Parquet(ParquetInfo {
            row_groups: groups.len(),
            bytes_left_out: (data.len() - end) as u64,
        }),
    })
}

enum Column<'a> {
    Time(&'a mut Vec<f64>),
    Values(&'a mut Vec<f32>),
}

fn read_column(
    data: &Bytes,
    group: &RowGroupMetaData,
    index: usize,
    descr: &ColumnDescPtr,
    rows: usize,
    out: &mut Column,
) -> Result<(), ReadError> {
    let error = |e: ParquetError| ReadError::Parquet(format!("column '{}': {e}", descr.name()));
    if descr.max_def_level() != 0 || descr.max_rep_level() != 0 {
        return Err(ReadError::Parquet(format!(
            "column '{}' is optional or repeated: not a file motiontune wrote",
            descr.name()
        )));
    }
    let chunk = group.column(index);
    let pages =
        SerializedPageReader::new(Arc::new(data.clone()), chunk, rows, None).map_err(error)?;
    let reader = get_column_reader(Arc::clone(descr), Box::new(pages));
    let read = match (reader, out) {
        (ColumnReader::DoubleColumnReader(reader), Column::Time(out)) => {
            read_all(reader, rows, out).map_err(error)?
        }
        (ColumnReader::FloatColumnReader(reader), Column::Values(out)) => {
            read_all(reader, rows, out).map_err(error)?
        }
        _ => {
            return Err(ReadError::Parquet(format!(
                "column '{}' is {}: motiontune writes time as DOUBLE and values as FLOAT",
                descr.name(),
                descr.physical_type()
            )));
        }
    };
    if read != rows {
        return Err(ReadError::Parquet(format!(
            "column '{}' holds {read} of its {rows} rows",
            descr.name()
        )));
    }
    Ok(())
}

/// Reads up to `rows` values of a required column into `out`; how many.
fn read_all<T: DataType>(
    mut reader: ColumnReaderImpl<T>,
    rows: usize,
    out: &mut Vec<T::T>,
) -> Result<usize, ParquetError> {
    let mut read = 0;
    while read < rows {
        let (records, _, _) = reader.read_records(rows - read, None, None, out)?;
        if records == 0 {
            break;
        }
        read += records;
    }
    Ok(read)
}

/// Where a row group's first column chunk starts.
fn group_start(group: &RowGroupMetaData) -> usize {
    group
        .columns()
        .iter()
        .map(|c| c.byte_range().0 as usize)
        .min()
        .unwrap_or(0)
}

/// The footer ending at the end of the file, or else the last one before
/// it, and where it ends.
fn last_footer(data: &Bytes) -> Option<(ParquetMetaData, usize)> {
    if let Some(found) = footer_ending_at(data, data.len()) {
        return Some(found);
    }
    memchr::memmem::rfind_iter(data, MAGIC).find_map(|at| footer_ending_at(data, at + MAGIC.len()))
}

/// The footer (metadata, its length, the magic) that ends at `end`, if the
/// bytes there are one and every chunk it names lies before it.
fn footer_ending_at(data: &Bytes, end: usize) -> Option<(ParquetMetaData, usize)> {
    let tail = data.get(..end)?;
    let length_at = end.checked_sub(8)?;
    if tail.get(length_at + 4..)? != MAGIC {
        return None;
    }
    let length = u32::from_le_bytes(tail.get(length_at..length_at + 4)?.try_into().ok()?);
    let start = length_at.checked_sub(length as usize)?;
    if start < MAGIC.len() {
        return None;
    }
    let metadata = ParquetMetaDataReader::decode_metadata(&tail[start..length_at]).ok()?;
    let within = metadata.row_groups().iter().all(|group| {
        group.columns().iter().all(|c| {
            let (offset, length) = c.byte_range();
            offset >= MAGIC.len() as u64 && offset.saturating_add(length) <= start as u64
        })
    });
    within.then_some((metadata, end))
}
