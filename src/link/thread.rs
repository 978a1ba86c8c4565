//! The link thread: opens the transport, lets the protocol adapter get the
//! device's description, starts streaming, then loops — write pending
//! commands, send the heartbeat PING, read and decode, feeding the
//! procedure in progress ([`super::runner`]) — until the app drops its
//! [`Link`](super::Link) or the device goes away.
//!
//! Closing leaves the drive as this connection found it, in one rule for
//! every wire format: the output is disabled before the port closes only
//! if this connection switched it on (sent ENABLE 1), and the adapter puts
//! back what it changed to stream or to probe ([`Adapter::close`]), also
//! when the device never described itself. A drive found
//! enabled and never switched on here stays enabled: whoever enabled it
//! (the sketch's `setup()`, the drive's own startup) still owns it.

use std::collections::VecDeque;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, TryRecvError};

use super::LinkError;
use super::events::EventSender;
use super::handle::{LinkEvent, LinkOptions, Request};
use super::health::LinkHealth;
use super::host_alignment::host_seconds;
use super::runner::{Action, Runner};
use super::transport::Transport;
use crate::protocol::adapter::{
    Adapter, AdapterError, DecodeTally, LONGEST_HANDSHAKE, PROGRESS_GRACE, Protocol,
};
use crate::protocol::{Command, DeviceErrorCode, Event, open_adapter};

/// PINGs per watchdog time: the host may then be held up (a loaded
/// machine, a slow USB hub) for four fifths of the watchdog time before the
/// drive trips, rather than whatever a fixed period leaves.
const PINGS_PER_WATCHDOG: u32 = 5;
/// The shortest heartbeat period, however short the watchdog.
const SHORTEST_PING_INTERVAL: Duration = Duration::from_millis(10);

/// The heartbeat period for a device whose watchdog trips after
/// `watchdog_ms` (0: it has none): `longest`, or a fifth of the watchdog
/// time if that is shorter.
fn heartbeat_period(longest: Duration, watchdog_ms: u16) -> Duration {
    if watchdog_ms == 0 {
        return longest;
    }
    let fifth = Duration::from_millis(u64::from(watchdog_ms)) / PINGS_PER_WATCHDOG;
    longest.min(fifth.max(SHORTEST_PING_INTERVAL))
}

/// Outstanding PINGs older than this are forgotten.
const PING_MEMORY: usize = 16;

/// The connection state the link thread owns.
struct Connection<'a> {
    port_name: String,
    transport: Box<dyn Transport>,
    adapter: Box<dyn Adapter>,
    health: &'a LinkHealth,
    events: &'a EventSender,
    protocol: &'a OnceLock<Protocol>,
    pings: VecDeque<(u32, Instant)>,
    next_token: u32,
    /// What the app asked during the handshake, done after it.
    early_requests: Vec<Request>,
    /// The procedure in progress.
    runner: Runner,
    /// This connection has sent ENABLE 1: the output is the host's to
    /// switch off when the link closes.
    enabled_here: bool,
    /// Bytes waiting to be written, reused between writes.
    wire: Vec<u8>,
    /// Events decoded from one read, reused between reads.
    decoded: Vec<Event>,
}

enum Flow {
    Continue,
    /// The app closed the link.
    Closed,
}

/// What the link thread shares with its [`Link`].
pub(super) struct Ends<'a> {
    pub events: &'a EventSender,
    pub commands: &'a Receiver<Request>,
    pub health: &'a LinkHealth,
    pub protocol: &'a OnceLock<Protocol>,
}

pub(super) fn run(options: LinkOptions, ends: &Ends<'_>) {
    let Ends {
        events,
        commands,
        health,
        ..
    } = *ends;
    let (protocol, settings) = options.target.protocol();
    let adapter = open_adapter(protocol, &settings, Instant::now());
    let transport = match options.target.open() {
        Ok(transport) => transport,
        Err(error) => {
            let _ = events.send(LinkEvent::Closed(Some(error)));
            return;
        }
    };
    let _ = events.send(LinkEvent::Opened);
    let mut connection = Connection {
        port_name: options.target.name().to_owned(),
        transport,
        adapter,
        health,
        events,
        protocol: ends.protocol,
        pings: VecDeque::new(),
        next_token: 1,
        early_requests: Vec::new(),
        runner: Runner::default(),
        enabled_here: false,
        wire: Vec::with_capacity(256),
        decoded: Vec::new(),
    };
    let end = connection.serve(&options, commands);
    if let Err(error) = &end {
        // The port is gone: a procedure in progress ends with nothing
        // written (the device's watchdog covers the output).
        for action in connection
            .runner
            .on_close(&format!("the connection was lost: {error}"))
        {
            if let Action::Report(event) = action {
                let _ = events.send(LinkEvent::Procedure(event));
            }
        }
    }
    let _ = events.send(LinkEvent::Closed(end.err()));
}

