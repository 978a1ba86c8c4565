//! One parameter's row in the gains panel, its editor chosen by its kind:
//!
//! - a real number: a slider (a held one is paced by the panel's
//!   `DragThrottle`) and a typed field;
//! - an integer, or a mode that is a number: the typed field alone (a
//!   slider over a mode would walk through modes);
//! - a switch: a checkbox; a choice: a drop-down of its names (the value
//!   is min + the name's position);
//! - a read-only value: what it reads ([`ParamInfo::display`]), no input.
//!
//! The typed field edits a buffer, never the device: Enter (or *Write*)
//! asks for one write of it, Esc drops it, and leaving the field keeps it
//! as an *unwritten edit*, shown as such, until one of those or *Discard*.
//! A value that does not parse, or lies outside the device's limits, is
//! one line under the row and writes nothing. While a typed value waits,
//! *Write* and *Discard* take the slider's place (a drag would contradict
//! it), and nothing is added above or below a row when a field loses the
//! keyboard, so nothing moves under the pointer as the user clicks away. A mode is tagged "mode":
//! only a click on it writes it. Every input is named after its parameter
//! for assistive technology (and the UI tests).

use std::collections::BTreeMap;

use crate::device::session::{ParamView, WriteState};
use crate::protocol::{ParamInfo, ParamKind, ParamRole};

/// Width of the typed field: a gain with its decimals.
const FIELD_WIDTH: f32 = 76.0;
/// Width of a slider, and of *Write* and *Discard* in its place.
const SLIDER_WIDTH: f32 = 100.0;

/// What the user did to one parameter this frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RowAction {
    /// Write this value once: a typed value on Enter or *Write*, a
    /// checkbox, a drop-down, or a slider moved by keyboard or assistive
    /// technology.
    Write(f32),
    /// The slider is held at this value.
    Drag(f32),
    /// The slider was let go, at this value if it moved in the same frame.
    Release(Option<f32>),
}

impl RowAction {
    /// The slider moved: a typed value of the same parameter is dropped.
    pub fn is_slider(self) -> bool {
        !matches!(self, Self::Write(_))
    }
}

/// A typed value not written yet.
struct TypedEdit {
    text: String,
    /// Why the last attempt to write it wrote nothing.
    problem: Option<String>,
}

/// The typed values not yet written, by parameter index.
#[derive(Default)]
pub struct TypedEdits {
    edits: BTreeMap<u8, TypedEdit>,
}

impl TypedEdits {
    /// Drops the typed value of `index` (its slider moved instead).
    pub fn discard(&mut self, index: u8) {
        self.edits.remove(&index);
    }

    /// The field of parameter `index`, showing `shown` unless an edit is
    /// kept; returns a write when Enter was pressed on a good value.
    fn field_ui(
        &mut self,
        ui: &mut egui::Ui,
        index: u8,
        info: &ParamInfo,
        shown: f32,
    ) -> Option<RowAction> {
        let id = field_id(info);
        let kept = self.edits.get(&index);
        let mut text = kept.map_or_else(|| typed_text(info, shown), |e| e.text.clone());
        let mut field = egui::TextEdit::singleline(&mut text)
            .id(id)
            .desired_width(FIELD_WIDTH);
        if kept.is_some() {
            field = field.text_color(ui.visuals().warn_fg_color);
        }
        let response = ui
            .add(field)
            .accessible_name(info.name.as_str())
            .on_hover_text(format!(
                "{} = {} {} (limits {} … {}). Enter writes the value typed; Esc drops it.",
                info.name, info.value, info.unit, info.min, info.max
            ));
        if response.changed() {
            self.edits.insert(
                index,
                TypedEdit {
                    text,
                    problem: None,
                },
            );
        }
        if !response.lost_focus() {
            return None;
        }
        let (enter, escape) = ui.input(|i| {
            (
                i.key_pressed(egui::Key::Enter),
                i.key_pressed(egui::Key::Escape),
            )
        });
        if escape {
            self.edits.remove(&index);
            None
        } else if enter {
            self.commit(index, info)
        } else {
            // Left with the value in force typed back in: nothing to keep.
            if self
                .edits
                .get(&index)
                .is_some_and(|e| parse_typed(&e.text, info) == Ok(shown))
            {
                self.edits.remove(&index);
            }
            None
        }
    }

