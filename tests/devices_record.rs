//! Several devices in one window, recorded and watched (issue 23), on the
//! real `App` driven headless against two simulated drives, each behind
//! its own pty: *Record all devices* writes one CSV in the layout of
//! `record --port A --port B` with every sample each session took in
//! while it ran, none lost, each device's time exact, and the app's
//! reader splits it back per device; a device whose link is lost ends its
//! columns while the other records on; and a device not shown that loses
//! its link gets a banner naming it, whose *Show* selects it.
#![cfg(unix)]

mod common;

use std::path::{Path, PathBuf};

use common::devices::{FIRST, SECOND, select, serve, session, two_devices};
use common::{run_for, set_folder, step_until};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use motiontune::app::{App, ConnectionState};
use motiontune::device::DeviceId;
use motiontune::record::read::{self, FileFormat, ReadOptions};
use motiontune::sim::pty::PtyServer;

/// Samples `id`'s history has taken in so far.
fn pushed(harness: &Harness<'static, App>, id: DeviceId) -> u64 {
    session(harness, id)
        .history
        .as_ref()
        .map_or(0, |h| h.total_pushed())
}

fn label(harness: &Harness<'static, App>, id: DeviceId) -> String {
    harness
        .state()
        .devices()
        .get(id)
        .map(|d| d.label().to_owned())
        .expect("the device is there")
}

/// Points the save folder at `folder` and presses *Record all devices*;
/// returns each device's samples taken in by the frame that started it
/// (the recording has none of them).
fn start_recording(harness: &mut Harness<'static, App>, folder: &Path) -> [u64; 2] {
    set_folder(harness, &folder.display().to_string());
    harness.get_by_label("Record all devices").click_accesskit();
    harness.step();
    assert!(
        harness
            .state()
            .devices()
            .recording_all()
            .is_some_and(|r| r.is_running()),
        "the recording started in the frame of the click"
    );
    let started = [pushed(harness, FIRST), pushed(harness, SECOND)];
    // Said from the next frame on.
    harness.step();
    let labels = [label(harness, FIRST), label(harness, SECOND)];
    harness.get_by_label_contains(&format!("recording {} to ", labels.join(", ")));
    started
}

/// Presses *Stop recording all devices*; returns each device's samples
/// taken in by the frame that stopped it (the recording has all of them),
/// then the file and what the app said once it was finished.
fn stop_recording(
    harness: &mut Harness<'static, App>,
    folder: &Path,
) -> ([u64; 2], PathBuf, String) {
    harness
        .get_by_label("Stop recording all devices")
        .click_accesskit();
    harness.step();
    let stopped = [pushed(harness, FIRST), pushed(harness, SECOND)];
    step_until(harness, "the file finished", |h| {
        h.state().devices().recording_all().is_none()
    });
    harness.step();
    let node = harness.get_by_label_contains("recorded to ");
    let node = node.accesskit_node();
    let said = node.label().or_else(|| node.value()).unwrap_or_default();
    let files: Vec<PathBuf> = std::fs::read_dir(folder)
        .expect("the save folder")
        .map(|e| e.expect("an entry").path())
        .collect();
    assert_eq!(files.len(), 1, "one file: {files:?}");
    let path = files[0].clone();
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    assert!(
        name.starts_with("motiontune-devices-") && name.ends_with(".csv"),
        "{name}"
    );
    assert!(said.contains(&path.display().to_string()), "{said}");
    (stopped, path, said)
}

/// Reads `label`'s samples back as the app's reader does and checks they
/// are the samples `id`'s history took in between `from` and `to`
/// (indices of every sample taken in), on the device's exact time, with no
/// gap.
fn check_device(
    harness: &Harness<'static, App>,
    path: &Path,
    id: DeviceId,
    (from, to): (u64, u64),
) {
    let label = label(harness, id);
    let options = ReadOptions {
        device: Some(label.clone()),
        ..ReadOptions::default()
    };
    let file = read::open(path, &options).expect("the device reads back");
    let expected = to - from;
    assert!(expected > 300, "{label}: only {expected} samples in ~1 s");
    assert_eq!(
        file.times.len() as u64,
        expected,
        "{label}: the file's samples against the session's"
    );
    let history = session(harness, id).history.as_ref().expect("a history");
    assert!(
        history.indices().start <= from,
        "the history still holds them"
    );
    for (k, &time) in file.times.iter().enumerate() {
        let taken = history.time_of(from + k as u64);
        assert!(
            (time - taken).abs() < 1e-9,
            "{label}: sample {k} at {time} in the file, {taken} in the app"
        );
    }
    let period = file.times[1] - file.times[0];
    assert!(period > 0.0, "{label}");
    for pair in file.times.windows(2) {
        assert!(
            ((pair[1] - pair[0]) - period).abs() < 1e-9,
            "{label}: a gap from {} to {}",
            pair[0],
            pair[1]
        );
    }
    let lost = session(harness, id)
        .health()
        .map_or(0, |(health, _, _)| health.lost_samples);
    assert_eq!(lost + session(harness, id).dropped_samples, 0, "{label}");
}

