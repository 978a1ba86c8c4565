//! `--port sim:NAME`: every firmware emulator run inside the process, with
//! no pseudo-terminal, so these run on Windows too. The link reaches each
//! through the same adapters as a real port: auto-detection finds the
//! right protocol and the device describes itself; the CLI reads its
//! parameters; a name that is no emulator is one clear line.

mod common;

use std::time::{Duration, Instant};

use common::{motiontune as run, stderr};
use motiontune::link::{Link, LinkEvent, LinkOptions, PortTarget, emulator_port};
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
