//! What `motiontune bode` prints: the summary and the figures as text, a
//! table thinned to [`TABLE_ROWS_PER_DECADE`], every point as JSON, or a
//! CSV file. Phases are unwrapped along coherent points; the plant and
//! open-loop columns are there only when the device streamed its effort.

use std::path::Path;

use anyhow::Context;
use realfft::num_complex::Complex64;
use serde_json::{Value, json};

use super::plan::Excited;
use crate::analysis::{
    BodePoint, COHERENT, LoopFigures, decibels, plant_peak, unwrapped_phase_deg,
};
use crate::tuning::{FrequencyMeasurement, InjectionPoint};

/// Rows a decade in the text table; JSON and CSV hold every point.
const TABLE_ROWS_PER_DECADE: f64 = 10.0;

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
pub(super) fn write_csv(path: &Path, points: &[BodePoint]) -> anyhow::Result<()> {
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
pub(super) struct Summary<'a> {
    pub device: &'a str,
    pub port: &'a str,
    /// The setpoint's unit.
    pub unit: &'a str,
    pub feedback_unit: &'a str,
    pub write_hz: f64,
    /// Who excited the loop, and where.
    pub excited: Excited,
    pub measurement: &'a FrequencyMeasurement,
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

    pub(super) fn json(&self) -> Value {
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
            "excited_by": match self.excited {
                Excited::ByHost => "host",
                Excited::ByDevice(_) => "device",
            },
            "injected_at": match self.excited {
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
    pub(super) fn text(&self, table: bool) -> String {
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
        if let Excited::ByDevice(point) = self.excited {
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
            match self.excited {
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
