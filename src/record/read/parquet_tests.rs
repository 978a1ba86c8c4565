//! A recording written in each format reopens bit for bit; a Parquet file
//! cut at any byte opens with every whole row group before the cut.

use super::*;
use crate::protocol::{ChannelInfo, ChannelRole, SampleBatch};
use crate::record::{CsvRecorder, ParquetRecorder};

fn recorded_channels() -> Vec<ChannelInfo> {
    [("setpoint", "rad"), ("position", "rad"), ("count", "")]
        .map(|(name, unit)| ChannelInfo {
            name: name.into(),
            unit: unit.into(),
            role: ChannelRole::Other,
        })
        .to_vec()
}

/// Batches of awkward values: tiny, huge, negative zero, gaps, and times
/// that are not round in binary.
fn batches() -> Vec<SampleBatch> {
    (0..3)
        .map(|b| SampleBatch {
            first_tick: 1_000_003 + b * 70,
            stride: 7,
            tick_hz: 3_000.0,
            channel_count: 3,
            values: (0..30)
                .map(|k| match (k + b as usize) % 6 {
                    0 => f32::NAN,
                    1 => -0.0,
                    2 => 1e-40,
                    3 => f32::MAX,
                    _ => (k as f32 * 0.1).sin(),
                })
                .collect(),
            exact: None,
        })
        .collect()
}

fn expected() -> (Vec<f64>, Vec<Vec<u32>>) {
    let mut times = Vec::new();
    let mut columns = vec![Vec::new(); 3];
    for batch in batches() {
        for k in 0..batch.len() {
            times.push(batch.time_of(k));
            for (c, column) in columns.iter_mut().enumerate() {
                column.push(batch.values[k * 3 + c].to_bits());
            }
        }
    }
    (times, columns)
}

fn bits(file: &RecordedFile) -> Vec<Vec<u32>> {
    file.columns
        .iter()
        .map(|c| c.iter().map(|v| v.to_bits()).collect())
        .collect()
}

/// The finished file, and its length after the start and after each
/// flush.
fn parquet_bytes() -> (Vec<u8>, Vec<usize>) {
    let mut recorder =
        ParquetRecorder::new(Vec::new(), &recorded_channels()).expect("parquet header");
    let mut flushed = vec![parquet_len(&recorder)];
    for batch in batches() {
        recorder.write_batch(&batch).expect("batch");
        recorder.flush().expect("row group");
        flushed.push(parquet_len(&recorder));
    }
    assert_eq!(recorder.rows(), 30);
    (recorder.finish().expect("footer"), flushed)
}

fn parquet_len(recorder: &ParquetRecorder<Vec<u8>>) -> usize {
    recorder.bytes_written()
}

#[test]
fn a_recording_in_each_format_reopens_bit_for_bit() {
    let (times, columns) = expected();
    let dir = tempfile::tempdir().expect("temp dir");

    let mut csv = CsvRecorder::new(Vec::new(), &recorded_channels()).expect("csv header");
    for batch in batches() {
        csv.write_batch(&batch).expect("rows");
    }
    let csv_path = dir.path().join("run.csv");
    std::fs::write(&csv_path, csv.finish().expect("flush")).expect("write csv");

    let parquet_path = dir.path().join("run.parquet");
    std::fs::write(&parquet_path, parquet_bytes().0).expect("write parquet");

    for path in [csv_path, parquet_path] {
        let file = open(&path, &ReadOptions::default()).expect("opens");
        let names: Vec<String> = file.channels.iter().map(RecordedChannel::label).collect();
        assert_eq!(
            names,
            ["setpoint [rad]", "position [rad]", "count"],
            "{path:?}"
        );
        assert_eq!(file.times, times, "{path:?}");
        assert_eq!(bits(&file), columns, "{path:?}");
        assert!(file.problems.is_empty(), "{path:?}");
    }
}

