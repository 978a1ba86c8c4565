//! What the app knows about the device it is connected to (no egui: panels
//! read it and send intents): the link, the
//! description, the sample history, each parameter's write state and the
//! last status. Events from the link are drained once per frame; commands
//! go out without waiting. A connection that was up and is lost is opened
//! again every half second with the same options until the device is back
//! or the user stops it; the history keeps going across the outage, with a
//! break in its lines, when the device describes itself as before. What
//! matters for safety (stops, the output, faults, trips, the connection,
//! every confirmed write and its origin) goes into the session's
//! [`EventLog`] as it happens; the device's text and the lines typed for
//! it into its [`Console`].

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::capture::CaptureEngine;
use crate::device::{Console, EventLog, LoggedEvent, OutputCause, StopSource};
use crate::history::{History, HistorySize};
use crate::link::saturation::{Saturated, Throughput, saturation};
use crate::link::{HealthSnapshot, Link, LinkError, LinkEvent, LinkOptions, PortTarget, Wake};
use crate::protocol::adapter::Protocol;
use crate::protocol::native::message::host_type;
use crate::protocol::{Command, DeviceInfo, Event, StatusFlags, TextLevel};
use crate::record::Recording;

mod batch_rate;
mod procedures;
mod reconnect;
mod running;
mod tap;
mod typed_lines;
mod writes;

use batch_rate::BatchRate;
pub use procedures::StartError;
use reconnect::{Reconnect, worth_retrying};
pub use running::{Ending, ProcedureKind, ProcedurePlan, ProcedureRun, Procedures};
pub use tap::Tapped;
pub use typed_lines::NOT_CONNECTED;
use writes::SentSet;
pub use writes::{ParamView, WriteMark, WriteState};

/// Most events one frame takes in: about 12 s of the full-rate stream
/// (10 kHz × 8 channels comes in ~1 430 batches a second), more than a
/// still app leaves waiting between the link's wakes
/// ([`crate::link::STREAM_WAKE`]), so the frame it draws on waking takes
/// them all; and a bound on a frame's work however fast the device sends.
const MOST_PER_FRAME: usize = 18_000;

// The full-rate stream's batches over the longest wait, with a quarter to
// spare, fit in the frame that ends it.
const _: () = assert!(MOST_PER_FRAME as u64 > 1_430 * crate::link::STREAM_WAKE.as_secs() * 5 / 4);

/// Most events left waiting before sample batches are dropped: about 14 s
/// of the full-rate stream (~3 MB), so a machine that stalls the app for
/// seconds loses nothing, and a device flooding the link costs bounded
/// memory.
const MOST_BACKLOG: usize = 20_000;

/// How often a lost connection is tried again.
pub const RECONNECT_INTERVAL: Duration = Duration::from_millis(500);

/// Where the connection stands.
#[derive(Clone, Debug, PartialEq)]
pub enum ConnectionState {
    /// Opening the port and waiting for the device's description.
    Connecting,
    /// The device described itself and streams.
    Connected,
    /// The connection was up and was lost; the port is opened again every
    /// [`RECONNECT_INTERVAL`].
    Reconnecting {
        /// Why the connection was lost.
        lost: LinkError,
        /// Attempts started so far.
        attempts: u32,
        /// Why the last attempt failed.
        last_error: Option<LinkError>,
    },
    /// Ended by the device, the cable or an error.
    Failed(LinkError),
}

