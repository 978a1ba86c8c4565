//! `motiontune bode`: a frequency-response measurement on a connected
//! device, headless, with the tab's excitation and estimator. It watches
//! the stream to learn how often setpoint writes can reach the device (one
//! per sample batch, at most [`DEFAULT_MAX_WRITE_HZ`]), checks the plan
//! against that, the stream's Nyquist frequency and the setpoint's limits,
//! then enables the output, lets the loop settle, runs [`Excitation`] and
//! prints the figures and the points as text, JSON or CSV.
//!
//! A device that declares its own excitation (docs/PROTOCOL.md 4.6)
//! excites itself at its loop rate: the command then picks it through
//! [`frequency_response`], injects on the output when the device can (the
//! plant through its resonances, above the loop's bandwidth), and runs it
//! on the link's procedure engine; the write rate no longer bounds the
//! band. `--host-writes` keeps the host's setpoint writes.
//!
//! Nothing is written before every check has passed. Once the output is
//! on, whatever happens (the measurement ends, fails, the device stops
//! streaming, Ctrl+C or SIGTERM) the setpoint goes back to its value from
//! before and the output is turned off before the command exits, as with
//! `motiontune step`; Ctrl+C or SIGTERM before then (connecting, watching
//! the stream) ends the command with the output never switched on.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use realfft::num_complex::Complex64;
use serde_json::{Value, json};

use super::BodeArgs;
use super::bode_device::Excited;
use super::connect::{Wait, connect, next_event};
use super::report;
use super::step::{
    closed, fault, note_value, put_back_setpoint, send, setpoint_in_force, wait_enabled,
};
use crate::analysis::{
    BodePoint, COHERENT, LoopFigures, decibels, plant_peak, unwrapped_phase_deg,
};
use crate::link::{Link, LinkEvent};
use crate::protocol::{ChannelRole, Command, DeviceInfo, Event};
use crate::tuning::{
    DEFAULT_MAX_WRITE_HZ, Excitation, ExcitationPlan, ExcitationState, FrequencyMeasurement,
    InjectionPoint, ParamWrite, frequency_response, speed_limit,
};

/// Device time the stream is watched for before the plan is checked.
const WATCH_S: f64 = 0.3;
/// Wall-clock time the device has to stream that much.
const WATCH_TIMEOUT: Duration = Duration::from_secs(3);
/// Wall-clock slack on top of the plan's device time before the command
/// decides the device stopped streaming.
const STREAM_SLACK: Duration = Duration::from_secs(5);
/// How long the device has to confirm the restored setpoint.
const RESTORE_TIMEOUT: Duration = Duration::from_secs(2);
/// Rows a decade in the text table; JSON and CSV hold every point.
const TABLE_ROWS_PER_DECADE: f64 = 10.0;

pub fn run(args: &BodeArgs) -> anyhow::Result<()> {
    if let (Some(from), Some(to)) = (args.from, args.to)
        && from >= to
    {
        bail!("--from must be below --to, not {from} … {to} Hz");
    }
    let (link, mut info) = connect(args.port.target(), args.divider)?;
    let stream_hz = f64::from(info.loop_hz) / f64::from(args.divider);
    let write_hz = batches_per_second(&link)?.min(DEFAULT_MAX_WRITE_HZ);
    let excitation = super::bode_device::excitation_for(args, &info);
    let plan = plan(args, &info, stream_hz, write_hz, excitation)?;
    // Every check the excitation makes, before anything is written.
    match excitation {
        Excited::ByHost => drop(Excitation::start(plan, &info, setpoint_in_force(&info))?),
        Excited::ByDevice(point) => {
            drop(frequency_response(
                plan,
                point,
                &info,
                setpoint_in_force(&info),
            )?);
        }
    }

    let measurement = measure(&link, &mut info, plan, args.settle, excitation)?;
    let feedback_unit = unit_of(&info, ChannelRole::Feedback);
    // The amplitude's unit: the effort's when the device injects there.
    let setpoint_unit = match excitation {
        Excited::ByDevice(InjectionPoint::Effort) => unit_of(&info, ChannelRole::Effort),
        _ => info
            .params
            .iter()
            .find(|p| p.flags.setpoint())
            .map_or_else(String::new, |p| p.unit.clone()),
    };
    let summary = Summary {
        device: &info.name,
        port: link.target().name(),
        unit: &setpoint_unit,
        feedback_unit: &feedback_unit,
        write_hz,
        excitation,
        measurement: &measurement,
    };
    if let Some(path) = &args.csv {
        write_csv(path, &measurement.points)?;
        report::print(&summary.text(false))?;
    } else if args.json {
        report::print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&summary.json())?
        ))?;
    } else {
        report::print(&summary.text(true))?;
    }
    Ok(())
}

