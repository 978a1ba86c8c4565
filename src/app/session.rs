//! What the app knows about the device it is connected to: the link, the
//! description, the sample history, each parameter's write state and the
//! last status. Events from the link are drained once per frame; commands
//! go out without waiting.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::capture::CaptureEngine;
use crate::history::{History, HistorySize};
use crate::link::{HealthSnapshot, Link, LinkError, LinkEvent, LinkOptions, PortTarget};
use crate::protocol::adapter::Protocol;
use crate::protocol::native::message::host_type;
use crate::protocol::{
    Command, DeviceErrorCode, DeviceInfo, Event, ParamInfo, StatusFlags, TextLevel,
};
use crate::record::Recording;
use crate::tuning::{
    Excitation, ExcitationError, ExcitationPlan, FrequencyMeasurement, ParamWrite, RelayError,
    RelayPlan, RelayTest, StepPlan, StepResponse, StepTest, StepTestError,
};

/// A write the device has not answered within this is marked as lost.
const WRITE_TIMEOUT: Duration = Duration::from_secs(1);

/// Where the connection stands.
#[derive(Clone, Debug, PartialEq)]
pub enum ConnectionState {
    Connecting,
    Connected,
    /// Ended by the device, the cable or an error.
    Failed(LinkError),
}

/// The state of the last write to one parameter.
#[derive(Clone, Debug, PartialEq)]
pub enum WriteState {
    Idle,
    Pending {
        requested: f32,
        since: Instant,
    },
    Confirmed,
    /// The device applied a different value (its limits).
    Clamped {
        requested: f32,
    },
    Refused(DeviceErrorCode),
    /// No answer arrived in time.
    Unanswered {
        requested: f32,
    },
}

/// A confirmed parameter write, placed on the device's time axis.
#[derive(Clone, Debug, PartialEq)]
pub struct WriteMark {
    /// Device time of the newest sample when the device confirmed it.
    pub time_s: f64,
    pub name: String,
    pub value: f32,
    /// The value in force before the write.
    pub previous: f32,
    pub unit: String,
    /// A write of the setpoint, not of a gain or setting.
    pub setpoint: bool,
}

/// One parameter as the app shows it.
#[derive(Clone, Debug)]
pub struct ParamView {
    pub info: ParamInfo,
    pub write: WriteState,
}

impl ParamView {
    /// The value to show: the request while it is pending, else the
    /// device's value.
    pub fn shown_value(&self) -> f32 {
        match self.write {
            WriteState::Pending { requested, .. } => requested,
            _ => self.info.value,
        }
    }
}

/// The app's side of one device connection.
pub struct DeviceSession {
    link: Link,
    pub state: ConnectionState,
    pub info: Option<DeviceInfo>,
    /// The wire format the device turned out to speak.
    pub protocol: Option<Protocol>,
    pub history: Option<History>,
    pub params: Vec<ParamView>,
    pub status: Option<StatusFlags>,
    /// An emergency stop was sent and the device has not yet confirmed it.
    pub stop_pending: bool,
    pub last_text: Option<(TextLevel, String)>,
    /// SETs awaiting an answer, oldest first: a refusal carries no index.
    pending_sets: VecDeque<u8>,
    health_window: VecDeque<HealthSnapshot>,
    /// Every confirmed write, oldest first.
    pub writes: Vec<WriteMark>,
    /// Watches the stream for the scope's trigger.
    pub capture: CaptureEngine,
    /// The CSV recording in progress (or finishing), fed every batch.
    pub recording: Option<Recording>,
    /// The step test in progress or last ended, fed every batch.
    pub step_test: Option<StepTest>,
    /// Steps the test measured that the app has not taken yet.
    pub measured_steps: Vec<StepResponse>,
    /// The frequency-response measurement in progress or last ended.
    pub excitation: Option<Excitation>,
    /// Finished frequency responses the app has not taken yet.
    pub measured_responses: Vec<FrequencyMeasurement>,
    /// The relay auto-tune run in progress or last ended, fed every batch.
    pub relay: Option<RelayTest>,
    history_size: HistorySize,
    stream_divider: u16,
}