    /// The kept edit of `index` as a write, or its problem noted.
    fn commit(&mut self, index: u8, info: &ParamInfo) -> Option<RowAction> {
        let edit = self.edits.get_mut(&index)?;
        match parse_typed(&edit.text, info) {
            Ok(value) => {
                self.edits.remove(&index);
                Some(RowAction::Write(value))
            }
            Err(problem) => {
                edit.problem = Some(problem);
                None
            }
        }
    }

    /// *Write* and *Discard* for a kept edit, in the slider's place from
    /// the first keystroke on, so nothing moves under the pointer when the
    /// user clicks away or on one of them.
    fn kept_edit_buttons(
        &mut self,
        ui: &mut egui::Ui,
        index: u8,
        info: &ParamInfo,
    ) -> Option<RowAction> {
        self.edits.get(&index)?;
        let write = ui
            .small_button("Write")
            .accessible_name(format!("Write {}", info.name))
            .on_hover_text("Write the typed value (as Enter does)");
        let discard = ui
            .small_button("Discard")
            .accessible_name(format!("Discard {}", info.name))
            .on_hover_text("Drop the typed value; nothing is written");
        if write.clicked() {
            self.commit(index, info)
        } else {
            if discard.clicked() {
                self.edits.remove(&index);
            }
            None
        }
    }

    /// Whether `index` has a typed value not written yet.
    fn is_kept(&self, index: u8) -> bool {
        self.edits.contains_key(&index)
    }

    /// The line under a row whose typed value could not be written: why.
    /// It appears on Enter or *Write*, never on a click elsewhere.
    fn problem_ui(&self, ui: &mut egui::Ui, index: u8) {
        if let Some(problem) = self.edits.get(&index).and_then(|e| e.problem.as_ref()) {
            ui.horizontal(|ui| {
                ui.add_space(8.0);
                ui.colored_label(ui.visuals().error_fg_color, problem);
            });
        }
    }
}

fn field_id(info: &ParamInfo) -> egui::Id {
    egui::Id::unique(("typed value", &info.name))
}

