//! The line clock against its contract, on made-up arrivals: a device
//! sending lines at known times, a host reading them late, in bursts, or
//! after the device fell silent.

use std::time::Duration;

use super::*;

/// A device's lines: when each was sent, µs.
fn every(period_us: u64, lines: usize, from_us: u64) -> Vec<u64> {
    (0..lines as u64).map(|k| from_us + k * period_us).collect()
}

/// Reads as a host makes them: every line that was sent by the read's
/// time, plus `delay` µs (reads at `read_every_us`, except those moved by
/// `late`: (from µs, to µs, until µs) holds everything sent from `from`
/// back until `until`, a hiccup on the way).
fn reads(sent: &[u64], read_every_us: u64, hiccups: &[(u64, u64)]) -> Vec<(u64, usize)> {
    let mut out = Vec::new();
    let mut next = 0;
    let end = sent.last().copied().unwrap_or(0) + read_every_us;
    let mut at = read_every_us;
    while at <= end + read_every_us && next < sent.len() {
        let held = hiccups
            .iter()
            .any(|&(from, until)| at >= from && at < until);
        if !held {
            let count = sent[next..].iter().take_while(|&&t| t <= at).count();
            if count > 0 {
                out.push((at, count));
                next += count;
            }
        }
        at += read_every_us;
    }
    out
}

/// Every line's placed time, µs, from pushing `reads` (arrival µs, lines).
fn placed(clock: &mut HostClock, origin: Instant, reads: &[(u64, usize)]) -> Vec<i64> {
    let mut times = Vec::new();
    let mut last_end = None;
    for &(at, count) in reads {
        for run in clock.push(count, origin + Duration::from_micros(at)) {
            assert!(run.stride >= 1);
            if let Some(end) = last_end {
                assert!(
                    run.first_tick >= end,
                    "a run went back before the last one's end"
                );
            }
            last_end = Some(run.first_tick + run.count as i64 * i64::from(run.stride));
            times.extend((0..run.count as i64).map(|k| run.first_tick + k * i64::from(run.stride)));
        }
    }
    times
}

/// The largest difference between placed and sent times, µs, once both
/// are counted from the first line: how far the time axis lies.
fn worst_error(sent: &[u64], placed: &[i64]) -> i64 {
    let offset = placed[0] - sent[0] as i64;
    if std::env::var("CLOCK_DEBUG").is_ok() {
        let errs: Vec<i64> = sent
            .iter()
            .zip(placed)
            .map(|(&s, &p)| p - offset - s as i64)
            .collect();
        let worst = errs
            .iter()
            .enumerate()
            .max_by_key(|(_, e)| e.abs())
            .map(|(i, _)| i)
            .unwrap_or(0);
        let from = worst.saturating_sub(8);
        eprintln!(
            "worst at {worst}: {:?}",
            &errs[from..(worst + 8).min(errs.len())]
        );
        eprintln!("sent {:?}", &sent[from..(worst + 8).min(errs.len())]);
        eprintln!("placed {:?}", &placed[from..(worst + 8).min(errs.len())]);
    }
    sent.iter()
        .zip(placed)
        .map(|(&s, &p)| (p - offset - s as i64).abs())
        .max()
        .unwrap_or(0)
}

#[test]
fn a_steady_stream_read_in_jittered_chunks_is_placed_at_its_rate() {
    let origin = Instant::now();
    let mut clock = HostClock::new(origin, 50_000);
    // 1 kHz, read every 10 ms with up to 3 ms of lateness.
    let sent = every(1_000, 5_000, 500);
    let mut chunks = reads(&sent, 10_000, &[]);
    for (k, read) in chunks.iter_mut().enumerate() {
        read.0 += [0, 3000, 1000, 2500, 500][k % 5];
    }
    let times = placed(&mut clock, origin, &chunks);
    assert_eq!(times.len(), sent.len(), "every line placed once");
    assert!(
        worst_error(&sent, &times) <= 1_000,
        "{} µs",
        worst_error(&sent, &times)
    );
    assert_eq!(clock.period_us(), 1000);
    assert_eq!(clock.timing().gaps, 0);
    let uncertainty = clock.timing().uncertainty_s;
    assert!((0.001..=0.0035).contains(&uncertainty), "{uncertainty} s");
}

