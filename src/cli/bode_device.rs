//! `motiontune bode` on a device that excites itself: the measurement
//! chosen by [`frequency_response`] runs on the link's procedure engine,
//! which feeds it every batch and value at the stream's rate, sends its
//! writes, and aborts it (its restoring writes out at once) on a fault, a
//! watchdog trip or the output going off. This loop only starts it once
//! the loop has settled, stops it on Ctrl+C, SIGTERM or a silent device,
//! and takes its result. It also decides who excites ([`excitation_for`])
//! and plans the device's run ([`plan`]).

use std::time::{Duration, Instant};

use anyhow::bail;

use super::connect::{Wait, next_event};
use super::step::{closed, fault, note_value, setpoint_in_force};
use super::{BodeArgs, SignalArg};
use crate::link::{Link, LinkEvent, ProcedureEvent};
use crate::protocol::{DeviceInfo, Event};
use crate::tuning::{
    ExcitationKind, ExcitationPlan, ExciteParams, FrequencyMeasurement, InjectionPoint, Outcome,
    default_effort_amplitude, device_excites, frequency_response, speed_limit,
};

/// Wall-clock slack on top of the plan's device time before the command
/// decides the device stopped streaming.
const STREAM_SLACK: Duration = Duration::from_secs(5);
/// How long an aborted procedure has to say it ended.
const END_TIMEOUT: Duration = Duration::from_secs(2);

/// Starts the measurement `settle_s` of device time after the first batch,
/// and waits for its end; the engine has restored what it changed by then.
pub(super) fn run(
    link: &Link,
    plan: ExcitationPlan,
    point: InjectionPoint,
    settle_s: f64,
    info: &mut DeviceInfo,
) -> anyhow::Result<FrequencyMeasurement> {
    let device_time = settle_s + plan.duration_s;
    let wall_limit = Duration::from_secs_f64(device_time) * 2 + STREAM_SLACK;
    let started = Instant::now();
    let mut start_at = None;
    let mut running = false;
    let mut result = None;
    loop {
        let event = match next_event(link, Instant::now() + Duration::from_millis(100)) {
            Wait::Interrupted => bail!("interrupted: {}, output off", stop(link, running)),
            _ if started.elapsed() > wall_limit => bail!(
                "the device stopped streaming during the measurement: {}, output off",
                stop(link, running)
            ),
            Wait::Event(event) => event,
            Wait::TimedOut => continue,
        };
        match event {
            LinkEvent::Device(Event::Samples { batch, .. }) if !running && !batch.is_empty() => {
                let from = *start_at.get_or_insert(batch.time_of(0) + settle_s);
                if batch.time_of(0) >= from {
                    let procedure = frequency_response(plan, point, info, setpoint_in_force(info))?;
                    running = link.run(procedure);
                }
            }
            LinkEvent::Device(Event::Status { flags, .. })
                if !running && (!flags.enabled() || fault(flags).is_some()) =>
            {
                let problem = fault(flags).unwrap_or("it turned its output off");
                bail!("the device stopped the measurement ({problem}) before it started");
            }
            LinkEvent::Device(event) => note_value(&event, &mut info.params),
            LinkEvent::Procedure(ProcedureEvent::Outcome(outcome)) => {
                if let Outcome::FrequencyResponse(measurement) = *outcome {
                    result = Some(measurement);
                }
            }
            LinkEvent::Procedure(ProcedureEvent::Ended { failure, .. }) => {
                return match (failure, result) {
                    (None, Some(measurement)) => Ok(measurement),
                    (Some(failure), _) => {
                        bail!(
                            "the device's excitation stopped: {failure}; settings restored, output off"
                        )
                    }
                    (None, None) => bail!("the measurement ended without a result"),
                };
            }
            LinkEvent::Closed(error) => return Err(closed(error)),
            _ => {}
        }
    }
}