impl Connection<'_> {
    fn serve(
        &mut self,
        options: &LinkOptions,
        commands: &Receiver<Request>,
    ) -> Result<(), LinkError> {
        let handshake = self.handshake(options.hello_timeout, commands);
        if handshake.is_err() || self.adapter.device().is_none() {
            // Failed, or the app closed the link before the device
            // described itself: what a probe changed goes back all the same.
            self.close();
            return handshake;
        }
        if options.stream_divider > 0 {
            self.write(&Command::Stream {
                divider: options.stream_divider,
            })?;
        }
        for request in std::mem::take(&mut self.early_requests) {
            self.serve_request(request)?;
        }
        let ping_interval = heartbeat_period(
            options.ping_interval,
            self.adapter.device().map_or(0, |info| info.watchdog_ms),
        );
        let mut next_ping = Instant::now();
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            if let Flow::Closed = self.write_pending(commands)? {
                self.close();
                return Ok(());
            }
            if Instant::now() >= next_ping {
                self.ping()?;
                next_ping += ping_interval;
                if next_ping < Instant::now() {
                    next_ping = Instant::now() + ping_interval;
                }
            }
            let actions = self.runner.on_tick(Instant::now());
            self.act(actions)?;
            self.poll_adapter()?;
            self.read_once(&mut buf)?;
        }
    }

    /// Leaves the drive as this connection found it: the output off if
    /// this connection switched it on (the device's watchdog covers the
    /// case where this is lost), then whatever the adapter changed to
    /// stream put back. Write errors no longer matter: the port closes;
    /// after one, nothing more is tried (each write waits up to
    /// [`WRITE_BOUND`](super::WRITE_BOUND) on a device that stopped reading).
    fn close(&mut self) {
        // A procedure's restoring writes go first, while the output is on.
        let mut port_ok = true;
        for action in self.runner.on_close("the link was closed") {
            match action {
                Action::Report(event) => {
                    let _ = self.events.send(LinkEvent::Procedure(event));
                }
                Action::Write(write) if port_ok => {
                    let set = Command::Set {
                        index: write.index,
                        value: write.value,
                    };
                    port_ok = self.write(&set).is_ok();
                }
                Action::Write(_) => {}
            }
        }
        if !port_ok || (self.enabled_here && self.write(&Command::Enable(false)).is_err()) {
            return;
        }
        self.wire.clear();
        self.adapter.close(Instant::now(), &mut self.wire);
        let _ = self.send_wire();
    }

    /// Lets the adapter ask for the description until it is complete.
    fn handshake(
        &mut self,
        timeout: Duration,
        commands: &Receiver<Request>,
    ) -> Result<(), LinkError> {
        let started = Instant::now();
        let mut buf = vec![0u8; 4096];
        while self.adapter.device().is_none() {
            // Asked each time round: a device still booting may need more.
            let allowed = self.adapter.describe_timeout(timeout);
            let now = Instant::now();
            let waiting_on_progress = self
                .adapter
                .progress()
                .is_some_and(|at| now < at + PROGRESS_GRACE && now < started + LONGEST_HANDSHAKE);
            if now >= started + allowed && !waiting_on_progress {
                let bytes = self
                    .health
                    .bytes_in
                    .load(std::sync::atomic::Ordering::Relaxed);
                let frames = self
                    .health
                    .frames_ok
                    .load(std::sync::atomic::Ordering::Relaxed);
                let protocol = self.adapter.expecting();
                return Err(if bytes > 0 && frames == 0 {
                    LinkError::NotThisProtocol {
                        port: self.port_name.clone(),
                        bytes,
                        protocol,
                    }
                } else {
                    LinkError::NoAnswer {
                        port: self.port_name.clone(),
                        protocol,
                        seconds: (now - started).as_secs_f64().round() as u64,
                    }
                });
            }
            match commands.try_recv() {
                // Requests from before the device is known wait their turn.
                Ok(request) => self.early_requests.push(request),
                Err(TryRecvError::Empty) => {}
                Err(TryRecvError::Disconnected) => return Ok(()),
            }
            self.poll_adapter()?;
            self.read_once(&mut buf)?;
        }
        Ok(())
    }

    /// Writes every queued command; reports when the app has gone.
    fn write_pending(&mut self, commands: &Receiver<Request>) -> Result<Flow, LinkError> {
        loop {
            match commands.try_recv() {
                Ok(request) => self.serve_request(request)?,
                Err(TryRecvError::Empty) => return Ok(Flow::Continue),
                Err(TryRecvError::Disconnected) => return Ok(Flow::Closed),
            }
        }
    }

    fn serve_request(&mut self, request: Request) -> Result<(), LinkError> {
        let actions = match request {
            Request::Command(command) => return self.write(&command),
            Request::Run(procedure) => self.runner.start(procedure, Instant::now()),
            Request::Abort => self.runner.abort(),
        };
        self.act(actions)
    }

    /// Carries out what the runner decided, in order.
    fn act(&mut self, actions: Vec<Action>) -> Result<(), LinkError> {
        for action in actions {
            match action {
                Action::Report(event) => {
                    let _ = self.events.send(LinkEvent::Procedure(event));
                }
                Action::Write(write) => self.write(&Command::Set {
                    index: write.index,
                    value: write.value,
                })?,
            }
        }
        Ok(())
    }

    /// Writes a command in the adapter's wire format; one the firmware
    /// cannot carry out comes back to the app as a refusal. A typed line is
    /// reported either way ([`LinkEvent::TypedLine`]).
    fn write(&mut self, command: &Command) -> Result<(), LinkError> {
        self.wire.clear();
        let encoded = self.adapter.encode(command, Instant::now(), &mut self.wire);
        if let Command::Text(line) = command {
            let refused = encoded.is_err().then(|| self.adapter.text_refusal(line));
            let line = line.clone();
            let _ = self.events.send(LinkEvent::TypedLine { line, refused });
        }
        if encoded.is_err() {
            if !matches!(command, Command::Text(_)) {
                let _ = self.events.send(LinkEvent::Device(Event::Refused {
                    request: command.type_code(),
                    code: DeviceErrorCode::Unsupported,
                }));
            }
            return Ok(());
        }
        if *command == Command::Enable(true) {
            self.enabled_here = true;
        }
        self.send_wire()
    }

    fn poll_adapter(&mut self) -> Result<(), LinkError> {
        self.wire.clear();
        self.adapter.port_shared_by(self.transport.links_sharing());
        self.adapter.poll(Instant::now(), &mut self.wire);
        self.send_wire()
    }

    fn send_wire(&mut self) -> Result<(), LinkError> {
        if self.wire.is_empty() {
            return Ok(());
        }
        let wire = std::mem::take(&mut self.wire);
        let written = self.transport.write_all(&wire).map_err(|e| self.lost(&e));
        LinkHealth::add(&self.health.bytes_out, wire.len() as u64);
        self.wire = wire;
        written
    }

    fn ping(&mut self) -> Result<(), LinkError> {
        let token = self.next_token;
        self.next_token = self.next_token.wrapping_add(1);
        if self.pings.len() >= PING_MEMORY {
            self.pings.pop_front();
        }
        self.pings.push_back((token, Instant::now()));
        self.write(&Command::Ping { token })
    }

    fn lost(&self, error: &std::io::Error) -> LinkError {
        LinkError::Lost {
            port: self.port_name.clone(),
            reason: error.to_string(),
        }
    }

    fn read_once(&mut self, buf: &mut [u8]) -> Result<(), LinkError> {
        let n = self.transport.read(buf).map_err(|e| self.lost(&e))?;
        if n == 0 {
            return Ok(());
        }
        let read_s = host_seconds();
        self.health.mark_byte_received();
        LinkHealth::add(&self.health.bytes_in, n as u64);
        let was_described = self.adapter.device().is_some();
        let Self {
            adapter,
            health,
            events,
            pings,
            decoded,
            protocol,
            runner,
            ..
        } = self;
        let mut actions = Vec::new();
        let mut tally = DecodeTally::default();
        let result = adapter.receive(&buf[..n], Instant::now(), &mut tally, &mut |event| {
            decoded.push(event);
        });
        if !was_described && adapter.device().is_some() {
            let _ = protocol.set(adapter.protocol());
            let _ = events.send(LinkEvent::Speaking(adapter.protocol()));
        }
        for event in decoded.drain(..) {
            match &event {
                Event::Samples { batch, lost_before } => {
                    LinkHealth::add(&health.samples, batch.len() as u64);
                    LinkHealth::add(&health.lost_samples, *lost_before);
                    health.batch_arrived(read_s, batch);
                }
                Event::Pong { token } => {
                    if let Some(at) = pings.iter().position(|(t, _)| t == token) {
                        let rtt = pings[at].1.elapsed();
                        health
                            .rtt_us
                            .store(rtt.as_micros() as u64, std::sync::atomic::Ordering::Relaxed);
                        pings.drain(..=at);
                    }
                }
                _ => {}
            }
            // Fed here, carried out after this read's events have gone to
            // the app, so the app sees a batch before the writes it caused.
            if runner.is_running() || matches!(event, Event::Status { .. }) {
                actions.extend(runner.on_event(&event, Instant::now()));
            }
            let _ = events.send(LinkEvent::Device(event));
        }
        health.set_host_timing(adapter.host_timing());
        LinkHealth::add(&health.frames_ok, tally.ok);
        LinkHealth::add(&health.framing_errors, tally.framing_errors);
        LinkHealth::add(&health.crc_errors, tally.checksum_errors);
        LinkHealth::add(&health.message_errors, tally.message_errors);
        self.act(actions)?;
        result.map_err(|error| match error {
            AdapterError::UnsupportedVersion(_) => LinkError::Version(self.port_name.clone()),
            AdapterError::Incompatible(reason) => LinkError::Open {
                port: self.port_name.clone(),
                reason,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_heartbeat_comes_five_times_a_watchdog_time_or_at_the_longest_period() {
        let longest = Duration::from_millis(200);
        let ms = |n| Duration::from_millis(n);
        assert_eq!(heartbeat_period(longest, 0), longest, "no watchdog");
        assert_eq!(heartbeat_period(longest, 2000), longest);
        assert_eq!(heartbeat_period(longest, 500), ms(100));
        assert_eq!(heartbeat_period(longest, 150), ms(30));
        assert_eq!(heartbeat_period(longest, 20), ms(10), "never below 10 ms");
    }
}
