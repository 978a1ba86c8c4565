//! The one way a headless command runs a procedure on a device: it
//! switches the output on, lets the loop settle for a time of the device's
//! clock, starts the procedure on the link thread ([`Link::run`], fed at
//! the stream's rate) and waits for its end, then switches the output off.
//!
//! It promises, for every command alike:
//! - once the output is on, however the run ends (it finishes, fails, the
//!   device faults or turns its output off, stops streaming, Ctrl+C or
//!   SIGTERM), the procedure's restoring writes go out once (through
//!   [`Link::abort_procedure`] when the command stops it), the device's
//!   answers to them are awaited, the output is switched off and a
//!   setpoint the firmware moved meanwhile goes back to its value from
//!   before;
//! - an error is one line saying what stopped the run and what was put
//!   back: `interrupted: setpoint restored to 0.25, output off`.

use std::time::{Duration, Instant};

use anyhow::bail;

use super::connect::{Wait, next_event};
use super::guarded_writes::write_one;
use crate::link::{Link, LinkError, LinkEvent, ProcedureEvent};
use crate::protocol::{Command, DeviceInfo, Event, ParamInfo, StatusFlags, TextLevel};
use crate::tuning::{ExciteParams, Outcome, ParamWrite, Procedure, RelayParams};

/// How long the device has to confirm ENABLE with its status.
const ENABLE_TIMEOUT: Duration = Duration::from_secs(2);
/// Wall-clock slack on top of twice the run's device time before the
/// command decides the device stopped streaming.
const STREAM_SLACK: Duration = Duration::from_secs(5);
/// How long the link has to report the end of a procedure it was asked to
/// stop, and the device to answer the restoring writes.
const RESTORE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the device has to report its output off at the end.
const DISABLE_TIMEOUT: Duration = Duration::from_secs(1);
/// Longest a wait for the link sleeps while the procedure runs.
const POLL: Duration = Duration::from_millis(100);

/// How a command runs its procedure.
#[derive(Clone, Copy, Debug)]
pub struct Setup {
    /// What the messages call the run: "the test", "the measurement".
    pub what: &'static str,
    /// Device time the loop holds its setpoint after ENABLE before the
    /// procedure starts.
    pub settle_s: f64,
    /// Device time the procedure takes at most once started; twice that
    /// and the settle, and [`STREAM_SLACK`], of wall-clock time without its
    /// end and the device is taken to have stopped streaming.
    pub device_time_s: f64,
}

/// What ended a run before the procedure did by itself.
enum Stop {
    Interrupted,
    Silent,
    /// The device's status: a fault, a trip, the output off.
    Device(&'static str),
}

/// Switches the output on, runs the procedure `start` builds from the
/// device as it is after the settle (the setpoint an ODrive re-seeds on
/// entering closed loop), and switches the output off however it ends.
/// Returns what the procedure measured.
pub fn run(
    link: &Link,
    info: &mut DeviceInfo,
    setup: Setup,
    start: impl FnOnce(&DeviceInfo) -> anyhow::Result<Box<dyn Procedure>>,
) -> anyhow::Result<Vec<Outcome>> {
    let found = setpoint_in_force(info);
    link.send(Command::Enable(true));
    let outcome = wait_enabled(link, &mut info.params)
        .and_then(|()| settle_and_run(link, info, setup, start));
    link.send(Command::Enable(false));
    put_back_setpoint(link, found, &mut info.params);
    outcome
}

/// Waits `setup.settle_s` of device time, starts the procedure and waits
/// for its end; stops it on Ctrl+C, SIGTERM or a silent device.
fn settle_and_run(
    link: &Link,
    info: &mut DeviceInfo,
    setup: Setup,
    start: impl FnOnce(&DeviceInfo) -> anyhow::Result<Box<dyn Procedure>>,
) -> anyhow::Result<Vec<Outcome>> {
    let device_time = setup.settle_s + setup.device_time_s;
    let wall_limit = Duration::from_secs_f64(device_time) * 2 + STREAM_SLACK;
    let began = Instant::now();
    let mut start = Some(start);
    let mut started = false;
    let mut feed_from = None;
    let mut run = Run::default();
    let stop = loop {
        let event = match next_event(link, Instant::now() + POLL) {
            Wait::Interrupted => break Stop::Interrupted,
            _ if began.elapsed() > wall_limit => break Stop::Silent,
            Wait::Event(event) => event,
            Wait::TimedOut => continue,
        };
        match event {
            LinkEvent::Device(Event::Samples { batch, .. }) if !started && !batch.is_empty() => {
                let from = *feed_from.get_or_insert(batch.time_of(0) + setup.settle_s);
                if let Some(start) = start.take_if(|_| batch.time_of(0) >= from) {
                    if !link.run(start(info)?) {
                        bail!(closed(None));
                    }
                    started = true;
                }
            }
            LinkEvent::Device(Event::Status { flags, .. }) => {
                if let Some(problem) = stopped_by(flags) {
                    break Stop::Device(problem);
                }
            }
            LinkEvent::Device(event) => run.device(&event, &mut info.params),
            LinkEvent::Procedure(event) => {
                let ended = run.follow(event);
                if ended {
                    return run.finish(link, info, setup, None);
                }
            }
            LinkEvent::Closed(error) => bail!(closed(error)),
            _ => {}
        }
    };
    if started {
        // The link thread stopped it already on a status; asking again is
        // harmless, as nothing runs by then.
        link.abort_procedure();
        run.wait_for_end(link, &mut info.params);
    }
    run.finish(link, info, setup, Some(stop))
}

/// What the command saw of the procedure.
#[derive(Default)]
struct Run {
    outcomes: Vec<Outcome>,
    /// The last value written to each parameter not yet confirmed by the
    /// device, in the order written.
    unconfirmed: Vec<ParamWrite>,
    /// Every parameter the procedure wrote, with its last value, in order.
    written: Vec<ParamWrite>,
    ended: Option<Option<String>>,
}

impl Run {
    /// Takes in one event of the procedure's; true once it has ended.
    fn follow(&mut self, event: ProcedureEvent) -> bool {
        match event {
            ProcedureEvent::Wrote { write, .. } => {
                for list in [&mut self.unconfirmed, &mut self.written] {
                    list.retain(|w| w.index != write.index);
                    list.push(write);
                }
            }
            ProcedureEvent::Outcome(outcome) => self.outcomes.push(*outcome),
            ProcedureEvent::Ended { failure, .. } => self.ended = Some(failure),
            ProcedureEvent::Started { .. } | ProcedureEvent::State(_) => {}
        }
        self.ended.is_some()
    }

