//! The soak: the simulated drive streaming at 10 kHz × 8 channels over a
//! real pseudo-terminal into the real app, driven headless by egui_kittest
//! at about 60 frames a second. It samples the process's resident memory
//! every few seconds and checks that once the history is full memory stays
//! flat, no sample is lost and no error is counted.
//!
//! `cargo test` (and so CI) runs the five-minute soak, alone in this test
//! binary as cargo runs test binaries one after another; the hour-long one
//! is ignored: run it with `scripts/soak.sh [MINUTES] [HISTORY_SECONDS]`
//! (`SOAK_MINUTES`, `SOAK_HISTORY_SECONDS`; 60 and 60 unless set).
//!
//! Unix only: the drive streams over a pseudo-terminal.
#![cfg(unix)]

mod common;

use std::time::{Duration, Instant};

use motiontune::app::AppOptions;
use motiontune::history::HistorySize;
use motiontune::sim::SimDevice;
use motiontune::sim::device::DeviceSettings;
use motiontune::sim::drive::DriveConfig;
use motiontune::sim::pty::PtyServer;

/// How often resident memory is read.
const RSS_EVERY: Duration = Duration::from_secs(5);
/// Frames a second the harness aims at, as a window would show.
const FRAME: Duration = Duration::from_millis(16);
/// Growth of resident memory allowed between the first reading after the
/// history is full and any later one: allocator slack and the plot's
/// per-frame buffers, far below the history itself (19 MB for 60 s).
const MOST_GROWTH_AFTER_FILL_KB: u64 = 8 * 1024;

fn env_number(name: &str, default: f64) -> f64 {
    match std::env::var(name) {
        Ok(text) => text
            .parse()
            .unwrap_or_else(|_| panic!("{name}={text:?} is not a number")),
        Err(_) => default,
    }
}

/// This process's resident set, in kB: from `/proc` on Linux, from `ps`
/// elsewhere (macOS has no `/proc`; both print kB for `rss`).
fn rss_kb() -> u64 {
    if cfg!(target_os = "linux") {
        let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
        return status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/self/status");
    }
    let output = std::process::Command::new("ps")
        .args(["-o", "rss=", "-p", &std::process::id().to_string()])
        .output()
        .expect("run ps");
    let text = String::from_utf8_lossy(&output.stdout);
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("ps printed {text:?} for rss"))
}

#[test]
fn soak_five_minutes_of_full_rate_stream_hold_memory_flat_with_nothing_lost() {
    soak(5.0, 60.0);
}

#[test]
#[ignore = "an hour: run scripts/soak.sh"]
fn soak_full_rate_stream_holds_memory_flat_with_nothing_lost() {
    soak(
        env_number("SOAK_MINUTES", 60.0),
        env_number("SOAK_HISTORY_SECONDS", 60.0),
    );
}

fn soak(minutes: f64, history_s: f64) {
    let server = PtyServer::start(SimDevice::new(
        DriveConfig::default(),
        DeviceSettings::default(),
    ))
    .expect("pty server");
    let mut harness = common::app_with(AppOptions {
        target: common::serial(server.path()),
        stream_divider: 1,
        history_size: HistorySize::Seconds(history_s),
        ..AppOptions::default()
    });
    common::wait_connected(&mut harness);
    let channels = harness
        .state()
        .session()
        .and_then(|s| s.info.as_ref())
        .map(|i| i.channels.len())
        .expect("description");
    assert_eq!(channels, 8, "the sim streams eight channels");

    let started = Instant::now();
    let end = started + Duration::from_secs_f64(minutes * 60.0);
    let mut next_rss = started;
    let mut full_at_kb: Option<(f64, u64)> = None;
    let mut most_kb = 0;
    let (mut frames, mut frame_total, mut frame_max) = (0u64, Duration::ZERO, Duration::ZERO);
    eprintln!("soak: {minutes} min, history {history_s} s, 10 kHz × {channels} channels");
    eprintln!(
        "t_s,rss_kb,history_samples,history_kb,samples,backlog,lost,errors,frame_ms_mean,frame_ms_max,\
         device_dropped_bytes,device_skipped_ticks"
    );
    while Instant::now() < end {
        let frame_started = Instant::now();
        harness.step();
        let took = frame_started.elapsed();
        frames += 1;
        frame_total += took;
        frame_max = frame_max.max(took);
        if Instant::now() >= next_rss {
            next_rss += RSS_EVERY;
            let session = harness.state().session().expect("session");
            assert!(
                session.is_connected(),
                "the link ended: {:?}",
                session.state
            );
            let (health, _, _) = session.health().expect("health");
            let history = session.history.as_ref().expect("history");
            let errors = health.framing_errors + health.crc_errors + health.message_errors;
            let rss = rss_kb();
            let t = started.elapsed().as_secs_f64();
            // The device's own side: a loss with these at zero happened in
            // the app or its link, with them above zero in the device.
            let overruns = server.overruns();
            eprintln!(
                "{t:.0},{rss},{},{},{},{},{},{errors},{:.2},{:.2},{},{}",
                history.len(),
                history.bytes_used() / 1024,
                health.samples,
                // Decoded by the link, not yet taken by the app.
                health.samples.saturating_sub(history.total_pushed()),
                health.lost_samples,
                frame_total.as_secs_f64() * 1e3 / frames as f64,
                frame_max.as_secs_f64() * 1e3,
                overruns.output_bytes_dropped,
                overruns.ticks_skipped,
            );
            (frames, frame_total, frame_max) = (0, Duration::ZERO, Duration::ZERO);
            assert_eq!(
                health.lost_samples, 0,
                "samples lost (the device's side: {overruns:?})"
            );
            assert_eq!(errors, 0, "decode errors");
            assert_eq!(
                session.dropped_samples, 0,
                "the app fell behind the link and dropped samples"
            );
            let full = history.len() as u64 >= history.capacity();
            match full_at_kb {
                // The first reading after a further chunk went in: the
                // history has reached its steady size.
                None if full => full_at_kb = Some((t, rss)),
                Some(_) => most_kb = most_kb.max(rss),
                None => {}
            }
        }
        if let Some(left) = FRAME.checked_sub(took) {
            std::thread::sleep(left);
        }
    }
    let session = harness.state().session().expect("session");
    let (health, _, _) = session.health().expect("health");
    let elapsed = started.elapsed().as_secs_f64();
    let (full_t, full_kb) = full_at_kb.expect("the history never filled: run longer");
    eprintln!(
        "soak done: {:.0} s, {} samples ({:.0}/s), 0 lost, 0 errors; \
         RSS {full_kb} kB when the history filled at {full_t:.0} s, at most {most_kb} kB after",
        elapsed,
        health.samples,
        health.samples as f64 / elapsed,
    );
    assert!(
        most_kb <= full_kb + MOST_GROWTH_AFTER_FILL_KB,
        "resident memory grew from {full_kb} kB to {most_kb} kB after the history filled"
    );
}
