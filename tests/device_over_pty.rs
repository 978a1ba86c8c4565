//! The simulated drive behind a real pseudo-terminal, opened through
//! `serialport` by the app's link: handshake, lossless streaming, writes
//! with clamping, read-only refusal, the watchdog, disable on disconnect,
//! resync after garbage, and the errors a user can cause.
#![cfg(unix)]

mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use common::{RawPort, connect, serial, set, status_flags, wait_for};
use motiontune::link::{Link, LinkError, LinkEvent, LinkOptions};
use motiontune::protocol::native::message::host_type;
use motiontune::protocol::native::{DeviceMessage, FrameDecoder, encode_frame};
use motiontune::protocol::{Command, DeviceErrorCode, Event};
use motiontune::sim::SimDevice;
use motiontune::sim::device::DeviceSettings;
use motiontune::sim::drive::{DriveConfig, RESONANCE_INDEX};
use motiontune::sim::pty::PtyServer;
use serialport::{SerialPort, TTYPort};

fn serve(settings: DeviceSettings) -> PtyServer {
    PtyServer::start(SimDevice::new(DriveConfig::default(), settings)).expect("pty available")
}

fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn link_error(path: &str) -> LinkError {
    let link = Link::open(LinkOptions::new(serial(path)));
    loop {
        match link.events().recv_timeout(Duration::from_secs(10)) {
            Ok(LinkEvent::Closed(Some(error))) => return error,
            Ok(LinkEvent::Device(Event::Described(_))) => panic!("unexpectedly connected"),
            Ok(_) => {}
            Err(_) => panic!("link neither connected nor failed"),
        }
    }
}

#[test]
fn hello_gives_the_full_description() {
    let server = serve(DeviceSettings::default());
    let (_link, info) = connect(server.path(), 0);
    assert_eq!(info.name, motiontune::sim::device::DEVICE_NAME);
    assert_eq!(info.loop_hz, 10_000);
    let names: Vec<_> = info.channels.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "setpoint",
            "position",
            "velocity",
            "effort",
            "following error",
            "p term",
            "i term",
            "d term"
        ]
    );
    assert!(
        info.params
            .iter()
            .any(|p| p.name == "pos.kp" && p.flags.tuning_gain())
    );
    assert!(
        info.params
            .iter()
            .any(|p| p.name == "pos.setpoint" && p.flags.setpoint())
    );
    assert!(info.params[RESONANCE_INDEX as usize].flags.read_only());
}

#[test]
fn streams_at_full_rate_with_no_tick_missing() {
    // Start near the u32 limit so the stream crosses the tick wrap-around.
    let settings = DeviceSettings {
        first_tick: u32::MAX - 5_000,
        ..DeviceSettings::default()
    };
    let server = serve(settings);
    let (link, _) = connect(server.path(), 1);
    common::assert_streams_without_a_gap(&link, 15_000, 10_000.0);
}

#[test]
fn set_is_clamped_and_applied_on_the_device() {
    let server = serve(DeviceSettings::default());
    let (link, info) = connect(server.path(), 0);
    let kp = info
        .params
        .iter()
        .position(|p| p.name == "pos.kp")
        .expect("kp") as u8;
    assert_eq!(set(&link, kp, 5000.0), 1000.0, "kp max is 1000");
    assert_eq!(server.with_device(|d| d.drive.config.gains.kp), 1000.0);

    assert_eq!(set(&link, kp, 42.5), 42.5);
    assert_eq!(server.with_device(|d| d.drive.config.gains.kp), 42.5);
}

#[test]
fn read_only_parameter_is_refused() {
    let server = serve(DeviceSettings::default());
    let (link, info) = connect(server.path(), 0);
    let before = info.params[RESONANCE_INDEX as usize].value;
    link.send(Command::Set {
        index: RESONANCE_INDEX,
        value: 1.0,
    });
    let (request, code) = wait_for(&link, 2, |event| match event {
        Event::Refused { request, code } => Some((request, code)),
        _ => None,
    });
    assert_eq!((request, code), (host_type::SET, DeviceErrorCode::ReadOnly));
    let after = server.with_device(|d| d.drive.param(RESONANCE_INDEX));
    assert_eq!(after, Some(before));
}