/// Takes the second device away and steps until the app sees its link
/// lost.
fn lose(harness: &mut Harness<'static, App>, second: PtyServer) {
    second.stop().expect("the second device goes away");
    step_until(harness, "the second's loss", |h| {
        matches!(
            session(h, SECOND).state,
            ConnectionState::Reconnecting { .. }
        )
    });
}

#[test]
fn record_all_devices_writes_every_sample_of_each_into_one_file() {
    let (a, b) = (serve(), serve());
    let mut harness = two_devices(&a, &b);
    let folder = tempfile::tempdir().expect("temp dir");
    let started = start_recording(&mut harness, folder.path());
    run_for(&mut harness, 1.0);
    let (stopped, path, said) = stop_recording(&mut harness, folder.path());
    for (at, id) in [FIRST, SECOND].into_iter().enumerate() {
        check_device(&harness, &path, id, (started[at], stopped[at]));
        let rows = format!(
            "{}: {} rows",
            label(&harness, id),
            stopped[at] - started[at]
        );
        assert!(said.contains(&rows), "{rows:?} not in {said:?}");
    }
    // The layout of `record --port A --port B`: both devices on the host's
    // time when no device is chosen.
    let both = read::open(&path, &ReadOptions::default()).expect("reads whole");
    let FileFormat::Csv(layout) = &both.format else {
        panic!("read as {:?}", both.format);
    };
    assert_eq!(
        layout.device_labels,
        [label(&harness, FIRST), label(&harness, SECOND)]
    );
    // Another recording can start.
    harness.get_by_label("Record all devices");
}

#[test]
fn a_device_lost_mid_recording_ends_its_columns_and_the_other_records_on() {
    let (a, b) = (serve(), serve());
    let mut harness = two_devices(&a, &b);
    let folder = tempfile::tempdir().expect("temp dir");
    let started = start_recording(&mut harness, folder.path());
    run_for(&mut harness, 0.4);
    lose(&mut harness, b);
    let second_end = pushed(&harness, SECOND);
    run_for(&mut harness, 0.5);
    let (stopped, path, said) = stop_recording(&mut harness, folder.path());
    assert_eq!(stopped[1], second_end, "nothing came after the loss");
    check_device(&harness, &path, FIRST, (started[0], stopped[0]));
    check_device(&harness, &path, SECOND, (started[1], second_end));
    assert!(
        stopped[0] - started[0] > (second_end - started[1]) + 200,
        "the first recorded on after the second's loss"
    );
    let ended = format!(
        "{}: {} rows (ended: the link was lost",
        label(&harness, SECOND),
        second_end - started[1]
    );
    assert!(said.contains(&ended), "{ended:?} not in {said:?}");
}

#[test]
fn a_device_not_shown_that_loses_its_link_gets_a_banner_whose_show_selects_it() {
    let (a, b) = (serve(), serve());
    let mut harness = two_devices(&a, &b);
    select(&mut harness, FIRST);
    let second = label(&harness, SECOND);
    assert!(harness.query_by_label_contains("(not shown)").is_none());
    lose(&mut harness, b);
    harness.step();
    harness.get_by_label_contains(&format!("{second} (not shown): LINK LOST: "));
    harness
        .get_by_label(&format!("Show {second}"))
        .click_accesskit();
    harness.run_steps(2);
    assert_eq!(harness.state().devices().selected_id(), Some(SECOND));
    assert!(
        harness.query_by_label_contains("(not shown)").is_none(),
        "the shown device's trouble is not a background banner"
    );
    // The first is not shown now; it is well, so it has no banner.
    select(&mut harness, FIRST);
    harness.get_by_label_contains(&format!("{second} (not shown)"));
    harness
        .get_by_label(&format!("Acknowledge {second}"))
        .click_accesskit();
    harness.run_steps(2);
    assert!(
        harness.query_by_label_contains("(not shown)").is_none(),
        "acknowledged"
    );
}
