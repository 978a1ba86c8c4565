//! The lines adapter against the contract in its module doc.

use std::time::{Duration, Instant};

use super::*;
use crate::protocol::{ChannelRole, ParamFlags};

fn settings(edit: impl FnOnce(&mut LinesSettings)) -> AdapterSettings {
    let mut settings = AdapterSettings::default();
    edit(settings.lines.as_mut());
    settings
}

/// Feeds chunks, each `step` after the last; returns the events and tally.
fn feed(
    adapter: &mut LinesAdapter,
    start: Instant,
    step: Duration,
    chunks: &[&[u8]],
) -> (Vec<Event>, DecodeTally) {
    let mut events = vec![];
    let mut tally = DecodeTally::default();
    for (k, chunk) in chunks.iter().enumerate() {
        let now = start + step * (k as u32 + 1);
        adapter
            .receive(chunk, now, &mut tally, &mut |e| events.push(e))
            .expect("lines never give up");
    }
    (events, tally)
}

/// Feeds one line per chunk, 10 ms apart, from a fresh adapter.
fn run(settings: &AdapterSettings, lines: &[String]) -> (Vec<Event>, DecodeTally) {
    let start = Instant::now();
    let mut adapter = LinesAdapter::new(settings, start);
    let chunks: Vec<&[u8]> = lines.iter().map(|l| l.as_bytes()).collect();
    feed(&mut adapter, start, Duration::from_millis(10), &chunks)
}

fn described(events: &[Event]) -> Vec<&DeviceInfo> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Described(info) => Some(info),
            _ => None,
        })
        .collect()
}

fn texts(events: &[Event]) -> Vec<&str> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Text { message, .. } => Some(message.as_str()),
            _ => None,
        })
        .collect()
}

/// Every sample plotted, as (time s, values as written).
fn samples(events: &[Event]) -> Vec<(f64, Vec<f64>)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Samples { batch, .. } => Some(batch),
            _ => None,
        })
        .flat_map(|b| {
            (0..b.len()).map(move |k| {
                let values = (0..b.channel_count)
                    .map(|c| b.exact_value(k * b.channel_count + c))
                    .collect();
                (b.time_of(k), values)
            })
        })
        .collect()
}

fn names(info: &DeviceInfo) -> Vec<&str> {
    info.channels.iter().map(|c| c.name.as_str()).collect()
}

fn lines(template: &str, range: std::ops::Range<u32>) -> Vec<String> {
    range
        .map(|k| template.replace("{k}", &k.to_string()))
        .collect()
}

fn refs(chunks: &[String]) -> Vec<&[u8]> {
    chunks.iter().map(|c| c.as_bytes()).collect()
}

/// Values with NaN written as None, to compare gaps.
fn gaps(values: &[f64]) -> Vec<Option<f64>> {
    values.iter().map(|v| (!v.is_nan()).then_some(*v)).collect()
}

#[test]
fn labelled_lines_describe_once_their_arrivals_give_a_rate_and_then_plot() {
    let start = Instant::now();
    let mut adapter = LinesAdapter::new(
        &settings(|s| s.roles = "ref=setpoint,fb=2,effort=effort".parse().expect("roles")),
        start,
    );
    let chunks = lines("setpoint:1,position:{k}.5,effort:-{k}\r\n", 0..40);
    let (events, tally) = feed(
        &mut adapter,
        start,
        Duration::from_millis(10),
        &refs(&chunks),
    );
    let infos = described(&events);
    assert_eq!(infos.len(), 1);
    let info = infos[0];
    assert_eq!(info.name, DEVICE_NAME);
    assert_eq!(names(info), ["setpoint", "position", "effort"]);
    let roles: Vec<_> = info.channels.iter().map(|c| c.role).collect();
    assert_eq!(
        roles,
        [
            ChannelRole::Reference,
            ChannelRole::Feedback,
            ChannelRole::Effort
        ]
    );
    assert_eq!(info.loop_hz, 100);
    assert_eq!(tally.framing_errors, 0);
    assert_eq!(tally.ok, 40);
    // Reads over 50 ms give the rate: the lines after are plotted, in
    // order, with their values, 10 ms apart.
    let plotted = samples(&events);
    assert_eq!(plotted.len(), 34);
    for (n, (time, values)) in plotted.iter().enumerate() {
        let k = (n + 6) as f64;
        assert_eq!(values, &vec![1.0, k + 0.5, -k]);
        assert!(
            (time - (0.01 + k * 0.01)).abs() < 1e-9,
            "{time} for line {k}"
        );
    }
    assert!(adapter.host_timing().is_some_and(|t| t.period_s == 0.01));
}

