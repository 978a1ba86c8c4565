//! The scope in the real `App`, headless: follow and freeze, keys, the
//! trigger (level and parameter write), recording and exporting from the
//! GUI to real files, images saved from the data, a readout that keeps
//! its size, a clear error for a folder that cannot be written, and the
//! folder remembered for the next start.
#![cfg(unix)]

mod common;

use std::time::{Duration, Instant};

use common::{app_on, read_recording, set_folder, step_until, wait_connected, wait_for_samples};
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use motiontune::app::App;
use motiontune::app::view::ViewSettings;
use motiontune::capture::ArmState;
use motiontune::link::PortTarget;

fn connected_app() -> Harness<'static, App> {
    let mut harness = app_on(PortTarget::Sim);
    wait_connected(&mut harness);
    wait_for_samples(&mut harness, 200);
    harness
}

/// Moves a parameter's slider and waits until the armed trigger captures.
fn write_and_wait_for_capture(harness: &mut Harness<'static, App>, param: &str, value: f64) {
    harness
        .get_by_role_and_label(Role::Slider, param)
        .set_value_accesskit(value);
    harness.step();
    step_until(harness, "a capture", |h| {
        h.state()
            .session()
            .is_some_and(|s| !s.capture.captures().is_empty())
    });
}

fn samples_pushed(harness: &Harness<'static, App>) -> u64 {
    harness
        .state()
        .session()
        .and_then(|s| s.history.as_ref())
        .map_or(0, |history| history.total_pushed())
}

/// Steps the app for `seconds` of wall time.
fn run_for(harness: &mut Harness<'static, App>, seconds: f64) {
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    while Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
        harness.step();
    }
}

#[test]
fn freeze_stops_the_view_while_capture_goes_on() {
    let mut harness = connected_app();
    assert!(harness.state().scope_follows());
    harness.get_by_label("Freeze").click();
    harness.step();
    assert!(!harness.state().scope_follows());
    let before = samples_pushed(&harness);
    run_for(&mut harness, 0.3);
    assert!(
        samples_pushed(&harness) > before + 100,
        "capture must go on while frozen"
    );
    harness.get_by_label("Follow").click();
    harness.step();
    assert!(harness.state().scope_follows());
}

/// A frozen view or a disconnected app asks for no frames of its own (the
/// link wakes it for news): the live view and an armed trigger keep the
/// chosen pace, 60 frames a second unless set otherwise.
#[test]
fn frames_come_at_the_chosen_pace_only_while_something_moves() {
    let moving = Some(ViewSettings::default().moving_frame());
    assert_eq!(moving, Some(Duration::from_secs_f64(1.0 / 60.0)));
    let mut harness = connected_app();
    assert_eq!(harness.state().next_frame(), moving, "live, followed");
    harness.get_by_label("Freeze").click();
    harness.step();
    assert_eq!(harness.state().next_frame(), None, "frozen");
    harness.get_by_label("Arm trigger").click();
    harness.step();
    assert_eq!(harness.state().next_frame(), moving, "a trigger armed");
    harness.get_by_label("Disconnect").click();
    harness.step();
    assert_eq!(harness.state().next_frame(), None, "disconnected");
}

#[test]
fn arrow_keys_pan_out_of_follow_and_home_returns() {
    let mut harness = connected_app();
    // Home, and F for keyboards without one (Mac laptops).
    for follow in [egui::Key::Home, egui::Key::F] {
        harness.key_press(egui::Key::ArrowLeft);
        harness.step();
        assert!(!harness.state().scope_follows());
        harness.key_press(follow);
        harness.step();
        assert!(harness.state().scope_follows(), "{follow:?}");
    }
}