/// The text a field shows for `value`: a whole number for whole kinds,
/// else six significant digits (what fits the field; the value in force is
/// in the hover text and the write's confirmation).
fn typed_text(info: &ParamInfo, value: f32) -> String {
    if info.kind.is_whole() || value == 0.0 || !value.is_finite() {
        return info.fit(value).to_string();
    }
    let magnitude = f64::from(value).abs().log10().floor() as i32;
    let decimals = (5 - magnitude).clamp(0, 12) as usize;
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// The value typed into the field of `info`, or one line saying why it is
/// none. The unit may follow the number; whole kinds take whole numbers;
/// the device's limits bound it (nothing is clamped behind the user's
/// back).
pub fn parse_typed(text: &str, info: &ParamInfo) -> Result<f32, String> {
    let trimmed = text.trim();
    let number = if info.unit.is_empty() {
        trimmed
    } else {
        trimmed
            .strip_suffix(info.unit.as_str())
            .unwrap_or(trimmed)
            .trim_end()
    };
    let value: f32 = number
        .parse()
        .ok()
        .filter(|v: &f32| v.is_finite())
        .ok_or_else(|| format!("\"{trimmed}\" is not a number; nothing written"))?;
    if info.kind.is_whole() && value.fract() != 0.0 {
        return Err(format!(
            "{} takes whole numbers; nothing written",
            info.name
        ));
    }
    if value < info.min || value > info.max {
        let unit = if info.unit.is_empty() {
            String::new()
        } else {
            format!(" {}", info.unit)
        };
        return Err(format!(
            "{value} is outside the device's limits {} … {}{unit}; nothing written",
            info.min, info.max
        ));
    }
    Ok(value)
}

/// Draws one parameter; returns what the user did to it. `held` is the
/// value of its slider while it is held.
pub fn param_row(
    ui: &mut egui::Ui,
    index: u8,
    view: &ParamView,
    held: Option<f32>,
    edits: &mut TypedEdits,
) -> Option<RowAction> {
    let info = &view.info;
    let role = info.role();
    let mut action = None;
    ui.horizontal(|ui| {
        ui.spacing_mut().slider_width = SLIDER_WIDTH;
        if role == ParamRole::ReadOnly {
            let label = ui.label(&info.name);
            ui.label(info.display(info.value)).labelled_by(label.id);
            ui.weak("read-only");
            return;
        }
        let shown = held.unwrap_or_else(|| view.shown_value());
        action = match &info.kind {
            ParamKind::Switch => switch_ui(ui, info, shown),
            ParamKind::Choice(names) => choice_ui(ui, info, names, shown),
            ParamKind::Real | ParamKind::Integer => {
                // The slider's place holds Write and Discard while a typed
                // value waits, so the row keeps its shape and the fields
                // line up.
                let place = egui::vec2(SLIDER_WIDTH, ui.spacing().interact_size.y);
                let slid = if edits.is_kept(index) {
                    let layout = egui::Layout::left_to_right(egui::Align::Center);
                    ui.allocate_ui_with_layout(place, layout, |ui| {
                        ui.set_min_size(place);
                        // Tight, to fit where the slider was.
                        ui.spacing_mut().button_padding = egui::vec2(2.0, 0.0);
                        ui.spacing_mut().item_spacing.x = 4.0;
                        edits.kept_edit_buttons(ui, index, info)
                    })
                    .inner
                } else if info.kind == ParamKind::Real && role != ParamRole::Mode {
                    slider_ui(ui, info, shown)
                } else {
                    ui.add_space(place.x + ui.spacing().item_spacing.x);
                    None
                };
                let typed = edits.field_ui(ui, index, info, shown);
                if !info.unit.is_empty() {
                    ui.weak(&info.unit);
                }
                ui.label(&info.name);
                slid.or(typed)
            }
        };
        if role == ParamRole::Mode {
            mode_tag(ui);
        }
        if edits.is_kept(index) {
            ui.colored_label(ui.visuals().warn_fg_color, "unwritten edit")
                .on_hover_text("Typed, not written: Enter or Write writes it, Discard drops it");
        } else {
            write_state_badge(ui, &view.write, &info.unit, info.value);
        }
    });
    edits.problem_ui(ui, index);
    action
}

fn slider_ui(ui: &mut egui::Ui, info: &ParamInfo, shown: f32) -> Option<RowAction> {
    let mut value = shown;
    let slider = egui::Slider::new(&mut value, info.min..=info.max)
        // The typed field beside it shows the value; the slider's own
        // field would write every keystroke.
        .show_value(false)
        .logarithmic(info.flags.log_scale())
        // A log slider from 0 spans four decades below the maximum,
        // not egui's default of many more that no gain needs.
        .smallest_positive(f64::from(info.max) * 1e-4);
    let response = ui
        .add(slider)
        .accessible_name(info.name.as_str())
        .on_hover_text(format!(
            "{}: {} … {} {}",
            info.name, info.min, info.max, info.unit
        ));
    if response.drag_stopped() {
        Some(RowAction::Release(response.changed().then_some(value)))
    } else if response.changed() && response.dragged() {
        Some(RowAction::Drag(value))
    } else if response.changed() {
        Some(RowAction::Write(value))
    } else {
        None
    }
}

fn switch_ui(ui: &mut egui::Ui, info: &ParamInfo, shown: f32) -> Option<RowAction> {
    let mut on = shown != 0.0;
    let response = ui.checkbox(&mut on, &info.name);
    response
        .changed()
        .then_some(RowAction::Write(if on { 1.0 } else { 0.0 }))
}

fn choice_ui(
    ui: &mut egui::Ui,
    info: &ParamInfo,
    names: &[String],
    shown: f32,
) -> Option<RowAction> {
    let mut chosen = None;
    egui::ComboBox::from_id_salt(("choice", &info.name))
        .selected_text(info.display(shown))
        .show_ui(ui, |ui| {
            for (position, name) in names.iter().enumerate() {
                let value = info.min + position as f32;
                if ui.selectable_label(value == shown, name).clicked() && value != shown {
                    chosen = Some(value);
                }
            }
        })
        .response
        .accessible_name(info.name.as_str());
    ui.label(&info.name);
    chosen.map(RowAction::Write)
}

/// The tag that sets a mode apart from the gains.
fn mode_tag(ui: &mut egui::Ui) {
    egui::Frame::new()
        .stroke(egui::Stroke::new(1.0, ui.visuals().warn_fg_color))
        .corner_radius(3.0)
        .inner_margin(egui::Margin::symmetric(3, 0))
        .show(ui, |ui| {
            ui.label(
                egui::RichText::new("mode")
                    .small()
                    .color(ui.visuals().warn_fg_color),
            )
        })
        .response
        .on_hover_text(
            "Switches what the drive does. Written only when you click it here: \
             never by undo, restore, profiles or auto-tune.",
        );
}

fn write_state_badge(ui: &mut egui::Ui, state: &WriteState, unit: &str, in_force: f32) {
    match state {
        WriteState::Idle => {}
        WriteState::Pending { .. } => {
            ui.weak("pending")
                .on_hover_text("Sent; waiting for the device");
        }
        WriteState::Confirmed => {
            ui.colored_label(egui::Color32::from_rgb(60, 170, 60), "confirmed")
                .on_hover_text("The device applied the value");
        }
        WriteState::Clamped { requested } => {
            ui.colored_label(ui.visuals().warn_fg_color, "clamped")
                .on_hover_text(format!(
                    "Asked {requested} {unit}; the device applied {in_force} {unit}"
                ));
        }
        WriteState::Refused(code) => {
            ui.colored_label(ui.visuals().error_fg_color, "refused")
                .on_hover_text(format!("The device refused the write: {code}"));
        }
        WriteState::Unanswered { requested } => {
            ui.colored_label(ui.visuals().error_fg_color, "no answer")
                .on_hover_text(format!(
                    "The device did not answer the write of {requested} {unit}"
                ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gain() -> ParamInfo {
        ParamInfo::real("pos.kd", "A·s/rad", 0, 0.0, 50.0, 0.2)
    }

    #[test]
    fn a_typed_value_parses_with_or_without_its_unit() {
        assert_eq!(parse_typed("0.35", &gain()), Ok(0.35));
        assert_eq!(parse_typed(" 0.35 A·s/rad ", &gain()), Ok(0.35));
        assert_eq!(parse_typed("1e1", &gain()), Ok(10.0));
    }

    #[test]
    fn a_value_that_cannot_be_written_is_one_line_saying_why() {
        let cases = [
            ("0.3x", "\"0.3x\" is not a number; nothing written"),
            ("", "\"\" is not a number; nothing written"),
            ("NaN", "\"NaN\" is not a number; nothing written"),
            (
                "60",
                "60 is outside the device's limits 0 … 50 A·s/rad; nothing written",
            ),
        ];
        for (text, problem) in cases {
            assert_eq!(
                parse_typed(text, &gain()),
                Err(problem.to_owned()),
                "{text}"
            );
        }
        let counts =
            ParamInfo::real("encoder.cpr", "", 0, 0.0, 1e6, 4096.0).with_kind(ParamKind::Integer);
        assert_eq!(parse_typed("2048", &counts), Ok(2048.0));
        assert_eq!(
            parse_typed("2048.5", &counts),
            Err("encoder.cpr takes whole numbers; nothing written".to_owned())
        );
        assert_eq!(
            parse_typed("-1", &counts),
            Err("-1 is outside the device's limits 0 … 1000000; nothing written".to_owned())
        );
    }

    #[test]
    fn a_field_shows_whole_kinds_whole_and_numbers_to_six_digits() {
        let counts =
            ParamInfo::real("encoder.cpr", "", 0, 0.0, 1e6, 4096.0).with_kind(ParamKind::Integer);
        assert_eq!(typed_text(&counts, 4096.0), "4096");
        assert_eq!(typed_text(&gain(), 0.2), "0.2");
        assert_eq!(typed_text(&gain(), 1.0 / 6.0), "0.166667");
        assert_eq!(typed_text(&gain(), 20.0), "20");
        assert_eq!(typed_text(&gain(), 0.00005), "0.00005");
        assert_eq!(typed_text(&gain(), 94.15733), "94.1573");
        assert_eq!(typed_text(&gain(), -12_345.67), "-12345.7");
    }
}
