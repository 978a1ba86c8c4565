//! Parquet files other tools wrote (pandas, polars, pyarrow, DuckDB,
//! MATLAB's `parquetwrite`): any page encoding, dictionary pages, nullable
//! columns and the codecs the crate is built with (Snappy, zstd, LZ4,
//! gzip). Read through the `parquet` crate's column readers, which, unlike
//! the PLAIN pages of motiontune's own files (`parquet.rs`), are not ours
//! to check byte by byte: a panic in one on a damaged file is caught here
//! and is an error, never a crash.
//!
//! The time column is the first whose name a CSV's would be detected by
//! (`time_s`, `time`, `t`, `__time`, `timestamp`, …, with its unit from the
//! name) or that holds timestamps (seconds since 1970, UTC); every other
//! column of numbers is a channel (`name [unit]` split as in a CSV), a
//! null a gap. Columns of text, nested or repeated columns are left out,
//! and named.

use std::panic::{AssertUnwindSafe, catch_unwind};

use bytes::Bytes;
use parquet::basic::{LogicalType, TimeUnit as ParquetTimeUnit, Type as PhysicalType};
use parquet::column::reader::{ColumnReader, ColumnReaderImpl};
use parquet::data_type::DataType;
use parquet::file::reader::{FileReader, RowGroupReader};
use parquet::file::serialized_reader::SerializedFileReader;
use parquet::schema::types::ColumnDescriptor;

use super::layout::{channel_named, is_time_name, unit_of_time};
use super::parquet::ParquetInfo;
use super::{FileFormat, ReadError, RecordedFile, TimeUnit};

/// Values read from a column chunk at a time.
const BATCH: usize = 65_536;

/// Most rows a file may claim: more is damage, or a file too large to
/// hold (each row takes 8 bytes a column in memory).
const MOST_ROWS: i64 = 500_000_000;

/// What a column is to the recording.
enum Role {
    /// Seconds after scaling by this many per second.
    Time(f64),
    Channel,
    LeftOut,
}

/// Reads a finished Parquet file another tool wrote; see the module.
pub(super) fn read_any_parquet(data: Bytes) -> Result<RecordedFile, ReadError> {
    match catch_unwind(AssertUnwindSafe(|| read(data))) {
        Ok(read) => read,
        Err(_) => Err(ReadError::Parquet(
            "the file is damaged: its pages could not be decoded".into(),
        )),
    }
}

fn read(data: Bytes) -> Result<RecordedFile, ReadError> {
    let parquet = |e: parquet::errors::ParquetError| ReadError::Parquet(e.to_string());
    let reader = SerializedFileReader::new(data).map_err(parquet)?;
    let claimed: i64 = reader
        .metadata()
        .row_groups()
        .iter()
        .map(|g| g.num_rows().max(0))
        .fold(0, i64::saturating_add);
    if claimed > MOST_ROWS {
        return Err(ReadError::Parquet(format!(
            "the file claims {claimed} rows, more than the {MOST_ROWS} the app holds"
        )));
    }
    let schema = reader.metadata().file_metadata().schema_descr_ptr();
    let columns = schema.columns();
    let roles: Vec<Role> = columns.iter().map(|c| role_of(c)).collect();
    let Some(time) = roles
        .iter()
        .position(|r| matches!(r, Role::Time(_)))
        .or_else(|| columns.iter().position(|c| is_time_name(c.name())))
    else {
        let names: Vec<&str> = columns.iter().map(|c| c.name()).collect();
        return Err(ReadError::NoTimeColumn {
            columns: names.join(", "),
        });
    };
    let per_second = match roles[time] {
        Role::Time(per_second) => per_second,
        _ => {
            return Err(ReadError::Parquet(format!(
                "the time column '{}' does not hold numbers",
                columns[time].name()
            )));
        }
    };
    let channel_columns: Vec<usize> = (0..columns.len())
        .filter(|&c| c != time && matches!(roles[c], Role::Channel))
        .collect();
    let left_out: Vec<String> = (0..columns.len())
        .filter(|&c| c != time && matches!(roles[c], Role::LeftOut))
        .map(|c| columns[c].path().string())
        .collect();
    let channels = channel_columns
        .iter()
        .map(|&c| channel_named(columns[c].name(), c))
        .collect();

    let mut times = Vec::new();
    let mut values: Vec<Vec<f32>> = vec![Vec::new(); channel_columns.len()];
    let groups = reader.num_row_groups();
    for g in 0..groups {
        let group = reader.get_row_group(g).map_err(parquet)?;
        let rows = usize::try_from(group.metadata().num_rows()).unwrap_or(0);
        let raw = read_f64(&*group, time, rows)?;
        times.extend(raw.iter().map(|t| t / per_second));
        for (out, &c) in values.iter_mut().zip(&channel_columns) {
            out.extend(read_f64(&*group, c, rows)?.into_iter().map(|v| v as f32));
        }
    }
    Ok(RecordedFile {
        channels,
        times,
        columns: values,
        problems: Vec::new(),
        problems_not_listed: 0,
        format: FileFormat::Parquet(ParquetInfo {
            row_groups: groups,
            bytes_left_out: 0,
            columns_left_out: left_out,
        }),
    })
}

