use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::odrive::{ERROR_REPLY_WINDOW, REPLY_TIMEOUT, RESYNC_QUIET, UNCOUNTED_QUIET};
use super::*;

/// A port whose device answers what a test says, and keeps what was
/// written.
#[derive(Clone, Default)]
struct Wire {
    written: Arc<Mutex<Vec<u8>>>,
    incoming: Arc<Mutex<VecDeque<Vec<u8>>>>,
    broken: Arc<Mutex<bool>>,
}

impl Wire {
    fn answer(&self, bytes: &[u8]) {
        lock(&self.incoming).push_back(bytes.to_vec());
    }

    fn written(&self) -> String {
        String::from_utf8_lossy(&std::mem::take(&mut *lock(&self.written))).into_owned()
    }
}

impl Transport for Wire {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if *lock(&self.broken) {
            return Err(io::Error::new(io::ErrorKind::BrokenPipe, "unplugged"));
        }
        let Some(chunk) = lock(&self.incoming).pop_front() else {
            return Ok(0);
        };
        buf[..chunk.len()].copy_from_slice(&chunk);
        Ok(chunk.len())
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        lock(&self.written).extend_from_slice(bytes);
        Ok(())
    }
}

/// A port shared by the links to ODrive `axes`.
fn port(axes: &[u8]) -> (Shared, Wire) {
    let wire = Wire::default();
    let shared = Shared::new(Box::new(wire.clone()), Box::new(OdriveAxes::new()));
    for axis in axes {
        lock(&shared.port).attach(&axis.to_string());
    }
    (shared, wire)
}

fn inbox(shared: &mut Shared, axis: u8) -> String {
    let mut port = lock(&shared.port);
    let inbox = port
        .inboxes
        .get_mut(&axis.to_string())
        .expect("axis on the port");
    String::from_utf8_lossy(&std::mem::take(inbox)).into_owned()
}

/// `axis`'s link writes `bytes`.
fn write(shared: &mut Shared, axis: u8, bytes: &[u8], now: Instant) {
    shared
        .write(&axis.to_string(), bytes, now)
        .expect("written");
}

/// One read of the port, as a link's turn does it, at `now`.
fn pump(shared: &Shared, now: Instant) -> io::Result<()> {
    let mut transport = lock(&shared.transport);
    shared.pump(transport.as_mut(), now)
}

fn pump_all(port: &mut Shared, now: Instant) {
    for _ in 0..8 {
        pump(port, now).expect("port works");
    }
}

#[test]
fn each_reply_goes_to_the_axis_that_asked_in_the_order_asked() {
    let (mut port, wire) = port(&[0, 1]);
    let t = Instant::now();
    write(&mut port, 0, b"r axis0.controller.config.pos_gain\n", t);
    write(
        &mut port,
        1,
        b"f 1\nr axis1.motor.current_control.Iq_measured\n",
        t,
    );
    // A write is owed nothing; the read after it is.
    write(
        &mut port,
        0,
        b"w axis0.controller.config.vel_gain 0.2\nf 0\n",
        t,
    );
    assert_eq!(
        wire.written(),
        "r axis0.controller.config.pos_gain\nf 1\nr axis1.motor.current_control.Iq_measured\n\
         w axis0.controller.config.vel_gain 0.2\nf 0\n"
    );
    wire.answer(b"20.000000\r\n0.25 -1.5\r");
    wire.answer(b"\n0.125\r\n1.0 2.0\r\n");
    pump_all(&mut port, t);
    assert_eq!(inbox(&mut port, 0), "20.000000\r\n1.0 2.0\r\n");
    assert_eq!(inbox(&mut port, 1), "0.25 -1.5\r\n0.125\r\n");
}

#[test]
fn a_request_line_goes_out_whole_however_it_is_written() {
    let (mut port, wire) = port(&[0, 1]);
    let t = Instant::now();
    write(&mut port, 0, b"r axis0.cur", t);
    write(&mut port, 1, b"f 1\n", t);
    write(&mut port, 0, b"rent_state\n", t);
    assert_eq!(wire.written(), "f 1\nr axis0.current_state\n");
    wire.answer(b"1.0 2.0\r\n8\r\n");
    pump_all(&mut port, t);
    assert_eq!(inbox(&mut port, 1), "1.0 2.0\r\n");
    assert_eq!(inbox(&mut port, 0), "8\r\n");
}

