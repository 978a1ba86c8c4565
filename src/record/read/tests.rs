//! Every CSV variant the reader promises to open, each checked for its
//! channels, units, times and values; broken files for the rows named.

use super::*;
use crate::protocol::{ChannelInfo, ChannelRole, SampleBatch};
use crate::record::CsvRecorder;

fn read(text: &str) -> RecordedFile {
    read_with(text, &ReadOptions::default())
}

fn read_with(text: &str, options: &ReadOptions) -> RecordedFile {
    read_csv(text.as_bytes(), options).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn layout(file: &RecordedFile) -> &CsvLayout {
    file.csv_layout().expect("read as CSV")
}

fn channels(file: &RecordedFile) -> Vec<(&str, &str)> {
    file.channels
        .iter()
        .map(|c| (c.name.as_str(), c.unit.as_str()))
        .collect()
}

/// Values compared bit for bit, so gaps (NaN) compare too.
fn bits(column: &[f32]) -> Vec<u32> {
    column.iter().map(|v| v.to_bits()).collect()
}

fn problems(file: &RecordedFile) -> Vec<String> {
    file.problems.iter().map(ToString::to_string).collect()
}

#[test]
fn motiontunes_own_recording_reopens_exactly() {
    let recorded = vec![
        ChannelInfo {
            name: "setpoint".into(),
            unit: "rad".into(),
            role: ChannelRole::Reference,
        },
        ChannelInfo {
            name: "position".into(),
            unit: "rad".into(),
            role: ChannelRole::Feedback,
        },
        ChannelInfo {
            name: "count".into(),
            unit: String::new(),
            role: ChannelRole::Other,
        },
    ];
    let values: Vec<f32> = (0..300)
        .map(|k| match k % 3 {
            0 => 0.1 * (k / 3) as f32,
            1 => (k as f32).sin() / 3.0,
            _ => f32::NAN,
        })
        .collect();
    let batch = SampleBatch {
        first_tick: 123_456,
        stride: 3,
        tick_hz: 10_000.0,
        channel_count: 3,
        values: values.clone(),
        exact: None,
    };
    let mut recorder = CsvRecorder::new(Vec::new(), &recorded).expect("header");
    recorder.write_batch(&batch).expect("rows");
    let text = String::from_utf8(recorder.finish().expect("flush")).expect("utf8");

    let file = read(&text);
    assert_eq!(
        channels(&file),
        [("setpoint", "rad"), ("position", "rad"), ("count", "")]
    );
    assert_eq!(layout(&file).time_unit, TimeUnit::Seconds);
    assert!(file.problems.is_empty(), "{:?}", file.problems);
    let times: Vec<f64> = (0..100).map(|k| batch.time_of(k)).collect();
    assert_eq!(file.times, times, "times as written");
    for (c, column) in file.columns.iter().enumerate() {
        let written: Vec<f32> = values.iter().skip(c).step_by(3).copied().collect();
        assert_eq!(bits(column), bits(&written), "channel {c}");
    }
}

#[test]
fn pandas_csv_has_an_index_column_that_is_not_a_channel() {
    // df.to_csv("run.csv") with a default index.
    let file = read(",time,position,velocity\n0,0.0,1.5,-2.0\n1,0.01,1.25,-1.0\n2,0.02,1.0,\n");
    assert_eq!(channels(&file), [("position", ""), ("velocity", "")]);
    assert_eq!(layout(&file).time_column, 1);
    assert_eq!(file.times, [0.0, 0.01, 0.02]);
    assert_eq!(file.columns[0], [1.5, 1.25, 1.0]);
    assert_eq!(bits(&file.columns[1]), bits(&[-2.0, -1.0, f32::NAN]));
    assert!(file.problems.is_empty());
}

#[test]
fn pandas_csv_with_a_datetime_index_reads_times_as_epoch_seconds() {
    // df.set_index("timestamp").to_csv() of a DatetimeIndex.
    let file = read("timestamp,position\n2024-05-01 12:00:00,1.0\n2024-05-01 12:00:00.125,2.0\n");
    assert!(layout(&file).date_times);
    assert_eq!(channels(&file), [("position", "")]);
    assert_eq!(file.times, [1_714_564_800.0, 1_714_564_800.125]);
    assert!(file.problems.is_empty());
    // ISO 8601 with a T, a Z or an offset; no header.
    let file =
        read("2024-05-01T12:00:00Z;1\n2024-05-01T14:00:01+02:00;2\n1969-12-31T23:59:59.5;3\n");
    assert_eq!(channels(&file), [("column 2", "")]);
    assert_eq!(file.times, [1_714_564_800.0, 1_714_564_801.0]);
    assert_eq!(
        problems(&file),
        ["line 3: the time -0.5 goes back (the row before is at 1714564801); row left out"]
    );
    assert_eq!(layout::date_time_seconds("2024-02-30 00:00:00x"), None);
    assert_eq!(layout::date_time_seconds("12:00:00"), None);
}

#[test]
fn plotjuggler_export_keeps_topic_names_and_its_empty_cells_are_gaps() {
    let text = "__time,/motor/position,/motor/current\n\
                1700000000.000125,0.5,\n\
                1700000000.000250,,2.25\n\
                1700000000.000375,0.75,2.5\n";
    let file = read(text);
    assert_eq!(
        channels(&file),
        [("/motor/position", ""), ("/motor/current", "")]
    );
    assert_eq!(
        file.times,
        [
            1_700_000_000.000_125,
            1_700_000_000.000_25,
            1_700_000_000.000_375
        ],
        "absolute times kept to the microsecond"
    );
    assert_eq!(bits(&file.columns[0]), bits(&[0.5, f32::NAN, 0.75]));
    assert_eq!(bits(&file.columns[1]), bits(&[f32::NAN, 2.25, 2.5]));
    assert!(file.problems.is_empty());
}

#[test]
fn arduino_serial_monitor_timestamps_become_the_time() {
    let text = "12:34:56.789 -> 1.0,2.0\r\n\
                12:34:56.799 -> 1.5,2.5\r\n\
                12:34:56.799 -> 1.75,2.75\r\n\
                booting again\r\n\
                12:34:57.800 -> 2.0,3.0\r\n";
    let file = read(text);
    assert!(layout(&file).serial_monitor);
    assert_eq!(channels(&file), [("column 2", ""), ("column 3", "")]);
    assert_eq!(file.times, [0.0, 0.01, 0.01, 1.011]);
    assert_eq!(file.columns[0], [1.0, 1.5, 1.75, 2.0]);
    assert_eq!(file.columns[1], [2.0, 2.5, 2.75, 3.0]);
    assert_eq!(problems(&file), ["line 4: no timestamp; row left out"]);
}

#[test]
fn arduino_serial_monitor_with_a_header_space_separated_and_past_midnight() {
    let text = "23:59:59.990 -> pos vel\n\
                23:59:59.995 -> 1 2\n\
                00:00:00.005 -> 3 4\n";
    let file = read(text);
    assert_eq!(layout(&file).separator, b' ');
    assert_eq!(channels(&file), [("pos", ""), ("vel", "")]);
    assert_eq!(file.times, [0.005, 0.015]);
    assert_eq!(file.columns[1], [2.0, 4.0]);
}

#[test]
fn semicolons_and_decimal_commas_are_detected() {
    let file = read("Time [ms];Strom [A];Drehzahl\n0;1,5;-2,25\n10;1,75;3\n20,5;2;4e-1\n");
    assert_eq!(layout(&file).separator, b';');
    assert!(layout(&file).decimal_comma);
    assert_eq!(layout(&file).time_unit, TimeUnit::Milliseconds);
    assert_eq!(file.times, [0.0, 0.01, 0.0205]);
    assert_eq!(channels(&file), [("Strom", "A"), ("Drehzahl", "")]);
    assert_eq!(file.columns[0], [1.5, 1.75, 2.0]);
    assert_eq!(file.columns[1], [-2.25, 3.0, 0.4]);
}

#[test]
fn tabs_without_a_header_take_the_first_column_as_time() {
    let file = read("0.0\t1\t2\n0.5\t3\t4\n");
    assert_eq!(layout(&file).separator, b'\t');
    assert!(!layout(&file).header);
    assert_eq!(channels(&file), [("column 2", ""), ("column 3", "")]);
    assert_eq!(file.times, [0.0, 0.5]);
    assert_eq!(file.columns[1], [2.0, 4.0]);
}

#[test]
fn a_time_column_chosen_by_name_or_index_with_its_unit() {
    let text = "sample,t_us,value\n0,1000,5\n1,1250,6\n";
    let by_name = read_with(
        text,
        &ReadOptions {
            time_column: TimeColumn::Named("T_US".into()),
            ..ReadOptions::default()
        },
    );
    assert_eq!(layout(&by_name).time_unit, TimeUnit::Microseconds);
    assert_eq!(by_name.times, [0.001, 0.00125]);
    assert_eq!(channels(&by_name), [("sample", ""), ("value", "")]);
    let by_index = read_with(
        text,
        &ReadOptions {
            time_column: TimeColumn::Index(0),
            time_unit: Some(TimeUnit::Milliseconds),
            ..ReadOptions::default()
        },
    );
    assert_eq!(by_index.times, [0.0, 0.001]);
    assert_eq!(channels(&by_index), [("t_us", ""), ("value", "")]);
    assert_eq!(
        layout(&read(text)).time_column,
        1,
        "t_us is a time name, detected"
    );
}

#[test]
fn time_units_in_headers() {
    for (header, unit) in [
        ("time_s", TimeUnit::Seconds),
        ("time [ms]", TimeUnit::Milliseconds),
        ("Time (us)", TimeUnit::Microseconds),
        ("timestamp_ms", TimeUnit::Milliseconds),
        ("time", TimeUnit::Seconds),
    ] {
        let file = read(&format!("{header},x\n1,2\n"));
        assert_eq!(layout(&file).time_unit, unit, "{header}");
        assert_eq!(file.times, [1.0 / unit.per_second()], "{header}");
    }
}

#[test]
fn broken_rows_are_named_by_line_and_the_rest_is_read() {
    let text = "time_s,a [V],b\n\
                0,1,2\n\
                0.1,1\n\
                0.2,oops,3\n\
                0.3,4,5,6\n\
                x,1,2\n\
                0.15,1,2\n\
                0.4,nan,7\n";
    let file = read(text);
    assert_eq!(file.times, [0.0, 0.2, 0.4]);
    assert_eq!(bits(&file.columns[0]), bits(&[1.0, f32::NAN, f32::NAN]));
    assert_eq!(file.columns[1], [2.0, 3.0, 7.0]);
    assert_eq!(
        problems(&file),
        [
            "line 3: 2 cells where the header has 3; row left out",
            "line 4, column 'a [V]': 'oops' is not a number; a gap in its place",
            "line 5: 4 cells where the header has 3; row left out",
            "line 6: the time 'x' is not a number; row left out",
            "line 7: the time 0.15 goes back (the row before is at 0.2); row left out",
        ]
    );
}

#[test]
fn problems_past_the_listed_ones_are_counted() {
    let mut text = String::from("time_s,a\n");
    for k in 0..MAX_LISTED_PROBLEMS + 5 {
        text.push_str(&format!("{k},bad\n"));
    }
    let file = read(&text);
    assert_eq!(file.problems.len(), MAX_LISTED_PROBLEMS);
    assert_eq!(file.problems_not_listed, 5);
    assert_eq!(file.times.len(), MAX_LISTED_PROBLEMS + 5);
}

#[test]
fn a_file_without_a_time_column_is_an_error_naming_the_columns() {
    let error = read_csv(b"a,b\n1,2\n", &ReadOptions::default()).expect_err("no time");
    assert_eq!(
        error.to_string(),
        "no time column: none is named time_s, time, t, __time or timestamp (columns: a, b); choose one"
    );
    let error = read_csv(
        b"a,b\n1,2\n",
        &ReadOptions {
            time_column: TimeColumn::Index(2),
            ..ReadOptions::default()
        },
    )
    .expect_err("no column 2");
    assert_eq!(
        error.to_string(),
        "there is no column 2: the file has 2 columns (counted from 0)"
    );
}

#[test]
fn empty_and_odd_input_never_panics() {
    for text in [
        "",
        "\n\n",
        "time_s\n",
        "\u{feff}time_s,a\n0,1\n",
        "12:34:56.789 -> \n",
        "\"unclosed,1\n2,3",
        "time_s;a\n0;1,2,3\n",
    ] {
        let _ = read_csv(text.as_bytes(), &ReadOptions::default());
    }
    let file = read("\u{feff}time_s,a\n0,1\n");
    assert_eq!(
        channels(&file),
        [("a", "")],
        "a byte-order mark is not a name"
    );
}

#[test]
fn a_file_of_several_devices_reads_one_device_or_all_on_host_time() {
    let text = "host_time_s,x.time_s,x.pos [rad],y.time_s,y.pos [turns],y.vel\n\
                1.002,0.001,10,,,\n\
                1.003,0.002,11,,,\n\
                1.0025,,,5.0,7,8\n\
                1.004,0.003,,,,\n";
    let x = read_with(
        text,
        &ReadOptions {
            device: Some("x".into()),
            ..ReadOptions::default()
        },
    );
    assert_eq!(x.times, [0.001, 0.002, 0.003]);
    assert_eq!(channels(&x), [("pos", "rad")]);
    assert_eq!(bits(&x.columns[0]), bits(&[10.0, 11.0, f32::NAN]));
    assert!(x.problems.is_empty(), "{:?}", problems(&x));
    assert_eq!(
        layout(&x).describe(),
        "comma-separated, header row, device 'x' of x, y on its own time"
    );
    let y = read_with(
        text,
        &ReadOptions {
            device: Some("y".into()),
            ..ReadOptions::default()
        },
    );
    assert_eq!(y.times, [5.0]);
    assert_eq!(channels(&y), [("pos", "turns"), ("vel", "")]);

    // Every device on the host's time: rows sorted, each device's
    // channels a gap in the other's rows.
    let all = read(text);
    assert_eq!(all.times, [1.002, 1.0025, 1.003, 1.004]);
    assert_eq!(all.channels.len(), 3);
    assert_eq!(
        bits(&all.columns[0]),
        bits(&[10.0, f32::NAN, 11.0, f32::NAN])
    );
    assert_eq!(
        bits(&all.columns[2]),
        bits(&[f32::NAN, 8.0, f32::NAN, f32::NAN])
    );
    assert!(all.problems.is_empty(), "{:?}", problems(&all));

    let error = |device: &str, text: &str| {
        read_csv(
            text.as_bytes(),
            &ReadOptions {
                device: Some(device.into()),
                ..ReadOptions::default()
            },
        )
        .expect_err("refused")
        .to_string()
    };
    assert_eq!(
        error("z", text),
        "no device labelled 'z' in the file (devices: x, y)"
    );
    assert!(error("x", "time_s,pos\n0,1\n").contains("only in a file of several devices"));
}
