//! What `motiontune bode` measures with: how many setpoint writes a
//! second reach the device (one per sample batch), who excites the loop
//! ([`excitation_for`]: the device itself when it declares its excitation,
//! docs/PROTOCOL.md 4.6), and the plan from the arguments and the device,
//! checked in one place ([`plan`]) before anything is written, with the
//! procedure that runs it ([`procedure`]).

use std::time::{Duration, Instant};

use anyhow::bail;

use super::super::connect::{Wait, next_event};
use super::super::procedure::{closed, setpoint_in_force};
use super::super::{BodeArgs, SignalArg};
use crate::link::{Link, LinkEvent};
use crate::protocol::{DeviceInfo, Event};
use crate::tuning::{
    Excitation, ExcitationKind, ExcitationPlan, ExciteParams, InjectionPoint, Procedure,
    default_effort_amplitude, device_excites, frequency_response, speed_limit,
};

/// Device time the stream is watched for before the plan is checked.
const WATCH_S: f64 = 0.3;
/// Wall-clock time the device has to stream that much.
const WATCH_TIMEOUT: Duration = Duration::from_secs(3);

/// Sample batches a second of device time: the most setpoint writes a
/// second can reach the device, as one is sent per batch received.
pub(super) fn batches_per_second(link: &Link) -> anyhow::Result<f64> {
    let deadline = Instant::now() + WATCH_TIMEOUT;
    let mut first: Option<f64> = None;
    let mut batches = 0usize;
    loop {
        match next_event(link, deadline) {
            Wait::Event(LinkEvent::Device(Event::Samples { batch, .. })) if !batch.is_empty() => {
                let start = batch.time_of(0);
                let since = *first.get_or_insert(start);
                if start - since >= WATCH_S {
                    return Ok(batches as f64 / (start - since));
                }
                batches += 1;
            }
            Wait::Event(LinkEvent::Closed(error)) => return Err(closed(error)),
            Wait::Event(_) => {}
            Wait::Interrupted => {
                bail!("interrupted while watching the stream: the output was never switched on")
            }
            Wait::TimedOut => bail!(
                "{} streamed less than {WATCH_S} s of samples in {} s; a frequency response needs its stream",
                link.target().name(),
                WATCH_TIMEOUT.as_secs()
            ),
        }
    }
}

/// The plan from the arguments, the rest from the device as the tab does;
/// refuses a band the stream or the writes cannot carry, and every plan
/// the excitation would refuse, before anything is written.
pub(super) fn plan(
    args: &BodeArgs,
    info: &DeviceInfo,
    stream_hz: f64,
    write_hz: f64,
    excited: Excited,
) -> anyhow::Result<ExcitationPlan> {
    if let Excited::ByDevice(point) = excited {
        let plan = device_plan(args, info, stream_hz, write_hz, point)?;
        // Every check the device's run makes; the write rate bounds nothing.
        procedure(excited, plan, info)?;
        return Ok(plan);
    }
    let span = info
        .params
        .iter()
        .find(|p| p.flags.setpoint())
        .map_or(1.0, |p| f64::from(p.max) - f64::from(p.min));
    let defaults = ExcitationPlan::for_device(f64::from(info.loop_hz), stream_hz, write_hz, span);
    let to_hz = args.to.unwrap_or(defaults.to_hz);
    let nyquist = stream_hz / 2.0;
    if to_hz >= nyquist {
        bail!(
            "--to {to_hz} Hz is at or above the stream's Nyquist frequency, {nyquist} Hz ({stream_hz} samples a second)"
        );
    }
    let plan = ExcitationPlan {
        kind: signal_kind(args, false),
        from_hz: args.from.unwrap_or(to_hz / 100.0),
        to_hz,
        // By default within the axis's velocity limit, when it has one.
        amplitude: args.amplitude.unwrap_or_else(|| {
            let plan = ExcitationPlan { to_hz, ..defaults };
            speed_limit(info).map_or(plan.amplitude, |limit| plan.within_speed(limit).amplitude)
        }),
        duration_s: args.duration,
        max_write_hz: write_hz,
    };
    if to_hz > plan.highest_hz_for_writes() * (1.0 + 1e-9) {
        bail!(
            "--to {to_hz} Hz is above what the setpoint writes can excite: one goes per sample batch, {write_hz:.0} a second here, and a period needs {}, so use --to {:.1} or less",
            crate::tuning::WRITES_PER_PERIOD,
            (plan.highest_hz_for_writes() * 10.0).floor() / 10.0
        );
    }
    // Every check the excitation makes.
    procedure(excited, plan, info)?;
    Ok(plan)
}

/// The measurement of `plan` on `info` as it is now: the host's setpoint
/// writes, or the device's own excitation through [`frequency_response`].
pub(super) fn procedure(
    excited: Excited,
    plan: ExcitationPlan,
    info: &DeviceInfo,
) -> anyhow::Result<Box<dyn Procedure>> {
    let setpoint = setpoint_in_force(info);
    Ok(match excited {
        Excited::ByHost => Box::new(Excitation::start(plan, info, setpoint)?),
        Excited::ByDevice(point) => frequency_response(plan, point, info, setpoint)?,
    })
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
fn signal_kind(args: &BodeArgs, by_device: bool) -> ExcitationKind {
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
fn device_plan(
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
