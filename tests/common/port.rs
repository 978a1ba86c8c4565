//! Talking to a device on a serial port, for every device under test (the
//! simulated drive, the Python and the C devices): links, raw frames,
//! recordings, and the stream checks they are all held to.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

use motiontune::link::{Link, LinkEvent, LinkOptions, PortTarget};
use motiontune::protocol::adapter::{AdapterSettings, Protocol, ProtocolChoice};
use motiontune::protocol::native::{DeviceMessage, FrameDecoder, encode_command, encode_frame};
use motiontune::protocol::{Command, DeviceInfo, Event, StatusFlags};
use serialport::SerialPort;

pub fn serial(path: &str) -> PortTarget {
    // The devices under test speak the native protocol; probing for it is
    // tested on its own.
    PortTarget::parse(path, 115_200).speaking(
        ProtocolChoice::Only(Protocol::Native),
        AdapterSettings::default(),
    )
}

/// Opens a link and waits for the description.
pub fn connect(path: &str, divider: u16) -> (Link, DeviceInfo) {
    connect_to(serial(path), divider, 5)
}

/// Opens a link speaking SimpleFOC's Commander (motor under `M`) and waits
/// for the description, which takes a read of every parameter.
pub fn connect_simplefoc(path: &str, divider: u16) -> (Link, DeviceInfo) {
    let target = PortTarget::parse(path, 115_200).speaking(
        ProtocolChoice::Only(Protocol::SimpleFoc),
        AdapterSettings::default(),
    );
    connect_to(target, divider, 10)
}

/// Opens a link to `target` and waits up to `seconds` for the description.
pub fn connect_to(target: PortTarget, divider: u16, seconds: u64) -> (Link, DeviceInfo) {
    let mut options = LinkOptions::new(target);
    options.stream_divider = divider;
    let link = Link::open(options);
    let info = wait_for(&link, seconds, |event| match event {
        Event::Described(info) => Some(info),
        _ => None,
    });
    (link, info)
}

/// Waits for the first event `pick` accepts.
pub fn wait_for<T>(link: &Link, seconds: u64, mut pick: impl FnMut(Event) -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        match link
            .events()
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            Ok(LinkEvent::Device(event)) => {
                if let Some(found) = pick(event) {
                    return found;
                }
            }
            Ok(LinkEvent::Closed(reason)) => panic!("link closed: {reason:?}"),
            Ok(
                LinkEvent::Opened
                | LinkEvent::Speaking(_)
                | LinkEvent::TypedLine { .. }
                | LinkEvent::Procedure(_),
            ) => {}
            Err(_) => panic!("expected event did not arrive within {seconds} s"),
        }
    }
}

/// Sends SET and returns the value the device answers with.
pub fn set(link: &Link, index: u8, value: f32) -> f32 {
    link.send(Command::Set { index, value });
    next_value(link, index)
}

/// Sends GET and returns the device's answer.
pub fn get(link: &Link, index: u8) -> f32 {
    link.send(Command::Get { index });
    next_value(link, index)
}

/// Waits for the next VALUE of parameter `index`, asked for or not.
pub fn next_value(link: &Link, index: u8) -> f32 {
    wait_for(link, 2, |event| match event {
        Event::Value { index: i, value } if i == index => Some(value),
        _ => None,
    })
}

/// Receives `count` streamed samples and checks that none is missing: no
/// lost samples, one tick apart at `loop_hz`, and no error on the link.
/// Returns their times.
pub fn assert_streams_without_a_gap(link: &Link, count: usize, loop_hz: f64) -> Vec<f64> {
    let mut times = Vec::new();
    let mut lost = 0;
    while times.len() < count {
        let (batch, lost_before) = wait_for(link, 5, |event| match event {
            Event::Samples { batch, lost_before } => Some((batch, lost_before)),
            _ => None,
        });
        lost += lost_before;
        times.extend((0..batch.len()).map(|k| batch.time_of(k)));
    }
    assert_eq!(lost, 0);
    assert_evenly_spaced(&times, 1.0 / loop_hz);
    let health = link.health().snapshot();
    assert_eq!(health.lost_samples, 0);
    assert_eq!(
        health.crc_errors + health.framing_errors + health.message_errors,
        0
    );
    times
}

