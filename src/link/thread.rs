//! The link thread: opens the transport, performs the HELLO handshake,
//! starts streaming, then loops — write pending commands, send the
//! heartbeat PING, read and decode — until the app drops its [`Link`] or
//! the device goes away. Dropping the link disables the drive's output
//! before the port closes.

use std::collections::VecDeque;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError, unbounded};

use super::LinkError;
use super::health::LinkHealth;
use super::transport::{PortTarget, Transport};
use crate::protocol::native::session::SessionError;
use crate::protocol::native::{
    DeviceMessage, FrameDecoder, HostSession, encode_command, encode_frame,
};
use crate::protocol::{Command, Event};

/// How a link connects and keeps the device alive.
#[derive(Clone, Debug)]
pub struct LinkOptions {
    pub target: PortTarget,
    /// Stream every Nth control-loop sample once connected; 0 leaves
    /// streaming off.
    pub stream_divider: u16,
    /// Heartbeat period: each PING feeds the device's watchdog and measures
    /// the round trip.
    pub ping_interval: Duration,
    /// How long the device has to describe itself after HELLO.
    pub hello_timeout: Duration,
}

impl LinkOptions {
    pub fn new(target: PortTarget) -> Self {
        Self {
            target,
            stream_divider: 1,
            ping_interval: Duration::from_millis(200),
            hello_timeout: Duration::from_secs(2),
        }
    }
}

/// What the link thread reports.
#[derive(Clone, Debug, PartialEq)]
pub enum LinkEvent {
    /// The port is open; the device has not described itself yet.
    Opened,
    /// Something the device said.
    Device(Event),
    /// The connection ended: `None` when the app closed it, otherwise why it
    /// failed or was lost. Nothing follows this event.
    Closed(Option<LinkError>),
}

/// The app's handle on a link thread.
pub struct Link {
    target: PortTarget,
    events: Receiver<LinkEvent>,
    commands: Option<Sender<Command>>,
    health: Arc<LinkHealth>,
    thread: Option<JoinHandle<()>>,
}

impl Link {
    /// Starts a link thread; returns at once. Success or failure to connect
    /// arrives as events.
    pub fn open(options: LinkOptions) -> Self {
        let (event_tx, events) = unbounded();
        let (commands, command_rx) = unbounded();
        let health = Arc::new(LinkHealth::default());
        let target = options.target.clone();
        let thread = {
            let health = Arc::clone(&health);
            std::thread::Builder::new()
                .name("link".into())
                .spawn(move || run(options, &event_tx, &command_rx, &health))
        };
        let thread = match thread {
            Ok(handle) => Some(handle),
            Err(e) => {
                let (tx, rx) = unbounded();
                let _ = tx.send(LinkEvent::Closed(Some(LinkError::Open {
                    port: target.name().to_owned(),
                    reason: format!("cannot start link thread: {e}"),
                })));
                return Self {
                    target,
                    events: rx,
                    commands: Some(commands),
                    health,
                    thread: None,
                };
            }
        };
        Self {
            target,
            events,
            commands: Some(commands),
            health,
            thread,
        }
    }

    pub fn target(&self) -> &PortTarget {
        &self.target
    }

    /// Queues a command for the device; false when the link has ended.
    pub fn send(&self, command: Command) -> bool {
        self.commands
            .as_ref()
            .is_some_and(|tx| tx.send(command).is_ok())
    }

    /// Events from the link thread, in order.
    pub fn events(&self) -> &Receiver<LinkEvent> {
        &self.events
    }

    pub fn health(&self) -> &LinkHealth {
        &self.health
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        // Closing the command channel tells the thread to disable the
        // output and let go of the port.
        self.commands = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Outstanding PINGs older than this are forgotten.
const PING_MEMORY: usize = 16;

/// The connection state the link thread owns.
struct Connection<'a> {
    port_name: String,
    transport: Box<dyn Transport>,
    decoder: FrameDecoder,
    session: HostSession,
    health: &'a LinkHealth,
    events: &'a Sender<LinkEvent>,
    pings: VecDeque<(u32, Instant)>,
    next_token: u32,
    /// Commands the app sent during the handshake, written after it.
    early_commands: Vec<Command>,
}

enum Flow {
    Continue,
    /// The app closed the link.
    Closed,
}

fn run(
    options: LinkOptions,
    events: &Sender<LinkEvent>,
    commands: &Receiver<Command>,
    health: &LinkHealth,
) {
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
        decoder: FrameDecoder::new(),
        session: HostSession::new(),
        health,
        events,
        pings: VecDeque::new(),
        next_token: 1,
        early_commands: Vec::new(),
    };
    let end = connection.serve(&options, commands);
    let _ = events.send(LinkEvent::Closed(end.err()));
}