#[test]
fn level_trigger_captures_around_a_setpoint_step() {
    let mut harness = connected_app();
    // Default trigger: setpoint rising through 0.5, single.
    harness.get_by_label("Arm trigger").click();
    harness.step();
    assert!(matches!(
        harness.state().session().map(|s| s.capture.state()),
        Some(ArmState::Armed { .. })
    ));
    write_and_wait_for_capture(&mut harness, "pos.setpoint", 1.0);
    harness.step();
    harness.get_by_label_contains("1 capture; newest #1");
    let session = harness.state().session().expect("session");
    assert_eq!(
        session.capture.state(),
        ArmState::Idle,
        "single mode disarms"
    );
    let capture = &session.capture.captures()[0];
    let history = &capture.history;
    let at = history.first_at_or_after(capture.trigger_time);
    assert!(history.value(0, at) >= 0.5 && history.value(0, at - 1) < 0.5);
    let (t0, t1) = history.time_span().expect("samples");
    let settings = session.capture.settings();
    let period = history.period_at(at);
    assert!(
        (capture.trigger_time - t0 - settings.pre_s).abs() <= period + 1e-9,
        "pre-trigger span"
    );
    assert!(
        (t1 - capture.trigger_time - settings.post_s).abs() <= period + 1e-9,
        "post-trigger span"
    );
}

#[test]
fn a_parameter_write_triggers_and_is_marked() {
    let mut harness = connected_app();
    harness.get_by_label("Trigger source").click();
    harness.run_steps(2);
    harness.get_by_label("parameter write").click();
    harness.step();
    harness.get_by_label("Arm trigger").click();
    harness.step();
    write_and_wait_for_capture(&mut harness, "pos.kp", 30.0);
    let session = harness.state().session().expect("session");
    let mark = session.writes.last().expect("the write is marked");
    assert_eq!((mark.name.as_str(), mark.value), ("pos.kp", 30.0));
    assert_eq!(session.capture.captures()[0].trigger_time, mark.time_s);
}

#[test]
fn recording_from_the_gui_flushes_while_running_and_keeps_every_sample() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut harness = connected_app();
    set_folder(&mut harness, &dir.path().display().to_string());
    harness.get_by_label("Record").click();
    harness.step();
    let path = harness
        .state()
        .session()
        .and_then(|s| s.recording.as_ref())
        .map(|r| r.path().to_owned())
        .expect("recording started");
    assert!(path.starts_with(dir.path()));
    run_for(&mut harness, 1.3);
    let (_, rows_while_running) = read_recording(&path);
    assert!(
        rows_while_running.len() > 300,
        "rows must reach the file within a second, found {}",
        rows_while_running.len()
    );
    harness.get_by_label("Stop recording").click();
    harness.step();
    step_until(&mut harness, "the recording to finish", |h| {
        h.query_by_label_contains("recorded ").is_some()
    });
    let (header, rows) = read_recording(&path);
    // The same columns as `motiontune record` writes.
    let channels = &harness
        .state()
        .session()
        .and_then(|s| s.info.as_ref())
        .expect("described")
        .channels;
    assert_eq!(header, motiontune::record::header_for(channels));
    assert_eq!(header.len(), 1 + channels.len());
    assert!(rows.len() > rows_while_running.len());
    // Divider 10 on a 10 kHz loop: one row every millisecond, none missing.
    for pair in rows.windows(2) {
        let step = pair[1][0] - pair[0][0];
        assert!(
            (step - 0.001).abs() < 1e-7,
            "gap between {} and {}",
            pair[0][0],
            pair[1][0]
        );
    }
    harness.get_by_label_contains(&format!("recorded {} rows", rows.len()));
}

#[test]
fn export_writes_every_sample_in_the_frozen_view() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut harness = connected_app();
    set_folder(&mut harness, &dir.path().display().to_string());
    harness.get_by_label("Freeze").click();
    harness.step();
    harness.get_by_label("Export CSV").click();
    harness.step();
    step_until(&mut harness, "the export", |h| {
        h.query_by_label_contains("exported ").is_some()
    });
    let file = std::fs::read_dir(dir.path())
        .expect("folder")
        .filter_map(Result::ok)
        .find(|entry| entry.file_name().to_string_lossy().contains("view"))
        .expect("an export file");
    let (_, rows) = read_recording(&file.path());
    // The default 2 s window at 1 kHz, less whatever had not arrived yet.
    assert!(
        rows.len() > 100 && rows.len() <= 2001,
        "{} rows",
        rows.len()
    );
    for pair in rows.windows(2) {
        assert!((pair[1][0] - pair[0][0] - 0.001).abs() < 1e-7);
    }
    harness.get_by_label_contains(&format!("exported {} rows", rows.len()));
}

