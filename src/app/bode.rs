//! The frequency response tab: excitation kind, band, amplitude and
//! duration of a measurement on the setpoint; Run and Abort; its progress;
//! then the measured responses overlaid on a Bode plot (magnitude and phase
//! on a log frequency axis, points of low coherence faded) with a table of
//! bandwidth, resonance and margins.

use egui_plot::{ColorConflictHandling, Legend, Line, Plot, PlotPoints, Points};

use super::session::DeviceSession;
use crate::analysis::{COHERENT, LoopFigures, decibels, unwrapped_phase_deg};
use crate::tuning::{
    ExcitationKind, ExcitationPlan, ExcitationState, FrequencyMeasurement, MAX_DURATION_S,
};

/// Red of the abort button, as the emergency stop's.
const ABORT_RED: egui::Color32 = egui::Color32::from_rgb(200, 30, 30);
/// Colours of successive measurements.
const PALETTE: [egui::Color32; 4] = [
    egui::Color32::from_rgb(40, 120, 220),
    egui::Color32::from_rgb(220, 110, 30),
    egui::Color32::from_rgb(40, 170, 80),
    egui::Color32::from_rgb(170, 60, 190),
];

pub struct BodePanel {
    pub plan: ExcitationPlan,
    /// Finished measurements, oldest first, all drawn.
    pub measurements: Vec<FrequencyMeasurement>,
    /// Why the last Run was refused.
    refusal: Option<String>,
    /// The (loop, stream) rates the plan's defaults were derived from.
    planned_for: Option<(u32, f64)>,
}

impl Default for BodePanel {
    fn default() -> Self {
        Self {
            plan: ExcitationPlan::for_device(10_000.0, 10_000.0, 200.0),
            measurements: Vec::new(),
            refusal: None,
            planned_for: None,
        }
    }
}

impl BodePanel {
    pub fn ui(&mut self, ui: &mut egui::Ui, session: Option<&mut DeviceSession>) {
        egui::Panel::left("frequency response controls")
            .resizable(false)
            .exact_size(230.0)
            .show(ui, |ui| self.controls_ui(ui, session));
        self.figures_ui(ui);
        self.plot_ui(ui);
    }

    fn controls_ui(&mut self, ui: &mut egui::Ui, session: Option<&mut DeviceSession>) {
        let unit = session
            .as_ref()
            .and_then(|s| s.params.iter().find(|p| p.info.flags.setpoint()))
            .map(|p| p.info.unit.clone())
            .unwrap_or_default();
        let running = session.as_ref().is_some_and(|s| s.excitation_running());
        ui.add_enabled_ui(!running, |ui| self.plan_ui(ui, &unit));
        ui.add_space(6.0);
        let Some(session) = session else {
            ui.weak("Connect a device to measure its frequency response.");
            return;
        };
        self.measurements.append(&mut session.measured_responses);
        self.derive_defaults(session);
        if running {
            let abort = egui::Button::new(
                egui::RichText::new("Abort frequency response")
                    .strong()
                    .color(egui::Color32::WHITE),
            )
            .fill(ABORT_RED);
            if ui
                .add(abort)
                .on_hover_text("Stop now and restore the setpoint")
                .clicked()
            {
                session.abort_excitation();
            }
        } else {
            let ready = session.is_connected() && session.output_enabled();
            let run = ui
                .add_enabled(ready, egui::Button::new("Run frequency response"))
                .on_disabled_hover_text("Enable the drive's output first");
            if run.clicked() {
                self.refusal = session
                    .start_excitation(self.plan)
                    .err()
                    .map(|e| e.to_string());
            }
        }
        if let Some(refusal) = &self.refusal {
            ui.colored_label(ui.visuals().error_fg_color, refusal);
        }
        if let Some(excitation) = &session.excitation {
            let restored = format!("{} {unit}", excitation.original_setpoint());
            match excitation.state() {
                ExcitationState::Running { done } => {
                    ui.add(
                        egui::ProgressBar::new(*done as f32)
                            .show_percentage()
                            .desired_width(200.0),
                    )
                    .on_hover_text("Measurement progress");
                }
                ExcitationState::Finished => {
                    ui.label(format!("Done; setpoint back at {restored}"));
                }
                ExcitationState::Aborted => {
                    ui.colored_label(
                        ui.visuals().warn_fg_color,
                        format!("Aborted; setpoint restored to {restored}"),
                    );
                }
                ExcitationState::Failed(error) => {
                    ui.colored_label(
                        ui.visuals().error_fg_color,
                        format!("Failed: {error}; setpoint restored to {restored}"),
                    );
                }
            }
        }
        if !self.measurements.is_empty() && ui.button("Clear responses").clicked() {
            self.measurements.clear();
        }
    }

    /// Fits the plan to a newly described device, once.
    fn derive_defaults(&mut self, session: &DeviceSession) {
        let (Some(info), Some(stream_hz)) = (&session.info, session.stream_hz()) else {
            return;
        };
        let rates = (info.loop_hz, stream_hz);
        if self.planned_for == Some(rates) {
            return;
        }
        self.planned_for = Some(rates);
        let span = info
            .params
            .iter()
            .find(|p| p.flags.setpoint())
            .map_or(1.0, |p| f64::from(p.max) - f64::from(p.min));
        let kind = self.plan.kind;
        self.plan = ExcitationPlan {
            kind,
            ..ExcitationPlan::for_device(f64::from(info.loop_hz), stream_hz, span)
        };
    }