    /// Something the device said: a value it reports is in force, and
    /// answers a write of it.
    fn device(&mut self, event: &Event, params: &mut [ParamInfo]) {
        if let Event::Value { index, value } = *event {
            self.unconfirmed
                .retain(|w| !(w.index == index && w.value == value));
        }
        note_value(event, params);
    }

    /// Waits (without looking at Ctrl+C: it came already, or the run
    /// ended) for the procedure's end.
    fn wait_for_end(&mut self, link: &Link, params: &mut [ParamInfo]) {
        let deadline = Instant::now() + RESTORE_TIMEOUT;
        while self.ended.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            match link.events().recv_timeout(left) {
                Ok(LinkEvent::Procedure(event)) => {
                    self.follow(event);
                }
                Ok(LinkEvent::Device(event)) => self.device(&event, params),
                Ok(_) => {}
                Err(_) => return,
            }
        }
    }

    /// Waits for the device to answer the writes it has not answered yet;
    /// says what was put back, or why that is not known.
    fn confirm_restored(
        &mut self,
        link: &Link,
        params: &mut [ParamInfo],
    ) -> Result<String, String> {
        let deadline = Instant::now() + RESTORE_TIMEOUT;
        while let Some(write) = self.unconfirmed.first().copied() {
            let left = deadline.saturating_duration_since(Instant::now());
            match link.events().recv_timeout(left) {
                Ok(LinkEvent::Device(event)) => self.device(&event, params),
                Ok(LinkEvent::Closed(_)) => {
                    return Err("the link closed before the setpoint was restored".to_owned());
                }
                Ok(_) => {}
                Err(_) => {
                    let name = params
                        .get(usize::from(write.index))
                        .map_or("the setpoint", |p| p.name.as_str());
                    return Err(format!(
                        "the device did not confirm {name} back at {} within {} s",
                        write.value,
                        RESTORE_TIMEOUT.as_secs()
                    ));
                }
            }
        }
        Ok(restored(&self.written, params))
    }

    /// The run's outcomes, or the one line saying why there are none.
    fn finish(
        mut self,
        link: &Link,
        info: &mut DeviceInfo,
        setup: Setup,
        stop: Option<Stop>,
    ) -> anyhow::Result<Vec<Outcome>> {
        let restored = self.confirm_restored(link, &mut info.params);
        let said = match &restored {
            Ok(said) | Err(said) => said,
        };
        let what = setup.what;
        match (stop, self.ended.flatten()) {
            (Some(Stop::Interrupted), _) => bail!("interrupted: {said}, output off"),
            (Some(Stop::Silent), _) => {
                bail!("the device stopped streaming during {what}: {said}, output off")
            }
            (Some(Stop::Device(problem)), _) => {
                bail!("the device stopped {what} ({problem}): {said}, output off")
            }
            (None, Some(failure)) => bail!("{failure}: {said}, output off"),
            (None, None) => match restored {
                Ok(_) => Ok(self.outcomes),
                Err(problem) => bail!("{what} ended but {problem}; output off"),
            },
        }
    }
}

