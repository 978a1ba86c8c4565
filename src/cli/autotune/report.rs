//! What `motiontune autotune` prints: the model or the relay's figures,
//! the gains in force and proposed under the device's own names, and the
//! predicted and measured step metrics, as text or one JSON document.

use super::super::report::MeasuredSignals;
use crate::analysis::{ParallelGains, StepMetrics, UltimateRule};
use crate::protocol::{DeviceInfo, ParamInfo};
use crate::tuning::{
    Identified, LoopParams, ModelKind, ModelRule, RelayResult, model_parameters, relay_gains,
};

/// What `--method step` found and did, for its report.
pub(super) struct StepTuning<'a> {
    pub info: &'a DeviceInfo,
    pub port: &'a str,
    pub kind: ModelKind,
    /// The identification step's size.
    pub amplitude: f64,
    pub identified: &'a Identified,
    pub rule: ModelRule,
    pub gain_names: GainNames,
    pub in_force: ParallelGains,
    pub proposed: ParallelGains,
    /// The user gave `--write`.
    pub write: bool,
    pub written: bool,
    pub predicted: &'a StepMetrics,
    /// The verification step's metrics, when the gains were written.
    pub measured: Option<&'a StepMetrics>,
}

impl StepTuning<'_> {
    pub fn json(&self) -> serde_json::Value {
        let signals = MeasuredSignals::of(self.info);
        let parameters: serde_json::Map<_, _> = model_parameters(
            &self.identified.model,
            &signals.signal_unit,
            &signals.effort_unit,
        )
        .into_iter()
        .map(|(name, value)| (name, serde_json::Value::from(value)))
        .collect();
        serde_json::json!({
            "device": self.info.name,
            "port": self.port,
            "model": self.kind.label(),
            "parameters": parameters,
            "fit_rms": self.identified.rms,
            "rule": self.rule.label(),
            "in_force": self.gain_names.json(&self.in_force),
            "proposed": self.gain_names.json(&self.proposed),
            "written": self.written,
            "predicted": metrics_json(self.predicted),
            "measured": self.measured.map(metrics_json),
        })
    }

    /// The model, the gains and the metrics; without `written`, how to
    /// write them.
    pub fn text(&self) -> String {
        let signals = MeasuredSignals::of(self.info);
        let unit = &signals.signal_unit;
        let mut out = format!(
            "{} on {}: {} fitted to a step of {} {unit} (fit RMS {:.3e} {unit})\n",
            self.info.name,
            self.port,
            self.kind.label(),
            self.amplitude,
            self.identified.rms,
        );
        let parameters = model_parameters(&self.identified.model, unit, &signals.effort_unit);
        for (name, value) in &parameters {
            out += &format!("  {name}: {value:.6}\n");
        }
        out += &self
            .gain_names
            .changes(self.rule.label(), &self.in_force, &self.proposed);
        out += &metrics_table(self.predicted, self.measured);
        if !self.write {
            out += "Nothing written: add --write to write the proposed gains and verify them.\n";
        }
        out
    }
}

/// The device's names of its kp, ki and kd parameters.
pub(super) struct GainNames(pub [String; 3]);

impl GainNames {
    pub fn of(params: &[ParamInfo], loop_params: &LoopParams) -> Self {
        let name = |i: u8| params[usize::from(i)].name.clone();
        Self([
            name(loop_params.kp),
            name(loop_params.ki),
            name(loop_params.kd),
        ])
    }

    /// `gains` as a JSON object keyed by the device's names.
    pub fn json(&self, gains: &ParallelGains) -> serde_json::Value {
        serde_json::json!({
            self.0[0].clone(): gains.kp,
            self.0[1].clone(): gains.ki,
            self.0[2].clone(): gains.kd,
        })
    }

    /// The lines "name: in force → proposed" under a heading naming `rule`.
    pub fn changes(
        &self,
        rule: &str,
        in_force: &ParallelGains,
        proposed: &ParallelGains,
    ) -> String {
        let mut out = format!("{rule} gains (in force → proposed):\n");
        let rows = [
            (in_force.kp, proposed.kp),
            (in_force.ki, proposed.ki),
            (in_force.kd, proposed.kd),
        ];
        for (name, (now, new)) in self.0.iter().zip(rows) {
            out += &format!("  {name}: {now:.6} → {new:.6}\n");
        }
        out
    }
}

type MetricOf = fn(&StepMetrics) -> Option<f64>;

/// The metrics printed for the prediction and the verification.
const METRIC_ROWS: [(&str, &str, MetricOf); 3] = [
    ("overshoot %", "overshoot_percent", |m| {
        Some(m.overshoot_percent)
    }),
    ("rise time s", "rise_time_s", |m| m.rise.time()),
    ("settling time s", "settling_time_s", |m| m.settling.time()),
];

