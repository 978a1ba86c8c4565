//! `--protocol auto`: finds which wire format a device speaks. It first
//! only listens (a sketch printing lines, or firmware still streaming from
//! an earlier session, gives itself away without a byte sent), then lets
//! each adapter try its own read-only handshake in turn, and speaks through
//! the first one whose device describes itself, passing on then what that
//! probe heard on the way (a board's boot text). A probe whose device shows
//! progress is given a while longer; one given up puts back what it
//! changed. A probe that recognises its firmware but refuses it (another
//! version) ends the search with why. The plain-lines probe first reads
//! everything heard since the port opened, as `--protocol lines` would
//! have: a sketch's header and banner printed before it are its too, so
//! its channels are named the same either way.
//!
//! A board that resets when the port opens (an UNO or a Nano: DTR pulses
//! its reset line) is still booting then. Whatever it prints that is no
//! stream yet (a boot banner, a ROM's messages) keeps the listening going
//! until the board has been quiet for [`BOOT_QUIET`], up to [`BOOT_WAIT`]
//! from the start, and its lines are passed on as text once probing
//! starts, so the user sees what the board said.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::adapter::{
    Adapter, AdapterError, AdapterSettings, DecodeTally, PROGRESS_GRACE, Protocol, ProtocolChoice,
    Unsupported,
};
use super::host_clock::HostTiming;
use super::lines::LinesAdapter;
use super::native::adapter::NativeAdapter;
use super::{Command, DeviceInfo, Event};

/// How long auto-detection only listens before sending anything.
const LISTEN: Duration = Duration::from_millis(600);
/// Quiet a board printing its boot text must keep before the first probe.
const BOOT_QUIET: Duration = Duration::from_millis(300);
/// Longest listening while a board prints its boot text.
const BOOT_WAIT: Duration = Duration::from_secs(3);
/// Lines heard after which the device is streaming, not booting.
const STREAM_LINES: u64 = 8;
/// Events a probe may hold back before its device is described.
const HELD_EVENTS: usize = 256;
/// Margin on top of the probes' windows before the link gives up.
const SLACK: Duration = Duration::from_millis(500);
/// Bytes heard before a probe found its device that the plain-lines probe
/// reads first: the start of a session, where a sketch prints its header.
const MOST_HEARD: usize = 1 << 20;

/// The longest auto-detection takes before it gives up: a board that
/// printed its boot text for the longest allowed.
pub fn probe_time() -> Duration {
    probe_time_after(BOOT_WAIT.max(LISTEN))
}

/// How long auto-detection takes before it gives up once it has listened
/// for `listening`: a silent device is given up on as soon as ever.
fn probe_time_after(listening: Duration) -> Duration {
    listening + Protocol::ALL.into_iter().map(window).sum::<Duration>() + SLACK
}

/// How long a protocol's handshake may take before the next is tried.
fn window(protocol: Protocol) -> Duration {
    match protocol {
        Protocol::Native | Protocol::Odrive => Duration::from_millis(800),
        Protocol::SimpleFoc => Duration::from_millis(1000),
        // Passive: it needs a few consistent lines from the device.
        Protocol::Lines => Duration::from_millis(1500),
    }
}

/// The order to try protocols in: text already heard points at the text
/// formats; from a silent device, binary native first (it answers at once
/// and text firmware ignores the frame), the firmware that only answers
/// requests next (SimpleFOC before ODrive: ODrive's probe lines are longer
/// than the 20 bytes SimpleFOC's Commander keeps, and their tails would
/// run as commands of their own), and the passive lines format last (a
/// board reset by the port opening has had the most time to start
/// printing by then).
fn probe_order(text_heard: bool, native_heard: bool) -> Vec<Protocol> {
    if native_heard {
        vec![
            Protocol::Native,
            Protocol::Odrive,
            Protocol::SimpleFoc,
            Protocol::Lines,
        ]
    } else if text_heard {
        vec![
            Protocol::SimpleFoc,
            Protocol::Lines,
            Protocol::Odrive,
            Protocol::Native,
        ]
    } else {
        vec![
            Protocol::Native,
            Protocol::SimpleFoc,
            Protocol::Odrive,
            Protocol::Lines,
        ]
    }
}