impl DeviceSession {
    /// Starts connecting; returns at once.
    pub fn connect(target: PortTarget, stream_divider: u16, history_size: HistorySize) -> Self {
        let mut options = LinkOptions::new(target);
        options.stream_divider = stream_divider;
        Self {
            link: Link::open(options),
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
            capture: CaptureEngine::new(0),
            recording: None,
            step_test: None,
            measured_steps: Vec::new(),
            excitation: None,
            measured_responses: Vec::new(),
            relay: None,
            history_size,
            stream_divider,
        }
    }

    pub fn target(&self) -> &PortTarget {
        self.link.target()
    }

    /// Connecting or connected (worth repainting for).
    pub fn is_live(&self) -> bool {
        !matches!(self.state, ConnectionState::Failed(_))
    }

    pub fn is_connected(&self) -> bool {
        self.state == ConnectionState::Connected
    }

    /// Whether the device reports its output enabled.
    pub fn output_enabled(&self) -> bool {
        self.status.is_some_and(StatusFlags::enabled)
    }

    /// Takes everything the link thread sent since the last frame.
    pub fn drain_events(&mut self) {
        while let Ok(event) = self.link.events().try_recv() {
            self.apply(event);
        }
        self.expire_writes();
        self.sample_health();
    }

    fn apply(&mut self, event: LinkEvent) {
        match event {
            LinkEvent::Opened => {}
            LinkEvent::Speaking(protocol) => self.protocol = Some(protocol),
            LinkEvent::Closed(None) => {}
            LinkEvent::Closed(Some(error)) => self.state = ConnectionState::Failed(error),
            LinkEvent::Device(event) => self.apply_device(event),
        }
    }