#[test]
fn an_uncounted_reply_holds_the_other_axes_reads_but_never_their_writes() {
    let (mut port, wire) = port(&[0, 1]);
    let t = Instant::now();
    write(&mut port, 0, b"i\n", t);
    write(&mut port, 1, b"r axis1.current_state\n", t);
    write(&mut port, 1, b"w axis1.requested_state 1\n", t);
    assert_eq!(
        wire.written(),
        "i\nw axis1.requested_state 1\n",
        "the read waits"
    );
    wire.answer(b"Signature: 0\r\nBrd version: 3.6\r\n");
    pump_all(&mut port, t + Duration::from_millis(5));
    assert_eq!(inbox(&mut port, 0), "Signature: 0\r\nBrd version: 3.6\r\n");
    assert_eq!(inbox(&mut port, 1), "");
    // Quiet long enough: the reply is over and the held read goes out.
    pump_all(
        &mut port,
        t + Duration::from_millis(5) + UNCOUNTED_QUIET * 2,
    );
    assert_eq!(wire.written(), "r axis1.current_state\n");
    wire.answer(b"1\r\n");
    pump_all(&mut port, t + UNCOUNTED_QUIET * 3);
    assert_eq!(inbox(&mut port, 1), "1\r\n");
    assert_eq!(inbox(&mut port, 0), "");
}

#[test]
fn a_reply_that_never_comes_is_forgotten_and_later_replies_go_right() {
    let (mut port, wire) = port(&[0, 1]);
    let t = Instant::now();
    write(&mut port, 0, b"f 0\n", t);
    write(&mut port, 1, b"f 1\n", t);
    // The device dropped axis0's request: axis1's reply alone comes, and
    // must not go to axis0; it is dropped once the wait is over.
    let late = t + REPLY_TIMEOUT + Duration::from_millis(1);
    pump_all(&mut port, late);
    wire.answer(b"3.0 4.0\r\n");
    pump_all(&mut port, late);
    assert_eq!(inbox(&mut port, 0), "");
    assert_eq!(inbox(&mut port, 1), "");
    let quiet = late + RESYNC_QUIET * 2;
    pump_all(&mut port, quiet);
    wire.written();
    write(&mut port, 1, b"f 1\n", quiet);
    write(&mut port, 0, b"f 0\n", quiet);
    wire.answer(b"5.0 6.0\r\n7.0 8.0\r\n");
    pump_all(&mut port, quiet);
    assert_eq!(inbox(&mut port, 1), "5.0 6.0\r\n");
    assert_eq!(inbox(&mut port, 0), "7.0 8.0\r\n");
}

#[test]
fn an_error_answering_a_write_goes_to_the_axis_that_wrote() {
    let (mut port, wire) = port(&[0, 1]);
    let t = Instant::now();
    write(&mut port, 1, b"w axis1.no_such 1\n", t);
    wire.answer(b"invalid property\r\n");
    pump_all(&mut port, t);
    assert_eq!(inbox(&mut port, 1), "invalid property\r\n");
    assert_eq!(inbox(&mut port, 0), "");
    // Long after any write, a line nobody asked for reaches every axis.
    wire.answer(b"stray\r\n");
    pump_all(&mut port, t + ERROR_REPLY_WINDOW * 2);
    assert_eq!(inbox(&mut port, 0), "stray\r\n");
    assert_eq!(inbox(&mut port, 1), "stray\r\n");
}

#[test]
fn one_axis_alone_gets_the_bytes_as_they_came() {
    let (mut port, wire) = port(&[0]);
    let t = Instant::now();
    write(&mut port, 0, b"r fw_version_major*73\n", t);
    // fw-v0.5.2 ends a checksummed reply at its checksum.
    wire.answer(b"0*48");
    pump_all(&mut port, t);
    assert_eq!(inbox(&mut port, 0), "0*48");
    write(&mut port, 0, b"f 0\n", t);
    wire.answer(b"1 2\r\n");
    pump_all(&mut port, t);
    assert_eq!(inbox(&mut port, 0), "1 2\r\n", "its replies still counted");
}

#[test]
fn the_same_axis_twice_is_refused_and_another_joins_the_port() {
    let wire = Wire::default();
    let name = "test-shared-port-join";
    let odrive = || Box::new(OdriveAxes::new()) as Box<dyn Router>;
    let opened = || Ok(Box::new(wire.clone()) as Box<dyn Transport>);
    let mut first = open_axis(name, "0", odrive, opened).expect("opens");
    let twice = open_axis(name, "0", odrive, || panic!("must join, not open"));
    let Err(LinkError::Open { reason, .. }) = twice else {
        panic!("the same axis twice must be refused");
    };
    assert!(reason.contains("axis 0 is already connected"), "{reason}");
    let native = || Box::new(NativeAxes::new()) as Box<dyn Router>;
    let Err(LinkError::Open { reason, .. }) =
        open_axis(name, "1", native, || panic!("must be refused"))
    else {
        panic!("another wire format on the same port must be refused");
    };
    assert!(
        reason.contains("open in this window as ODrive axes"),
        "{reason}"
    );
    let mut second = open_axis(name, "1", odrive, || panic!("must join, not open")).expect("joins");
    first.write_all(b"f 0\n").expect("written");
    second.write_all(b"f 1\n").expect("written");
    wire.answer(b"1 2\r\n3 4\r\n");
    let mut buf = [0u8; 64];
    let n = second.read(&mut buf).expect("reads");
    assert_eq!(&buf[..n], b"3 4\r\n");
    let n = first.read(&mut buf).expect("reads");
    assert_eq!(&buf[..n], b"1 2\r\n");
    // A port lost is lost for every axis, and opened afresh after.
    *lock(&wire.broken) = true;
    assert!(first.read(&mut buf).is_err());
    assert!(second.write_all(b"f 1\n").is_err());
    drop((first, second));
    let fresh = Wire::default();
    open_axis(name, "0", odrive, || {
        Ok(Box::new(fresh.clone()) as Box<dyn Transport>)
    })
    .expect("reopens");
}

