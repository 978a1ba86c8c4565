//! `--protocol auto` against every firmware motiontune speaks, each behind a
//! real pseudo-terminal: the link finds the right protocol and says so, the
//! CLI prints what it found, and the app shows it in its status bar.
#![cfg(unix)]

mod common;

use std::time::{Duration, Instant};

use common::{motiontune as run, stderr};
use egui_kittest::kittest::Queryable;
use motiontune::link::{Link, LinkEvent, LinkOptions, PortTarget};
use motiontune::protocol::Event;
use motiontune::protocol::adapter::Protocol;
use motiontune::protocol::auto::probe_time;
use motiontune::sim::device::DeviceSettings;
use motiontune::sim::drive::DriveConfig;
use motiontune::sim::firmware::lines::{LinesSketch, LinesSketchSettings};
use motiontune::sim::firmware::odrive::OdriveSim;
use motiontune::sim::firmware::simplefoc::SimpleFocFirmware;
use motiontune::sim::pty::PtyServer;
use motiontune::sim::{EmulatedDevice, SimDevice};

/// Each firmware's emulator, served on a pty, with the protocol auto must
/// find on it. The servers stay alive as long as the returned handle.
fn serve(protocol: Protocol) -> (Box<dyn std::any::Any>, String) {
    fn start<D: EmulatedDevice>(device: D) -> (Box<dyn std::any::Any>, String) {
        let server = PtyServer::start(device).expect("pty available");
        let path = server.path().to_owned();
        (Box::new(server), path)
    }
    let config = DriveConfig::default();
    match protocol {
        Protocol::Native => start(SimDevice::new(config, DeviceSettings::default())),
        Protocol::Lines => start(LinesSketch::new(config, LinesSketchSettings::default())),
        Protocol::SimpleFoc => start(SimpleFocFirmware::new(config)),
        Protocol::Odrive => start(OdriveSim::new(config)),
    }
}

/// Opens an auto link and returns the protocol it reported, the device's
/// name, and how long finding it took.
fn detect(path: &str) -> (Protocol, String, Duration) {
    let started = Instant::now();
    let link = Link::open(LinkOptions::new(PortTarget::parse(path, 115_200)));
    let deadline = started + probe_time() + Duration::from_secs(3);
    let mut found = None;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match link.events().recv_timeout(left) {
            Ok(LinkEvent::Speaking(protocol)) => found = Some(protocol),
            Ok(LinkEvent::Device(Event::Described(info))) => {
                let protocol = found.expect("Speaking comes before the description");
                assert_eq!(link.protocol(), Some(protocol));
                return (protocol, info.name, started.elapsed());
            }
            Ok(LinkEvent::Closed(error)) => panic!("{path}: link closed: {error:?}"),
            Ok(_) => {}
            Err(_) => panic!("{path}: nothing found within {:?}", probe_time()),
        }
    }
}

#[test]
fn auto_finds_every_firmware_motiontune_speaks() {
    for protocol in Protocol::ALL {
        let (_server, path) = serve(protocol);
        let (found, name, took) = detect(&path);
        eprintln!("{protocol}: found {found} ({name}) in {took:?}");
        assert_eq!(found, protocol, "on the {protocol} emulator");
    }
}

#[test]
fn the_cli_says_which_protocol_it_found() {
    for protocol in Protocol::ALL {
        let (_server, path) = serve(protocol);
        let output = run(&["params", "--port", &path]);
        assert!(output.status.success(), "{protocol}: {}", stderr(&output));
        let text = String::from_utf8_lossy(&output.stdout);
        let header = text.lines().next().unwrap_or_default();
        assert!(
            header.ends_with(&format!("speaking {protocol}")),
            "{protocol}: {header}"
        );
    }
}

#[test]
fn the_app_shows_the_protocol_it_found() {
    let (_server, path) = serve(Protocol::Odrive);
    let mut harness = common::app_on(PortTarget::parse(&path, 115_200));
    common::wait_connected(&mut harness);
    harness.step();
    harness.get_by_label_contains(&format!("ODrive ASCII on {path}"));
}

#[test]
fn the_protocol_picked_in_the_connection_bar_is_the_one_spoken() {
    use motiontune::app::ConnectionState;
    use motiontune::protocol::adapter::{AdapterSettings, ProtocolChoice};

    let (_server, path) = serve(Protocol::SimpleFoc);
    // Told the wrong protocol, the app gets no answer from the sketch.
    let wrong = PortTarget::parse(&path, 115_200).speaking(
        ProtocolChoice::Only(Protocol::Native),
        AdapterSettings::default(),
    );
    let mut harness = common::app_on(wrong);
    common::step_until(&mut harness, "the native handshake to fail", |h| {
        matches!(
            h.state().session().map(|s| &s.state),
            Some(ConnectionState::Failed(_))
        )
    });

    harness.get_by_label("Protocol").click_accesskit();
    harness.run_steps(2);
    harness
        .get_by_label("SimpleFOC Commander")
        .click_accesskit();
    harness.run_steps(2);
    harness.get_by_label("Connect").click_accesskit();
    harness.step();
    common::wait_connected(&mut harness);
    harness.step();
    assert_eq!(
        harness.state().session().and_then(|s| s.protocol),
        Some(Protocol::SimpleFoc)
    );
    // The status bar: "connected: NAME (FIRMWARE), PROTOCOL on PORT".
    harness.get_by_label_contains(&format!("SimpleFOC Commander on {path}"));
}

/// An ODrive on firmware outside 0.5.x, as far as auto-detection sees it:
/// it answers `r fw_version_major`/`minor` (with the checksum asked for)
/// and calls everything else an unknown command.
struct OtherOdrive {
    minor: u8,
    line: Vec<u8>,
    output: Vec<u8>,
}

impl EmulatedDevice for OtherOdrive {
    fn loop_hz(&self) -> u32 {
        1000
    }

    fn receive(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            if !matches!(byte, b'\r' | b'\n' | b'!') {
                self.line.push(byte);
                continue;
            }
            let line = String::from_utf8_lossy(&std::mem::take(&mut self.line)).into_owned();
            let (command, checksummed) = match line.split_once('*') {
                Some((command, _)) => (command.to_owned(), true),
                None => (line, false),
            };
            let reply = match command.as_str() {
                "r fw_version_major" => "0".to_owned(),
                "r fw_version_minor" => self.minor.to_string(),
                _ => "unknown command".to_owned(),
            };
            let sum = reply.bytes().fold(0u8, |s, b| s ^ b);
            let end = if checksummed {
                format!("*{sum}\r\n")
            } else {
                "\r\n".to_owned()
            };
            self.output.extend_from_slice((reply + &end).as_bytes());
        }
    }

    fn advance(&mut self, _ticks: u64) {}

    fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.output)
    }
}

#[test]
fn an_odrive_on_other_firmware_is_named_and_refused() {
    for minor in [4, 6] {
        let server = PtyServer::start(OtherOdrive {
            minor,
            line: Vec::new(),
            output: Vec::new(),
        })
        .expect("pty available");
        let output = run(&["params", "--port", server.path()]);
        common::assert_one_line_error(
            &output,
            &format!("found an ODrive running firmware 0.{minor}"),
        );
        assert!(
            stderr(&output).contains("0.5.1 to 0.5.6"),
            "{}",
            stderr(&output)
        );
    }
}