/// What the listening stage heard.
#[derive(Debug, Default)]
struct Sniffer {
    native: NativeAdapter,
    native_frames: u64,
    printable: u64,
    other: u64,
    newlines: u64,
}

impl Sniffer {
    fn hear(&mut self, bytes: &[u8], now: Instant) {
        for &byte in bytes {
            match byte {
                b'\n' => self.newlines += 1,
                b'\r' | b'\t' | b' '..=b'~' => self.printable += 1,
                _ => self.other += 1,
            }
        }
        let mut tally = DecodeTally::default();
        // Listening only: what the native decoder makes of the bytes counts,
        // its events do not.
        let _ = self.native.receive(bytes, now, &mut tally, &mut |_| {});
        self.native_frames += tally.ok;
    }

    fn text_heard(&self) -> bool {
        self.newlines >= 2 && self.printable > 4 * self.other
    }

    /// The device streams (native frames, or line after line) rather than
    /// prints a few lines while it boots.
    fn streaming(&self) -> bool {
        self.native_frames > 0 || self.newlines >= STREAM_LINES
    }

    /// A few lines of text and no stream: a board printing as it boots.
    fn booting(&self) -> bool {
        !self.streaming() && self.text_heard()
    }
}

/// The text lines among what was `heard`, told from data lines as the
/// plain-lines adapter tells them: a booting board's text to pass on.
fn text_lines(
    settings: &AdapterSettings,
    origin: Instant,
    heard: &[(Instant, Vec<u8>)],
) -> Vec<Event> {
    let mut lines = LinesAdapter::new(settings, origin);
    let mut text = Vec::new();
    for (at, bytes) in heard {
        let _ = lines.receive(bytes, *at, &mut DecodeTally::default(), &mut |event| {
            if matches!(event, Event::Text { .. }) && text.len() < HELD_EVENTS {
                text.push(event);
            }
        });
    }
    text
}

enum Stage {
    Listening {
        started: Instant,
        until: Instant,
        sniffer: Box<Sniffer>,
    },
    Probing {
        protocol: Protocol,
        adapter: Box<dyn Adapter>,
        until: Instant,
        queue: VecDeque<Protocol>,
        /// What the probe said before its device described itself (a
        /// board's boot text), given to the app if it does.
        held: Vec<Event>,
        /// The held events went to the app: the probe speaks for the
        /// device from then on.
        released: bool,
    },
    /// Every protocol was tried; the link's timeout ends the connection.
    Exhausted { last: Protocol },
}

/// Probes protocols in turn, then speaks the one that worked.
pub struct AutoAdapter {
    settings: AdapterSettings,
    /// When the connection opened: host time counts from here.
    origin: Instant,
    stage: Stage,
    /// Every chunk heard, with when, up to [`MOST_HEARD`] bytes.
    heard: Vec<(Instant, Vec<u8>)>,
    heard_bytes: usize,
    tried: Vec<Protocol>,
    /// The probe that failed sent binary: a text firmware may hold it as
    /// the start of a line, so the next text probe ends that line first.
    flush_line: bool,
    /// A booting board's text, passed on with the next bytes received.
    boot_text: Vec<Event>,
    /// The chunks of [`heard`](Self::heard) whose lines were passed on as
    /// boot text: the plain-lines probe reads them again without their
    /// text, which is shown once.
    boot_chunks: usize,
    /// How long the listening stage lasted, once it is over.
    listened: Duration,
}

impl AutoAdapter {
    /// Probing begins at `now`, with the settings each adapter will get.
    pub fn new(settings: &AdapterSettings, now: Instant) -> Self {
        Self {
            settings: settings.clone(),
            origin: now,
            heard: Vec::new(),
            heard_bytes: 0,
            stage: Stage::Listening {
                started: now,
                until: now + LISTEN,
                sniffer: Box::default(),
            },
            tried: Vec::new(),
            flush_line: false,
            boot_text: Vec::new(),
            boot_chunks: 0,
            listened: LISTEN,
        }
    }