/// Whether a column is time (and its scale), a channel, or left out.
fn role_of(column: &ColumnDescriptor) -> Role {
    if column.max_rep_level() > 0 {
        return Role::LeftOut;
    }
    let timestamp = match column.logical_type_ref() {
        Some(LogicalType::Timestamp(stamp)) => Some(match stamp.unit {
            ParquetTimeUnit::MILLIS => 1e3,
            ParquetTimeUnit::MICROS => 1e6,
            ParquetTimeUnit::NANOS => 1e9,
        }),
        _ => None,
    };
    let numbers = matches!(
        column.physical_type(),
        PhysicalType::FLOAT | PhysicalType::DOUBLE | PhysicalType::INT32 | PhysicalType::INT64
    );
    match timestamp {
        Some(per_second) if column.physical_type() == PhysicalType::INT64 => Role::Time(per_second),
        _ if numbers && is_time_name(column.name()) => Role::Time(
            unit_of_time(column.name())
                .unwrap_or(TimeUnit::Seconds)
                .per_second(),
        ),
        _ if numbers => Role::Channel,
        _ => Role::LeftOut,
    }
}

/// Column `index` of `group` as `rows` numbers, a null as NaN.
fn read_f64(group: &dyn RowGroupReader, index: usize, rows: usize) -> Result<Vec<f64>, ReadError> {
    let reader = group
        .get_column_reader(index)
        .map_err(|e| ReadError::Parquet(e.to_string()))?;
    let max_def = group
        .metadata()
        .column(index)
        .column_descr()
        .max_def_level();
    match reader {
        ColumnReader::FloatColumnReader(r) => spread(r, max_def, rows, |v: f32| f64::from(v)),
        ColumnReader::DoubleColumnReader(r) => spread(r, max_def, rows, |v: f64| v),
        ColumnReader::Int32ColumnReader(r) => spread(r, max_def, rows, |v: i32| f64::from(v)),
        ColumnReader::Int64ColumnReader(r) => spread(r, max_def, rows, |v: i64| v as f64),
        _ => Err(ReadError::Parquet(format!(
            "column {index} does not hold numbers"
        ))),
    }
}

/// Reads every value, putting NaN where the definition levels say null.
fn spread<T>(
    mut reader: ColumnReaderImpl<T>,
    max_def: i16,
    rows: usize,
    to_f64: impl Fn(T::T) -> f64,
) -> Result<Vec<f64>, ReadError>
where
    T: DataType,
    T::T: Copy,
{
    // Grown as values come: a row count is only the file's claim.
    let mut out = Vec::with_capacity(rows.min(BATCH));
    let (mut levels, mut values) = (Vec::new(), Vec::new());
    while out.len() < rows {
        levels.clear();
        values.clear();
        let wanted = (rows - out.len()).min(BATCH);
        let (records, _, _) = reader
            .read_records(
                wanted,
                (max_def > 0).then_some(&mut levels),
                None,
                &mut values,
            )
            .map_err(|e| ReadError::Parquet(e.to_string()))?;
        if records == 0 {
            break;
        }
        if max_def > 0 {
            let mut present = values.iter();
            for &level in &levels {
                let value = if level == max_def {
                    present.next().map_or(f64::NAN, |&v| to_f64(v))
                } else {
                    f64::NAN
                };
                out.push(value);
            }
        } else {
            out.extend(values.iter().map(|&v| to_f64(v)));
        }
    }
    if out.len() != rows {
        return Err(ReadError::Parquet(format!(
            "a column holds {} of its {rows} rows",
            out.len()
        )));
    }
    Ok(out)
}