/// The app's side of one device connection.
pub struct DeviceSession {
    /// `None` once the user stopped reconnecting.
    link: Option<Link>,
    /// Where the connection stands.
    pub state: ConnectionState,
    /// The device's description, once it gave it.
    pub info: Option<DeviceInfo>,
    /// The wire format the device turned out to speak.
    pub protocol: Option<Protocol>,
    /// The samples streamed since it first described itself, as many as fit.
    pub history: Option<History>,
    /// Every parameter, in index order, with its last write's state.
    pub params: Vec<ParamView>,
    /// The drive's state as last reported.
    pub status: Option<StatusFlags>,
    /// An emergency stop was sent and the device has not yet confirmed it.
    pub stop_pending: bool,
    /// The device's last line of text, with its level.
    pub last_text: Option<(TextLevel, String)>,
    /// SETs awaiting an answer, oldest first: a refusal carries no index.
    pending_sets: VecDeque<SentSet>,
    health_window: VecDeque<HealthSnapshot>,
    /// Every confirmed write, oldest first.
    pub writes: Vec<WriteMark>,
    /// Stops, output changes, faults, trips, the connection and every
    /// confirmed write, as they happened.
    pub event_log: EventLog,
    /// The device's text and the lines typed for it.
    pub console: Console,
    /// Typed lines sent to the link, not yet taken or refused by it.
    typed_waiting: VecDeque<String>,
    /// The last output state the app asked for and why, until the device
    /// reports it: the cause the event log gives the change.
    output_asked: Option<(bool, OutputCause)>,
    /// The status the event log last compared against; unlike `status` it
    /// is kept through an outage, so a change across one is recorded.
    status_seen: Option<StatusFlags>,
    /// This link has sent ENABLE 1, so closing it switches the output off
    /// (the link's rule: an output it found on is left on).
    switched_on: bool,
    /// Watches the stream for the scope's trigger.
    pub capture: CaptureEngine,
    /// The CSV recording in progress (or finishing), fed every batch.
    pub recording: Option<Recording>,
    /// Batches kept for the recording of every device, while it runs.
    tap: Option<tap::Tap>,
    /// The procedures run on the link thread, as their events said, and
    /// what they measured.
    pub procedures: Procedures,
    /// Sample batches a second: the most writes a second a procedure makes.
    batch_rate: BatchRate,
    /// Samples the link received that the app dropped unread because it
    /// could not keep up (the link's own count of lost samples is apart).
    pub dropped_samples: u64,
    /// What the last reconnection found, in one line for the user.
    pub reconnect_note: Option<String>,
    /// The device came back with another description: the app forgets what
    /// it kept about the old one. Taken by [`Self::take_device_changed`].
    device_changed: bool,
    reconnect: Option<Reconnect>,
    /// The next batch follows an outage: its line must not join the last.
    break_before_next_batch: bool,
    options: LinkOptions,
    history_size: HistorySize,
    stream_divider: u16,
    /// The file this session shows, when it is a recording: it has no link
    /// and nothing is ever sent.
    pub recorded_from: Option<PathBuf>,
}

impl DeviceSession {
    /// Starts connecting; returns at once. `wake` is called from the link
    /// thread when there is something to show.
    pub fn connect(
        target: PortTarget,
        stream_divider: u16,
        history_size: HistorySize,
        wake: Option<Wake>,
    ) -> Self {
        let mut options = LinkOptions::new(target);
        options.stream_divider = stream_divider;
        options.wake = wake;
        let link = Link::open(options.clone());
        Self::with_link(Some(link), options, history_size)
    }

    /// A session over `link` (`None`: one that sends nothing, for tests).
    fn with_link(link: Option<Link>, options: LinkOptions, history_size: HistorySize) -> Self {
        let stream_divider = options.stream_divider;
        Self {
            link,
            state: ConnectionState::Connecting,
            info: None,
            history: None,
            params: Vec::new(),
            status: None,
            stop_pending: false,
            last_text: None,
            protocol: None,
            pending_sets: VecDeque::new(),
            health_window: VecDeque::new(),
            writes: Vec::new(),
            event_log: EventLog::default(),
            console: Console::default(),
            typed_waiting: VecDeque::new(),
            output_asked: None,
            status_seen: None,
            switched_on: false,
            capture: CaptureEngine::new(0),
            recording: None,
            tap: None,
            procedures: Procedures::default(),
            batch_rate: BatchRate::default(),
            dropped_samples: 0,
            reconnect_note: None,
            device_changed: false,
            reconnect: None,
            break_before_next_batch: false,
            options,
            history_size,
            stream_divider,
            recorded_from: None,
        }
    }

    /// A recording opened as a device: described by `info`, its samples in
    /// `history`, read-only (no link, no parameters, nothing sent).
    pub fn recorded(path: PathBuf, info: DeviceInfo, history: History) -> Self {
        let target = PortTarget::Replay {
            path: path.display().to_string(),
            speed: 1.0,
        };
        let size = HistorySize::ChannelSamples(history.capacity() * info.channels.len() as u64);
        let mut session = Self::with_link(None, LinkOptions::new(target), size);
        session.capture = CaptureEngine::new(info.channels.len());
        session.history = Some(history);
        session.info = Some(info);
        session.state = ConnectionState::Connected;
        session.recorded_from = Some(path);
        session
    }