    /// The protocols tried so far, in order, the current one last.
    pub fn tried(&self) -> &[Protocol] {
        &self.tried
    }

    /// Moves on when the current stage has had its time (a probe whose
    /// device shows progress has it a while longer); a probe given up puts
    /// back what it changed.
    fn advance(&mut self, now: Instant, out: &mut Vec<u8>) {
        let queue = match &mut self.stage {
            Stage::Listening {
                started,
                until,
                sniffer,
            } if now >= *until => {
                self.boot_text = if sniffer.booting() {
                    text_lines(&self.settings, self.origin, &self.heard)
                } else {
                    Vec::new()
                };
                if !self.boot_text.is_empty() {
                    self.boot_chunks = self.heard.len();
                }
                self.listened = until.saturating_duration_since(*started);
                probe_order(sniffer.text_heard(), sniffer.native_frames > 0).into()
            }
            Stage::Probing {
                adapter,
                until,
                queue,
                protocol,
                ..
            } if now >= *until
                && adapter.device().is_none()
                && adapter
                    .progress()
                    .is_none_or(|at| now >= at + PROGRESS_GRACE) =>
            {
                adapter.close(now, out);
                self.flush_line = *protocol == Protocol::Native;
                std::mem::take(queue)
            }
            _ => return,
        };
        self.start_next(queue, now);
    }

    fn start_next(&mut self, mut queue: VecDeque<Protocol>, now: Instant) {
        if let Some(protocol) = queue.pop_front() {
            let mut held = Vec::new();
            let adapter: Box<dyn Adapter> = if protocol == Protocol::Lines {
                // The sketch's lines from the start, timed as they came.
                let mut lines = LinesAdapter::new(&self.settings, self.origin);
                for (chunk, (at, bytes)) in self.heard.iter().enumerate() {
                    let mut tally = DecodeTally::default();
                    let shown = chunk < self.boot_chunks;
                    let _ = lines.receive(bytes, *at, &mut tally, &mut |event| {
                        // Samples of the past are not the app's to plot,
                        // nor boot text already passed on.
                        let again = shown && matches!(event, Event::Text { .. });
                        if !again && !matches!(event, Event::Samples { .. }) {
                            hold(&mut held, event);
                        }
                    });
                }
                Box::new(lines)
            } else {
                super::open_adapter(ProtocolChoice::Only(protocol), &self.settings, now)
            };
            self.tried.push(protocol);
            self.stage = Stage::Probing {
                protocol,
                adapter,
                until: now + window(protocol),
                queue,
                held,
                released: false,
            };
            return;
        }
        let last = self.tried.last().copied().unwrap_or(Protocol::Native);
        self.stage = Stage::Exhausted { last };
    }

    fn found(&self) -> Option<&dyn Adapter> {
        match &self.stage {
            Stage::Probing {
                adapter,
                released: true,
                ..
            } => Some(adapter.as_ref()),
            _ => None,
        }
    }
}

/// Holds an event of a probe's until its device is found; past
/// [`HELD_EVENTS`] only the description and answers are kept.
fn hold(held: &mut Vec<Event>, event: Event) {
    if held.len() < HELD_EVENTS || !matches!(event, Event::Text { .. } | Event::Samples { .. }) {
        held.push(event);
    }
}

impl Adapter for AutoAdapter {
    fn protocol(&self) -> Protocol {
        match &self.stage {
            Stage::Listening { .. } => Protocol::Native,
            Stage::Probing { protocol, .. } => *protocol,
            Stage::Exhausted { last } => *last,
        }
    }

    fn expecting(&self) -> String {
        let tried: Vec<&str> = self.tried.iter().map(|p| p.key()).collect();
        format!(
            "any protocol motiontune knows (tried {})",
            if tried.is_empty() {
                "none".to_owned()
            } else {
                tried.join(", ")
            }
        )
    }

