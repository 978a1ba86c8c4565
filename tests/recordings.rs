//! `motiontune record` to each format, as a user runs it, and the file
//! opened by motiontune's reader: the same channels and an unbroken 10 kHz
//! run of times in both, with nothing to report.

mod common;

use motiontune::record::read::{FileFormat, ReadOptions, RecordedFile, open};

fn record(out: &std::path::Path, extra: &[&str]) -> RecordedFile {
    let out_text = out.to_str().expect("utf8 path");
    let mut args = vec![
        "record",
        "--port",
        "sim",
        "--seconds",
        "0.5",
        "--out",
        out_text,
    ];
    args.extend_from_slice(extra);
    let output = common::motiontune(&args);
    assert!(output.status.success(), "{}", common::stderr(&output));
    open(out, &ReadOptions::default()).unwrap_or_else(|e| panic!("{out_text}: {e}"))
}

#[test]
fn record_writes_each_format_and_both_reopen() {
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = record(&dir.path().join("run.csv"), &[]);
    let parquet = record(&dir.path().join("run.parquet"), &[]);
    assert!(matches!(csv.format, FileFormat::Csv(_)));
    assert!(matches!(parquet.format, FileFormat::Parquet(_)));
    for file in [&csv, &parquet] {
        let labels: Vec<String> = file.channels.iter().map(|c| c.label()).collect();
        assert_eq!(labels[..2], ["setpoint [rad]", "position [rad]"]);
        assert_eq!(file.channels.len(), 8);
        assert!(file.times.len() >= 5000, "{} rows", file.times.len());
        assert!(file.problems.is_empty(), "{:?}", file.problems);
        let step = file.times.windows(2).map(|t| t[1] - t[0]);
        assert!(
            step.clone().all(|dt| (dt - 1e-4).abs() < 1e-9),
            "every tick of a 10 kHz stream"
        );
        assert!(file.columns.iter().all(|c| c.len() == file.times.len()));
    }
}