#[test]
fn an_unwritable_folder_is_a_clear_error_and_streaming_goes_on() {
    let mut harness = connected_app();
    set_folder(&mut harness, "/nonexistent-motiontune-folder");
    harness.get_by_label("Record").click();
    harness.step();
    harness.get_by_label_contains("cannot create /nonexistent-motiontune-folder/");
    harness.get_by_label_contains("No such file or directory");
    assert!(
        harness
            .state()
            .session()
            .is_some_and(|s| s.recording.is_none())
    );
    let before = samples_pushed(&harness);
    run_for(&mut harness, 0.2);
    assert!(samples_pushed(&harness) > before);
}

/// A point inside the upper plot of the 1400×900 test window.
const IN_UPPER_PLOT: egui::Pos2 = egui::pos2(700.0, 250.0);

fn click_at(harness: &mut Harness<'static, App>, pos: egui::Pos2, modifiers: egui::Modifiers) {
    harness.event(egui::Event::ModifiersChanged(modifiers));
    harness.event(egui::Event::PointerMoved(pos));
    for pressed in [true, false] {
        harness.event(egui::Event::PointerButton {
            pos,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers,
        });
        harness.step();
    }
    harness.event(egui::Event::ModifiersChanged(egui::Modifiers::NONE));
}

#[test]
fn hover_reads_every_channel_and_cursors_measure_between_them() {
    let mut harness = connected_app();
    harness.get_by_label("Freeze").click();
    harness.step();
    let channels: Vec<String> = harness
        .state()
        .session()
        .and_then(|s| s.info.as_ref())
        .map(|info| info.channels.iter().map(|c| c.name.clone()).collect())
        .expect("described");
    let mentions = |harness: &Harness<'static, App>, name: &str| {
        harness
            .query_all_by_label_contains(&format!("{name} "))
            .count()
    };
    let before: Vec<usize> = channels
        .iter()
        .map(|name| mentions(&harness, name))
        .collect();
    assert!(harness.query_by_label_contains("t = ").is_none());
    harness.event(egui::Event::PointerMoved(IN_UPPER_PLOT));
    harness.run_steps(2);
    harness.get_by_label_contains("t = ");
    for (name, before) in channels.iter().zip(before) {
        assert_eq!(mentions(&harness, name), before + 1, "a reading of {name}");
    }
    click_at(&mut harness, IN_UPPER_PLOT, egui::Modifiers::NONE);
    click_at(
        &mut harness,
        IN_UPPER_PLOT + egui::vec2(100.0, 0.0),
        egui::Modifiers::SHIFT,
    );
    harness.run_steps(2);
    harness.get_by_label_contains("  Δt ");
    harness.get_by_label_contains("1/Δt ");
    for name in &channels {
        harness.get_by_label_contains(&format!("Δ{name} "));
    }
    harness.get_by_label("Clear cursors").click();
    harness.run_steps(2);
    assert!(harness.query_by_label_contains("1/Δt").is_none());
}

#[test]
fn the_readout_and_legends_keep_their_place_as_the_pointer_moves() {
    let mut harness = connected_app();
    harness.get_by_label("Freeze").click();
    harness.run_steps(2);
    let places = |harness: &Harness<'static, App>| {
        [
            // The units closing the legends of the upper and lower plot.
            harness.get_by_label("[rad]").rect(),
            harness.get_by_label("[A]").rect(),
            harness.get_by_label("Export CSV").rect(),
        ]
    };
    let away = places(&harness);
    harness.event(egui::Event::PointerMoved(IN_UPPER_PLOT));
    harness.run_steps(2);
    let reading = harness.get_by_label_contains("t = ").rect();
    let over_upper = places(&harness);
    harness.event(egui::Event::PointerMoved(
        IN_UPPER_PLOT + egui::vec2(-150.0, 0.0),
    ));
    harness.run_steps(2);
    assert_eq!(harness.get_by_label_contains("t = ").rect(), reading);
    let elsewhere = places(&harness);
    assert_eq!(away, over_upper);
    assert_eq!(away, elsewhere);
    // The readout sits under both plots, the legends above them.
    assert!(
        reading.top() > away[1].bottom() + 100.0,
        "{reading:?} {away:?}"
    );
}