    /// Longer only by the time a booting board kept it listening.
    fn describe_timeout(&self, usual: Duration) -> Duration {
        let listening = match &self.stage {
            Stage::Listening { started, until, .. } => until.saturating_duration_since(*started),
            _ => self.listened,
        };
        usual.max(probe_time_after(listening))
    }

    fn progress(&self) -> Option<Instant> {
        match &self.stage {
            Stage::Probing { adapter, .. } => adapter.progress(),
            _ => None,
        }
    }

    fn poll(&mut self, now: Instant, out: &mut Vec<u8>) {
        self.advance(now, out);
        if let Stage::Probing {
            protocol, adapter, ..
        } = &mut self.stage
        {
            if self.flush_line && *protocol != Protocol::Native {
                out.push(b'\n');
                self.flush_line = false;
            }
            adapter.poll(now, out);
        }
    }

    fn receive(
        &mut self,
        bytes: &[u8],
        now: Instant,
        tally: &mut DecodeTally,
        emit: &mut dyn FnMut(Event),
    ) -> Result<(), AdapterError> {
        self.boot_text.drain(..).for_each(&mut *emit);
        let searching = !matches!(
            self.stage,
            Stage::Probing { released: true, .. } | Stage::Exhausted { .. }
        );
        if searching && self.heard_bytes + bytes.len() <= MOST_HEARD {
            self.heard_bytes += bytes.len();
            self.heard.push((now, bytes.to_vec()));
        }
        match &mut self.stage {
            Stage::Listening {
                started,
                until,
                sniffer,
            } => {
                sniffer.hear(bytes, now);
                if !sniffer.streaming() {
                    // Booting: wait until it has been quiet a while.
                    *until = (*until).max((now + BOOT_QUIET).min(*started + BOOT_WAIT));
                }
                Ok(())
            }
            Stage::Probing {
                adapter,
                released: true,
                ..
            } => adapter.receive(bytes, now, tally, emit),
            Stage::Probing {
                adapter,
                held,
                released,
                ..
            } => {
                // A probe's decode errors are the wrong protocol's, not the
                // device's; what it decodes counts, so a device that sends
                // nothing valid is told apart from a silent one.
                let mut probe_tally = DecodeTally::default();
                let result = adapter.receive(bytes, now, &mut probe_tally, &mut |e| hold(held, e));
                tally.ok += probe_tally.ok;
                if adapter.device().is_some() {
                    std::mem::take(held).into_iter().for_each(emit);
                    *released = true;
                    self.heard = Vec::new();
                }
                // A probe that knows the device and refuses it (an ODrive
                // on firmware 0.6) ends the search, saying what it found:
                // no other protocol will do.
                result
            }
            Stage::Exhausted { .. } => Ok(()),
        }
    }

    fn encode(
        &mut self,
        command: &Command,
        now: Instant,
        out: &mut Vec<u8>,
    ) -> Result<(), Unsupported> {
        match &mut self.stage {
            Stage::Probing {
                adapter,
                released: true,
                ..
            } => adapter.encode(command, now, out),
            // The link sends commands only once a device is described.
            _ => Err(Unsupported),
        }
    }

    fn device(&self) -> Option<&DeviceInfo> {
        self.found().and_then(Adapter::device)
    }

    fn host_timing(&self) -> Option<HostTiming> {
        self.found().and_then(Adapter::host_timing)
    }

    fn text_refusal(&self, line: &str) -> String {
        self.found().map_or_else(
            || "not sent: no device found yet".to_owned(),
            |adapter| adapter.text_refusal(line),
        )
    }