#[test]
fn the_stride_settles_so_a_history_stores_few_runs() {
    let origin = Instant::now();
    let mut clock = HostClock::new(origin, 10_000);
    let sent = every(1_999, 20_000, 0);
    let mut strides = Vec::new();
    for (at, count) in reads(&sent, 4_000, &[]) {
        for run in clock.push(count, origin + Duration::from_micros(at)) {
            if strides.last() != Some(&run.stride) {
                strides.push(run.stride);
            }
        }
    }
    // 40 s of lines: the stride changes a few times as the fit settles and
    // once in a while to stay within half a period of it.
    assert!(
        strides.len() < 40,
        "{} stride changes: {strides:?}",
        strides.len()
    );
}

#[test]
fn a_device_silent_for_400_ms_leaves_a_gap_of_400_ms() {
    for stall_at in [20, 150, 2_500] {
        let origin = Instant::now();
        let mut clock = HostClock::new(origin, 10_000);
        // 500 lines a second; the sketch blocks 400 ms after line `stall_at`.
        let mut sent = every(2_000, stall_at, 1_000);
        let resume = sent[stall_at - 1] + 2_000 + 400_000;
        sent.extend(every(2_000, 3_000, resume));
        let times = placed(&mut clock, origin, &reads(&sent, 1_000, &[]));
        assert_eq!(times.len(), sent.len() - clock.held());
        let error = worst_error(&sent, &times);
        assert!(
            error <= 2_000,
            "stall after line {stall_at}: off by {error} µs"
        );
        assert_eq!(clock.timing().gaps, 1, "stall after line {stall_at}");
    }
}

/// The host reads 30 ms late just before the sketch blocks 400 ms (a
/// busy scheduler): the silence is still a gap, not a slower rate.
#[test]
fn a_late_read_just_before_a_silence_does_not_hide_it() {
    let origin = Instant::now();
    let mut clock = HostClock::new(origin, 10_000);
    let mut sent = every(2_000, 500, 1_000);
    let last = sent[sent.len() - 1];
    sent.extend(every(2_000, 1_000, last + 402_000));
    // The last lines before the silence are read 30 ms after they were
    // sent.
    let late = [(last - 10_000, last + 30_000)];
    let times = placed(&mut clock, origin, &reads(&sent, 1_000, &late));
    let error = worst_error(&sent, &times);
    assert!(error <= 2_000, "off by {error} µs");
    assert_eq!(clock.timing().gaps, 1);
}

/// The first two lines come in one read, then the sketch blocks 400 ms:
/// three reads over 50 ms before any rate is known, the silence among
/// them. It is a gap, not a rate of one line every 200 ms (as a fit over
/// those three reads alone would say), whether the lines after it come
/// one a read or several.
#[test]
fn a_silence_among_the_very_first_reads_is_a_gap_not_a_slow_rate() {
    for per_read in [1, 3] {
        let origin = Instant::now();
        let mut clock = HostClock::new(origin, 10_000);
        let mut sent = vec![1_000, 3_000];
        sent.extend(every(2_000, 2_000, 403_000));
        let mut arrivals = vec![(3_500, 2)];
        arrivals.extend(
            sent[2..]
                .chunks(per_read)
                .map(|chunk| (chunk[chunk.len() - 1] + 500, chunk.len())),
        );
        let times = placed(&mut clock, origin, &arrivals);
        assert_eq!(times.len(), sent.len() - clock.held());
        let error = worst_error(&sent, &times);
        assert!(error <= 2_000, "{per_read} a read: off by {error} µs");
        assert_eq!(clock.timing().gaps, 1, "{per_read} a read");
    }
}

#[test]
fn lines_held_up_on_the_way_are_placed_when_they_were_sent() {
    for hiccup_at in [30_000, 100_000, 4_000_000] {
        let origin = Instant::now();
        let mut clock = HostClock::new(origin, 10_000);
        let sent = every(2_000, 4_000, 1_000);
        // Nothing reaches the host for 400 ms; then it all comes at once.
        let hiccup = [(hiccup_at, hiccup_at + 400_000)];
        let times = placed(&mut clock, origin, &reads(&sent, 1_000, &hiccup));
        assert_eq!(times.len(), sent.len());
        let error = worst_error(&sent, &times);
        assert!(
            error <= 2_000,
            "hiccup at {hiccup_at} µs: off by {error} µs"
        );
        assert_eq!(clock.timing().gaps, 0, "hiccup at {hiccup_at} µs");
    }
}

#[test]
fn lines_sent_before_the_port_opened_are_squeezed_in_after_zero() {
    let origin = Instant::now();
    let mut clock = HostClock::new(origin, 10_000);
    // 300 lines waited in the port's buffer; the first read takes them.
    let mut chunks = vec![(1_000, 300)];
    chunks.extend((1..200).map(|k| (1_000 + k * 2_000, 1)));
    let times = placed(&mut clock, origin, &chunks);
    assert_eq!(times.len(), 499);
    assert_eq!(times[0], 0);
    assert!(times.windows(2).all(|w| w[1] > w[0]));
    // From the first line read live on, lines are at their arrival.
    let live = &times[300..];
    let arrivals: Vec<u64> = (1..200).map(|k| 1_000 + k * 2_000).collect();
    let error = worst_error(&arrivals, live);
    assert!(error <= 2_000, "off by {error} µs");
}