pub(super) fn metrics_json(metrics: &StepMetrics) -> serde_json::Value {
    METRIC_ROWS
        .iter()
        .map(|(_, key, of)| (key.to_string(), of(metrics).into()))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// The table of predicted and measured metrics, a row per metric.
pub(super) fn metrics_table(predicted: &StepMetrics, measured: Option<&StepMetrics>) -> String {
    let mut out = format!("{:<16}{:>14}{:>14}\n", "", "predicted", "measured");
    for (label, _, of) in METRIC_ROWS {
        let cell = |m: Option<&StepMetrics>| {
            m.and_then(of)
                .map_or_else(|| "—".to_owned(), |v| format!("{v:.4}"))
        };
        out += &format!(
            "{label:<16}{:>14}{:>14}\n",
            cell(Some(predicted)),
            cell(measured)
        );
    }
    out
}

/// What `--method relay` found and did, for its report.
pub(super) struct RelayTuning<'a> {
    pub info: &'a DeviceInfo,
    pub port: &'a str,
    pub gain_names: GainNames,
    /// The rule whose gains are proposed.
    pub rule: UltimateRule,
    pub result: &'a RelayResult,
    pub in_force: ParallelGains,
    /// The user gave `--write`.
    pub write: bool,
    pub written: bool,
}

impl RelayTuning<'_> {
    pub fn json(&self) -> serde_json::Value {
        let gains = |g: &ParallelGains| self.gain_names.json(g);
        let finite = |v: f64| v.is_finite().then_some(v);
        let (result, ultimate) = (self.result, self.result.ultimate());
        let proposed = relay_gains(ultimate, self.rule);
        let cycle = &result.cycle;
        let rules: Vec<serde_json::Value> = UltimateRule::ALL
            .iter()
            .map(|&r| {
                let g = relay_gains(ultimate, r);
                serde_json::json!({
                    "rule": r.key(),
                    "label": r.label(),
                    "kp": g.standard.kp,
                    "ti_s": finite(g.standard.ti),
                    "td_s": g.standard.td,
                    "parallel": gains(&g.parallel),
                })
            })
            .collect();
        serde_json::json!({
            "device": self.info.name,
            "port": self.port,
            "method": "relay",
            "rule": self.rule.key(),
            "relay": {
                "amplitude": cycle.relay_amplitude,
                "hysteresis": result.hysteresis,
                "oscillation_amplitude": cycle.amplitude,
                "amplitude_spread": cycle.amplitude_spread,
                "period_spread": cycle.period_spread,
                "cycles": cycle.cycles.len(),
            },
            "ultimate_gain": ultimate.gain,
            "ultimate_period_s": ultimate.period,
            "standard": {
                "kp": proposed.standard.kp,
                "ti_s": finite(proposed.standard.ti),
                "td_s": proposed.standard.td,
            },
            "in_force": gains(&self.in_force),
            "proposed": gains(&proposed.parallel),
            "rules": rules,
            "written": self.written,
            "predicted": serde_json::Value::Null,
            "measured": serde_json::Value::Null,
        })
    }

    /// Ku, Tu, every rule's gains with the chosen one marked, and the
    /// changes it proposes; without `--write`, how to write them.
    pub fn text(&self) -> String {
        let signals = MeasuredSignals::of(self.info);
        let (result, ultimate) = (self.result, self.result.ultimate());
        let cycle = &result.cycle;
        let names = &self.gain_names.0;
        let mut out = format!(
            "{} on {}: relay d = {:.4} {}, hysteresis {:.3e} {}\n",
            self.info.name,
            self.port,
            cycle.relay_amplitude,
            signals.effort_unit,
            result.hysteresis,
            signals.signal_unit,
        );
        out += &format!(
            "  oscillation amplitude a = {:.4e} {} (spread {:.1} %), period Tu = {:.5} s (spread {:.1} %), over {} cycles\n",
            cycle.amplitude,
            signals.signal_unit,
            cycle.amplitude_spread * 100.0,
            ultimate.period,
            cycle.period_spread * 100.0,
            cycle.cycles.len(),
        );
        out += &format!(
            "  ultimate gain Ku = {:.4} {}/{}\n",
            ultimate.gain, signals.effort_unit, signals.signal_unit
        );
        out += &format!(
            "{:<22}{:>12}{:>12}{:>12}{:>14}{:>14}{:>14}\n",
            "rule", "Kp", "Ti s", "Td s", names[0], names[1], names[2]
        );
        for r in UltimateRule::ALL {
            let g = relay_gains(ultimate, r);
            let marker = if r == self.rule { "*" } else { " " };
            out += &format!(
                "{marker}{:<21}{:>12.4}{:>12}{:>12.5}{:>14.4}{:>14.4}{:>14.6}\n",
                r.label(),
                g.standard.kp,
                if g.standard.ti.is_finite() {
                    format!("{:.5}", g.standard.ti)
                } else {
                    "∞".to_owned()
                },
                g.standard.td,
                g.parallel.kp,
                g.parallel.ki,
                g.parallel.kd,
            );
        }
        let proposed = relay_gains(ultimate, self.rule).parallel;
        out += &self
            .gain_names
            .changes(self.rule.label(), &self.in_force, &proposed);
        if !self.write {
            out += "Nothing written: add --write to write the proposed gains.\n";
        }
        out
    }
}