    /// The port this session opens, with its protocol and settings.
    pub fn target(&self) -> &PortTarget {
        &self.options.target
    }

    /// The stream divider it was opened with: every Nth sample streamed.
    pub fn stream_divider(&self) -> u16 {
        self.stream_divider
    }

    /// Connecting or connected (worth repainting for).
    pub fn is_live(&self) -> bool {
        !matches!(self.state, ConnectionState::Failed(_))
    }

    /// Whether the device is described and streaming.
    pub fn is_connected(&self) -> bool {
        self.state == ConnectionState::Connected
    }

    /// Whether the device reports its output enabled.
    pub fn output_enabled(&self) -> bool {
        self.status.is_some_and(StatusFlags::enabled)
    }

    /// Events the link thread sent that the app has not taken yet: what
    /// would grow without bound if the app could not keep up.
    pub fn event_backlog(&self) -> usize {
        self.link.as_ref().map_or(0, |link| link.events().len())
    }

    /// Lost and trying to open the port again.
    pub fn is_reconnecting(&self) -> bool {
        matches!(self.state, ConnectionState::Reconnecting { .. })
    }

    /// Gives up reopening a lost connection; what was received stays.
    pub fn stop_reconnecting(&mut self) {
        if let ConnectionState::Reconnecting { lost, .. } = &self.state {
            self.state = ConnectionState::Failed(lost.clone());
            self.reconnect = None;
            // Dropping an attempt in progress lets go of the port.
            self.link = None;
            self.health_window.clear();
        }
    }

    /// Whether the device came back with another description since the
    /// last call (what was kept about the old one no longer applies).
    pub fn take_device_changed(&mut self) -> bool {
        std::mem::take(&mut self.device_changed)
    }

    /// Takes in what the link thread had sent when the frame began, at most
    /// [`MOST_PER_FRAME`] events, and reopens a lost connection when it is
    /// time; the rest waits for the next frame. Beyond [`MOST_BACKLOG`]
    /// waiting events the oldest sample batches are dropped unread and
    /// counted, so a device that sends faster than the app can take in
    /// neither stretches a frame without bound nor grows memory.
    pub fn drain_events(&mut self) {
        let waiting = self.event_backlog();
        for _ in 0..waiting.saturating_sub(MOST_BACKLOG) {
            match self.next_event() {
                Some(LinkEvent::Device(Event::Samples { batch, .. })) => {
                    self.dropped_samples += batch.len() as u64;
                    self.break_before_next_batch = true;
                }
                Some(other) => self.apply(other),
                None => break,
            }
        }
        for _ in 0..waiting.min(MOST_PER_FRAME) {
            match self.next_event() {
                Some(event) => self.apply(event),
                None => break,
            }
        }
        self.retry_when_due();
        self.expire_writes();
        self.sample_health();
    }

    fn next_event(&self) -> Option<LinkEvent> {
        self.link.as_ref()?.events().try_recv().ok()
    }

    fn apply(&mut self, event: LinkEvent) {
        match event {
            LinkEvent::Opened => {}
            LinkEvent::Speaking(protocol) => self.protocol = Some(protocol),
            LinkEvent::Closed(None) => {
                self.end_tap("the link closed");
                self.typed_lines_lost();
                self.procedures.link_lost("the link closed");
            }
            LinkEvent::Closed(Some(error)) => {
                self.end_tap(&format!("the link was lost: {error}"));
                self.typed_lines_lost();
                self.on_closed(error);
            }
            LinkEvent::Device(event) => self.apply_device(event),
            LinkEvent::TypedLine { line, refused } => self.on_typed_line(line, refused),
            LinkEvent::Procedure(event) => self.on_procedure(event),
        }
    }

