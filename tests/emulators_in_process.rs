//! `--port sim:NAME`: every firmware emulator run inside the process, with
//! no pseudo-terminal, so these run on Windows too. The link reaches each
//! through the same adapters as a real port: auto-detection finds the
//! right protocol and the device describes itself; the CLI reads its
//! parameters; the app connects to one; a name that is no emulator is one
//! clear line. The app's DTR and RTS boxes (ticked by default, shown for a
//! serial port only) are here too: they need no port to be read.

mod common;

use std::time::{Duration, Instant};

use common::{app_with, motiontune as run, stderr};
use egui_kittest::kittest::{NodeT, Queryable};
use motiontune::app::AppOptions;
use motiontune::link::{ControlLines, Link, LinkEvent, LinkOptions, PortTarget, emulator_port};
use motiontune::protocol::Event;
use motiontune::protocol::adapter::{Protocol, ProtocolChoice};
use motiontune::protocol::auto::probe_time;

/// Opens `target` and returns the protocol the link spoke and how many
/// channels the device described.
fn describe(target: PortTarget) -> (Protocol, usize) {
    let name = target.name().to_owned();
    let link = Link::open(LinkOptions::new(target));
    let deadline = Instant::now() + probe_time() + Duration::from_secs(5);
    let mut speaking = None;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match link.events().recv_timeout(left) {
            Ok(LinkEvent::Speaking(protocol)) => speaking = Some(protocol),
            Ok(LinkEvent::Device(Event::Described(info))) => {
                let protocol = speaking.expect("Speaking comes before the description");
                return (protocol, info.channels.len());
            }
            Ok(LinkEvent::Closed(error)) => panic!("{name}: link closed: {error:?}"),
            Ok(_) => {}
            Err(_) => panic!("{name}: not described in time"),
        }
    }
}

#[test]
fn auto_detection_finds_each_emulator_in_process() {
    for firmware in Protocol::ALL {
        let (found, channels) = describe(PortTarget::parse(emulator_port(firmware), 115_200));
        assert_eq!(found, firmware, "on {}", emulator_port(firmware));
        assert!(channels > 0, "{firmware}: no channels described");
    }
}

#[test]
fn each_emulator_answers_its_own_protocol_when_named() {
    for firmware in Protocol::ALL {
        let target = PortTarget::parse(emulator_port(firmware), 115_200)
            .speaking(ProtocolChoice::Only(firmware), Default::default());
        let (found, _) = describe(target);
        assert_eq!(found, firmware);
    }
}

#[test]
fn the_cli_reads_parameters_from_an_emulator() {
    let output = run(&["params", "--port", "sim:odrive"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("odrive"), "{text}");
}

#[test]
fn a_name_that_is_no_emulator_is_one_clear_line() {
    let output = run(&["params", "--port", "sim:vesc"]);
    common::assert_one_line_error(
        &output,
        "'sim:vesc' is no emulator: use sim:native, sim:lines, sim:simplefoc, sim:odrive",
    );
}

#[test]
fn the_app_connects_to_an_emulator_and_describes_it() {
    let mut harness = app_with(AppOptions {
        target: PortTarget::parse("sim:simplefoc", 115_200),
        ..AppOptions::default()
    });
    let deadline = Instant::now() + probe_time() + Duration::from_secs(5);
    while !harness
        .state()
        .session()
        .is_some_and(|s| s.is_connected() && s.info.is_some())
    {
        assert!(Instant::now() < deadline, "not connected to sim:simplefoc");
        std::thread::sleep(Duration::from_millis(10));
        harness.step();
    }
    let session = harness.state().session().expect("session");
    assert_eq!(session.target().name(), "sim:simplefoc");
    assert!(
        !session
            .info
            .as_ref()
            .expect("described")
            .channels
            .is_empty()
    );
}

/// Whether the checkbox labelled `label` is ticked, and enabled.
fn checkbox(
    harness: &egui_kittest::Harness<'static, motiontune::app::App>,
    label: &str,
) -> (bool, bool) {
    let node = harness.get_by_label(label).accesskit_node();
    (
        node.toggled() == Some(egui::accesskit::Toggled::True),
        !node.is_disabled(),
    )
}

#[test]
fn dtr_and_rts_are_ticked_for_a_serial_port_unless_switched_off() {
    let missing = "/nonexistent/motiontune-port";
    let harness = app_with(AppOptions {
        target: PortTarget::parse(missing, 115_200),
        ..AppOptions::default()
    });
    assert_eq!(checkbox(&harness, "DTR"), (true, true));
    assert_eq!(checkbox(&harness, "RTS"), (true, true));

    let harness = app_with(AppOptions {
        target: PortTarget::parse(missing, 115_200).with_control_lines(ControlLines {
            dtr: false,
            rts: true,
        }),
        ..AppOptions::default()
    });
    assert_eq!(checkbox(&harness, "DTR"), (false, true));
    assert_eq!(checkbox(&harness, "RTS"), (true, true));

    // An emulator has no control lines: no boxes.
    let harness = app_with(AppOptions {
        target: PortTarget::parse("sim:lines", 115_200),
        ..AppOptions::default()
    });
    assert!(harness.query_by_label("DTR").is_none());
    assert!(harness.query_by_label("RTS").is_none());
}