#[test]
fn a_change_of_rate_is_followed_without_a_gap_when_faster() {
    let origin = Instant::now();
    let mut clock = HostClock::new(origin, 10_000);
    let mut sent = every(10_000, 300, 0);
    let from = sent[299] + 5_000;
    sent.extend(every(5_000, 1_200, from));
    let times = placed(&mut clock, origin, &reads(&sent, 1_000, &[]));
    assert_eq!(times.len(), sent.len());
    assert_eq!(clock.timing().gaps, 0);
    assert!((4_900..=5_100).contains(&clock.period_us()));
    // While the fit's window still holds both rates, lines run up to two
    // of the old periods behind.
    let error = worst_error(&sent, &times);
    assert!(error <= 20_000, "off by {error} µs");
}

#[test]
fn a_slower_rate_is_followed_within_a_few_periods() {
    let origin = Instant::now();
    let mut clock = HostClock::new(origin, 10_000);
    let mut sent = every(5_000, 600, 0);
    let from = sent[599] + 10_000;
    sent.extend(every(10_000, 600, from));
    let times = placed(&mut clock, origin, &reads(&sent, 1_000, &[]));
    assert!(
        (9_900..=10_100).contains(&clock.period_us()),
        "{} µs",
        clock.period_us()
    );
    let error = worst_error(&sent, &times[..]);
    assert!(error <= 60_000, "off by {error} µs");
}

#[test]
fn a_rate_asked_for_is_taken_at_once_and_the_line_goes_on() {
    let origin = Instant::now();
    let mut clock = HostClock::new(origin, 10_000);
    let mut end = 0;
    let mut t = 0;
    for _ in 0..300 {
        t += 10_000;
        for run in clock.push(1, origin + Duration::from_micros(t)) {
            end = run.first_tick + run.count as i64 * i64::from(run.stride);
        }
    }
    clock.rate_changed(5_000);
    t += 5_000;
    let run = clock.push(1, origin + Duration::from_micros(t))[0];
    assert_eq!((run.first_tick, run.stride), (end, 5_000));
    let mut next = run.first_tick + 5_000;
    for _ in 0..100 {
        t += 5_000;
        let run = clock.push(1, origin + Duration::from_micros(t))[0];
        assert_eq!(run.first_tick, next, "no gap");
        next = run.first_tick + i64::from(run.stride);
    }
    assert!(
        (next - t as i64).abs() <= 10_000,
        "{} µs off",
        next - t as i64
    );
}

/// Seeded jitter, bursts, hiccups and stalls at random: whatever comes,
/// times stay ahead of 0, never run back, every line is placed once, and
/// each stall is a gap of its length.
#[test]
fn any_mix_of_delays_and_silences_keeps_the_contract() {
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut random = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for round in 0..40 {
        let origin = Instant::now();
        let period = 500 + random(20_000);
        let mut clock = HostClock::new(origin, 10_000);
        let mut sent = Vec::new();
        let mut t = random(50_000);
        let mut stalls = 0;
        for k in 0..3_000 {
            // A stall of 300 to 700 ms (and 20 periods) now and then.
            if k > 0 && random(1_000) == 0 {
                t += (300_000 + random(400_000)).max(20 * period);
                stalls += 1;
            }
            sent.push(t);
            t += period;
        }
        let read_every = 1_000 + random(10_000);
        let mut chunks = reads(&sent, read_every, &[]);
        for read in &mut chunks {
            read.0 += random(2_000);
        }
        let times = placed(&mut clock, origin, &chunks);
        assert!(times.first().is_some_and(|&t| t >= 0), "round {round}");
        assert!(times.windows(2).all(|w| w[1] > w[0]), "round {round}");
        assert_eq!(times.len() + clock.held(), sent.len(), "round {round}");
        let error = worst_error(&sent[..times.len()], &times);
        let allowed = (2 * period + 2 * read_every + 4_000) as i64;
        assert!(
            error <= allowed,
            "round {round}: {period} µs lines read every {read_every} µs, {stalls} stalls: off by {error} µs"
        );
        assert_eq!(
            clock.timing().gaps,
            stalls,
            "round {round}: {period} µs lines read every {read_every} µs"
        );
    }
}