/// What the procedure's writes put back, in words, with the values the
/// device reports in force (a device that ended its own excitation
/// reports it off, whatever the procedure last wrote): `setpoint restored
/// to 0.25`, `relay off and setpoint restored to 0`, `excitation stopped
/// and its settings restored`; `setpoint untouched` when it wrote nothing.
fn restored(written: &[ParamWrite], params: &[ParamInfo]) -> String {
    if written.is_empty() {
        return "setpoint untouched".to_owned();
    }
    let relay = RelayParams::find(params).map(|r| r.active);
    let excite = ExciteParams::find(params);
    let excite_setting = |index| {
        excite.is_some_and(|e| {
            [e.amplitude, e.f0, e.f1, e.duration].contains(&index)
                || [e.kind, e.point].contains(&Some(index))
        })
    };
    let mut said: Vec<String> = Vec::new();
    for write in written {
        let index = write.index;
        let param = params.get(usize::from(index));
        let value = param.map_or(write.value, |p| p.value);
        let words = match param {
            _ if relay == Some(index) && value == 0.0 => "relay off".to_owned(),
            _ if excite.is_some_and(|e| e.active == index) && value == 0.0 => {
                "excitation stopped".to_owned()
            }
            _ if excite_setting(index) => "its settings restored".to_owned(),
            Some(p) if p.flags.setpoint() => format!("setpoint restored to {value}"),
            Some(p) => format!("{} back to {value}", p.name),
            None => format!("parameter {index} back to {value}"),
        };
        if !said.contains(&words) {
            said.push(words);
        }
    }
    said.join(" and ")
}

/// The setpoint parameter's value in force; 0 on a device without one
/// (which every procedure refuses).
pub fn setpoint_in_force(info: &DeviceInfo) -> f32 {
    info.params
        .iter()
        .find(|p| p.flags.setpoint() && !p.flags.read_only())
        .map_or(0.0, |p| p.value)
}

/// Keeps `params` at the values the device reports.
fn note_value(event: &Event, params: &mut [ParamInfo]) {
    if let Event::Value { index, value } = *event
        && let Some(param) = params.get_mut(usize::from(index))
    {
        param.value = value;
    }
}

/// Waits until the device's status says the output is on, keeping
/// `params` at the values it reports meanwhile. Interrupted, it says so:
/// the caller turns the output off, and the setpoint has not moved yet.
fn wait_enabled(link: &Link, params: &mut [ParamInfo]) -> anyhow::Result<()> {
    let deadline = Instant::now() + ENABLE_TIMEOUT;
    // The device's own words on what went wrong, when it says any.
    let mut said = None;
    loop {
        match next_event(link, deadline) {
            Wait::Event(LinkEvent::Device(Event::Status { flags, .. })) => {
                if let Some(problem) = fault(flags) {
                    bail!(
                        "the device did not enable its output: {}",
                        said.unwrap_or_else(|| problem.to_owned())
                    );
                }
                if flags.enabled() {
                    return Ok(());
                }
            }
            Wait::Event(LinkEvent::Device(Event::Text {
                level: TextLevel::Error,
                message,
            })) => said = Some(message),
            Wait::Event(LinkEvent::Device(event)) => note_value(&event, params),
            Wait::Event(LinkEvent::Closed(error)) => bail!(closed(error)),
            Wait::Event(_) => {}
            Wait::Interrupted => bail!("interrupted: setpoint untouched, output off"),
            Wait::TimedOut => bail!("the device did not confirm ENABLE within 2 s"),
        }
    }
}

/// Once the device reports its output off, puts the setpoint back to
/// `found` if the firmware moved it meanwhile (an ODrive's closed loop
/// re-seeds `input_pos`); with the output off the write moves nothing.
/// Best effort: the command's own outcome is what it reports.
fn put_back_setpoint(link: &Link, found: f32, params: &mut [ParamInfo]) {
    let deadline = Instant::now() + DISABLE_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match link.events().recv_timeout(left) {
            Ok(LinkEvent::Device(Event::Status { flags, .. })) if !flags.enabled() => break,
            Ok(LinkEvent::Device(event)) => note_value(&event, params),
            Ok(_) => {}
            Err(_) => return,
        }
    }
    let Some(index) = params
        .iter()
        .position(|p| p.flags.setpoint() && !p.flags.read_only())
    else {
        return;
    };
    if params[index].value != found {
        let _ = write_one(link, index as u8, found, params);
    }
}