#[test]
fn a_header_names_plain_numbers_and_without_one_they_are_numbered() {
    let mut with_header = vec!["sp pos\teffort\n".to_owned()];
    with_header.extend(lines("1 {k} 0\n", 0..40));
    let (events, _) = run(&AdapterSettings::default(), &with_header);
    assert_eq!(names(described(&events)[0]), ["sp", "pos", "effort"]);
    assert!(texts(&events).is_empty(), "a header is no text");

    let (events, _) = run(&AdapterSettings::default(), &lines("1,{k}\n", 0..40));
    let info = described(&events)[0];
    assert_eq!(names(info), ["ch1", "ch2"]);
    assert!(info.channels.iter().all(|c| c.role == ChannelRole::Other));
}

#[test]
fn banners_and_debug_prints_are_text_never_names_and_never_hold_up_detection() {
    let mut printed = vec![
        "Booting...\r\n".to_owned(),
        "IMU found, starting\r\n".to_owned(),
    ];
    // A debug line after every data line: detection goes on through it.
    for k in 0..30 {
        printed.push(format!("{k},{}.5,7\r\n", k * 2));
        printed.push(format!("loop {k} took 12 ms\r\n"));
    }
    let (events, tally) = run(&AdapterSettings::default(), &printed);
    let infos = described(&events);
    assert_eq!(infos.len(), 1);
    assert_eq!(names(infos[0]), ["ch1", "ch2", "ch3"]);
    let said = texts(&events);
    assert_eq!(
        &said[..3],
        ["Booting...", "IMU found, starting", "loop 0 took 12 ms"]
    );
    assert_eq!(said.len(), 32);
    assert_eq!(tally.framing_errors, 0);
    // Names not followed by data of as many fields are text too.
    let (events, _) = run(
        &AdapterSettings::default(),
        &["x y\n", "1 2 3\n"].map(String::from),
    );
    assert_eq!(texts(&events), ["x y"]);
}

#[test]
fn bad_values_are_gaps_in_their_channel_only_and_keep_their_time_slot() {
    let mut printed = Vec::new();
    for k in 0..60 {
        printed.push(match k % 4 {
            // Every other line holds a bad value from the start.
            0 => format!("{k},nan,{k}.25\n"),
            1 => format!("{k},ovf,\n"),
            2 => format!("{k},,inf\n"),
            _ => format!("{k},1.5,{k}.25\n"),
        });
    }
    let (events, tally) = run(&AdapterSettings::default(), &printed);
    assert_eq!(tally.framing_errors, 0);
    assert_eq!(names(described(&events)[0]), ["ch1", "ch2", "ch3"]);
    let plotted = samples(&events);
    assert_eq!(plotted.len(), 54);
    for (n, (time, values)) in plotted.iter().enumerate() {
        let k = n + 6;
        let expected = match k % 4 {
            0 => [Some(k as f64), None, Some(k as f64 + 0.25)],
            1 | 2 => [Some(k as f64), None, None],
            _ => [Some(k as f64), Some(1.5), Some(k as f64 + 0.25)],
        };
        assert_eq!(gaps(values), expected, "line {k}");
        assert!(
            (time - (0.01 + k as f64 * 0.01)).abs() < 1e-9,
            "line {k} at {time}"
        );
    }
}

#[test]
fn labels_with_spaces_empty_fields_and_labelled_subsets_read_as_printed() {
    let mut printed = lines("Motor speed:{k},Motor current:2\n", 0..10);
    printed.push("Motor current:3\n".into());
    printed.push("Motor current:4,Motor speed:5\n".into());
    let (events, tally) = run(&AdapterSettings::default(), &printed);
    assert_eq!(
        names(described(&events)[0]),
        ["Motor speed", "Motor current"]
    );
    assert_eq!(tally.framing_errors, 0);
    let plotted: Vec<_> = samples(&events)
        .into_iter()
        .map(|(_, v)| gaps(&v))
        .collect();
    assert_eq!(plotted.last(), Some(&vec![Some(5.0), Some(4.0)]));
    assert_eq!(plotted[plotted.len() - 2], [None, Some(3.0)]);
}