/// Fails unless consecutive times are exactly one `period` apart.
pub fn assert_evenly_spaced(times: &[f64], period: f64) {
    for pair in times.windows(2) {
        assert!(
            ((pair[1] - pair[0]) - period).abs() < 1e-9,
            "gap between {} and {}",
            pair[0],
            pair[1]
        );
    }
}

/// The columns of a recording from a drive that streams setpoint, position,
/// velocity and effort, as the simulated drive and the C host example do.
pub const SERVO_COLUMNS: [&str; 5] = [
    "time_s",
    "setpoint [rad]",
    "position [rad]",
    "velocity [rad/s]",
    "effort [A]",
];

/// Runs `motiontune record` on the device at `path` and returns the CSV's
/// header and rows.
pub fn record(path: &str, seconds: &str, divider: &str) -> (Vec<String>, Vec<Vec<f64>>) {
    record_with(path, seconds, &["--divider", divider])
}

/// [`record`] with `extra` options (`--protocol`, adapter settings).
pub fn record_with(path: &str, seconds: &str, extra: &[&str]) -> (Vec<String>, Vec<Vec<f64>>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("recording.csv");
    let out_text = out.to_str().expect("utf8 path");
    let mut args = vec![
        "record",
        "--port",
        path,
        "--seconds",
        seconds,
        "--out",
        out_text,
    ];
    args.extend_from_slice(extra);
    let output = super::motiontune(&args);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    super::read_recording(&out)
}

/// Picks the flags out of a STATUS message.
pub fn status_flags(message: DeviceMessage) -> Option<StatusFlags> {
    match message {
        DeviceMessage::Status { flags, .. } => Some(StatusFlags(flags)),
        _ => None,
    }
}

/// A port opened without a link, for what the link never sends (garbage,
/// silence, malformed requests). Every frame the device sends must be valid.
pub struct RawPort {
    port: Box<dyn SerialPort>,
    decoder: FrameDecoder,
    received: VecDeque<DeviceMessage>,
}

impl RawPort {
    pub fn open(path: &str) -> Self {
        let port = serialport::new(path, 115_200)
            .timeout(Duration::from_millis(20))
            .open()
            .expect("open pty");
        Self {
            port,
            decoder: FrameDecoder::new(),
            received: VecDeque::new(),
        }
    }

    pub fn send(&mut self, command: &Command) {
        self.send_payload(&encode_command(command));
    }

    /// Frames `payload` as it is, valid or not as a message.
    pub fn send_payload(&mut self, payload: &[u8]) {
        let mut wire = Vec::new();
        encode_frame(payload, &mut wire);
        self.send_bytes(&wire);
    }

    pub fn send_bytes(&mut self, bytes: &[u8]) {
        self.port.write_all(bytes).expect("write");
    }

    /// Reads messages until `pick` accepts one; the ones before it are
    /// passed over, the ones after it kept for the next call.
    pub fn read_until<T>(&mut self, mut pick: impl FnMut(DeviceMessage) -> Option<T>) -> T {
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            while let Some(message) = self.received.pop_front() {
                if let Some(found) = pick(message) {
                    return found;
                }
            }
            assert!(
                Instant::now() < deadline,
                "device did not send the expected message"
            );
            let mut buf = [0u8; 1024];
            let n = match self.port.read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => continue,
                Err(e) => panic!("read failed: {e}"),
            };
            let received = &mut self.received;
            self.decoder.push(&buf[..n], |frame| {
                let payload = frame.expect("device frames are valid");
                received
                    .push_back(DeviceMessage::decode(payload).expect("device messages are valid"));
            });
        }
    }
}

/// Waits until the device behind `server` has taken every byte a client
/// sent: its count of bytes from the host has not moved for 300 ms.
/// Unix only, as the pty server is.
#[cfg(unix)]
pub fn settled<D: motiontune::sim::EmulatedDevice>(server: &motiontune::sim::pty::PtyServer<D>) {
    let quiet = Duration::from_millis(300);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = server.bytes_from_host();
    let mut since = Instant::now();
    while since.elapsed() < quiet {
        assert!(Instant::now() < deadline, "the host kept writing");
        std::thread::sleep(Duration::from_millis(20));
        let now = server.bytes_from_host();
        if now != last {
            last = now;
            since = Instant::now();
        }
    }
}
