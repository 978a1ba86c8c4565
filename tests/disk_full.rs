//! A disk that fills during a recording from the app: the app says so in
//! one line, streaming goes on, and the file keeps every row that fitted,
//! ending on a whole one.
//!
//! A file-size limit stands in for the full disk: a write past it fails
//! halfway as one past the free space does. The limit is set on a child
//! process, this test binary run again by `sh` with `ulimit -f` (in this
//! process it would reach every other test's files) and SIGXFSZ ignored,
//! so the write fails instead of killing the app.
#![cfg(target_os = "linux")]

mod common;

use std::time::{Duration, Instant};

use common::{read_recording, set_folder, wait_connected, wait_for_samples};
use egui_kittest::kittest::Queryable;
use motiontune::app::AppOptions;
use motiontune::link::PortTarget;

/// The size limit, in the blocks of `ulimit -f` (512 bytes in dash, 1 024
/// in bash): 16 or 32 kB, some seconds of the sim's stream at divider 100.
const LIMIT_BLOCKS: u32 = 32;

#[test]
fn a_disk_that_fills_while_recording_is_one_line_and_streaming_goes_on() {
    let folder = tempfile::tempdir().expect("temp folder");
    let output = std::process::Command::new("sh")
        .args([
            "-c",
            &format!("trap '' XFSZ; ulimit -f {LIMIT_BLOCKS}; exec \"$0\" \"$@\""),
        ])
        .arg(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "recording_under_a_size_limit",
            "--ignored",
            "--nocapture",
        ])
        .env("DISK_FULL_FOLDER", folder.path())
        .output()
        .expect("run the app under the limit");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the app under the limit: {stderr}");
    eprintln!("{}", stderr.trim());

    let csv = std::fs::read_dir(folder.path())
        .expect("the folder")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| path.extension().is_some_and(|e| e == "csv"))
        .expect("a recording was made");
    let text = std::fs::read_to_string(&csv).expect("readable");
    assert!(text.ends_with('\n'), "the file ends on a whole row");
    // Every row parses, with every column.
    let (header, rows) = read_recording(&csv);
    assert!(!rows.is_empty(), "rows before the disk filled are kept");
    assert!(rows.iter().all(|row| row.len() == header.len()));
    let limit: usize = stderr
        .lines()
        .find_map(|line| line.strip_prefix("file size limit: "))
        .and_then(|bytes| bytes.trim().parse().ok())
        .expect("the child's limit");
    assert!(
        text.len() <= limit,
        "{} bytes past a {limit} byte limit",
        text.len()
    );
    // Every whole row that fitted is kept: the next would not have.
    let longest = text.lines().map(|row| row.len() + 1).max().unwrap_or(0);
    assert!(
        text.len() + 2 * longest > limit,
        "{} bytes kept under a {limit} byte limit: rows that fitted were lost",
        text.len()
    );
}

/// Run by the test above, in a child process under the size limit.
#[test]
#[ignore = "run by a_disk_that_fills_while_recording_is_one_line_and_streaming_goes_on"]
fn recording_under_a_size_limit() {
    use nix::sys::resource::{Resource, getrlimit};

    let folder = std::env::var("DISK_FULL_FOLDER").expect("run by its parent test");
    let (limit, _) = getrlimit(Resource::RLIMIT_FSIZE).expect("file size limit");
    eprintln!("file size limit: {limit}");
    let mut harness = common::app_with(AppOptions {
        target: PortTarget::Sim,
        stream_divider: 100,
        ..AppOptions::default()
    });
    wait_connected(&mut harness);
    wait_for_samples(&mut harness, 50);
    set_folder(&mut harness, &folder);
    harness.get_by_label("Record").click();
    harness.step();
    let started = Instant::now();
    while harness
        .query_by_label_contains("recording stopped: ")
        .is_none()
    {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the full disk was never reported"
        );
        std::thread::sleep(Duration::from_millis(10));
        harness.step();
    }
    let shown = harness
        .get_by_label_contains("recording stopped: ")
        .value()
        .unwrap_or_default();
    eprintln!(
        "after {:.1} s the app shows: {shown}",
        started.elapsed().as_secs_f64()
    );
    assert!(shown.contains("File too large"), "{shown}");
    assert!(!shown.contains('\n'), "one line");
    let session = harness.state().session().expect("session");
    assert!(session.recording.is_none(), "the recording ended");
    let pushed = |h: &egui_kittest::Harness<'static, motiontune::app::App>| {
        h.state()
            .session()
            .and_then(|s| s.history.as_ref())
            .map_or(0, |history| history.total_pushed())
    };
    let before = pushed(&harness);
    common::step_until(&mut harness, "streaming after the failure", |h| {
        pushed(h) > before + 20
    });
}