    /// The link ended: a connection that was up is reopened; one that
    /// never came up, or that cannot come back, fails.
    fn on_closed(&mut self, error: LinkError) {
        // The runner ended the procedure with its link; this only makes
        // sure the session does not wait for a word that cannot come.
        self.procedures
            .link_lost(&format!("the connection was lost: {error}"));
        self.batch_rate.clear();
        if self.is_connected() {
            let reason = error.to_string();
            self.log(LoggedEvent::ConnectionLost { reason });
        }
        match &mut self.state {
            ConnectionState::Connected if worth_retrying(&error) => {
                let now = Instant::now();
                self.reconnect = Some(Reconnect {
                    lost_at: now,
                    next_attempt: now + RECONNECT_INTERVAL,
                    attempt_open: false,
                    switch_off: self.switched_on,
                });
                self.state = ConnectionState::Reconnecting {
                    lost: error,
                    attempts: 0,
                    last_error: None,
                };
                // Nothing is known about the output, or (under auto-detection)
                // the protocol, until the device talks.
                self.status = None;
                self.protocol = None;
                self.stop_pending = false;
                self.pending_sets.clear();
                self.break_before_next_batch = true;
            }
            ConnectionState::Reconnecting { last_error, .. } if worth_retrying(&error) => {
                *last_error = Some(error);
                if let Some(reconnect) = &mut self.reconnect {
                    reconnect.attempt_open = false;
                }
            }
            _ => {
                self.reconnect = None;
                self.state = ConnectionState::Failed(error);
            }
        }
    }

    fn apply_device(&mut self, event: Event) {
        match event {
            Event::Described(info) if self.is_reconnecting() && self.history.is_some() => {
                self.on_reconnected(&info);
                if self.history.is_none() {
                    self.apply_device(Event::Described(info));
                }
                self.state = ConnectionState::Connected;
            }
            Event::Described(info) => {
                let samples_per_s = f64::from(info.loop_hz) / f64::from(self.stream_divider.max(1));
                let capacity = self
                    .history_size
                    .samples(info.channels.len(), samples_per_s);
                self.history = Some(History::new(info.channels.len(), capacity));
                self.capture = CaptureEngine::new(info.channels.len());
                self.params = info
                    .params
                    .iter()
                    .map(|p| ParamView {
                        info: p.clone(),
                        write: WriteState::Idle,
                    })
                    .collect();
                self.pending_sets.clear();
                self.log(LoggedEvent::Connected {
                    device: format!("{} ({})", info.name, info.firmware),
                });
                self.info = Some(info);
                self.state = ConnectionState::Connected;
            }
            Event::Samples { batch, lost_before } => {
                if let Some(recording) = &mut self.recording {
                    recording.write(&batch);
                }
                self.tap_batch(&batch);
                self.capture.on_samples(&batch, lost_before);
                self.show_data_lines(&batch);
                if !batch.is_empty() {
                    self.batch_rate.on_batch(batch.time_of(0));
                }
                if let Some(history) = &mut self.history {
                    // The samples of the outage were lost, however many.
                    let lost = if std::mem::take(&mut self.break_before_next_batch) {
                        lost_before.max(1)
                    } else {
                        lost_before
                    };
                    history.push_batch(&batch, lost);
                }
            }
            Event::Value { index, value } => {
                self.confirm_write(index, value);
            }
            Event::Status { flags, .. } => {
                let time = self.device_time();
                let before = self.status_seen.replace(flags);
                self.event_log
                    .status_changed(time, before, flags, &mut self.output_asked);
                self.status = Some(flags);
                if !flags.enabled() {
                    // The runner ends a procedure whose output went off.
                    self.stop_pending = false;
                }
            }
            Event::Pong { .. } => {}
            Event::Text { level, message } => self.on_text(level, message),
            Event::Refused { request, code } => {
                if request == host_type::SET
                    && let Some(SentSet { index, signal, .. }) = self.pending_sets.pop_front()
                    && let Some(view) = self.params.get_mut(index as usize)
                {
                    let again = view.write == WriteState::Refused(code);
                    view.write = WriteState::Refused(code);
                    if signal && again {
                        // A signal refused write after write is logged once.
                        return;
                    }
                    let name = view.info.name.clone();
                    self.log(LoggedEvent::WriteRefused {
                        name,
                        reason: code.to_string(),
                    });
                }
            }
        }
    }

    /// Device time of the newest sample, if one arrived.
    fn device_time(&self) -> Option<f64> {
        self.history
            .as_ref()
            .and_then(History::time_span)
            .map(|(_, newest)| newest)
    }

