//! `motiontune bode`: a frequency-response measurement on a connected
//! device, headless, with the tab's excitation and estimator. It watches
//! the stream to learn how often setpoint writes can reach the device (one
//! per sample batch, at most [`DEFAULT_MAX_WRITE_HZ`]), checks the plan
//! against that, the stream's Nyquist frequency and the setpoint's limits,
//! then enables the output, lets the loop settle, runs the excitation and
//! prints the figures and the points as text, JSON or CSV ([`report`]).
//!
//! A device that declares its own excitation (docs/PROTOCOL.md 4.6)
//! excites itself at its loop rate: the command then picks it through
//! [`frequency_response`](crate::tuning::frequency_response), injects on
//! the output when the device can (the plant through its resonances, above
//! the loop's bandwidth), and the write rate no longer bounds the band.
//! `--host-writes` keeps the host's setpoint writes.
//!
//! Nothing is written before every check has passed. Once the output is
//! on, whatever happens (the measurement ends, fails, the device stops
//! streaming, Ctrl+C or SIGTERM) the setpoint goes back to its value from
//! before and the output is turned off before the command exits, as with
//! `motiontune step` ([`super::procedure`]); Ctrl+C or SIGTERM before then
//! (connecting, watching the stream) ends the command with the output
//! never switched on.

mod plan;
mod report;

use anyhow::{Context, bail};

use super::BodeArgs;
use super::connect::connect;
use super::procedure::{self, Setup};
use crate::protocol::ChannelRole;
use crate::tuning::{DEFAULT_MAX_WRITE_HZ, InjectionPoint, Outcome};
use plan::Excited;

pub fn run(args: &BodeArgs) -> anyhow::Result<()> {
    if let (Some(from), Some(to)) = (args.from, args.to)
        && from >= to
    {
        bail!("--from must be below --to, not {from} … {to} Hz");
    }
    let (link, mut info) = connect(args.port.target()?, args.divider)?;
    let stream_hz = f64::from(info.loop_hz) / f64::from(args.divider);
    let write_hz = plan::batches_per_second(&link)?.min(DEFAULT_MAX_WRITE_HZ);
    let excited = plan::excitation_for(args, &info);
    let plan = plan::plan(args, &info, stream_hz, write_hz, excited)?;

    // Started from the setpoint the device reports after the settle (an
    // ODrive moves it on entering closed loop).
    let setup = Setup {
        what: "the measurement",
        settle_s: args.settle,
        device_time_s: plan.duration_s,
    };
    let outcomes = procedure::run(&link, &mut info, setup, |info| {
        plan::procedure(excited, plan, info)
    })?;
    let measurement = outcomes
        .into_iter()
        .find_map(|outcome| match outcome {
            Outcome::FrequencyResponse(measurement) => Some(measurement),
            _ => None,
        })
        .context("the measurement ended without a result")?;

    let unit_of = |role| {
        info.channels
            .iter()
            .find(|c| c.role == role)
            .map_or_else(String::new, |c| c.unit.clone())
    };
    let feedback_unit = unit_of(ChannelRole::Feedback);
    // The amplitude's unit: the effort's when the device injects there.
    let amplitude_unit = match excited {
        Excited::ByDevice(InjectionPoint::Effort) => unit_of(ChannelRole::Effort),
        _ => info
            .params
            .iter()
            .find(|p| p.flags.setpoint())
            .map_or_else(String::new, |p| p.unit.clone()),
    };
    let summary = report::Summary {
        device: &info.name,
        port: link.target().name(),
        unit: &amplitude_unit,
        feedback_unit: &feedback_unit,
        write_hz,
        excited,
        measurement: &measurement,
    };
    if let Some(path) = &args.csv {
        report::write_csv(path, &measurement.points)?;
        super::report::print(&summary.text(false))?;
    } else if args.json {
        let document = serde_json::to_string_pretty(&summary.json())?;
        super::report::print(&format!("{document}\n"))?;
    } else {
        super::report::print(&summary.text(true))?;
    }
    Ok(())
}