#[test]
fn save_image_writes_png_and_svg_of_the_chosen_size_drawn_from_the_data() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut harness = connected_app();
    set_folder(&mut harness, &dir.path().display().to_string());
    harness.get_by_label("Freeze").click();
    harness.step();
    harness.get_by_label("Save image").click();
    harness.step();
    step_until(&mut harness, "the image", |h| {
        h.query_by_label_contains("saved ").is_some()
    });
    let find = |extension: &str| {
        std::fs::read_dir(dir.path())
            .expect("folder")
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .find(|path| path.extension().is_some_and(|e| e == extension))
            .unwrap_or_else(|| panic!("a .{extension} file"))
    };
    let svg = std::fs::read_to_string(find("svg")).expect("svg");
    assert!(svg.starts_with("<svg ") && svg.trim_end().ends_with("</svg>"));
    assert!(svg.contains("width=\"1600\" height=\"900\""));
    // Every channel is in a legend and has a trace; nothing of the UI.
    assert_eq!(svg.matches("<text class=\"legend\"").count(), 8, "{svg}");
    assert!(svg.matches("<polyline class=\"trace\"").count() >= 8);
    assert!(!svg.contains("saving"));
    assert!(svg.contains(">device time [s]</text>"));
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(find("png")).expect("png"),
    ));
    let mut reader = decoder.read_info().expect("png header");
    let mut pixels = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut pixels).expect("frame");
    assert_eq!((info.width, info.height), (1600, 900));
    // Not blank: the channels' colours are in it.
    let mut colours: Vec<&[u8]> = pixels.chunks(4).collect();
    colours.sort_unstable();
    colours.dedup();
    assert!(colours.len() > 50, "{} colours", colours.len());
    let first_channel = [120u8, 120, 255, 255];
    assert!(pixels.chunks(4).any(|p| p == first_channel));
}

#[test]
fn a_channel_moves_to_the_right_axis_of_its_plot() {
    let mut harness = connected_app();
    // By default each unit has an axis: velocity reads against the upper
    // plot's right axis, effort against the lower plot's left one.
    harness.get_by_label("[rad/s] right axis");
    harness.get_by_label("[A]");
    assert!(harness.query_by_label("[rad/s, A] right axis").is_none());
    // Effort joins the loop's plot, read against a second axis.
    harness.get_by_label("effort axis").click();
    harness.run_steps(2);
    harness.get_by_label("upper plot, right axis").click();
    harness.run_steps(3);
    harness.get_by_label("[rad/s, A] right axis");
}

#[test]
fn scale_and_offset_sit_in_a_menu_per_channel() {
    let mut harness = connected_app();
    assert!(harness.query_by_label("effort scale").is_none());
    harness.get_by_label("effort scale and offset").click();
    harness.run_steps(2);
    harness.get_by_label("effort scale");
    harness.get_by_label("effort offset");
    harness.get_by_label_contains("offset in A");
}

#[test]
fn the_xy_view_plots_one_channel_against_another() {
    let mut harness = connected_app();
    assert!(
        harness
            .query_by_label("position against setpoint")
            .is_none()
    );
    harness.get_by_label("XY").click();
    harness.run_steps(3);
    harness.get_by_label("position against setpoint");
    harness.get_by_label("XY").click();
    harness.run_steps(3);
    assert!(
        harness
            .query_by_label("position against setpoint")
            .is_none()
    );
}

#[test]
fn a_changed_save_folder_is_remembered_for_the_next_start() {
    use egui_kittest::kittest::NodeT;
    use motiontune::app::AppOptions;

    let dir = tempfile::tempdir().expect("temp dir");
    let settings = dir.path().join("config").join("settings.toml");
    let chosen = dir.path().join("bench runs").display().to_string();
    let start = || {
        common::app_with(AppOptions {
            settings_file: Some(settings.clone()),
            ..AppOptions::default()
        })
    };
    let field = |harness: &Harness<'static, App>| {
        harness
            .get_by_label("Save folder")
            .accesskit_node()
            .value()
            .unwrap_or_default()
    };
    let mut first = start();
    assert_eq!(field(&first), "", "the documents folder is the empty field");
    set_folder(&mut first, &chosen);
    drop(first);
    let text = std::fs::read_to_string(&settings).expect("settings written");
    assert!(text.contains("bench runs"), "{text}");
    let again = start();
    assert_eq!(field(&again), chosen);
}