    /// Records `event` in the event log at the device time now.
    fn log(&mut self, event: LoggedEvent) {
        let time = self.device_time();
        self.event_log.record(time, event);
    }

    /// Queues a command for the device; false when there is no link to
    /// take it, or while reconnecting: what the user did before the outage
    /// must not reach the device after it.
    fn send(&self, command: Command) -> bool {
        let allowed = !self.is_reconnecting() || command == Command::Enable(false);
        allowed && self.link.as_ref().is_some_and(|link| link.send(command))
    }

    /// Samples a second the device streams, once it described itself.
    pub fn stream_hz(&self) -> Option<f64> {
        let info = self.info.as_ref()?;
        Some(f64::from(info.loop_hz) / f64::from(self.stream_divider.max(1)))
    }

    /// The value in force of every gain and plain setting
    /// ([`ParamInfo::is_tunable`]), in device order: the gain set in force.
    /// Never the setpoint, a mode or a read-only value, so undo and restore
    /// cannot move the axis or switch a mode.
    pub fn gain_set(&self) -> Vec<(String, f32)> {
        self.params
            .iter()
            .filter(|p| p.info.is_tunable())
            .map(|p| (p.info.name.clone(), p.info.value))
            .collect()
    }

    /// Sends ENABLE 0 at once, then aborts a running procedure (its
    /// restoring writes go out). The event log records the stop and `by`.
    pub fn emergency_stop(&mut self, by: StopSource) {
        self.log(LoggedEvent::EmergencyStop { by });
        if self.send(Command::Enable(false)) {
            self.stop_pending = true;
            self.output_asked = Some((false, OutputCause::EmergencyStop));
        }
        self.abort_procedure();
    }

    /// The user switches the output on or off.
    pub fn set_enabled(&mut self, enabled: bool) {
        if self.send(Command::Enable(enabled)) {
            self.output_asked = Some((enabled, OutputCause::User));
            self.switched_on |= enabled;
        }
    }

    /// The user closes the connection: the link sends ENABLE 0 as it lets
    /// go of the port if it switched the output on, and leaves an output it
    /// found on as it was. Returns the event log and the console, which
    /// outlive the session.
    pub fn close(mut self) -> (EventLog, Console) {
        let on = self.output_enabled();
        if on && self.switched_on {
            self.log(LoggedEvent::Output {
                enabled: false,
                cause: OutputCause::Disconnect,
            });
        }
        self.log(LoggedEvent::Disconnected {
            output_left_on: on && !self.switched_on,
        });
        self.typed_lines_lost();
        (
            std::mem::take(&mut self.event_log),
            std::mem::take(&mut self.console),
        )
    }

    /// Counters now, and rates over the last second or so:
    /// (snapshot, samples/s, bytes/s).
    pub fn health(&self) -> Option<(HealthSnapshot, f64, f64)> {
        let latest = self.health_window.back()?;
        let oldest = self.health_window.front()?;
        let (samples, bytes) = latest.rates_since(oldest);
        Some((*latest, samples, bytes))
    }

    /// How the device's clock maps onto the host's, from its batches'
    /// arrivals; `None` before the first, or with no link.
    pub fn host_alignment(&self) -> Option<crate::link::Alignment> {
        self.link.as_ref()?.health().host_alignment()
    }

    /// Whether the stream is more than the link carries, over the last
    /// second. Native devices only: their loop rate sizes the divider.
    pub fn saturation(&self) -> Option<Saturated> {
        if self.protocol != Some(Protocol::Native) {
            return None;
        }
        let info = self.info.as_ref()?;
        let (latest, oldest) = (self.health_window.back()?, self.health_window.front()?);
        let measured = Throughput {
            seconds: latest.at_s - oldest.at_s,
            bytes_in: latest.bytes_in - oldest.bytes_in,
            samples: latest.samples - oldest.samples,
            lost: latest.lost_samples - oldest.lost_samples,
        };
        saturation(info.loop_hz, self.stream_divider, measured)
    }

    fn sample_health(&mut self) {
        let Some(link) = &self.link else {
            return;
        };
        let now = link.health().snapshot();
        self.health_window.push_back(now);
        while self
            .health_window
            .front()
            .is_some_and(|s| now.at_s - s.at_s > 1.0)
        {
            self.health_window.pop_front();
        }
    }
}