    fn plan_ui(&mut self, ui: &mut egui::Ui, unit: &str) {
        egui::Grid::new("excitation plan")
            .num_columns(2)
            .spacing([8.0, 4.0])
            .show(ui, |ui| {
                let plan = &mut self.plan;
                let label = ui.label("Excitation");
                egui::ComboBox::from_id_salt("excitation kind")
                    .selected_text(plan.kind.label())
                    .show_ui(ui, |ui| {
                        for kind in ExcitationKind::ALL {
                            ui.selectable_value(&mut plan.kind, kind, kind.label());
                        }
                    })
                    .response
                    .labelled_by(label.id);
                ui.end_row();

                let label = ui.label("Lowest frequency");
                ui.add(
                    egui::DragValue::new(&mut plan.from_hz)
                        .range(0.01..=10_000.0)
                        .speed(0.1)
                        .suffix(" Hz"),
                )
                .labelled_by(label.id);
                ui.end_row();

                let label = ui.label("Highest frequency");
                ui.add(
                    egui::DragValue::new(&mut plan.to_hz)
                        .range(0.02..=20_000.0)
                        .speed(1.0)
                        .suffix(" Hz"),
                )
                .labelled_by(label.id);
                ui.end_row();

                let label = ui.label("Excitation amplitude");
                ui.add(
                    egui::DragValue::new(&mut plan.amplitude)
                        .range(1e-6..=1e6)
                        .speed(0.001)
                        .suffix(format!(" {unit}")),
                )
                .labelled_by(label.id);
                ui.end_row();

                let label = ui.label("Duration");
                ui.add(
                    egui::DragValue::new(&mut plan.duration_s)
                        .range(0.1..=MAX_DURATION_S)
                        .speed(0.1)
                        .suffix(" s"),
                )
                .labelled_by(label.id);
                ui.end_row();
            });
    }

    fn figures_ui(&self, ui: &mut egui::Ui) {
        if self.measurements.is_empty() {
            return;
        }
        let show = |value: Option<f64>, unit: &str| {
            value.map_or_else(|| "—".to_owned(), |v| format!("{v:.3} {unit}"))
        };
        egui::Grid::new("frequency response figures")
            .striped(true)
            .show(ui, |ui| {
                for heading in [
                    "Response",
                    "Bandwidth",
                    "Resonance",
                    "at",
                    "Crossover",
                    "Phase margin",
                    "Gain margin",
                ] {
                    ui.strong(heading);
                }
                ui.end_row();
                for (number, measurement) in self.measurements.iter().enumerate() {
                    let f: &LoopFigures = &measurement.figures;
                    ui.label(format!("{} {}", number + 1, measurement.plan.kind.label()));
                    ui.label(show(f.bandwidth_hz, "Hz"));
                    ui.label(show(f.resonance_db, "dB"));
                    ui.label(show(f.resonance_hz, "Hz"));
                    ui.label(show(f.crossover_hz, "Hz"));
                    ui.label(show(f.phase_margin_deg, "°"));
                    ui.label(show(f.gain_margin_db, "dB"));
                    ui.end_row();
                }
            });
    }

    fn plot_ui(&self, ui: &mut egui::Ui) {
        let link = ui.scope_id().with("bode link");
        let height = ((ui.available_height() - 20.0) / 2.0).max(80.0);
        let hz = |mark: egui_plot::GridMark, _: &std::ops::RangeInclusive<f64>| {
            format_hz(10f64.powf(mark.value))
        };
        let series = |measurement: &FrequencyMeasurement, phase: bool| {
            let values: Vec<f64> = if phase {
                let closed: Vec<_> = measurement.points.iter().map(|p| p.closed_loop).collect();
                unwrapped_phase_deg(&closed)
            } else {
                measurement
                    .points
                    .iter()
                    .map(|p| decibels(p.closed_loop))
                    .collect()
            };
            let all: Vec<[f64; 2]> = measurement
                .points
                .iter()
                .zip(&values)
                .map(|(p, v)| [p.frequency_hz.log10(), *v])
                .collect();
            let coherent: Vec<[f64; 2]> = measurement
                .points
                .iter()
                .zip(&all)
                .filter(|(p, _)| p.coherence >= COHERENT)
                .map(|(_, xy)| *xy)
                .collect();
            (all, coherent)
        };
        for (phase, title) in [(false, "Magnitude (dB)"), (true, "Phase (°)")] {
            Plot::new(("bode", phase))
                .height(height)
                // The faded line and the coherent points share a name;
                // the legend shows the points' full colour.
                .legend(Legend::default().color_conflict_handling(ColorConflictHandling::PickLast))
                .link_axis(link, [true, false])
                .link_cursor(link, [true, false])
                .x_axis_formatter(hz)
                .x_axis_label("Frequency")
                .y_axis_label(title)
                .show(ui, |plot_ui| {
                    for (number, measurement) in self.measurements.iter().enumerate() {
                        let color = PALETTE[number % PALETTE.len()];
                        let name = format!("{} {}", number + 1, measurement.plan.kind.label());
                        let (all, coherent) = series(measurement, phase);
                        plot_ui.line(
                            Line::new(name.clone(), PlotPoints::from(all))
                                .color(color.gamma_multiply(0.3)),
                        );
                        plot_ui.points(
                            Points::new(name, PlotPoints::from(coherent))
                                .color(color)
                                .radius(1.5),
                        );
                    }
                });
        }
    }
}

/// A frequency as an axis label: 0.1 Hz, 2 Hz, 1.5 kHz.
fn format_hz(hz: f64) -> String {
    if hz >= 1000.0 {
        format!("{} kHz", round_to_3(hz / 1000.0))
    } else {
        format!("{} Hz", round_to_3(hz))
    }
}

fn round_to_3(value: f64) -> f64 {
    let scale = 10f64.powi(2 - value.abs().log10().floor() as i32);
    (value * scale).round() / scale
}