    fn apply_device(&mut self, event: Event) {
        match event {
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
                self.info = Some(info);
                self.state = ConnectionState::Connected;
            }
            Event::Samples { batch, lost_before } => {
                if let Some(recording) = &mut self.recording {
                    recording.write(&batch);
                }
                self.capture.on_samples(&batch, lost_before);
                self.feed_step_test(&batch);
                self.feed_excitation(&batch);
                self.feed_relay(&batch);
                if let Some(history) = &mut self.history {
                    history.push_batch(&batch, lost_before);
                }
            }
            Event::Value { index, value } => {
                self.confirm_write(index, value);
                if let Some(relay) = &mut self.relay {
                    let writes = relay.on_value(index, value);
                    self.send_writes(&writes);
                }
            }
            Event::Status { flags, .. } => {
                self.status = Some(flags);
                if !flags.enabled() {
                    self.stop_pending = false;
                    self.abort_relay();
                }
            }
            Event::Pong { .. } => {}
            Event::Text { level, message } => self.last_text = Some((level, message)),
            Event::Refused { request, code } => {
                if request == host_type::SET
                    && let Some(index) = self.pending_sets.pop_front()
                    && let Some(view) = self.params.get_mut(index as usize)
                {
                    view.write = WriteState::Refused(code);
                }
            }
        }
    }

    fn confirm_write(&mut self, index: u8, value: f32) {
        let Some(view) = self.params.get_mut(index as usize) else {
            return;
        };
        let previous = view.info.value;
        view.info.value = value;
        // A VALUE answering our SET is a write; one answering a GET is not.
        if self.pending_sets.contains(&index) {
            let time_s = self
                .history
                .as_ref()
                .and_then(History::time_span)
                .map_or(f64::NAN, |(_, newest)| newest);
            self.writes.push(WriteMark {
                time_s,
                name: view.info.name.clone(),
                value,
                previous,
                unit: view.info.unit.clone(),
                setpoint: view.info.flags.setpoint(),
            });
            self.capture.on_write(time_s);
        }
        if let Some(at) = self.pending_sets.iter().position(|&i| i == index) {
            self.pending_sets.remove(at);
        }
        if let WriteState::Pending { requested, .. } = view.write {
            // The device answers every SET; a drag sends several, so only
            // the answer to the last one decides the state.
            if self.pending_sets.contains(&index) {
                return;
            }
            let tolerance = 1e-6 * requested.abs().max(1e-12);
            view.write = if (value - requested).abs() <= tolerance {
                WriteState::Confirmed
            } else {
                WriteState::Clamped { requested }
            };
        }
    }

    fn expire_writes(&mut self) {
        for view in &mut self.params {
            if let WriteState::Pending { requested, since } = view.write
                && since.elapsed() > WRITE_TIMEOUT
            {
                view.write = WriteState::Unanswered { requested };
            }
        }
    }

    /// Writes a parameter; the answer arrives later as a state change.
    pub fn write_param(&mut self, index: u8, value: f32) {
        let Some(view) = self.params.get_mut(index as usize) else {
            return;
        };
        if self.link.send(Command::Set { index, value }) {
            view.write = WriteState::Pending {
                requested: value,
                since: Instant::now(),
            };
            self.pending_sets.push_back(index);
        }
    }

    /// Sends a setpoint write without the pending state and write marker an
    /// ordinary write gets: an excitation writes hundreds a second, and its
    /// reference channel already shows what the device followed.
    pub fn write_setpoint_quietly(&mut self, index: u8, value: f32) {
        self.link.send(Command::Set { index, value });
    }

    /// Samples a second the device streams, once it described itself.
    pub fn stream_hz(&self) -> Option<f64> {
        let info = self.info.as_ref()?;
        Some(f64::from(info.loop_hz) / f64::from(self.stream_divider.max(1)))
    }

    /// The setpoint parameter's value in force.
    fn setpoint_now(&self) -> Option<f32> {
        self.params
            .iter()
            .find(|p| p.info.flags.setpoint() && !p.info.flags.read_only())
            .map(|p| p.info.value)
    }

    /// Starts a frequency-response measurement on the setpoint.
    pub fn start_excitation(&mut self, plan: ExcitationPlan) -> Result<(), ExcitationError> {
        let info = self.info.as_ref().ok_or(ExcitationError::NoSetpoint)?;
        let setpoint_now = self.setpoint_now().ok_or(ExcitationError::NoSetpoint)?;
        self.excitation = Some(Excitation::start(plan, info, setpoint_now)?);
        Ok(())
    }

    /// A frequency-response measurement is in progress.
    pub fn excitation_running(&self) -> bool {
        self.excitation.as_ref().is_some_and(|e| !e.is_done())
    }

    /// Stops a running measurement and restores the setpoint at once.
    pub fn abort_excitation(&mut self) {
        if let Some(excitation) = self.excitation.as_mut().filter(|e| !e.is_done()) {
            let restore = excitation.abort();
            self.write_param(restore.index, restore.value);
        }
    }

    fn feed_excitation(&mut self, batch: &crate::protocol::SampleBatch) {
        let Some(excitation) = &mut self.excitation else {
            return;
        };
        let write = excitation.on_samples(batch);
        let done = excitation.is_done();
        self.measured_responses.extend(excitation.take_result());
        if let Some(write) = write {
            if done {
                // The restoring write is an ordinary one: it shows on the scope.
                self.write_param(write.index, write.value);
            } else {
                self.write_setpoint_quietly(write.index, write.value);
            }
        }
    }

    /// Starts a step test on the setpoint parameter; its writes and
    /// measured steps follow from the samples as they arrive.
    pub fn start_step_test(&mut self, plan: StepPlan) -> Result<(), StepTestError> {
        let info = self.info.as_ref().ok_or(StepTestError::NoSetpoint)?;
        if !self.output_enabled() {
            return Err(StepTestError::OutputOff);
        }
        let setpoint_now = self
            .params
            .iter()
            .find(|p| p.info.flags.setpoint() && !p.info.flags.read_only())
            .map(|p| p.info.value)
            .ok_or(StepTestError::NoSetpoint)?;
        let test = StepTest::start(plan, info, setpoint_now, Default::default())?;
        self.step_test = Some(test);
        Ok(())
    }

    /// A step test is in progress.
    pub fn step_test_running(&self) -> bool {
        self.step_test.as_ref().is_some_and(|t| !t.is_done())
    }

    /// Stops a running step test and restores the setpoint at once.
    pub fn abort_step_test(&mut self) {
        if let Some(test) = self.step_test.as_mut().filter(|t| !t.is_done()) {
            let restore = test.abort();
            self.write_param(restore.index, restore.value);
        }
    }

    fn feed_step_test(&mut self, batch: &crate::protocol::SampleBatch) {
        let Some(test) = &mut self.step_test else {
            return;
        };
        let write = test.on_samples(batch);
        self.measured_steps.extend(test.take_responses());
        if let Some(write) = write {
            self.write_param(write.index, write.value);
        }
    }

    /// The current value of every writable parameter that is not the
    /// setpoint, in device order: the gain set in force.
    pub fn gain_set(&self) -> Vec<(String, f32)> {
        self.params
            .iter()
            .filter(|p| !p.info.flags.read_only() && !p.info.flags.setpoint())
            .map(|p| (p.info.name.clone(), p.info.value))
            .collect()
    }

    /// Some write has been sent and not yet answered.
    pub fn write_in_flight(&self) -> bool {
        self.params
            .iter()
            .any(|p| matches!(p.write, WriteState::Pending { .. }))
    }

    /// Sends ENABLE 0 at once, then stops a running step test and
    /// restores its setpoint.
    pub fn emergency_stop(&mut self) {
        if self.link.send(Command::Enable(false)) {
            self.stop_pending = true;
        }
        self.abort_step_test();
        self.abort_excitation();
        self.abort_relay();
    }

    /// Starts a relay auto-tune run in the device's relay mode; its writes
    /// and result follow from the samples as they arrive.
    pub fn start_relay(&mut self, plan: RelayPlan) -> Result<(), RelayError> {
        let info = self.info.as_ref().ok_or(RelayError::NoRelayMode)?;
        let mut info = info.clone();
        for (param, view) in info.params.iter_mut().zip(&self.params) {
            param.value = view.info.value;
        }
        self.relay = Some(RelayTest::start(plan, &info, self.output_enabled())?);
        Ok(())
    }

    /// A relay run is in progress.
    pub fn relay_running(&self) -> bool {
        self.relay.as_ref().is_some_and(|r| !r.is_done())
    }

    /// Stops a running relay run: relay off, setpoint restored.
    pub fn abort_relay(&mut self) {
        if let Some(relay) = self.relay.as_mut().filter(|r| !r.is_done()) {
            let writes = relay.abort();
            self.send_writes(&writes);
        }
    }

    fn feed_relay(&mut self, batch: &crate::protocol::SampleBatch) {
        if let Some(relay) = &mut self.relay {
            let writes = relay.on_samples(batch);
            self.send_writes(&writes);
        }
    }

    fn send_writes(&mut self, writes: &[ParamWrite]) {
        for write in writes {
            self.write_param(write.index, write.value);
        }
    }

    pub fn set_enabled(&mut self, enabled: bool) {
        self.link.send(Command::Enable(enabled));
    }

    /// Counters now, and rates over the last second or so:
    /// (snapshot, samples/s, bytes/s).
    pub fn health(&self) -> Option<(HealthSnapshot, f64, f64)> {
        let latest = self.health_window.back()?;
        let oldest = self.health_window.front()?;
        let (samples, bytes) = latest.rates_since(oldest);
        Some((*latest, samples, bytes))
    }

    fn sample_health(&mut self) {
        let now = self.link.health().snapshot();
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
