//! The CSV reader of `motiontune analyze` (`src/cli/analyze/columns.rs`):
//! any bytes give columns or an error, never a panic; columns that are
//! read hold finite numbers, one per row in every column, with time
//! strictly increasing. The first byte picks the column names, as the
//! command line would.
#![no_main]

use libfuzzer_sys::fuzz_target;
use motiontune_fuzz::csv_columns::{ColumnNames, read_step_columns};

fuzz_target!(|bytes: &[u8]| {
    let Some((&choice, csv)) = bytes.split_first() else {
        return;
    };
    let names = match choice % 4 {
        0 => ColumnNames::default(),
        1 => ColumnNames {
            reference: Some("a"),
            feedback: Some("b [u]"),
            effort: Some("C"),
        },
        2 => ColumnNames {
            reference: Some(""),
            feedback: Some(" position "),
            effort: None,
        },
        _ => ColumnNames {
            reference: Some("time_s"),
            feedback: Some("time_s"),
            effort: Some("time_s"),
        },
    };
    let Ok(columns) = read_step_columns(csv, "fuzz.csv", names) else {
        return;
    };
    let wanted = 3 + usize::from(columns.effort.is_some());
    assert_eq!(columns.values.len(), wanted);
    assert!(columns.reference < columns.headers.len());
    assert!(columns.feedback < columns.headers.len());
    assert!(columns.effort.is_none_or(|e| e < columns.headers.len()));
    let rows = columns.values[0].len();
    for values in &columns.values {
        assert_eq!(values.len(), rows);
        assert!(values.iter().all(|v| v.is_finite()));
    }
    assert!(columns.values[0].windows(2).all(|t| t[1] > t[0]));
});