/// Found on a real sketch (tests/simavr_sketches.rs): a debug print with
/// a `word:` and a number among labelled data was a row of gaps.
#[test]
fn a_debug_print_with_a_label_of_its_own_is_text_among_labelled_data() {
    let mut printed = lines("Motor speed:{k}.5,Motor current:0.25\r\n", 0..20);
    printed.insert(10, "debug: 100 lines\r\n".to_owned());
    printed.push("Motor sped:3,Motor current:0.5\r\n".to_owned());
    let (events, tally) = run(&AdapterSettings::default(), &printed);
    assert_eq!(texts(&events), ["debug: 100 lines"]);
    let plotted = samples(&events);
    let gaps = plotted.iter().filter(|(_, v)| v[0].is_nan()).count();
    assert_eq!(
        gaps, 1,
        "only the misspelt row, which shares a label, is a gap"
    );
    assert_eq!(tally.framing_errors, 1);
}

#[test]
fn malformed_and_misshapen_lines_are_counted_and_keep_their_slot_as_gaps() {
    let mut chunks: Vec<Vec<u8>> = lines("{k} 7\n", 0..40)
        .into_iter()
        .map(String::into_bytes)
        .collect();
    for odd in [
        &b"1 2 3\n"[..],
        b"\x01\n",
        b"PID demo ready\n",
        b"\xff\xfe 1\n",
    ] {
        chunks.push(odd.to_vec());
    }
    chunks.extend(
        lines("{k} 8\n", 100..105)
            .into_iter()
            .map(String::into_bytes),
    );
    let start = Instant::now();
    let mut adapter = LinesAdapter::new(&AdapterSettings::default(), start);
    let pieces: Vec<&[u8]> = chunks.iter().map(Vec::as_slice).collect();
    let (events, tally) = feed(&mut adapter, start, Duration::from_millis(10), &pieces);
    assert_eq!(described(&events).len(), 1);
    assert_eq!(
        tally.framing_errors, 3,
        "1 2 3, a control character, not UTF-8"
    );
    assert_eq!(texts(&events), ["PID demo ready"]);
    let plotted = samples(&events);
    let misshapen = plotted
        .iter()
        .filter(|(_, v)| v.iter().all(|x| x.is_nan()))
        .count();
    assert_eq!(
        misshapen, 1,
        "the line of three fields keeps its slot as gaps"
    );
    assert_eq!(plotted.last().map(|(_, v)| v[0]), Some(104.0));
    assert_eq!(plotted.iter().filter(|(_, v)| v[1] == 8.0).count(), 5);
}

#[test]
fn a_new_shape_held_for_three_lines_describes_the_sketch_again() {
    let start = Instant::now();
    let mut adapter = LinesAdapter::new(&AdapterSettings::default(), start);
    let mut chunks = lines("a:{k} b:1\n", 0..15);
    chunks.extend(lines("a:{k} b:1 c:2\n", 0..10));
    let (events, tally) = feed(
        &mut adapter,
        start,
        Duration::from_millis(50),
        &refs(&chunks),
    );
    let infos = described(&events);
    assert_eq!(infos.len(), 2);
    assert_eq!(names(infos[1]), ["a", "b", "c"]);
    // The first two lines of the new shape are gaps of the old one.
    assert_eq!(tally.framing_errors, 2);
    let last = samples(&events).pop().expect("samples");
    assert_eq!(last.1, vec![9.0, 1.0, 2.0]);
}

#[test]
fn bytes_of_another_protocol_never_describe() {
    let start = Instant::now();
    let mut adapter = LinesAdapter::new(&AdapterSettings::default(), start);
    // Native-protocol frames (COBS, zero-delimited) and noise.
    let mut noise = vec![];
    let mut x = 0x2545_f491_u32;
    for _ in 0..20_000 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        noise.push((x >> 24) as u8);
    }
    let (events, tally) = feed(
        &mut adapter,
        start,
        Duration::from_millis(5),
        &noise.chunks(64).collect::<Vec<_>>(),
    );
    assert!(described(&events).is_empty(), "{events:?}");
    assert!(tally.framing_errors > 0);
}