/// Stops the measurement under way, if one is, and waits for the engine
/// to say it ended (its restoring writes then went out); says how.
fn stop(link: &Link, running: bool) -> &'static str {
    if !running {
        return "nothing written";
    }
    link.abort_procedure();
    let deadline = Instant::now() + END_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match link.events().recv_timeout(left) {
            Ok(LinkEvent::Procedure(ProcedureEvent::Ended { .. })) => {
                return "excitation stopped and its settings restored";
            }
            Ok(LinkEvent::Closed(_)) | Err(_) => return "the excitation may still be running",
            Ok(_) => {}
        }
    }
}

/// Who excites the loop, and where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Excited {
    /// The host writes the setpoint once a sample batch.
    ByHost,
    /// The device generates the signal at its loop rate.
    ByDevice(InjectionPoint),
}

/// The device's own excitation when it declares one and `--host-writes`
/// is not given; on its output when it can inject there.
pub(super) fn excitation_for(args: &BodeArgs, info: &DeviceInfo) -> Excited {
    let probe = ExcitationPlan {
        kind: signal_kind(args, true),
        ..ExcitationPlan::for_device(1.0, 1.0, 1.0, 1.0)
    };
    match ExciteParams::find(&info.params) {
        Some(params) if !args.host_writes && device_excites(&probe, info) => {
            Excited::ByDevice(if params.can_inject_effort(info) {
                InjectionPoint::Effort
            } else {
                InjectionPoint::Setpoint
            })
        }
        _ => Excited::ByHost,
    }
}

/// `--signal`, or by default a PRBS when the device excites itself (at a
/// given peak it puts the most power at every frequency, so its points
/// stay coherent highest) and a chirp otherwise.
pub(super) fn signal_kind(args: &BodeArgs, by_device: bool) -> ExcitationKind {
    match args.signal {
        Some(SignalArg::Chirp) => ExcitationKind::Chirp,
        Some(SignalArg::Sine) => ExcitationKind::SteppedSine,
        Some(SignalArg::Prbs) => ExcitationKind::Prbs,
        None if by_device => ExcitationKind::Prbs,
        None => ExcitationKind::Chirp,
    }
}

/// The plan for a device that excites itself: up to a twentieth of its
/// loop and a fifth of the stream by default, below the stream's Nyquist
/// frequency; an effort injection's amplitude from its output limit.
pub(super) fn plan(
    args: &BodeArgs,
    info: &DeviceInfo,
    stream_hz: f64,
    write_hz: f64,
    point: InjectionPoint,
) -> anyhow::Result<ExcitationPlan> {
    let to_hz = args
        .to
        .unwrap_or((f64::from(info.loop_hz) / 20.0).min(stream_hz / 5.0));
    let nyquist = stream_hz / 2.0;
    if to_hz >= nyquist {
        bail!(
            "--to {to_hz} Hz is at or above the stream's Nyquist frequency, {nyquist} Hz ({stream_hz} samples a second)"
        );
    }
    let span = info
        .params
        .iter()
        .find(|p| p.flags.setpoint())
        .map_or(1.0, |p| f64::from(p.max) - f64::from(p.min));
    let amplitude = match (args.amplitude, point) {
        (Some(amplitude), _) => amplitude,
        (None, InjectionPoint::Effort) => ExciteParams::find(&info.params)
            .map_or(1.0, |params| default_effort_amplitude(info, &params)),
        (None, InjectionPoint::Setpoint) => {
            let plan = ExcitationPlan {
                to_hz,
                ..ExcitationPlan::for_device(f64::from(info.loop_hz), stream_hz, write_hz, span)
            };
            speed_limit(info).map_or(plan.amplitude, |limit| plan.within_speed(limit).amplitude)
        }
    };
    Ok(ExcitationPlan {
        kind: signal_kind(args, true),
        from_hz: args.from.unwrap_or(to_hz / 100.0),
        to_hz,
        amplitude,
        duration_s: args.duration,
        // The device excites itself: no write is part of the signal.
        max_write_hz: write_hz,
    })
}
