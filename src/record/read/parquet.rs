//! Reading motiontune's Parquet recordings (`time_s` f64, one f32 column
//! per channel, see `record/parquet_writer.rs`), finished or cut short:
//! the footer at the end names every row group; a file without one is
//! read from the last small footer the recorder left, walking back from
//! footer to footer to the first (see the writer's contract).

use std::sync::Arc;

use bytes::Bytes;
use parquet::basic::{Compression, Encoding, Type as PhysicalType};
use parquet::column::page::{Page, PageReader};
use parquet::file::metadata::{
    ColumnChunkMetaData, ParquetMetaData, ParquetMetaDataReader, RowGroupMetaData,
};
use parquet::file::serialized_reader::SerializedPageReader;
use parquet::schema::types::ColumnDescPtr;

use super::layout::channel_named;
use super::{ReadError, RecordedFile};

/// The magic at both ends of a Parquet file.
pub const MAGIC: &[u8; 4] = b"PAR1";

/// The magic that ends motiontune's small footers in place of `PAR1`, so
/// that a file cut after one is refused by other readers (which would
/// otherwise show only the one row group it names) and recovered whole by
/// this one.
pub const SMALL_FOOTER_MAGIC: &[u8; 4] = b"MTRG";

/// What was found in a Parquet file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParquetInfo {
    /// Whole row groups read.
    pub row_groups: usize,
    /// Bytes after the last footer: a row group the recorder was writing
    /// when it was stopped, left out. Zero for a finished file.
    pub bytes_left_out: u64,
    /// Columns of another tool's file that are not numbers (text, nested),
    /// left out.
    pub columns_left_out: Vec<String>,
}

impl ParquetInfo {
    /// What was found, in one line.
    pub fn describe(&self) -> String {
        let groups = format!(
            "{} row group{}",
            self.row_groups,
            if self.row_groups == 1 { "" } else { "s" }
        );
        let mut text = groups;
        if self.bytes_left_out > 0 {
            text += &format!(
                "; the last {} bytes (a row group cut short) left out",
                self.bytes_left_out
            );
        }
        if !self.columns_left_out.is_empty() {
            text += &format!(
                "; columns not of numbers left out: {}",
                self.columns_left_out.join(", ")
            );
        }
        text
    }
}

/// Reads a Parquet recording from its bytes.
pub fn read_parquet(bytes: Vec<u8>) -> Result<RecordedFile, ReadError> {
    let data = Bytes::from(bytes);
    let (last, end) = last_footer(&data).ok_or(ReadError::NoFooter)?;
    let finished = end == data.len() && data.ends_with(MAGIC);
    if finished && !written_by_motiontune(&last) {
        return super::parquet_any::read_any_parquet(data);
    }
    let schema = last.file_metadata().schema_descr_ptr();
    let mut groups: Vec<RowGroupMetaData> = last.row_groups().to_vec();
    // Walk back: the bytes before the earliest group known end in the
    // footer of the group before it, down to the footer of none.
    // A finished file's footer names every row group.
    let mut before = groups.first().map(group_start).filter(|_| !finished);
    while let Some(start) = before {
        let Some((footer, _)) = footer_ending_at(&data, start, SMALL_FOOTER_MAGIC) else {
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
        .enumerate()
        .map(|(k, c)| channel_named(c.name(), k + 1))
        .collect();
    let rows: usize = groups.iter().map(|g| g.num_rows() as usize).sum();
    // A time takes 8 bytes of the file: no more room than that is needed.
    let rows = rows.min(data.len() / 8);
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
            columns_left_out: Vec::new(),
        }),
    })
}

/// Whether a file is laid out as motiontune writes one: a required DOUBLE
/// first, then required FLOATs, uncompressed, read here page by page.
/// Anything else another tool wrote goes to the general reader.
fn written_by_motiontune(metadata: &ParquetMetaData) -> bool {
    let schema = metadata.file_metadata().schema_descr();
    let columns = schema.columns();
    let laid_out = columns.iter().enumerate().all(|(k, c)| {
        let wanted = if k == 0 {
            PhysicalType::DOUBLE
        } else {
            PhysicalType::FLOAT
        };
        c.physical_type() == wanted && c.max_def_level() == 0 && c.max_rep_level() == 0
    });
    let plain = metadata.row_groups().iter().all(|group| {
        group.columns().iter().all(|chunk| {
            chunk.compression() == Compression::UNCOMPRESSED
                && chunk.dictionary_page_offset().is_none()
        })
    });
    !columns.is_empty() && laid_out && plain
}