#[test]
fn watchdog_disables_a_silent_hosts_drive() {
    let server = serve(DeviceSettings {
        watchdog_ms: 200,
        ..DeviceSettings::default()
    });
    let mut port = RawPort::open(server.path());
    port.send(&Command::Enable(true));
    let flags = port.read_until(status_flags);
    assert!(flags.enabled());
    assert!(server.with_device(|d| d.enabled()));
    // Say nothing: the device must trip on its own and report it.
    let flags = port.read_until(status_flags);
    assert!(!flags.enabled());
    assert!(flags.watchdog_tripped());
    assert!(!server.with_device(|d| d.enabled()));
}

/// The drive with a watchdog of `watchdog_ms`, a link to it, and its
/// output switched on through the link.
fn enabled_drive_with_watchdog(watchdog_ms: u16) -> (PtyServer, Link) {
    let server = serve(DeviceSettings {
        watchdog_ms,
        ..DeviceSettings::default()
    });
    let (link, _) = connect(server.path(), 10);
    link.send(Command::Enable(true));
    wait_for(&link, 2, |event| match event {
        Event::Status { flags, .. } if flags.enabled() => Some(()),
        _ => None,
    });
    (server, link)
}

#[test]
fn heartbeat_keeps_the_drive_enabled_and_disconnect_disables_it() {
    let (server, link) = enabled_drive_with_watchdog(500);
    // Three watchdog periods: the link's PINGs must keep it alive.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(server.with_device(|d| d.enabled() && !d.watchdog_tripped()));
    assert!(
        link.health().snapshot().rtt_ms.is_some(),
        "PING round trip measured"
    );
    drop(link);
    // ENABLE 0 is sent on the way out, well before the watchdog would trip.
    wait_until("output disabled", || !server.with_device(|d| d.enabled()));
    assert!(!server.with_device(|d| d.watchdog_tripped()));
}

#[test]
fn a_short_watchdog_gets_a_faster_heartbeat() {
    // Shorter than the link's usual 200 ms heartbeat period.
    let (server, _link) = enabled_drive_with_watchdog(150);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        server.with_device(|d| d.enabled() && !d.watchdog_tripped()),
        "the watchdog tripped: the heartbeat was slower than the watchdog"
    );
}

/// A hand-made device on a raw pty pair, for what the simulator never sends.
fn fake_device() -> (TTYPort, TTYPort, String) {
    let (mut master, slave) = TTYPort::pair().expect("pty pair");
    master
        .set_timeout(Duration::from_millis(10))
        .expect("timeout");
    let path = slave.name().expect("slave has a name");
    (master, slave, path)
}

#[test]
fn link_resyncs_after_garbage_and_counts_it() {
    let (mut master, _slave, path) = fake_device();
    let server = std::thread::spawn(move || {
        let mut decoder = FrameDecoder::new();
        let mut buf = [0u8; 256];
        let deadline = Instant::now() + Duration::from_secs(4);
        while Instant::now() < deadline {
            let n = master.read(&mut buf).unwrap_or(0);
            let mut hello = false;
            decoder.push(&buf[..n], |frame| {
                hello |= frame == Ok(&[host_type::HELLO][..])
            });
            if hello {
                let mut wire = b"\x13\x37garbage\x00".to_vec();
                wire.extend_from_slice(&[0x05, 0xFF, 0xFF, 0xFF, 0x00]); // bad CRC
                for message in [
                    DeviceMessage::Device {
                        version: 1,
                        channel_count: 1,
                        param_count: 0,
                        loop_hz: 1000,
                        watchdog_ms: 0,
                        name: "fake".into(),
                        firmware: "1".into(),
                    },
                    DeviceMessage::Channel {
                        index: 0,
                        role: 2,
                        name: "x".into(),
                        unit: String::new(),
                    },
                ] {
                    encode_frame(&message.encode(), &mut wire);
                }
                master.write_all(&wire).expect("write");
                std::thread::sleep(Duration::from_millis(500));
                return;
            }
        }
    });
    let (link, info) = connect(&path, 0);
    assert_eq!(info.name, "fake");
    let health = link.health().snapshot();
    assert!(health.framing_errors + health.crc_errors >= 2, "{health:?}");
    server.join().expect("fake device");
}