#[test]
fn device_time_gives_exact_ticks_the_same_however_the_bytes_are_cut() {
    let column = |s: &mut LinesSettings| s.time_column = Some("1:ms".parse().expect("column"));
    let stream: Vec<u8> = (0..40u32)
        .map(|k| format!("{}\t{}\t{}\r\n", 1000 + 4 * k, k, 2 * k))
        .collect::<String>()
        .into_bytes();
    let start = Instant::now();
    let mut whole = LinesAdapter::new(&settings(column), start);
    let (events, _) = feed(&mut whole, start, Duration::from_millis(1), &[&stream]);
    let info = described(&events)[0];
    assert_eq!(names(info), ["ch1", "ch2"]);
    assert_eq!(info.loop_hz, 250);
    let plotted = samples(&events);
    assert_eq!(plotted.len(), 40 - 2, "from the third line on");
    for (time, values) in &plotted {
        let k = values[0];
        assert_eq!(*time, (1000.0 + 4.0 * k) / 1000.0);
        assert_eq!(values[1], 2.0 * k);
    }
    for cut in [1, 7, 13, 64] {
        let mut cut_adapter = LinesAdapter::new(&settings(column), start);
        let pieces: Vec<&[u8]> = stream.chunks(cut).collect();
        let (events, _) = feed(&mut cut_adapter, start, Duration::from_millis(1), &pieces);
        assert_eq!(samples(&events), plotted, "cut every {cut} bytes");
    }
}

#[test]
fn counters_and_long_decimals_reach_the_app_exactly_as_printed() {
    // micros() past 2²⁴ and 2³², printed as a plain data column.
    let printed = lines("{k}4294967,123456.789,{k}.5\n", 10..50);
    let (events, _) = run(&AdapterSettings::default(), &printed);
    let plotted = samples(&events);
    assert_eq!(plotted.len(), 34);
    for (n, (_, values)) in plotted.iter().enumerate() {
        let k = (n + 16) as f64;
        assert_eq!(values[0], k * 10_000_000.0 + 4_294_967.0);
        assert_eq!(values[1], 123_456.789);
        assert_eq!(values[2], k + 0.5);
    }
    let batch = events
        .iter()
        .find_map(|e| match e {
            Event::Samples { batch, .. } => Some(batch),
            _ => None,
        })
        .expect("samples");
    assert!(batch.exact.is_some(), "an f32 cannot hold them");
}

#[test]
fn a_line_of_many_channels_past_4096_bytes_is_plotted() {
    let row: String = (0..500).map(|c| format!("ch{c}:{c}.125,")).collect();
    assert!(row.len() > 4096);
    let printed: Vec<String> = (0..10).map(|_| format!("{row}\n")).collect();
    let (events, tally) = run(&AdapterSettings::default(), &printed);
    assert_eq!(tally.framing_errors, 0);
    assert_eq!(described(&events)[0].channels.len(), 500);
    let last = samples(&events).pop().expect("samples");
    assert_eq!(last.1[499], 499.125);
}

#[test]
fn teleplot_names_units_values_and_logs() {
    let mut printed = vec![">|start|stop|\n".to_owned(), "Teleplot demo\n".to_owned()];
    for k in 0..20 {
        printed.push(format!(">speed:{k}.5§rad/s|g\n>current:{k};{k}.25\n"));
        if k == 5 {
            printed.push(">pos:1:2|xy\n>pos:3:4|xy\n>state:Running|t\n1,2,3\n".into());
        }
    }
    let (events, tally) = run(&AdapterSettings::default(), &printed);
    assert_eq!(tally.framing_errors, 0);
    let info = described(&events)[0];
    assert_eq!(info.firmware, "Teleplot lines");
    assert_eq!(names(info), ["speed", "current"]);
    assert_eq!(info.channels[0].unit, "rad/s");
    let said = texts(&events);
    assert!(
        said.contains(&"Teleplot demo") && said.contains(&"1,2,3"),
        "{said:?}"
    );
    assert!(said.contains(&"state: Running"));
    let xy: Vec<_> = said
        .iter()
        .filter(|t| t.contains("XY data (pos)"))
        .collect();
    assert_eq!(xy.len(), 1, "said once: {said:?}");
    // `>current:k;k.25` is two samples: the second has no speed.
    let plotted: Vec<_> = samples(&events)
        .into_iter()
        .map(|(_, v)| gaps(&v))
        .collect();
    let at = plotted
        .iter()
        .position(|v| *v == [Some(10.5), Some(10.0)])
        .expect("line 10");
    assert_eq!(plotted[at + 1], [None, Some(10.25)]);
}

#[test]
fn teleplot_timestamps_are_device_time() {
    let mut printed = Vec::new();
    for k in 0..20u64 {
        let t = 4_294_967_000 + 100 * k; // millis() about to wrap
        printed.push(format!(">a:{t}:{k}\n>b:{t}:{}\n", 2 * k));
    }
    let (events, _) = run(&AdapterSettings::default(), &printed);
    assert_eq!(described(&events)[0].loop_hz, 10);
    let plotted = samples(&events);
    assert!(plotted.len() >= 17, "{}", plotted.len());
    for (time, values) in &plotted {
        let k = values[0];
        assert_eq!(values[1], 2.0 * k);
        let ms = 4_294_967_000.0 + 100.0 * k;
        assert!((time - ms / 1000.0).abs() < 1e-6, "{time} for {k}");
    }
}