enum Column<'a> {
    Time(&'a mut Vec<f64>),
    Values(&'a mut Vec<f32>),
}

/// Reads a column chunk's values into `out`. The pages are decoded here,
/// not by the `parquet` crate's column reader: each must be a PLAIN data
/// page holding exactly its values (as motiontune writes them), checked
/// before a byte is taken, so a damaged file is an error and never reaches
/// a decoder that panics on it.
fn read_column(
    data: &Bytes,
    group: &RowGroupMetaData,
    index: usize,
    descr: &ColumnDescPtr,
    rows: usize,
    out: &mut Column<'_>,
) -> Result<(), ReadError> {
    let name = descr.name();
    let refuse = |why: String| ReadError::Parquet(format!("column '{name}': {why}"));
    if descr.max_def_level() != 0 || descr.max_rep_level() != 0 {
        return Err(refuse(
            "optional or repeated: not a file motiontune wrote".into(),
        ));
    }
    let width = match (descr.physical_type(), &out) {
        (PhysicalType::DOUBLE, Column::Time(_)) => 8,
        (PhysicalType::FLOAT, Column::Values(_)) => 4,
        (physical, _) => {
            return Err(refuse(format!(
                "{physical}: motiontune writes time as DOUBLE and values as FLOAT"
            )));
        }
    };
    let chunk = group.column(index);
    if chunk.compression() != Compression::UNCOMPRESSED {
        return Err(refuse(format!(
            "compressed with {}: motiontune writes none",
            chunk.compression()
        )));
    }
    let mut pages = SerializedPageReader::new(Arc::new(data.clone()), chunk, rows, None)
        .map_err(|e| refuse(e.to_string()))?;
    let mut read = 0;
    while let Some(page) = pages.get_next_page().map_err(|e| refuse(e.to_string()))? {
        let Page::DataPage {
            buf,
            num_values,
            encoding: Encoding::PLAIN,
            ..
        } = page
        else {
            return Err(refuse(format!(
                "a {:?} page: motiontune writes PLAIN data pages",
                page.page_type()
            )));
        };
        let count = num_values as usize;
        if buf.len() != count * width || read + count > rows {
            return Err(refuse(format!(
                "a page of {} bytes for {count} values: damaged",
                buf.len()
            )));
        }
        match out {
            Column::Time(out) => out.extend(
                buf.chunks_exact(8)
                    .map(|b| f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])),
            ),
            Column::Values(out) => out.extend(
                buf.chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            ),
        }
        read += count;
    }
    if read != rows {
        return Err(refuse(format!("holds {read} of its {rows} rows")));
    }
    Ok(())
}

/// Where a row group's first column chunk starts.
fn group_start(group: &RowGroupMetaData) -> usize {
    group
        .columns()
        .iter()
        .filter_map(|c| chunk_range(c).map(|(start, _)| start as usize))
        .min()
        .unwrap_or(0)
}

/// Where a column chunk lies, if its offset and length are not negative
/// (what `ColumnChunkMetaData::byte_range` asserts, and panics on, in a
/// damaged file).
fn chunk_range(chunk: &ColumnChunkMetaData) -> Option<(u64, u64)> {
    let start = chunk
        .dictionary_page_offset()
        .unwrap_or_else(|| chunk.data_page_offset());
    Some((
        u64::try_from(start).ok()?,
        u64::try_from(chunk.compressed_size()).ok()?,
    ))
}

/// The final footer ending the file, or else the last small footer, and
/// where it ends.
fn last_footer(data: &Bytes) -> Option<(ParquetMetaData, usize)> {
    if let Some(found) = footer_ending_at(data, data.len(), MAGIC) {
        return Some(found);
    }
    memchr::memmem::rfind_iter(data, SMALL_FOOTER_MAGIC)
        .find_map(|at| footer_ending_at(data, at + MAGIC.len(), SMALL_FOOTER_MAGIC))
}

/// The footer (metadata, its length, the magic) that ends at `end`, if the
/// bytes there are one and every chunk it names lies before it.
fn footer_ending_at(data: &Bytes, end: usize, magic: &[u8; 4]) -> Option<(ParquetMetaData, usize)> {
    let tail = data.get(..end)?;
    let length_at = end.checked_sub(8)?;
    if tail.get(length_at + 4..)? != magic {
        return None;
    }
    let length = u32::from_le_bytes(tail.get(length_at..length_at + 4)?.try_into().ok()?);
    let start = length_at.checked_sub(length as usize)?;
    if start < MAGIC.len() {
        return None;
    }
    let metadata = ParquetMetaDataReader::decode_metadata(&tail[start..length_at]).ok()?;
    // Each row takes at least a byte of the file: a count past that is
    // damage, not rows to make room for.
    let within = metadata.row_groups().iter().all(|group| {
        u64::try_from(group.num_rows()).is_ok_and(|rows| rows <= start as u64)
            && group.columns().iter().all(|c| {
                chunk_range(c).is_some_and(|(offset, length)| {
                    offset >= MAGIC.len() as u64 && offset.saturating_add(length) <= start as u64
                })
            })
    });
    within.then_some((metadata, end))
}