/// A fault or a trip the device's status reports.
fn fault(flags: StatusFlags) -> Option<&'static str> {
    if flags.fault() {
        Some("the device reports a fault")
    } else if flags.watchdog_tripped() {
        Some("the device's watchdog tripped")
    } else {
        None
    }
}

/// Why a status seen while the output should be on stops the run.
fn stopped_by(flags: StatusFlags) -> Option<&'static str> {
    fault(flags).or((!flags.enabled()).then_some("it turned its output off"))
}

/// The link closed under the run, in one line.
pub(super) fn closed(error: Option<LinkError>) -> anyhow::Error {
    match error {
        Some(error) => anyhow::anyhow!("the link closed during the test: {error}"),
        None => anyhow::anyhow!("the link closed during the test"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ParamFlags;

    fn params() -> Vec<ParamInfo> {
        let mut params = vec![
            ParamInfo::real(
                "pos.setpoint",
                "rad",
                ParamFlags::SETPOINT,
                -10.0,
                10.0,
                0.0,
            ),
            ParamInfo::real("pos.kp", "A/rad", 0, 0.0, 100.0, 20.0),
        ];
        for name in [
            "relay.active",
            "relay.amplitude",
            "relay.hysteresis",
            "relay.travel",
        ] {
            params.push(ParamInfo::real(name, "", 0, 0.0, 10.0, 0.0));
        }
        params
    }

    fn write(index: u8, value: f32) -> ParamWrite {
        ParamWrite { index, value }
    }

    #[test]
    fn what_was_put_back_is_said_in_the_user_s_words() {
        let mut params = params();
        assert_eq!(restored(&[], &params), "setpoint untouched");
        params[0].value = 0.25;
        assert_eq!(
            restored(&[write(0, 0.25)], &params),
            "setpoint restored to 0.25"
        );
        params[0].value = 0.0;
        assert_eq!(
            restored(&[write(2, 0.0), write(0, 0.0)], &params),
            "relay off and setpoint restored to 0"
        );
        params[1].value = 20.0;
        assert_eq!(restored(&[write(1, 20.0)], &params), "pos.kp back to 20");
        for name in [
            "excite.active",
            "excite.amplitude",
            "excite.f0",
            "excite.f1",
            "excite.duration",
        ] {
            params.push(ParamInfo::real(name, "", 0, 0.0, 10.0, 0.0));
        }
        let device_excitation = [6, 7, 8, 9, 10].map(|index| write(index, 0.0));
        assert_eq!(
            restored(&device_excitation, &params),
            "excitation stopped and its settings restored"
        );
        // A device that ended its excitation by itself reports it off: the
        // procedure's last write of excite.active (its start) is not what
        // is in force.
        let restores_only = [write(6, 1.0), write(7, 0.0), write(8, 0.0)];
        assert_eq!(
            restored(&restores_only, &params),
            "excitation stopped and its settings restored"
        );
    }

    /// Only the last write of each parameter counts, and only the device's
    /// answer with that value confirms it.
    #[test]
    fn the_last_write_of_each_parameter_waits_for_its_answer() {
        let mut params = params();
        let mut run = Run::default();
        for (index, value) in [(0, 0.5), (0, 0.7), (2, 1.0), (2, 0.0), (0, 0.0)] {
            let wrote = ProcedureEvent::Wrote {
                write: write(index, value),
                signal: false,
            };
            assert!(!run.follow(wrote));
        }
        assert_eq!(run.unconfirmed, [write(2, 0.0), write(0, 0.0)]);
        // Answers to earlier writes confirm nothing.
        run.device(
            &Event::Value {
                index: 0,
                value: 0.7,
            },
            &mut params,
        );
        run.device(
            &Event::Value {
                index: 2,
                value: 1.0,
            },
            &mut params,
        );
        assert_eq!(run.unconfirmed.len(), 2);
        run.device(
            &Event::Value {
                index: 2,
                value: 0.0,
            },
            &mut params,
        );
        run.device(
            &Event::Value {
                index: 0,
                value: 0.0,
            },
            &mut params,
        );
        assert!(run.unconfirmed.is_empty());
        assert_eq!(params[0].value, 0.0);
        assert_eq!(
            restored(&run.written, &params),
            "relay off and setpoint restored to 0"
        );
        let ended = ProcedureEvent::Ended {
            name: "relay run",
            failure: None,
            aborted: false,
        };
        assert!(run.follow(ended));
    }
}
