use std::sync::{Arc, Mutex};

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

fn port(axes: &[u8]) -> (Port, Wire) {
    let wire = Wire::default();
    let mut port = Port::new(Box::new(wire.clone()));
    for &axis in axes {
        port.ends.insert(axis, End::default());
    }
    (port, wire)
}

fn inbox(port: &mut Port, axis: u8) -> String {
    let end = port.ends.get_mut(&axis).expect("axis on the port");
    String::from_utf8_lossy(&std::mem::take(&mut end.inbox)).into_owned()
}

fn pump_all(port: &mut Port, now: Instant) {
    for _ in 0..8 {
        port.pump(now).expect("port works");
    }
}

#[test]
fn each_reply_goes_to_the_axis_that_asked_in_the_order_asked() {
    let (mut port, wire) = port(&[0, 1]);
    let t = Instant::now();
    port.write(0, b"r axis0.controller.config.pos_gain\n", t)
        .expect("written");
    port.write(1, b"f 1\nr axis1.motor.current_control.Iq_measured\n", t)
        .expect("written");
    // A write is owed nothing; the read after it is.
    port.write(0, b"w axis0.controller.config.vel_gain 0.2\nf 0\n", t)
        .expect("written");
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
    port.write(0, b"r axis0.cur", t).expect("written");
    port.write(1, b"f 1\n", t).expect("written");
    port.write(0, b"rent_state\n", t).expect("written");
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
    port.write(0, b"i\n", t).expect("written");
    port.write(1, b"r axis1.current_state\n", t)
        .expect("written");
    port.write(1, b"w axis1.requested_state 1\n", t)
        .expect("written");
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
    port.write(0, b"f 0\n", t).expect("written");
    port.write(1, b"f 1\n", t).expect("written");
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
    port.write(1, b"f 1\n", quiet).expect("written");
    port.write(0, b"f 0\n", quiet).expect("written");
    wire.answer(b"5.0 6.0\r\n7.0 8.0\r\n");
    pump_all(&mut port, quiet);
    assert_eq!(inbox(&mut port, 1), "5.0 6.0\r\n");
    assert_eq!(inbox(&mut port, 0), "7.0 8.0\r\n");
}

#[test]
fn an_error_answering_a_write_goes_to_the_axis_that_wrote() {
    let (mut port, wire) = port(&[0, 1]);
    let t = Instant::now();
    port.write(1, b"w axis1.no_such 1\n", t).expect("written");
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
    port.write(0, b"r fw_version_major*73\n", t)
        .expect("written");
    // fw-v0.5.2 ends a checksummed reply at its checksum.
    wire.answer(b"0*48");
    pump_all(&mut port, t);
    assert_eq!(inbox(&mut port, 0), "0*48");
    assert!(port.owed.is_empty(), "the reply was counted");
}

#[test]
fn the_same_axis_twice_is_refused_and_another_joins_the_port() {
    let wire = Wire::default();
    let name = "test-shared-port-join";
    let opened = || Ok(Box::new(wire.clone()) as Box<dyn Transport>);
    let mut first = open_axis(name, 0, opened).expect("opens");
    let twice = open_axis(name, 0, || panic!("must join, not open"));
    let Err(LinkError::Open { reason, .. }) = twice else {
        panic!("the same axis twice must be refused");
    };
    assert!(reason.contains("axis 0 is already connected"), "{reason}");
    let mut second = open_axis(name, 1, || panic!("must join, not open")).expect("joins");
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
    open_axis(
        name,
        0,
        || Ok(Box::new(fresh.clone()) as Box<dyn Transport>),
    )
    .expect("reopens");
}
