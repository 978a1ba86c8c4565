//! The lines adapter against the contract in its module doc.

use std::time::{Duration, Instant};

use super::*;
use crate::protocol::ParamFlags;

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

fn described(events: &[Event]) -> Vec<&DeviceInfo> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Described(info) => Some(info),
            _ => None,
        })
        .collect()
}

/// Every sample plotted, as (time s, values).
fn samples(events: &[Event]) -> Vec<(f64, Vec<f32>)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Samples { batch, .. } => Some(batch),
            _ => None,
        })
        .flat_map(|b| (0..b.len()).map(move |k| (b.time_of(k), b.sample(k).to_vec())))
        .collect()
}

fn names(info: &DeviceInfo) -> Vec<&str> {
    info.channels.iter().map(|c| c.name.as_str()).collect()
}

fn lines(template: &str, range: std::ops::Range<u32>) -> Vec<Vec<u8>> {
    range
        .map(|k| template.replace("{k}", &k.to_string()).into_bytes())
        .collect()
}

fn refs(chunks: &[Vec<u8>]) -> Vec<&[u8]> {
    chunks.iter().map(Vec::as_slice).collect()
}

#[test]
fn labelled_lines_describe_after_three_alike_and_then_plot() {
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
    assert!((90..=110).contains(&info.loop_hz), "{}", info.loop_hz);
    assert_eq!(tally.framing_errors, 0);
    assert_eq!(tally.ok, 40);
    // Described at the line 300 ms after the first: that line and later
    // ones are plotted, in order, with their values.
    let plotted = samples(&events);
    assert_eq!(plotted.len(), 10);
    for (n, (_, values)) in plotted.iter().enumerate() {
        let k = (n + 30) as f32;
        assert_eq!(values, &vec![1.0, k + 0.5, -k]);
    }
    let times: Vec<f64> = plotted.iter().map(|(t, _)| *t).collect();
    assert!(times.windows(2).all(|w| w[1] > w[0]), "{times:?}");
}

#[test]
fn a_header_names_plain_numbers_and_without_one_they_are_numbered() {
    let start = Instant::now();
    let mut adapter = LinesAdapter::new(&AdapterSettings::default(), start);
    let mut chunks = vec![b"sp pos\teffort\n".to_vec()];
    chunks.extend(lines("1 {k} 0\n", 0..40));
    let (events, _) = feed(
        &mut adapter,
        start,
        Duration::from_millis(10),
        &refs(&chunks),
    );
    assert_eq!(names(described(&events)[0]), ["sp", "pos", "effort"]);

    let mut adapter = LinesAdapter::new(&AdapterSettings::default(), start);
    let chunks = lines("1,{k}\n", 0..40);
    let (events, _) = feed(
        &mut adapter,
        start,
        Duration::from_millis(10),
        &refs(&chunks),
    );
    let info = described(&events)[0];
    assert_eq!(names(info), ["ch1", "ch2"]);
    assert!(info.channels.iter().all(|c| c.role == ChannelRole::Other));
}

#[test]
fn malformed_and_misshapen_lines_are_counted_never_plotted() {
    let start = Instant::now();
    let mut adapter = LinesAdapter::new(&AdapterSettings::default(), start);
    let mut chunks = lines("{k} 7\n", 0..40);
    chunks.extend([
        b"3 x\n".to_vec(),
        b"1 2 3\n".to_vec(),
        b"nan 7\n".to_vec(),
        b"\xff\xfe 1\n".to_vec(),
        b"PID demo ready\n".to_vec(),
    ]);
    chunks.extend(lines("{k} 8\n", 100..105));
    let (events, tally) = feed(
        &mut adapter,
        start,
        Duration::from_millis(10),
        &refs(&chunks),
    );
    assert_eq!(described(&events).len(), 1);
    // "PID demo ready" reads as a header of names: not an error, not data.
    assert_eq!(tally.framing_errors, 4);
    let plotted = samples(&events);
    assert!(
        plotted
            .iter()
            .all(|(_, v)| v.len() == 2 && (v[1] == 7.0 || v[1] == 8.0)),
        "{plotted:?}"
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
    // Lines of the new shape are errors until 3 have come and 300 ms
    // passed (50 ms apart: the first six).
    assert_eq!(tally.framing_errors, 6);
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
    assert!(events.is_empty(), "{events:?}");
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
        assert_eq!(*time, f64::from(1000 + 4 * k as u32) / 1000.0);
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
fn a_wrapping_counter_runs_on_and_a_restart_continues_the_line() {
    let mut time = DeviceTime::new(TimeUnit::Micros);
    let near_wrap = u32::MAX - 2500;
    let ticks: Vec<i64> = [near_wrap, near_wrap + 1000, near_wrap + 2000]
        .into_iter()
        .chain([(near_wrap).wrapping_add(3000), near_wrap.wrapping_add(4000)])
        .map(|raw| time.place(f64::from(raw)).expect("a time"))
        .collect();
    let base = i64::from(near_wrap);
    assert_eq!(
        ticks,
        [base, base + 1000, base + 2000, base + 3000, base + 4000]
    );
    // The sketch restarts: its counter starts again near 0.
    let after = time.place(5.0).expect("a time");
    assert_eq!(after, base + 5000, "one stride after the last sample");
    assert_eq!(time.place(1005.0), Some(base + 6000));
    // Seconds as decimals land on microsecond ticks.
    let mut seconds = DeviceTime::new(TimeUnit::Seconds);
    assert_eq!(seconds.place(1.5), Some(1_500_000));
    assert_eq!(seconds.place(f64::MAX), None);
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

    assert_eq!(
        encoded(
            &mut adapter,
            Command::Set {
                index: 0,
                value: 12.5
            }
        ),
        Ok("kp 12.5\n".into())
    );
    assert_eq!(
        encoded(
            &mut adapter,
            Command::Set {
                index: 1,
                value: 9.0
            }
        ),
        Ok("sp 5\n".into())
    );
    assert_eq!(
        encoded(&mut adapter, Command::Get { index: 0 }),
        Ok(String::new())
    );
    assert_eq!(
        encoded(
            &mut adapter,
            Command::Set {
                index: 2,
                value: 1.0
            }
        ),
        Err(Unsupported)
    );
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
    let (events, _) = feed(
        &mut adapter,
        start,
        Duration::from_millis(10),
        &refs(&chunks),
    );
    let kept: Vec<f32> = samples(&events).into_iter().map(|(_, v)| v[0]).collect();
    assert_eq!(kept, [100.0, 103.0, 106.0]);
    encoded(&mut adapter, Command::Stream { divider: 0 }).expect("stream");
    let (events, _) = feed(
        &mut adapter,
        start,
        Duration::from_millis(10),
        &refs(&chunks),
    );
    assert!(samples(&events).is_empty());
}