#[test]
fn a_parquet_file_cut_anywhere_keeps_every_whole_row_group() {
    let (times, columns) = expected();
    let (bytes, flushed) = parquet_bytes();
    let whole = read_parquet(bytes.clone()).expect("finished file");
    assert_eq!(
        whole.format,
        FileFormat::Parquet(ParquetInfo {
            row_groups: 3,
            bytes_left_out: 0,
            columns_left_out: Vec::new(),
        })
    );
    assert_eq!(whole.times, times);
    for cut in 0..flushed[0] {
        assert!(
            read_parquet(bytes[..cut].to_vec()).is_err(),
            "cut at {cut}, inside the first footer"
        );
    }
    for cut in flushed[0]..bytes.len() {
        let file = read_parquet(bytes[..cut].to_vec())
            .unwrap_or_else(|e| panic!("cut at {cut} of {}: {e}", bytes.len()));
        let groups = flushed[1..].iter().filter(|&&end| end <= cut).count();
        let rows = groups * 10;
        assert_eq!(file.times, times[..rows], "cut at {cut}");
        let kept: Vec<Vec<u32>> = columns.iter().map(|c| c[..rows].to_vec()).collect();
        assert_eq!(bits(&file), kept, "cut at {cut}");
        assert_eq!(
            file.channels.len(),
            3,
            "the channels are named from the start"
        );
    }
}

#[test]
fn bytes_that_are_not_a_recording_are_an_error_not_a_panic() {
    for bytes in [
        &b"PAR1"[..],
        b"PAR1PAR1",
        b"PAR1\0\0\0\0PAR1",
        b"PAR1garbage\x05\0\0\0PAR1",
    ] {
        assert!(read_parquet(bytes.to_vec()).is_err(), "{bytes:?}");
    }
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Any bytes read as CSV give a file or an error.
        #[test]
        fn any_bytes_as_csv(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = read_csv(&bytes, &ReadOptions::default());
        }

        /// A recording with bytes overwritten anywhere (a bad disk, a
        /// truncated copy) gives a file or an error, never a panic.
        #[test]
        fn a_damaged_parquet_file(
            damage in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
            cut in any::<prop::sample::Index>(),
        ) {
            let (mut bytes, _) = parquet_bytes();
            for (at, byte) in damage {
                let at = at.index(bytes.len());
                bytes[at] = byte;
            }
            let keep = cut.index(bytes.len() + 1).max(bytes.len() / 2);
            bytes.truncate(keep);
            let _ = read_parquet(bytes);
        }
    }
}

/// pandas' Parquet (pyarrow: Snappy, dictionary pages, nullable columns)
/// and one with zstd and a datetime index, from `tests/other_tools/`.
const PANDAS: &[u8] = include_bytes!("../../../tests/other_tools/pandas_step.parquet");
const PANDAS_ZSTD_DATETIME: &[u8] =
    include_bytes!("../../../tests/other_tools/pandas_datetime_zstd.parquet");

#[test]
fn parquet_files_pandas_wrote_open() {
    let plain = read_parquet(PANDAS.to_vec()).expect("pandas' file");
    let labels: Vec<String> = plain.channels.iter().map(RecordedChannel::label).collect();
    assert_eq!(labels, ["setpoint", "position", "effort"]);
    assert_eq!(plain.times.len(), 1250);
    assert_eq!(plain.times[1], 0.002);
    let dated = read_parquet(PANDAS_ZSTD_DATETIME.to_vec()).expect("zstd, datetime index");
    let labels: Vec<String> = dated.channels.iter().map(RecordedChannel::label).collect();
    assert_eq!(labels, ["setpoint", "position", "effort"]);
    // 2026-12-06 09:00:00 UTC, then every 2 ms.
    assert_eq!(dated.times[0], 1_796_547_600.0);
    assert!((dated.times[1] - dated.times[0] - 0.002).abs() < 1e-6);
    for (a, b) in plain.columns.iter().zip(&dated.columns) {
        assert_eq!(a, b, "the same values either way");
    }
}

#[test]
fn a_damaged_parquet_file_another_tool_wrote_is_an_error_not_a_panic() {
    let mut opened = 0;
    for at in (4..PANDAS.len() - 8).step_by(7) {
        for byte in [0x00, 0xff, 0x7f] {
            let mut bytes = PANDAS.to_vec();
            bytes[at] = byte;
            // Either way, never a panic out of the reader.
            opened += usize::from(read_parquet(bytes).is_ok());
        }
    }
    assert!(opened > 0, "some damage is in values alone");
}