impl Connection<'_> {
    fn serve(
        &mut self,
        options: &LinkOptions,
        commands: &Receiver<Command>,
    ) -> Result<(), LinkError> {
        self.handshake(options.hello_timeout, commands)?;
        if self.session.device().is_none() {
            // The app closed the link before the device described itself.
            return Ok(());
        }
        if options.stream_divider > 0 {
            self.send_command(&Command::Stream {
                divider: options.stream_divider,
            })?;
        }
        for command in std::mem::take(&mut self.early_commands) {
            self.send_command(&command)?;
        }
        let mut next_ping = Instant::now();
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            if let Flow::Closed = self.write_pending(commands)? {
                // Stop the drive before letting go of the port (the
                // device's watchdog covers the case where this is lost),
                // and the stream, so the next client starts clean.
                let _ = self.write(&Command::Enable(false));
                let _ = self.write(&Command::Stream { divider: 0 });
                return Ok(());
            }
            if Instant::now() >= next_ping {
                self.ping()?;
                next_ping += options.ping_interval;
                if next_ping < Instant::now() {
                    next_ping = Instant::now() + options.ping_interval;
                }
            }
            self.read_once(&mut buf)?;
        }
    }

    /// HELLO, resent every half second, until the description is complete.
    fn handshake(
        &mut self,
        timeout: Duration,
        commands: &Receiver<Command>,
    ) -> Result<(), LinkError> {
        let deadline = Instant::now() + timeout;
        let mut next_hello = Instant::now();
        let mut buf = vec![0u8; 4096];
        while self.session.device().is_none() {
            let now = Instant::now();
            if now >= deadline {
                let bytes = self
                    .health
                    .bytes_in
                    .load(std::sync::atomic::Ordering::Relaxed);
                let frames = self
                    .health
                    .frames_ok
                    .load(std::sync::atomic::Ordering::Relaxed);
                return Err(if bytes > 0 && frames == 0 {
                    LinkError::NotThisProtocol {
                        port: self.port_name.clone(),
                        bytes,
                    }
                } else {
                    LinkError::NoAnswer(self.port_name.clone())
                });
            }
            match commands.try_recv() {
                // Commands from before the device is known wait their turn.
                Ok(command) => self.early_commands.push(command),
                Err(TryRecvError::Empty) => {}
                Err(TryRecvError::Disconnected) => return Ok(()),
            }
            if now >= next_hello {
                self.write(&Command::Hello)?;
                next_hello = now + Duration::from_millis(500);
            }
            self.read_once(&mut buf)?;
        }
        Ok(())
    }

    /// Writes every queued command; reports when the app has gone.
    fn write_pending(&mut self, commands: &Receiver<Command>) -> Result<Flow, LinkError> {
        loop {
            match commands.try_recv() {
                Ok(command) => self.send_command(&command)?,
                Err(TryRecvError::Empty) => return Ok(Flow::Continue),
                Err(TryRecvError::Disconnected) => return Ok(Flow::Closed),
            }
        }
    }

    /// Writes a command from the app, noting a change of stream first.
    fn send_command(&mut self, command: &Command) -> Result<(), LinkError> {
        if let Command::Stream { divider } = *command {
            self.session.restart_stream(divider);
        }
        self.write(command)
    }

    fn write(&mut self, command: &Command) -> Result<(), LinkError> {
        let mut wire = Vec::with_capacity(16);
        encode_frame(&encode_command(command), &mut wire);
        self.transport.write_all(&wire).map_err(|e| self.lost(&e))?;
        LinkHealth::add(&self.health.bytes_out, wire.len() as u64);
        Ok(())
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
        self.health.mark_byte_received();
        LinkHealth::add(&self.health.bytes_in, n as u64);
        let Self {
            decoder,
            session,
            health,
            events,
            pings,
            ..
        } = self;
        let mut version_error = None;
        decoder.push(&buf[..n], |frame| {
            let payload = match frame {
                Ok(payload) => payload,
                Err(error) => {
                    let counter = if error.is_crc() {
                        &health.crc_errors
                    } else {
                        &health.framing_errors
                    };
                    LinkHealth::add(counter, 1);
                    return;
                }
            };
            LinkHealth::add(&health.frames_ok, 1);
            let message = match DeviceMessage::decode(payload) {
                Ok(message) => message,
                Err(_) => {
                    LinkHealth::add(&health.message_errors, 1);
                    return;
                }
            };
            match session.handle(message) {
                Ok(Some(event)) => {
                    match &event {
                        Event::Samples { batch, lost_before } => {
                            LinkHealth::add(&health.samples, batch.len() as u64);
                            LinkHealth::add(&health.lost_samples, *lost_before);
                        }
                        Event::Pong { token } => {
                            if let Some(at) = pings.iter().position(|(t, _)| t == token) {
                                let rtt = pings[at].1.elapsed();
                                health.rtt_us.store(
                                    rtt.as_micros() as u64,
                                    std::sync::atomic::Ordering::Relaxed,
                                );
                                pings.drain(..=at);
                            }
                        }
                        _ => {}
                    }
                    let _ = events.send(LinkEvent::Device(event));
                }
                Ok(None) => {}
                // Stale samples from before the description are expected
                // right after connecting, not an error of the device.
                Err(SessionError::SamplesBeforeDescription) => {}
                Err(SessionError::UnsupportedVersion(_)) => {
                    version_error = Some(());
                }
                Err(_) => LinkHealth::add(&health.message_errors, 1),
            }
        });
        if version_error.is_some() {
            return Err(LinkError::Version(self.port_name.clone()));
        }
        Ok(())
    }
}