mod native_axes {
    use super::*;
    use crate::protocol::Command;
    use crate::protocol::native::{
        DeviceMessage, FrameDecoder, decode_command, encode_command, encode_frame,
    };

    fn gantry() -> (Shared, Wire) {
        let wire = Wire::default();
        let shared = Shared::new(Box::new(wire.clone()), Box::new(NativeAxes::new()));
        lock(&shared.port).attach("x");
        lock(&shared.port).attach("y");
        (shared, wire)
    }

    fn send(port: &mut Shared, axis: &str, command: &Command) {
        let mut bytes = Vec::new();
        encode_frame(&encode_command(command), &mut bytes);
        port.write(axis, &bytes, Instant::now()).expect("written");
    }

    fn answer(wire: &Wire, messages: &[DeviceMessage]) {
        let mut bytes = Vec::new();
        for message in messages {
            encode_frame(&message.encode(), &mut bytes);
        }
        wire.answer(&bytes);
    }

    fn to_device(wire: &Wire) -> Vec<Command> {
        let bytes = std::mem::take(&mut *lock(&wire.written));
        let mut commands = Vec::new();
        FrameDecoder::new().push(&bytes, |frame| {
            commands.push(decode_command(frame.expect("a frame")).expect("a request"));
        });
        commands
    }

    fn heard(port: &mut Shared, axis: &str) -> Vec<DeviceMessage> {
        let inbox = std::mem::take(lock(&port.port).inboxes.get_mut(axis).expect("attached"));
        let mut messages = Vec::new();
        FrameDecoder::new().push(&inbox, |frame| {
            messages.push(DeviceMessage::decode(frame.expect("a frame")).expect("a message"));
        });
        messages
    }

    fn described(port: &mut Shared, wire: &Wire) {
        send(port, "x", &Command::Hello);
        assert_eq!(to_device(wire), [Command::Hello]);
        let channel = |index, role, name: &str| DeviceMessage::Channel {
            index,
            role,
            name: name.into(),
            unit: "rad".into(),
        };
        let param = |index, name: &str, value| DeviceMessage::Param {
            index,
            flags: 0,
            min: 0.0,
            max: 100.0,
            value,
            name: name.into(),
            unit: String::new(),
            choices: Vec::new(),
        };
        answer(
            wire,
            &[
                DeviceMessage::Device {
                    version: 1,
                    channel_count: 2,
                    param_count: 3,
                    loop_hz: 1000,
                    watchdog_ms: 0,
                    name: "gantry".into(),
                    firmware: "1".into(),
                },
                channel(0, 2, "x.position"),
                channel(1, 2, "y.position"),
                param(0, "x.kp", 1.0),
                param(1, "y.kp", 2.0),
                param(2, "bus.limit", 3.0),
            ],
        );
        pump(port, Instant::now()).expect("read");
    }

