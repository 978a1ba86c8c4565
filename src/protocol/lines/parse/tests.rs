//! Every rule of the module documentation, as a table of lines real
//! sketches print and what they read as.

use super::*;

const GAP: f64 = f64::NAN;

/// A data line's fields as (label, value); NaN compared as a gap.
fn data(fields: &[(Option<&str>, f64)]) -> Line {
    Line::Data(
        fields
            .iter()
            .map(|&(label, value)| Field {
                label: label.map(str::to_owned),
                value,
            })
            .collect(),
    )
}

fn plain(values: &[f64]) -> Line {
    data(&values.iter().map(|&v| (None, v)).collect::<Vec<_>>())
}

fn names(names: &[&str]) -> Line {
    Line::Names(names.iter().map(|n| (*n).to_owned()).collect())
}

/// Equality with NaN equal to NaN (a gap is a gap).
fn same(a: &Line, b: &Line) -> bool {
    match (a, b) {
        (Line::Data(a), Line::Data(b)) => {
            a.len() == b.len()
                && a.iter().zip(b).all(|(x, y)| {
                    x.label == y.label
                        && (x.value == y.value || x.value.is_nan() && y.value.is_nan())
                })
        }
        _ => a == b,
    }
}

#[test]
fn every_line_reads_as_the_contract_says() {
    let table: Vec<(&str, Line)> = vec![
        // Plain values, every separator, trailing ones ignored.
        ("1 -2.5 300", plain(&[1.0, -2.5, 300.0])),
        ("1\t-2.5\t300", plain(&[1.0, -2.5, 300.0])),
        ("1,-2.5,300", plain(&[1.0, -2.5, 300.0])),
        ("1, -2.5, 300,", plain(&[1.0, -2.5, 300.0])),
        (" 1  -2.5\t300 ", plain(&[1.0, -2.5, 300.0])),
        ("1e3 2E-3 +4 .5", plain(&[1000.0, 0.002, 4.0, 0.5])),
        ("4294967295", plain(&[4_294_967_295.0])),
        // Gaps: bad values, words and empty fields, that field only.
        ("1 nan 3", plain(&[1.0, GAP, 3.0])),
        (
            "1,inf,-inf,ovf,-nan,NaN,Infinity",
            plain(&[1.0, GAP, GAP, GAP, GAP, GAP, GAP]),
        ),
        ("1,,3", plain(&[1.0, GAP, 3.0])),
        (",2,3", plain(&[GAP, 2.0, 3.0])),
        ("1,2,,", plain(&[1.0, 2.0, GAP])),
        ("1, ,3", plain(&[1.0, GAP, 3.0])),
        ("1 x 3", plain(&[1.0, GAP, 3.0])),
        ("1e39 2", plain(&[GAP, 2.0])),
        ("nan", plain(&[GAP])),
        ("nan,nan,nan", plain(&[GAP, GAP, GAP])),
        ("Temp 21.5 Hum 40", plain(&[GAP, 21.5, GAP, 40.0])),
        // Labels, with spaces, with the value after a space or a tab.
        (
            "setpoint:0.5,position:0.25\teffort:-1",
            data(&[
                (Some("setpoint"), 0.5),
                (Some("position"), 0.25),
                (Some("effort"), -1.0),
            ]),
        ),
        (
            "Motor speed:5,Motor current:2",
            data(&[(Some("Motor speed"), 5.0), (Some("Motor current"), 2.0)]),
        ),
        (
            "Motor speed:5 Motor current:2",
            data(&[(Some("Motor speed"), 5.0), (Some("Motor current"), 2.0)]),
        ),
        ("x: 5, y: 6", data(&[(Some("x"), 5.0), (Some("y"), 6.0)])),
        ("x:\t5\ty:\t6", data(&[(Some("x"), 5.0), (Some("y"), 6.0)])),
        ("a:1 2", data(&[(Some("a"), 1.0), (None, 2.0)])),
        ("a:nan,b:2", data(&[(Some("a"), GAP), (Some("b"), 2.0)])),
        ("a:x,b:2", data(&[(Some("a"), GAP), (Some("b"), 2.0)])),
        ("a:,b:2", data(&[(Some("a"), GAP), (Some("b"), 2.0)])),
        ("a:1:2", data(&[(Some("a"), GAP)])),
        (":5", plain(&[5.0])),
        (
            "t,Motor speed:5",
            data(&[(None, GAP), (Some("Motor speed"), 5.0)]),
        ),
        // Names: one form, one separator.
        ("time sp pos", names(&["time", "sp", "pos"])),
        ("time,sp,pos", names(&["time", "sp", "pos"])),
        ("time\tsp\tpos", names(&["time", "sp", "pos"])),
        ("time:\tsp:\tpos:", names(&["time", "sp", "pos"])),
        (
            "Motor speed: Motor current:",
            names(&["Motor speed", "Motor current"]),
        ),
        // Text: a sketch's messages.
        ("Booting...", Line::Text),
        ("IMU found, starting", Line::Text),
        ("Kp set to 2.5", Line::Text),
        ("Ready!", Line::Text),
        ("Speed: fast", Line::Text),
        ("Error: sensor 3 not found", Line::Text),
        // Nothing, and noise.
        ("", Line::Empty),
        (" ,\t", Line::Empty),
        ("1 \u{1} 2", Line::Garbage),
    ];
    for (text, expected) in &table {
        let got = parse_line(text);
        assert!(same(&got, expected), "{text:?}: {got:?}, not {expected:?}");
    }
}

#[test]
fn a_bad_value_is_never_a_number() {
    for token in [
        "nan", "-nan", "NaN", "inf", "-inf", "Infinity", "ovf", "-ovf", "1e39",
    ] {
        assert!(value_of(token).is_some_and(f64::is_nan), "{token}");
    }
    for word in ["x", "0x10", "1,5", "", "--1"] {
        assert_eq!(value_of(word), None, "{word}");
    }
    // Exact as printed: a u32 counter, a decimal beyond f32's digits.
    assert_eq!(value_of("4294967295"), Some(4_294_967_295.0));
    assert_eq!(value_of("123.456789"), Some(123.456_789));
}

#[test]
fn lines_are_cut_the_same_however_the_bytes_arrive() {
    let stream = b"1 2\r\n3 4\n\xff\xfe\nlast".to_vec();
    let whole = collect(&[&stream]);
    assert_eq!(whole, ["Text(\"1 2\")", "Text(\"3 4\")", "Binary"]);
    for cut in 0..stream.len() {
        let (a, b) = stream.split_at(cut);
        assert_eq!(collect(&[a, b]), whole, "cut at {cut}");
    }
}

#[test]
fn a_line_of_4096_bytes_reads_and_an_endless_one_is_dropped_once() {
    let wide: String = (0..1200).map(|k| format!("{k},")).collect();
    assert!(wide.len() > 4096);
    let mut stream = wide.clone().into_bytes();
    stream.push(b'\n');
    assert_eq!(collect(&[&stream]), [format!("Text({wide:?})")]);
    let mut stream = vec![b'7'; 5 * MAX_LINE];
    stream.extend_from_slice(b"\n1 2\n");
    assert_eq!(collect(&[&stream]), ["TooLong", "Text(\"1 2\")"]);
}

fn collect(chunks: &[&[u8]]) -> Vec<String> {
    let mut splitter = LineSplitter::default();
    let mut lines = vec![];
    for chunk in chunks {
        splitter.push(chunk, |line| lines.push(format!("{line:?}")));
    }
    lines
}
