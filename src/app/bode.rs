//! The frequency response tab: excitation kind, band, amplitude and
//! duration of a measurement on the setpoint; Run and Abort; its progress;
//! then the measured responses overlaid on a Bode plot (magnitude and phase
//! on a log frequency axis, points of low coherence faded) with a table of
//! bandwidth, resonance and margins. Magnitude ticks read in dB, phase
//! ticks in degrees, the frequency axis in decades (and 2 and 5 times them
//! where they fit without touching).
//!
//! The measurement starts as `motiontune bode` starts it
//! ([`crate::tuning::frequency_response`]) and runs on the link thread at
//! the stream's rate. A device that excites itself (`excite.*`) gets the
//! command line's plan: a PRBS up to a fifth of the stream, added to its
//! output when it can. Otherwise the host writes the setpoint once a sample
//! batch, at most [`DEFAULT_MAX_WRITE_HZ`](crate::tuning::DEFAULT_MAX_WRITE_HZ)
//! a second, so the plan's defaults and its highest frequency come from the
//! batches a second the session counts, not from the frame rate.

use egui_plot::{
    ColorConflictHandling, GridInput, GridMark, Legend, Line, Plot, PlotPoints, Points,
};

use super::procedure_controls::ProcedureControls;
use crate::analysis::{COHERENT, LoopFigures, decibels, unwrapped_phase_deg};
use crate::device::session::{DeviceSession, ProcedureKind};
use crate::protocol::ChannelRole;
use crate::tuning::{
    DEFAULT_MAX_WRITE_HZ, ExcitationKind, ExcitationPlan, ExciteParams, FrequencyMeasurement,
    InjectionPoint, MAX_DURATION_S, WRITES_PER_PERIOD, default_effort_amplitude,
};
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
    controls: ProcedureControls,
    /// The (loop, stream) rates the plan's defaults were derived from,
    /// whether the write rate was measured then, and where the device
    /// excites itself (`None`: the host's writes excite it).
    planned_for: Option<(u32, f64, bool, Option<InjectionPoint>)>,
}

impl Default for BodePanel {
    fn default() -> Self {
        Self {
            plan: ExcitationPlan::for_device(10_000.0, 10_000.0, DEFAULT_MAX_WRITE_HZ, 200.0),
            measurements: Vec::new(),
            controls: ProcedureControls::default(),
            planned_for: None,
        }
    }
}

impl BodePanel {
    /// Another device is shown: hands over the shown one's measurements,
    /// to be kept for it; the plan stays (it follows the device's rates).
    pub fn take_device_state(&mut self) -> Vec<FrequencyMeasurement> {
        std::mem::take(&mut self.measurements)
    }