/// Sample batches a second of device time: the most setpoint writes a
/// second can reach the device, as one is sent per batch received.
fn batches_per_second(link: &Link) -> anyhow::Result<f64> {
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
/// refuses a band the stream or the writes cannot carry.
fn plan(
    args: &BodeArgs,
    info: &DeviceInfo,
    stream_hz: f64,
    write_hz: f64,
    excitation: Excited,
) -> anyhow::Result<ExcitationPlan> {
    if let Excited::ByDevice(point) = excitation {
        return super::bode_device::plan(args, info, stream_hz, write_hz, point);
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
        kind: super::bode_device::signal_kind(args, false),
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
    Ok(plan)
}

/// Enables the output, lets the loop settle for `settle_s` of device time,
/// runs the excitation around the setpoint the device reports then (an
/// ODrive moves it on entering closed loop), and turns the output off
/// again however it ends; a setpoint the firmware moved goes back to its
/// value from before once the output is off.
fn measure(
    link: &Link,
    info: &mut DeviceInfo,
    plan: ExcitationPlan,
    settle_s: f64,
    excitation: Excited,
) -> anyhow::Result<FrequencyMeasurement> {
    let found = setpoint_in_force(info);
    link.send(Command::Enable(true));
    let outcome = wait_enabled(link, &mut info.params).and_then(|()| match excitation {
        Excited::ByHost => run_excitation(link, plan, settle_s, info),
        Excited::ByDevice(point) => super::bode_device::run(link, plan, point, settle_s, info),
    });
    link.send(Command::Enable(false));
    put_back_setpoint(link, found, &mut info.params);
    outcome
}

/// Stops an excitation under way and puts its setpoint back; says how.
fn abort(link: &Link, excitation: Option<&mut Excitation>) -> String {
    match excitation {
        Some(excitation) => restore(link, excitation.abort()).unwrap_or_else(|problem| problem),
        None => "setpoint untouched".to_owned(),
    }
}

/// Starts the excitation once the loop has settled, feeds it every batch
/// and sends its writes until it ends; the last write, or the abort's,
/// restores the setpoint and is confirmed.
fn run_excitation(
    link: &Link,
    plan: ExcitationPlan,
    settle_s: f64,
    info: &mut DeviceInfo,
) -> anyhow::Result<FrequencyMeasurement> {
    let device_time = settle_s + plan.duration_s;
    let wall_limit = Duration::from_secs_f64(device_time) * 2 + STREAM_SLACK;
    let started = Instant::now();
    let mut feed_from = None;
    let mut running: Option<Excitation> = None;
    let (last_write, mut excitation) = loop {
        let event = match next_event(link, Instant::now() + Duration::from_millis(100)) {
            Wait::Interrupted => {
                let restored = abort(link, running.as_mut());
                bail!("interrupted: {restored}, output off");
            }
            _ if started.elapsed() > wall_limit => {
                let restored = abort(link, running.as_mut());
                bail!(
                    "the device stopped streaming during the measurement: {restored}, output off"
                );
            }
            Wait::Event(event) => event,
            Wait::TimedOut => continue,
        };
        match event {
            LinkEvent::Device(Event::Samples { batch, .. }) if !batch.is_empty() => {
                let from = *feed_from.get_or_insert(batch.time_of(0) + settle_s);
                if batch.time_of(0) < from {
                    continue;
                }
                let mut excitation = match running.take() {
                    Some(excitation) => excitation,
                    None => Excitation::start(plan, info, setpoint_in_force(info))?,
                };
                match excitation.on_samples(&batch) {
                    Some(write) if excitation.is_done() => break (write, excitation),
                    Some(write) => send(link, write),
                    None => {}
                }
                running = Some(excitation);
            }
            LinkEvent::Device(Event::Status { flags, .. })
                if !flags.enabled() || fault(flags).is_some() =>
            {
                let restored = abort(link, running.as_mut());
                let problem = fault(flags).unwrap_or("it turned its output off");
                bail!("the device stopped the measurement ({problem}): {restored}");
            }
            LinkEvent::Device(event) => note_value(&event, &mut info.params),
            LinkEvent::Closed(error) => return Err(closed(error)),
            _ => {}
        }
    };
    let restored =
        restore(link, last_write).map_err(|problem| anyhow::anyhow!("{problem}; output off"))?;
    if let Some(param) = info.params.get_mut(usize::from(last_write.index)) {
        param.value = last_write.value;
    }
    if let ExcitationState::Failed(error) = excitation.state() {
        bail!("{error}; {restored}, output off");
    }
    excitation
        .take_result()
        .context("the measurement ended without a result")
}

/// Sends the restoring write and waits until the device reports the
/// setpoint at that value; says how it went, as an error if it did not.
/// Unlike an ordinary write it cannot take the first answer: the device is
/// still answering the excitation's writes sent just before.
fn restore(link: &Link, write: ParamWrite) -> Result<String, String> {
    send(link, write);
    let deadline = Instant::now() + RESTORE_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match link.events().recv_timeout(left) {
            Ok(LinkEvent::Device(Event::Value { index, value }))
                if index == write.index && value == write.value =>
            {
                return Ok(format!("setpoint restored to {value}"));
            }
            Ok(LinkEvent::Closed(_)) => {
                return Err("the link closed before the setpoint was restored".to_owned());
            }
            Ok(_) => {}
            Err(_) => {
                return Err(format!(
                    "the device did not confirm the setpoint back at {} within {} s",
                    write.value,
                    RESTORE_TIMEOUT.as_secs()
                ));
            }
        }
    }
}

fn unit_of(info: &DeviceInfo, role: ChannelRole) -> String {
    info.channels
        .iter()
        .find(|c| c.role == role)
        .map_or_else(String::new, |c| c.unit.clone())
}

/// One point as the outputs show it: closed loop always, plant and open
/// loop when effort was streamed. Phases unwrapped along coherent points.
struct Row {
    frequency_hz: f64,
    magnitude_db: f64,
    phase_deg: f64,
    coherence: f64,
    plant: Option<(f64, f64)>,
    open_loop: Option<(f64, f64)>,
}

fn rows(points: &[BodePoint]) -> Vec<Row> {
    let coherence: Vec<f64> = points.iter().map(|p| p.coherence).collect();
    let phase = |of: &dyn Fn(&BodePoint) -> Complex64| {
        let values: Vec<Complex64> = points.iter().map(of).collect();
        unwrapped_phase_deg(&values, &coherence)
    };
    let closed = phase(&|p| p.closed_loop);
    let has_effort = points.first().is_some_and(|p| p.plant.is_some());
    let plant = has_effort.then(|| phase(&|p| p.plant.unwrap_or_default()));
    let open = has_effort.then(|| phase(&|p| p.open_loop));
    points
        .iter()
        .enumerate()
        .map(|(k, p)| Row {
            frequency_hz: p.frequency_hz,
            magnitude_db: decibels(p.closed_loop),
            phase_deg: closed[k],
            coherence: p.coherence,
            plant: p
                .plant
                .zip(plant.as_ref())
                .map(|(value, phase)| (decibels(value), phase[k])),
            open_loop: open.as_ref().map(|phase| (decibels(p.open_loop), phase[k])),
        })
        .collect()
}

const CSV_HEADER: [&str; 8] = [
    "frequency_hz",
    "magnitude_db",
    "phase_deg",
    "coherence",
    "plant_db",
    "plant_phase_deg",
    "open_loop_db",
    "open_loop_phase_deg",
];

/// One row per point; the plant and open-loop columns only with effort.
fn write_csv(path: &Path, points: &[BodePoint]) -> anyhow::Result<()> {
    let rows = rows(points);
    let with_effort = rows.first().is_some_and(|r| r.plant.is_some());
    let columns = if with_effort { 8 } else { 4 };
    let fail = || format!("cannot write {}", path.display());
    let mut writer = csv::Writer::from_path(path).with_context(fail)?;
    writer
        .write_record(&CSV_HEADER[..columns])
        .with_context(fail)?;
    for row in rows {
        let mut fields = vec![
            row.frequency_hz,
            row.magnitude_db,
            row.phase_deg,
            row.coherence,
        ];
        if let (Some(plant), Some(open)) = (row.plant, row.open_loop) {
            fields.extend([plant.0, plant.1, open.0, open.1]);
        }
        writer
            .write_record(fields.iter().map(|v| format!("{v}")))
            .with_context(fail)?;
    }
    writer.flush().with_context(fail)?;
    Ok(())
}

/// `value` to four significant digits, for a summary line: a derived
/// default such as 28.571428571428573 Hz reads 28.57.
fn rounded(value: f64) -> f64 {
    if value == 0.0 || !value.is_finite() {
        return value;
    }
    let scale = 10f64.powi(3 - value.abs().log10().floor() as i32);
    (value * scale).round() / scale
}

/// What the outputs report.
struct Summary<'a> {
    device: &'a str,
    port: &'a str,
    /// The setpoint's unit.
    unit: &'a str,
    feedback_unit: &'a str,
    write_hz: f64,
    excitation: Excited,
    measurement: &'a FrequencyMeasurement,
}

