//! The Auto-tune tab's guided method (ODrive's manual procedure) in the
//! real `App`, headless, on the ODrive 0.5.x emulator behind a pty: run
//! automatically from the default gains to Done, its gains held to the
//! document's rules; and Abort & restore writing back every gain as found.
#![cfg(unix)]

mod common;

use std::time::{Duration, Instant};

use common::{app_with, step_until, wait_connected};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use motiontune::app::{App, AppOptions};
use motiontune::link::PortTarget;
use motiontune::protocol::adapter::{AdapterSettings, Protocol, ProtocolChoice};
use motiontune::sim::drive::DriveConfig;
use motiontune::sim::firmware::odrive::OdriveSim;
use motiontune::sim::pty::PtyServer;
use motiontune::tuning::guided::{GuidedTuning, RAISE, Stage};

fn serve(setup: impl FnOnce(&mut OdriveSim)) -> PtyServer<OdriveSim> {
    let mut device = OdriveSim::new(DriveConfig::default());
    setup(&mut device);
    PtyServer::start(device).expect("pty available")
}

/// The app on `server`, output on, the guided method chosen and started
/// to run automatically.
fn start_guided(server: &PtyServer<OdriveSim>) -> Harness<'static, App> {
    let target = PortTarget::parse(server.path(), 115_200).speaking(
        ProtocolChoice::Only(Protocol::Odrive),
        AdapterSettings::default(),
    );
    let mut harness = app_with(AppOptions {
        target,
        stream_divider: 1,
        ..AppOptions::default()
    });
    wait_connected(&mut harness);
    step_until(&mut harness, "the description", |h| {
        h.state().session().is_some_and(|s| s.info.is_some())
    });
    harness.get_by_label("Enable output").click();
    harness.step();
    step_until(&mut harness, "the output on", |h| {
        h.state().session().is_some_and(|s| s.output_enabled())
    });
    harness.get_by_label("Auto-tune").click();
    harness.step();
    harness.get_by_label("Guided (ODrive manual)").click();
    harness.step();
    harness
        .get_by_label("Start guided tuning")
        .click_accesskit();
    harness.step();
    harness.get_by_label("Run automatically").click_accesskit();
    harness.step();
    harness
}

/// Steps until `condition`, confirming any large change the procedure's
/// writes wait on.
fn run_until(
    harness: &mut Harness<'static, App>,
    what: &str,
    seconds: u64,
    mut condition: impl FnMut(&Harness<'static, App>) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while !condition(harness) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        if let Some(confirm) = harness.query_by_label("Confirm large change") {
            confirm.click_accesskit();
        }
        std::thread::sleep(Duration::from_millis(10));
        harness.step();
    }
}

fn tuning(harness: &Harness<'static, App>) -> GuidedTuning {
    harness.state().guided_tuning().cloned().expect("started")
}

fn device_gains(server: &PtyServer<OdriveSim>) -> [f32; 3] {
    server.with_device(|d| {
        let a = &d.axes[0];
        [a.pos_gain, a.vel_gain, a.vel_integrator_gain]
    })
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-5 + 1e-4 * b.abs()
}

#[test]
fn the_guided_procedure_tunes_the_emulated_odrive_from_its_defaults() {
    let server = serve(|_| {});
    let mut harness = start_guided(&server);
    run_until(&mut harness, "the procedure to end", 90, |h| {
        h.state()
            .guided_tuning()
            .is_some_and(|t| !t.stage().is_running())
    });
    let tuning = tuning(&harness);
    for test in tuning.tests() {
        eprintln!(
            "test {:2} {:?}: pos_gain {:.4} vel_gain {:.4} vel_i {:.4}: overshoot {:.2} %, \
             settling {:?} s, vibration ×{:.1} at {:.0} Hz",
            test.number,
            test.stage,
            test.gains.position_p,
            test.gains.velocity_p,
            test.gains.velocity_i,
            test.result.overshoot_percent,
            test.result.settling_s,
            test.vibration.ratio,
            test.vibration.peak_hz,
        );
    }
    assert_eq!(tuning.stage(), &Stage::Done, "{:?}", tuning.stage());

    // Vibration was found above the default vel_gain, and vel_gain halved.
    let default_vel_gain = 1.0 / 6.0;
    let vibrating = tuning.vibrating_velocity_p().expect("vibration found");
    assert!(vibrating > default_vel_gain * 1.2, "{vibrating}");
    let last = tuning.next_gains().expect("final gains");
    assert!(close(last.velocity_p, 0.5 * vibrating), "{last:?}");

    // pos_gain stops at the last test without overshoot: the one after it
    // (×1.3) overshot.
    let at = |p: f64| {
        tuning
            .tests()
            .iter()
            .filter(move |t| close(t.gains.position_p, p) && t.gains.velocity_i == 0.0)
    };
    let final_test = at(last.position_p)
        .next_back()
        .expect("a test at the final pos_gain");
    assert!(!final_test.overshot, "{final_test:?}");
    assert!(
        at(last.position_p * RAISE).any(|t| t.overshot || t.vibration.vibrating),
        "the next pos_gain did not overshoot"
    );

    // vel_integrator_gain = 0.5 · bandwidth · vel_gain, bandwidth = 1 /
    // the settling time at the final gains.
    let settling = final_test.result.settling_s.expect("settled");
    assert!(close(
        last.velocity_i,
        0.5 * (1.0 / settling) * last.velocity_p
    ));

    // The device holds them.
    step_until(&mut harness, "the final gains on the device", |_| {
        let [p, v, i] = device_gains(&server).map(f64::from);
        close(p, last.position_p) && close(v, last.velocity_p) && close(i, last.velocity_i)
    });
    eprintln!(
        "vibration at vel_gain {vibrating:.4}; final pos_gain {:.4}, vel_gain {:.4}, \
         vel_integrator_gain {:.4}",
        last.position_p, last.velocity_p, last.velocity_i
    );
}

#[test]
fn abort_and_restore_puts_every_gain_back_as_found() {
    // The document's example gains (control.rst:105-116): values the
    // ASCII protocol reads back exactly.
    let server = serve(|d| {
        d.axes[0].pos_gain = 20.0;
        d.axes[0].vel_gain = 0.16;
        d.axes[0].vel_integrator_gain = 0.32;
    });
    let found = device_gains(&server);
    let mut harness = start_guided(&server);
    run_until(&mut harness, "vel_gain raised twice", 30, |h| {
        h.state()
            .guided_tuning()
            .is_some_and(|t| t.tests().len() >= 3)
    });
    assert_ne!(device_gains(&server), found, "nothing was written");
    harness.get_by_label("Abort & restore").click_accesskit();
    harness.step();
    run_until(&mut harness, "the gains found back", 10, |_| {
        device_gains(&server) == found
    });
    assert_eq!(tuning(&harness).stage(), &Stage::Aborted);
    // Nothing more is written after the restore.
    common::run_for(&mut harness, 1.0);
    assert_eq!(device_gains(&server), found);
}
