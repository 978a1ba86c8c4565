//! The app's handle on a link: [`Link`] opens the link thread and holds
//! its two channels and health counters; nothing in it blocks but
//! [`Link::close`]. What the thread reports is a [`LinkEvent`].

use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, unbounded};

use super::LinkError;
use super::events::{EventSender, Wake};
use super::health::LinkHealth;
use super::runner::ProcedureEvent;
use super::thread::{Ends, run};
use super::transport::PortTarget;
use crate::protocol::adapter::Protocol;
use crate::protocol::{Command, Event};
use crate::tuning::Procedure;

/// How a link connects and keeps the device alive.
#[derive(Clone, Debug)]
pub struct LinkOptions {
    /// The device to open, with its protocol and settings.
    pub target: PortTarget,
    /// Stream every Nth control-loop sample once connected; 0 leaves
    /// streaming off.
    pub stream_divider: u16,
    /// Longest heartbeat period: each PING feeds the device's watchdog and
    /// measures the round trip. A device with a short watchdog gets PINGs
    /// more often ([`heartbeat_period`]).
    pub ping_interval: Duration,
    /// How long the device has to describe itself after HELLO.
    pub hello_timeout: Duration,
    /// Wakes the app for the events it must see ([`super::events`]);
    /// `None` for a reader that polls.
    pub wake: Option<Wake>,
}

impl LinkOptions {
    /// Options for `target`: every sample streamed, a PING every 200 ms, 2 s for the description.
    pub fn new(target: PortTarget) -> Self {
        Self {
            target,
            stream_divider: 1,
            ping_interval: Duration::from_millis(200),
            hello_timeout: Duration::from_secs(2),
            wake: None,
        }
    }
}

/// What the link thread reports.
#[derive(Clone, Debug, PartialEq)]
pub enum LinkEvent {
    /// The port is open; the device has not described itself yet.
    Opened,
    /// The wire format the device speaks; comes just before its
    /// description.
    Speaking(Protocol),
    /// Something the device said.
    Device(Event),
    /// What the procedure running on the link did ([`Link::run`]).
    Procedure(ProcedureEvent),
    /// A line the user typed ([`Command::Text`]), as the link dealt with
    /// it: taken by the adapter to write in its turn, or `refused` with
    /// why in one line, nothing written.
    TypedLine {
        /// The line, as typed.
        line: String,
        /// Why it was refused, or `None` when the adapter took it.
        refused: Option<String>,
    },
    /// The connection ended: `None` when the app closed it, otherwise why it
    /// failed or was lost. Nothing follows this event.
    Closed(Option<LinkError>),
}

/// The app's handle on a link thread.
pub struct Link {
    target: PortTarget,
    /// Set by the link thread once the device has described itself.
    protocol: Arc<OnceLock<Protocol>>,
    events: Receiver<LinkEvent>,
    commands: Option<Sender<Request>>,
    health: Arc<LinkHealth>,
    thread: Option<JoinHandle<()>>,
}

/// What the app asks of the link thread.
#[derive(Debug)]
pub(super) enum Request {
    /// Write this to the device.
    Command(Command),
    /// Run this procedure at the stream's rate.
    Run(Box<dyn Procedure>),
    /// Stop the procedure in progress.
    Abort,
}

impl Link {
    /// Starts a link thread; returns at once. Success or failure to connect
    /// arrives as events.
    pub fn open(options: LinkOptions) -> Self {
        let (event_tx, events) = unbounded();
        let (commands, command_rx) = unbounded();
        let health = Arc::new(LinkHealth::default());
        let target = options.target.clone();
        let protocol = Arc::new(OnceLock::new());
        let thread = {
            let health = Arc::clone(&health);
            let found = Arc::clone(&protocol);
            std::thread::Builder::new()
                .name("link".into())
                .spawn(move || {
                    let event_tx = EventSender::new(event_tx, options.wake.clone());
                    let ends = Ends {
                        events: &event_tx,
                        commands: &command_rx,
                        health: &health,
                        protocol: &found,
                    };
                    run(options, &ends);
                })
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
                    protocol,
                    events: rx,
                    commands: Some(commands),
                    health,
                    thread: None,
                };
            }
        };
        Self {
            target,
            protocol,
            events,
            commands: Some(commands),
            health,
            thread,
        }
    }

    /// The wire format the device speaks, once it has described itself.
    pub fn protocol(&self) -> Option<Protocol> {
        self.protocol.get().copied()
    }

    /// The device this link opened.
    pub fn target(&self) -> &PortTarget {
        &self.target
    }

    /// Queues a command for the device; false when the link has ended.
    pub fn send(&self, command: Command) -> bool {
        self.request(Request::Command(command))
    }

    /// Starts `procedure` on the link thread, fed at the stream's rate;
    /// what it does comes back as [`LinkEvent::Procedure`]. One runs at a
    /// time: another is refused (its `Ended` says why). False when the
    /// link has ended.
    pub fn run(&self, procedure: Box<dyn Procedure>) -> bool {
        self.request(Request::Run(procedure))
    }

    /// Stops the procedure in progress: its restoring writes go out at
    /// once. False when the link has ended.
    pub fn abort_procedure(&self) -> bool {
        self.request(Request::Abort)
    }

    fn request(&self, request: Request) -> bool {
        self.commands
            .as_ref()
            .is_some_and(|tx| tx.send(request).is_ok())
    }

    /// Events from the link thread, in order.
    pub fn events(&self) -> &Receiver<LinkEvent> {
        &self.events
    }

    /// The link's live counters.
    pub fn health(&self) -> &LinkHealth {
        &self.health
    }

    /// Closes the link as dropping it does, and returns every event the
    /// thread reported up to its end, so a recording keeps each sample
    /// that reached the app.
    pub fn close(mut self) -> Vec<LinkEvent> {
        self.commands = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.events.try_iter().collect()
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