    fn close(&mut self, now: Instant, out: &mut Vec<u8>) {
        // A probe that never found its device puts back what it changed
        // to probe (SimpleFOC's verbosity), if anything.
        if let Stage::Probing { adapter, .. } = &mut self.stage {
            adapter.close(now, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::native::{DeviceMessage, encode_frame};

    #[test]
    fn text_is_told_apart_from_binary_and_silence() {
        let now = Instant::now();
        let mut sniffer = Sniffer::default();
        sniffer.hear(b"1.0\t2.0\t3.0\n1.1\t2.1\t3.1\n", now);
        assert!(sniffer.text_heard());
        assert_eq!(sniffer.native_frames, 0);

        let mut native = Sniffer::default();
        let mut wire = Vec::new();
        let status = DeviceMessage::Status { flags: 0, tick: 7 };
        encode_frame(&status.encode(), &mut wire);
        native.hear(&wire, now);
        assert!(!native.text_heard());
        assert_eq!(native.native_frames, 1);

        assert!(!Sniffer::default().text_heard());
    }

    #[test]
    fn a_silent_device_is_probed_native_first_and_text_one_text_first() {
        assert_eq!(probe_order(false, false)[0], Protocol::Native);
        assert_eq!(probe_order(true, false)[0], Protocol::SimpleFoc);
        assert_eq!(probe_order(true, true)[0], Protocol::Native);
        for order in [
            probe_order(false, false),
            probe_order(true, false),
            probe_order(false, true),
        ] {
            let mut sorted = order.clone();
            sorted.sort_by_key(|p| p.key());
            sorted.dedup();
            assert_eq!(sorted.len(), Protocol::ALL.len(), "{order:?}");
        }
    }

    #[test]
    fn listens_before_sending_then_sends_the_first_probe() {
        let start = Instant::now();
        let mut auto = AutoAdapter::new(&AdapterSettings::default(), start);
        let mut out = Vec::new();
        auto.poll(start + Duration::from_millis(100), &mut out);
        assert!(out.is_empty(), "sent {out:?} while listening");
        auto.poll(start + LISTEN, &mut out);
        assert!(!out.is_empty(), "no probe after listening");
        assert_eq!(auto.tried(), &[Protocol::Native]);
        assert!(auto.device().is_none());
    }

    #[test]
    fn a_board_printing_its_boot_text_is_heard_out_and_its_text_passed_on() {
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let mut auto = AutoAdapter::new(&AdapterSettings::default(), start);
        let mut tally = DecodeTally::default();
        let mut events = Vec::new();
        // An ESP32's ROM, then a sketch's banner, the last line at 0.75 s.
        for (ms, text) in [
            (200, "ESP-ROM:esp32s3-20210327\r\nBuild:Mar 27 2021\r\n"),
            (500, "rst:0x1 (POWERON),boot:0x8 (SPI_FAST_FLASH_BOOT)\r\n"),
            (750, "motor ready\r\n"),
        ] {
            auto.poll(at(ms), &mut Vec::new());
            assert!(
                auto.tried().is_empty(),
                "probed while the board booted, at {ms} ms"
            );
            auto.receive(text.as_bytes(), at(ms), &mut tally, &mut |e| events.push(e))
                .expect("heard");
        }
        auto.poll(at(1000), &mut Vec::new());
        assert!(auto.tried().is_empty(), "probed 250 ms after the last line");
        auto.poll(at(1050), &mut Vec::new());
        // Text was heard: the text firmwares are tried first.
        assert_eq!(auto.tried(), [Protocol::SimpleFoc], "after 300 ms of quiet");
        assert!(events.is_empty(), "boot text came before probing");
        auto.receive(b"", at(1250), &mut tally, &mut |e| events.push(e))
            .expect("heard");
        let said: Vec<&str> = events
            .iter()
            .filter_map(|e| match e {
                Event::Text { message, .. } => Some(message.as_str()),
                _ => None,
            })
            .collect();
        // Text as the plain-lines adapter tells it from data: a
        // `label:value` line and a last line that may be a header (of
        // numbers still to come) are not passed on as text.
        assert_eq!(
            said,
            [
                "Build:Mar 27 2021",
                "rst:0x1 (POWERON),boot:0x8 (SPI_FAST_FLASH_BOOT)",
            ]
        );
    }

    #[test]
    fn boot_text_is_shown_once_when_the_plain_lines_probe_reads_it_again() {
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let mut auto = AutoAdapter::new(&AdapterSettings::default(), start);
        let mut tally = DecodeTally::default();
        let mut events = Vec::new();
        auto.receive(
            b"booting v1.2\r\nmotor ready\r\n",
            at(200),
            &mut tally,
            &mut |e| events.push(e),
        )
        .expect("heard");
        // SimpleFOC is tried first (text was heard) and never answers; the
        // sketch starts printing numbers; the plain-lines probe finds it.
        let mut ms = 200;
        while auto.device().is_none() {
            ms += 20;
            assert!(ms < 10_000, "not found; tried {:?}", auto.tried());
            auto.poll(at(ms), &mut Vec::new());
            if ms > 1000 {
                auto.receive(b"1.0 2.0\r\n", at(ms), &mut tally, &mut |e| events.push(e))
                    .expect("heard");
            }
        }
        assert_eq!(auto.tried(), [Protocol::SimpleFoc, Protocol::Lines]);
        let said: Vec<&str> = events
            .iter()
            .filter_map(|e| match e {
                Event::Text { message, .. } => Some(message.as_str()),
                _ => None,
            })
            .collect();
        // "motor ready" is the header of the numbers that follow.
        assert_eq!(said, ["booting v1.2"]);
    }

    #[test]
    fn boot_text_is_waited_for_a_few_seconds_at_most() {
        let start = Instant::now();
        let mut auto = AutoAdapter::new(&AdapterSettings::default(), start);
        let mut tally = DecodeTally::default();
        let mut now = start;
        // A board that never stops printing half a line now and then.
        while auto.tried().is_empty() {
            now += Duration::from_millis(100);
            auto.receive(b"booting", now, &mut tally, &mut |_| {})
                .expect("heard");
            auto.poll(now, &mut Vec::new());
        }
        assert_eq!(now, start + BOOT_WAIT);
        // The link waits that much longer for the description, no more.
        assert_eq!(
            auto.describe_timeout(Duration::ZERO),
            probe_time_after(BOOT_WAIT)
        );
        let silent = AutoAdapter::new(&AdapterSettings::default(), start);
        assert_eq!(
            silent.describe_timeout(Duration::ZERO),
            probe_time_after(LISTEN)
        );
        assert!(probe_time_after(LISTEN) < probe_time());
    }

    #[test]
    fn a_stream_is_no_boot_text_and_is_probed_at_once() {
        let start = Instant::now();
        let mut auto = AutoAdapter::new(&AdapterSettings::default(), start);
        let mut tally = DecodeTally::default();
        let mut events = Vec::new();
        let lines = "setpoint:0.1,position:0.0\r\n".repeat(10);
        auto.receive(lines.as_bytes(), start + LISTEN / 2, &mut tally, &mut |e| {
            events.push(e)
        })
        .expect("heard");
        auto.poll(start + LISTEN, &mut Vec::new());
        assert!(!auto.tried().is_empty(), "the stream held the probe back");
        auto.receive(b"x", start + LISTEN, &mut tally, &mut |e| events.push(e))
            .expect("heard");
        assert!(
            events.is_empty(),
            "stream lines shown as boot text: {events:?}"
        );
    }

    #[test]
    fn a_probe_that_knows_the_device_and_refuses_it_ends_the_search() {
        let start = Instant::now();
        let mut auto = AutoAdapter::new(&AdapterSettings::default(), start);
        let mut now = start + LISTEN;
        auto.poll(now, &mut Vec::new());
        while auto.protocol() != Protocol::Odrive {
            now += Duration::from_millis(100);
            auto.poll(now, &mut Vec::new());
        }
        now += Duration::from_millis(200);
        auto.poll(now, &mut Vec::new());
        let mut tally = DecodeTally::default();
        // `r fw_version_major` and `r fw_version_minor` of firmware 0.6.
        let result = auto.receive(b"0*48\r\n6*54\r\n", now, &mut tally, &mut |_| {});
        assert!(
            matches!(&result, Err(AdapterError::Incompatible(why)) if why.contains("found an ODrive running firmware 0.6")),
            "{result:?}"
        );
    }
}