#[test]
fn silent_port_is_reported_as_no_answer() {
    let (_master, _slave, path) = fake_device();
    assert!(matches!(link_error(&path), LinkError::NoAnswer { port, .. } if port == path));
}

#[test]
fn text_stream_is_reported_as_not_this_protocol() {
    let (mut master, _slave, path) = fake_device();
    let chatter = std::thread::spawn(move || {
        for _ in 0..250 {
            let _ = master.write_all(b"pos: 1.0\tvel: 2.0\r\n");
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    assert!(matches!(
        link_error(&path),
        LinkError::NotThisProtocol { .. }
    ));
    chatter.join().expect("chatter");
}

#[test]
fn missing_and_busy_ports_fail_clearly() {
    assert_eq!(
        link_error("/dev/motiontune-no-such-port"),
        LinkError::NoSuchPort("/dev/motiontune-no-such-port".into())
    );
    // Busy because this very process holds it: said so, with how the
    // axes of one board share a port (another program's hold is
    // `cli::busy_port_is_reported`).
    let server = serve(DeviceSettings::default());
    let (first, _) = connect(server.path(), 0);
    match link_error(server.path()) {
        LinkError::Open { port, reason } => {
            assert_eq!(port, server.path());
            assert!(
                reason.starts_with("a device in this window has it open"),
                "{reason}"
            );
        }
        other => panic!("expected the window's own hold, got {other:?}"),
    }
    // Let go, it opens again.
    drop(first);
    let (_again, _) = connect(server.path(), 0);
}

#[test]
fn pulling_the_cable_ends_the_link_with_a_clear_error() {
    let server = serve(DeviceSettings::default());
    let (link, _) = connect(server.path(), 10);
    server.stop().expect("server stops");
    let deadline = Instant::now() + Duration::from_secs(5);
    let error = loop {
        match link
            .events()
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            Ok(LinkEvent::Closed(error)) => break error,
            Ok(_) => {}
            Err(_) => panic!("the link did not notice the device going away"),
        }
    };
    match error {
        Some(LinkError::Lost { port, .. }) => assert_eq!(port, link.target().name()),
        other => panic!("expected a lost connection, got {other:?}"),
    }
}

#[test]
fn capture_never_waits_for_a_slow_ui() {
    let server = serve(DeviceSettings::default());
    let (link, _) = connect(server.path(), 1);
    // Nobody drains the events for a while, as when the window is hidden:
    // the link thread must keep reading the port at full rate regardless.
    std::thread::sleep(Duration::from_millis(1500));
    let health = link.health().snapshot();
    assert!(
        health.samples >= 10_000,
        "only {} samples read",
        health.samples
    );
    assert_eq!(health.lost_samples, 0);
    let queued: usize = link
        .events()
        .try_iter()
        .map(|event| match event {
            LinkEvent::Device(Event::Samples { batch, .. }) => batch.len(),
            _ => 0,
        })
        .sum();
    assert!(
        queued as u64 >= health.samples,
        "every sample read is waiting for the UI"
    );
}

#[test]
fn commands_sent_while_connecting_are_kept() {
    let server = serve(DeviceSettings::default());
    let mut options = LinkOptions::new(serial(server.path()));
    options.stream_divider = 0;
    let link = Link::open(options);
    // Sent before the device has described itself.
    link.send(Command::Set {
        index: 0,
        value: 33.0,
    });
    let value = wait_for(&link, 5, |event| match event {
        Event::Value { index: 0, value } => Some(value),
        _ => None,
    });
    assert_eq!(value, 33.0);
    assert_eq!(server.with_device(|d| d.drive.config.gains.kp), 33.0);
}