    #[test]
    fn each_axis_is_described_alone_and_hears_only_its_own() {
        let (mut port, wire) = gantry();
        described(&mut port, &wire);
        let x = heard(&mut port, "x");
        assert!(matches!(
            &x[0],
            DeviceMessage::Device { channel_count: 1, param_count: 2, name, .. } if name == "gantry x"
        ));
        assert!(heard(&mut port, "y").is_empty(), "y has not asked yet");
        // y's HELLO is answered at once, from what the device said.
        send(&mut port, "y", &Command::Hello);
        assert!(to_device(&wire).is_empty());
        let y = heard(&mut port, "y");
        assert!(y.contains(&DeviceMessage::Param {
            index: 0,
            flags: 0,
            min: 0.0,
            max: 100.0,
            value: 2.0,
            name: "kp".into(),
            unit: String::new(),
            choices: Vec::new(),
        }));
        // y's SET goes out with the device's index; its VALUE comes back
        // to y alone, a shared parameter's to both.
        send(
            &mut port,
            "y",
            &Command::Set {
                index: 0,
                value: 5.0,
            },
        );
        assert_eq!(
            to_device(&wire),
            [Command::Set {
                index: 1,
                value: 5.0
            }]
        );
        answer(
            &wire,
            &[
                DeviceMessage::Value {
                    index: 1,
                    value: 5.0,
                },
                DeviceMessage::Value {
                    index: 2,
                    value: 4.0,
                },
                DeviceMessage::Samples {
                    tick: 7,
                    stride: 1,
                    count: 2,
                    values: vec![0.1, 0.2, 0.3, 0.4],
                },
            ],
        );
        pump(&port, Instant::now()).expect("read");
        let sample = |values: Vec<f32>| DeviceMessage::Samples {
            tick: 7,
            stride: 1,
            count: 2,
            values,
        };
        assert_eq!(
            heard(&mut port, "y"),
            [
                DeviceMessage::Value {
                    index: 0,
                    value: 5.0
                },
                DeviceMessage::Value {
                    index: 1,
                    value: 4.0
                },
                sample(vec![0.2, 0.4]),
            ]
        );
        assert_eq!(
            heard(&mut port, "x"),
            [
                DeviceMessage::Value {
                    index: 1,
                    value: 4.0
                },
                sample(vec![0.1, 0.3])
            ]
        );
    }

    #[test]
    fn pongs_and_refusals_go_to_the_axis_that_asked() {
        let (mut port, wire) = gantry();
        described(&mut port, &wire);
        send(&mut port, "y", &Command::Hello);
        heard(&mut port, "x");
        heard(&mut port, "y");
        send(&mut port, "x", &Command::Ping { token: 7 });
        send(&mut port, "y", &Command::Ping { token: 7 });
        send(&mut port, "y", &Command::Save);
        let sent = to_device(&wire);
        let [
            Command::Ping { token: a },
            Command::Ping { token: b },
            Command::Save,
        ] = sent[..]
        else {
            panic!("{sent:?}");
        };
        assert_ne!(a, b, "each PING its own token on the wire");
        answer(
            &wire,
            &[
                DeviceMessage::Pong { token: b },
                DeviceMessage::Error {
                    request: 0x07,
                    code: 5,
                },
            ],
        );
        pump(&port, Instant::now()).expect("read");
        assert_eq!(
            heard(&mut port, "y"),
            [
                DeviceMessage::Pong { token: 7 },
                DeviceMessage::Error {
                    request: 0x07,
                    code: 5
                }
            ]
        );
        assert!(heard(&mut port, "x").is_empty());
        // The stream runs at the smallest divider asked, and stops when
        // nobody wants it.
        send(&mut port, "x", &Command::Stream { divider: 4 });
        send(&mut port, "y", &Command::Stream { divider: 2 });
        send(&mut port, "y", &Command::Stream { divider: 0 });
        send(&mut port, "x", &Command::Stream { divider: 0 });
        assert_eq!(
            to_device(&wire),
            [
                Command::Stream { divider: 4 },
                Command::Stream { divider: 2 },
                Command::Stream { divider: 4 },
                Command::Stream { divider: 0 },
            ]
        );
    }
}

#[test]
fn a_broken_frame_from_a_shared_native_device_is_counted_by_every_axis() {
    use crate::protocol::adapter::{Adapter, DecodeTally};
    use crate::protocol::native::adapter::NativeAdapter;
    let wire = Wire::default();
    let shared = Shared::new(Box::new(wire.clone()), Box::new(NativeAxes::new()));
    lock(&shared.port).attach("x");
    lock(&shared.port).attach("y");
    // A frame with its CRC wrong, one too short, and one whole but
    // meaning nothing.
    let mut bytes = Vec::new();
    crate::protocol::native::encode_frame(&[0x88, 0, 0], &mut bytes);
    let at = bytes.len() - 2;
    bytes[at] ^= 0x55;
    bytes.extend_from_slice(&[2, 1, 0]);
    crate::protocol::native::encode_frame(&[0x7F], &mut bytes);
    wire.answer(&bytes);
    pump(&shared, Instant::now()).expect("read");
    for axis in ["x", "y"] {
        let inbox = std::mem::take(lock(&shared.port).inboxes.get_mut(axis).expect("attached"));
        let mut tally = DecodeTally::default();
        NativeAdapter::new()
            .receive(&inbox, Instant::now(), &mut tally, &mut |_| {})
            .expect("nothing fatal");
        assert_eq!(
            (
                tally.checksum_errors,
                tally.framing_errors,
                tally.message_errors,
                tally.ok
            ),
            (1, 1, 1, 1),
            "{axis}"
        );
    }
}