fn tuned() -> AdapterSettings {
    settings(|s| {
        s.params = vec![
            "kp:0:100=kp {value}".parse().expect("kp"),
            "sp:-5:5:rad:setpoint=sp {value}".parse().expect("sp"),
        ];
    })
}

fn encoded(adapter: &mut LinesAdapter, command: Command) -> Result<String, Unsupported> {
    let mut out = vec![];
    adapter.encode(&command, Instant::now(), &mut out)?;
    Ok(String::from_utf8(out).expect("utf-8"))
}

#[test]
fn set_writes_the_template_and_answers_with_the_value_as_sent() {
    let start = Instant::now();
    let mut adapter = LinesAdapter::new(&tuned(), start);
    let chunks = lines("{k}\n", 0..40);
    let (events, _) = feed(
        &mut adapter,
        start,
        Duration::from_millis(10),
        &refs(&chunks),
    );
    let params = &described(&events)[0].params;
    assert_eq!(params[0].flags, ParamFlags(ParamFlags::TUNING_GAIN));
    assert!(params[1].flags.setpoint());
    assert_eq!(params[1].unit, "rad");

    let set = |index, value| Command::Set { index, value };
    assert_eq!(encoded(&mut adapter, set(0, 12.5)), Ok("kp 12.5\n".into()));
    assert_eq!(encoded(&mut adapter, set(1, 9.0)), Ok("sp 5\n".into()));
    assert_eq!(
        encoded(&mut adapter, Command::Get { index: 0 }),
        Ok(String::new())
    );
    assert_eq!(encoded(&mut adapter, set(2, 1.0)), Err(Unsupported));
    assert_eq!(
        encoded(&mut adapter, Command::Enable(true)),
        Err(Unsupported)
    );
    assert_eq!(encoded(&mut adapter, Command::Save), Err(Unsupported));
    assert_eq!(
        encoded(&mut adapter, Command::Ping { token: 1 }),
        Ok(String::new())
    );
    let (events, _) = feed(&mut adapter, start, Duration::from_millis(10), &[b"1\n"]);
    let answers: Vec<_> = events
        .into_iter()
        .filter(|e| !matches!(e, Event::Samples { .. }))
        .collect();
    assert_eq!(
        answers,
        [
            Event::Value {
                index: 0,
                value: 12.5
            },
            Event::Value {
                index: 1,
                value: 5.0
            },
            Event::Value {
                index: 0,
                value: 12.5
            },
        ]
    );
}

#[test]
fn enable_templates_switch_the_output_and_stream_divides_lines() {
    let start = Instant::now();
    let mut adapter = LinesAdapter::new(
        &settings(|s| {
            s.enable = Some(CommandTemplate::fixed("enable").expect("enable"));
            s.disable = Some(CommandTemplate::fixed("disable").expect("disable"));
        }),
        start,
    );
    assert_eq!(
        encoded(&mut adapter, Command::Enable(true)),
        Ok("enable\n".into())
    );
    assert_eq!(
        encoded(&mut adapter, Command::Enable(false)),
        Ok("disable\n".into())
    );
    let chunks = lines("{k}\n", 0..40);
    let (events, _) = feed(
        &mut adapter,
        start,
        Duration::from_millis(10),
        &refs(&chunks),
    );
    let statuses: Vec<bool> = events
        .iter()
        .filter_map(|e| match e {
            Event::Status { flags, .. } => Some(flags.enabled()),
            _ => None,
        })
        .collect();
    assert_eq!(statuses, [true, false]);
    encoded(&mut adapter, Command::Stream { divider: 3 }).expect("stream");
    let chunks = lines("{k}\n", 100..109);
    let later = start + Duration::from_millis(400);
    let (events, _) = feed(
        &mut adapter,
        later,
        Duration::from_millis(10),
        &refs(&chunks),
    );
    let kept: Vec<f64> = samples(&events).into_iter().map(|(_, v)| v[0]).collect();
    assert_eq!(kept, [100.0, 103.0, 106.0]);
    encoded(&mut adapter, Command::Stream { divider: 0 }).expect("stream");
    let later = start + Duration::from_millis(500);
    let (events, _) = feed(
        &mut adapter,
        later,
        Duration::from_millis(10),
        &refs(&chunks),
    );
    assert!(samples(&events).is_empty());
}