/// The figures by name, unit and value.
fn figure_list(f: &LoopFigures) -> [(&'static str, &'static str, &'static str, Option<f64>); 7] {
    [
        ("bandwidth_hz", "Bandwidth (−3 dB)", "Hz", f.bandwidth_hz),
        ("resonance_db", "Resonance peak", "dB", f.resonance_db),
        ("resonance_hz", "Resonance at", "Hz", f.resonance_hz),
        ("crossover_hz", "Crossover", "Hz", f.crossover_hz),
        ("phase_margin_deg", "Phase margin", "°", f.phase_margin_deg),
        (
            "phase_crossover_hz",
            "Phase crossover",
            "Hz",
            f.phase_crossover_hz,
        ),
        ("gain_margin_db", "Gain margin", "dB", f.gain_margin_db),
    ]
}

impl Summary<'_> {
    /// The highest frequency with a coherent point.
    fn coherent_max_hz(&self) -> Option<f64> {
        self.measurement
            .points
            .iter()
            .filter(|p| p.coherence >= COHERENT)
            .map(|p| p.frequency_hz)
            .reduce(f64::max)
    }

    fn coherent(&self) -> usize {
        self.measurement
            .points
            .iter()
            .filter(|p| p.coherence >= COHERENT)
            .count()
    }

    fn json(&self) -> Value {
        let plan = &self.measurement.plan;
        let figures: serde_json::Map<String, Value> = figure_list(&self.measurement.figures)
            .iter()
            .map(|(key, _, _, value)| (key.to_string(), json!(value)))
            .collect();
        let points: Vec<Value> = rows(&self.measurement.points)
            .iter()
            .map(|row| {
                let mut point = json!({
                    "frequency_hz": row.frequency_hz,
                    "magnitude_db": row.magnitude_db,
                    "phase_deg": row.phase_deg,
                    "coherence": row.coherence,
                });
                if let (Some(plant), Some(open)) = (row.plant, row.open_loop) {
                    point["plant_db"] = plant.0.into();
                    point["plant_phase_deg"] = plant.1.into();
                    point["open_loop_db"] = open.0.into();
                    point["open_loop_phase_deg"] = open.1.into();
                }
                point
            })
            .collect();
        json!({
            "device": self.device,
            "port": self.port,
            "signal": plan.kind.label(),
            "from_hz": plan.from_hz,
            "to_hz": plan.to_hz,
            "amplitude": plan.amplitude,
            "unit": self.unit,
            "duration_s": plan.duration_s,
            "sample_hz": self.measurement.record.sample_hz,
            "writes_per_s": self.write_hz,
            "excited_by": match self.excitation {
                Excited::ByHost => "host",
                Excited::ByDevice(_) => "device",
            },
            "injected_at": match self.excitation {
                Excited::ByDevice(InjectionPoint::Effort) => "effort",
                _ => "setpoint",
            },
            "coherent_points": self.coherent(),
            "coherent_max_hz": self.coherent_max_hz(),
            "plant_peak_hz": plant_peak(&self.measurement.points).map(|(hz, _)| hz),
            "figures": figures,
            "points": points,
        })
    }

    /// The summary, and with `table` the points, thinned to
    /// [`TABLE_ROWS_PER_DECADE`].
    fn text(&self, table: bool) -> String {
        let plan = &self.measurement.plan;
        let points = &self.measurement.points;
        let mut out = format!(
            "{} on {}: {} {}–{} Hz, amplitude {} {}, {} s; {} points, {} with coherence ≥ {COHERENT}\n",
            self.device,
            self.port,
            plan.kind.label(),
            rounded(plan.from_hz),
            rounded(plan.to_hz),
            rounded(plan.amplitude),
            self.unit,
            plan.duration_s,
            points.len(),
            self.coherent(),
        );
        if let Excited::ByDevice(point) = self.excitation {
            let at = match point {
                InjectionPoint::Effort => "added to its output",
                InjectionPoint::Setpoint => "on its setpoint",
            };
            out += &format!("  excited by the device at its loop rate, {at}\n");
        }
        for (_, label, unit, value) in figure_list(&self.measurement.figures) {
            let shown = value.map_or_else(|| "—".to_owned(), |v| format!("{v:.2} {unit}"));
            out += &format!("  {label:<18} {shown}\n");
        }
        if let Some((hz, rise)) = plant_peak(&self.measurement.points) {
            out += &format!(
                "  {:<18} {hz:.2} Hz ({rise:.1} dB above the dip before it)\n",
                "Plant resonance"
            );
        }
        if !table {
            return out;
        }
        out += &format!(
            "{:>10} {:>9} {:>9} {:>9}   ({}; every point with --json or --csv)\n",
            "Hz",
            "dB",
            "°",
            "coherence",
            match self.excitation {
                Excited::ByDevice(InjectionPoint::Effort) => {
                    "closed loop at the plant's input, 1 − S".to_owned()
                }
                _ => format!("closed loop {} → {}", self.unit, self.feedback_unit),
            }
        );
        let mut next_log_f = f64::NEG_INFINITY;
        for row in rows(points) {
            let log_f = row.frequency_hz.log10();
            if log_f < next_log_f {
                continue;
            }
            next_log_f = log_f + 1.0 / TABLE_ROWS_PER_DECADE;
            out += &format!(
                "{:>10.3} {:>9.2} {:>9.1} {:>9.3}\n",
                row.frequency_hz, row.magnitude_db, row.phase_deg, row.coherence
            );
        }
        out
    }
}