    /// The device shown now had `measurements` kept for it (or none).
    pub fn restore_device_state(&mut self, measurements: Vec<FrequencyMeasurement>) {
        self.measurements = measurements;
    }

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
        let running = session.as_ref().is_some_and(|s| s.procedure_running());
        let point = session
            .as_ref()
            .and_then(|s| s.device_excitation_point(self.plan.kind));
        // An injection on the output is in the output's unit.
        let amplitude_unit = match point {
            Some(InjectionPoint::Effort) => session
                .as_ref()
                .and_then(|s| s.info.as_ref())
                .and_then(|info| info.channels.iter().find(|c| c.role == ChannelRole::Effort))
                .map_or_else(String::new, |c| c.unit.clone()),
            _ => unit.clone(),
        };
        ui.add_enabled_ui(!running, |ui| self.plan_ui(ui, &amplitude_unit));
        let write_hz = session.as_ref().and_then(|s| s.setpoint_write_hz());
        ui.weak(match (point, write_hz) {
            (Some(point), _) => format!(
                "The device excites itself, {}, at its loop rate: no setpoint write is part \
                 of the signal, and the band reaches a fifth of the stream.",
                match point {
                    InjectionPoint::Effort => "added to its output",
                    InjectionPoint::Setpoint => "on its setpoint",
                }
            ),
            (None, Some(write_hz)) => format!(
                "Highest usable frequency: {:.0} Hz. The setpoint is written once a sample \
                 batch, {write_hz:.0} times a second here, and a period needs \
                 {WRITES_PER_PERIOD} writes.",
                write_hz / WRITES_PER_PERIOD
            ),
            (None, None) => "Highest usable frequency: known once the device streams.".to_owned(),
        });
        ui.add_space(6.0);
        let Some(session) = session else {
            ui.weak("Connect a device to measure its frequency response.");
            return;
        };
        self.measurements
            .extend(session.procedures.take_measured_responses());
        self.derive_defaults(session);
        let plan = self.plan;
        self.controls.ui(
            ui,
            session,
            ProcedureKind::FrequencyResponse,
            &unit,
            |session| session.start_frequency_response(plan),
        );
        if !self.measurements.is_empty() && ui.button("Clear responses").clicked() {
            self.measurements.clear();
        }
    }

    /// Fits the plan to a newly described device, as `motiontune bode`
    /// plans: for a device that excites itself a PRBS up to a fifth of the
    /// stream (on its output at most of its output limit); for the host's
    /// writes at once with the stream's sample rate as the most writes a
    /// second, then again once the stream has shown how many batches
    /// (writes) a second it brings. A change of who excites (another kind)
    /// fits it again.
    fn derive_defaults(&mut self, session: &DeviceSession) {
        let (Some(info), Some(stream_hz)) = (&session.info, session.stream_hz()) else {
            return;
        };
        let write_hz = session.setpoint_write_hz();
        let point = session.device_excitation_point(self.plan.kind);
        let rates = (info.loop_hz, stream_hz, write_hz.is_some(), point);
        if self.planned_for == Some(rates) {
            return;
        }
        let first = self.planned_for.is_none();
        self.planned_for = Some(rates);
        let write_hz = write_hz.unwrap_or(stream_hz);
        let span = info
            .params
            .iter()
            .find(|p| p.flags.setpoint())
            .map_or(1.0, |p| f64::from(p.max) - f64::from(p.min));
        let host = |to_hz: Option<f64>| {
            let plan =
                ExcitationPlan::for_device(f64::from(info.loop_hz), stream_hz, write_hz, span);
            let plan = ExcitationPlan {
                to_hz: to_hz.unwrap_or(plan.to_hz),
                ..plan
            };
            // A default that would drive the axis past its velocity
            // limit is made gentler.
            match crate::tuning::speed_limit(info) {
                Some(limit) => plan.within_speed(limit),
                None => plan,
            }
        };
        self.plan = match point {
            Some(point) => {
                let to_hz = (f64::from(info.loop_hz) / 20.0).min(stream_hz / 5.0);
                let amplitude = match point {
                    InjectionPoint::Effort => ExciteParams::find(&info.params)
                        .map_or(1.0, |params| default_effort_amplitude(info, &params)),
                    InjectionPoint::Setpoint => host(Some(to_hz)).amplitude,
                };
                ExcitationPlan {
                    kind: if first {
                        ExcitationKind::Prbs
                    } else {
                        self.plan.kind
                    },
                    from_hz: to_hz / 100.0,
                    to_hz,
                    amplitude,
                    ..host(None)
                }
            }
            None => ExcitationPlan {
                kind: self.plan.kind,
                ..host(None)
            },
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
                    "Plant peak",
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
                    // The plant's own resonance, where the effort was
                    // measured (what a device exciting its output is for).
                    let peak = crate::analysis::plant_peak(&measurement.points);
                    ui.label(show(peak.map(|(hz, _)| hz), "Hz"));
                    ui.end_row();
                }
            });
    }

    fn plot_ui(&self, ui: &mut egui::Ui) {
        let link = ui.scope_id().with("bode link");
        let height = ((ui.available_height() - 20.0) / 2.0).max(80.0);
        let hz = |mark: GridMark, _: &std::ops::RangeInclusive<f64>| frequency_label(mark);
        let series = |measurement: &FrequencyMeasurement, phase: bool| {
            let values: Vec<f64> = if phase {
                let closed: Vec<_> = measurement.points.iter().map(|p| p.closed_loop).collect();
                let coherence: Vec<_> = measurement.points.iter().map(|p| p.coherence).collect();
                unwrapped_phase_deg(&closed, &coherence)
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
        for (phase, title) in [(false, "Magnitude"), (true, "Phase")] {
            let steps: &'static [f64] = if phase { &PHASE_STEPS } else { &DB_STEPS };
            let unit = if phase { "°" } else { " dB" };
            let value_label =
                move |mark: GridMark, _: &std::ops::RangeInclusive<f64>| tick_label(mark, unit);
            Plot::new(("bode", phase))
                .height(height)
                // The faded line and the coherent points share a name;
                // the legend shows the points' full colour.
                .legend(Legend::default().color_conflict_handling(ColorConflictHandling::PickLast))
                .link_axis(link, [true, false])
                .link_cursor(link, [true, false])
                .x_axis_formatter(hz)
                .x_grid_spacer(decade_marks)
                .y_grid_spacer(move |input| even_marks(input, steps))
                .y_axis_formatter(value_label)
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

/// Spacings of the magnitude grid, dB: 10 dB unless the view is very tall
/// or very short.
const DB_STEPS: [f64; 7] = [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0];
/// Spacings of the phase grid, degrees.
const PHASE_STEPS: [f64; 8] = [5.0, 15.0, 45.0, 90.0, 180.0, 360.0, 720.0, 1440.0];
/// Most grid lines an axis of magnitude or phase gets.
const MOST_MARKS: f64 = 10.0;
/// Least distance between magnitude or phase marks, in the plot's finest
/// grid steps: 4 × 8 points, where egui_plot's y labels are fully drawn.
const LABEL_GAP: f64 = 4.0;

/// The multiples of a decade that get a label: 1, 2 and 5 times.
const LABELLED_MULTIPLES: [u32; 3] = [1, 2, 5];
/// How much wider than its own label the space to a labelled 2× or 5× mark
/// must be before it is labelled: its neighbours' labels may be wider
/// ("5 Hz" beside "10 Hz").
const LABEL_ROOM: f64 = 1.5;

/// Marks on the log-frequency axis (the value is log₁₀ Hz): every decade,
/// and 2 … 9 times each decade, thinner. A mark's step size is the room its
/// label has: egui_plot labels a mark only when its step, on screen, is
/// wider than the label. So 2× and 5× carry the distance to the nearest
/// labelled mark over [`LABEL_ROOM`], and labels never touch ("0.9 Hz1 Hz");
/// the rest are lines only ([`frequency_label`] gives them no text).
fn decade_marks(input: GridInput) -> Vec<GridMark> {
    let (low, high) = input.bounds;
    if !(low.is_finite() && high.is_finite()) || high - low > 12.0 {
        return Vec::new();
    }
    let mut marks = Vec::new();
    for decade in (low.floor() as i32)..=(high.ceil() as i32) {
        for multiple in 1..10 {
            let value = f64::from(decade) + f64::from(multiple).log10();
            if (low..=high).contains(&value) {
                let step_size = match multiple {
                    1 => 1.0,
                    // 2 → 1 and 5 → 10 are both log₁₀ 2 apart; 2 → 5 more.
                    2 | 5 => 2f64.log10() / LABEL_ROOM,
                    _ => 0.1,
                };
                marks.push(GridMark { value, step_size });
            }
        }
    }
    marks
}

/// Marks at multiples of the smallest of `steps` that puts at most
/// [`MOST_MARKS`] in view and leaves each mark [`LABEL_GAP`] times the
/// plot's finest grid step (8 points) from the next: egui_plot draws a y
/// tick label only when its mark is over 20 points from the next, so a
/// short Bode plot gets fewer, labelled marks rather than unlabelled ones.
fn even_marks(input: GridInput, steps: &[f64]) -> Vec<GridMark> {
    let (low, high) = input.bounds;
    let span = high - low;
    if !(span.is_finite() && span > 0.0) {
        return Vec::new();
    }
    let Some(&step) = steps
        .iter()
        .find(|&&step| span / step <= MOST_MARKS && step >= LABEL_GAP * input.base_step_size)
        .or(steps.last())
    else {
        return Vec::new();
    };
    let first = (low / step).ceil() as i64;
    let last = (high / step).floor() as i64;
    (first..=last)
        .map(|k| GridMark {
            value: k as f64 * step,
            step_size: step,
        })
        .collect()
}

/// A magnitude or phase tick: "-20 dB", "-180°" (the marks are whole
/// numbers, see [`even_marks`]).
fn tick_label(mark: GridMark, unit: &str) -> String {
    // + 0.0 makes -0 read 0.
    format!("{:.0}{unit}", mark.value + 0.0)
}

/// The label of a frequency mark: decades and 2× and 5× them ("0.2 Hz",
/// "50 Hz", "1 kHz"); nothing for the other multiples.
fn frequency_label(mark: GridMark) -> String {
    let hz = 10f64.powf(mark.value);
    let multiple = (hz / 10f64.powf(mark.value.floor())).round() as u32;
    if LABELLED_MULTIPLES.contains(&multiple) {
        format_hz(hz)
    } else {
        String::new()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn input(low: f64, high: f64) -> GridInput {
        GridInput {
            bounds: (low, high),
            base_step_size: (high - low) / 100.0,
        }
    }

    #[test]
    fn frequency_axis_marks_every_decade_and_its_multiples() {
        // 0.3 Hz … 200 Hz.
        let marks = decade_marks(input(0.3f64.log10(), 200f64.log10()));
        let decades: Vec<f64> = marks
            .iter()
            .filter(|m| m.step_size == 1.0)
            .map(|m| 10f64.powf(m.value))
            .collect();
        assert_eq!(decades.len(), 3, "{decades:?}");
        for (got, want) in decades.iter().zip([1.0, 10.0, 100.0]) {
            assert!((got / want - 1.0).abs() < 1e-12, "{decades:?}");
        }
        // 0.3 … 0.9, 2 … 9, 20 … 90, 200: the multiples in view.
        assert_eq!(marks.len() - decades.len(), 7 + 8 + 8 + 1);
        assert!(marks.iter().all(|m| m.value <= 200f64.log10() + 1e-12));
    }

    /// egui_plot paints a label when its mark's step, on screen, is wider
    /// than the label; whatever the zoom, two painted labels never touch.
    #[test]
    fn frequency_labels_never_touch_at_any_zoom() {
        // About 7 points a character, as egui's body font (the test holds
        // for any width the same for every character).
        let width = |text: &str| text.chars().count() as f64 * 7.0;
        for points_per_decade in [15.0, 30.0, 45.0, 60.0, 90.0, 130.0, 200.0, 400.0, 1500.0] {
            let shown: Vec<(f64, String)> = decade_marks(input(-1.5, 4.2))
                .into_iter()
                .filter_map(|mark| {
                    let text = frequency_label(mark);
                    let room = points_per_decade * mark.step_size;
                    (!text.is_empty() && room >= width(&text))
                        .then_some((mark.value * points_per_decade, text))
                })
                .collect();
            for pair in shown.windows(2) {
                let ((left, a), (right, b)) = (&pair[0], &pair[1]);
                assert!(
                    right - left >= (width(a) + width(b)) / 2.0,
                    "{a} and {b} touch at {points_per_decade} points a decade"
                );
            }
            let texts: Vec<&str> = shown.iter().map(|(_, t)| t.as_str()).collect();
            if points_per_decade >= 60.0 {
                assert!(
                    texts.contains(&"1 Hz") && texts.contains(&"1 kHz"),
                    "{texts:?}"
                );
            }
            if points_per_decade >= 400.0 {
                assert!(
                    texts.contains(&"20 Hz") && texts.contains(&"50 Hz"),
                    "{texts:?}"
                );
            }
            assert!(!texts.contains(&"0.9 Hz"), "only 1, 2 and 5 are labelled");
        }
    }

    #[test]
    fn magnitude_and_phase_ticks_carry_their_units() {
        let label = |value: f64, unit: &str| {
            tick_label(
                GridMark {
                    value,
                    step_size: 10.0,
                },
                unit,
            )
        };
        assert_eq!(label(-40.0, " dB"), "-40 dB");
        assert_eq!(label(-180.0, "°"), "-180°");
        assert_eq!(label(-0.0, " dB"), "0 dB");
    }

    #[test]
    fn magnitude_axis_marks_every_10_db() {
        let marks = even_marks(input(-43.0, 12.0), &DB_STEPS);
        let values: Vec<f64> = marks.iter().map(|m| m.value).collect();
        assert_eq!(values, [-40.0, -30.0, -20.0, -10.0, 0.0, 10.0]);
        assert!(marks.iter().all(|m| m.step_size == 10.0));
        // A view of a few dB gets finer marks; a huge one coarser.
        assert_eq!(even_marks(input(-3.0, 3.0), &DB_STEPS)[0].step_size, 1.0);
        assert_eq!(
            even_marks(input(-400.0, 10.0), &DB_STEPS)[0].step_size,
            50.0
        );
        let phase = even_marks(input(-270.0, 10.0), &PHASE_STEPS);
        assert_eq!(phase[0].step_size, 45.0);
        // A short plot (60 dB over 64 points, the finest grid step 8
        // points) gets marks 50 dB apart (53 points, each labelled), not
        // 10 dB ones 11 points apart that egui_plot leaves unlabelled.
        let short = GridInput {
            bounds: (-50.0, 10.0),
            base_step_size: 60.0 / 64.0 * 8.0,
        };
        assert_eq!(even_marks(short, &DB_STEPS)[0].step_size, 50.0);
    }
}
