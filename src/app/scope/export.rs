//! Saving the plots as files: a [`Figure`] built from the same histories,
//! styles and time range as the screen, at a size of the user's choosing
//! and off-screen, so no pointer, tooltip, message or clipped legend gets
//! in. Each channel is thinned to the export's pixel columns as on screen;
//! each plot has its legend above it, a left axis for its first unit and a
//! right axis when a second unit shares it.

use super::channels::{ChannelStyle, PlotSlot};
use super::figure::{Anchor, Figure, Shape};
use super::lines::ChannelLine;
use super::plots::{self, Layer, RightAxis};
use super::{time_axis, write_marks};
use crate::device::session::WriteMark;
use crate::protocol::DeviceInfo;

/// What an export draws.
pub struct ExportInput<'a> {
    /// The histories, newest first.
    pub layers: &'a [Layer<'a>],
    /// How each channel is drawn.
    pub styles: &'a [ChannelStyle],
    /// The device's channels.
    pub info: &'a DeviceInfo,
    /// The time range, in the plot's time.
    pub range: (f64, f64),
    /// The time axis's title.
    pub x_label: &'a str,
    /// Parameter writes to mark.
    pub writes: &'a [WriteMark],
    /// Image size, pixels.
    pub size: [u32; 2],
}

const BACKGROUND: egui::Color32 = egui::Color32::WHITE;
const INK: egui::Color32 = egui::Color32::from_rgb(30, 30, 30);
const GRID: egui::Color32 = egui::Color32::from_rgb(225, 225, 225);
const FRAME: egui::Color32 = egui::Color32::from_rgb(150, 150, 150);
const MARK: egui::Color32 = egui::Color32::from_rgb(190, 140, 30);
const FONT: f32 = 13.0;
const LEGEND_ROW: f32 = 22.0;
const AXIS_WIDTH: f32 = 72.0;

/// A 1-2-5 step giving about `count` ticks over `span`.
fn nice_step(span: f64, count: f64) -> f64 {
    let raw = (span / count.max(1.0)).max(f64::MIN_POSITIVE);
    let power = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|&step| step >= raw)
        .unwrap_or(10.0 * power)
}

/// Multiples of `step` within `range`.
fn ticks(range: (f64, f64), step: f64) -> impl Iterator<Item = f64> {
    let first = (range.0 / step).ceil() as i64;
    let last = (range.1 / step).floor() as i64;
    (first..=last.min(first + 1000)).map(move |i| i as f64 * step)
}

/// A value range padded by 5 % (a flat line gets ±1 around it).
fn padded(range: (f64, f64)) -> (f64, f64) {
    let span = range.1 - range.0;
    if span > 0.0 {
        (range.0 - span * 0.05, range.1 + span * 0.05)
    } else {
        (range.0 - 1.0, range.1 + 1.0)
    }
}

/// Builds the figure.
pub fn figure(input: &ExportInput<'_>) -> Figure {
    let [width, height] = input.size;
    let (w, h) = (width as f32, height as f32);
    let mut shapes = vec![Shape::Rect {
        min: [0.0, 0.0],
        max: [w, h],
        fill: BACKGROUND,
    }];
    let slots = plots::shown_slots(input.styles);
    let any_right = slots.iter().any(|&slot| {
        let on = |right| {
            input
                .styles
                .iter()
                .any(|s| s.visible && s.slot == slot && s.right_axis == right)
        };
        on(true) && on(false)
    });
    let left = AXIS_WIDTH;
    let right = w - if any_right { AXIS_WIDTH } else { 24.0 };
    let plot_width = (right - left).max(10.0);
    let mut lines: Vec<ChannelLine> = Vec::new();
    plots::update_lines(
        &mut lines,
        input.layers,
        input.styles,
        input.range,
        plot_width as usize,
    );
    let right_axes: Vec<Option<RightAxis>> = slots
        .iter()
        .map(|&slot| plots::fit_right_axis(&mut lines, input.styles, slot))
        .collect();
    let bottom_room = 2.4 * FONT + 12.0;
    let top = 8.0;
    let gap = 10.0;
    let count = slots.len().max(1) as f32;
    let block = ((h - top - bottom_room) - gap * (count - 1.0)) / count;
    let x_of =
        |t: f64| left + ((t - input.range.0) / (input.range.1 - input.range.0)) as f32 * plot_width;
    let seconds_per_px = (input.range.1 - input.range.0) / f64::from(plot_width);
    let time_step = time_axis::major_step(input.range, seconds_per_px);

    for (k, (&slot, right_axis)) in slots.iter().zip(&right_axes).enumerate() {
        let block_top = top + k as f32 * (block + gap);
        let plot_top = block_top + LEGEND_ROW;
        let plot_bottom = block_top + block;
        legend(
            &mut shapes,
            input,
            slot,
            right_axis.is_some(),
            left,
            block_top,
        );
        // The left axis's value range: its channels, or the right ones
        // when it has none.
        let in_slot = |index: usize| {
            let style = &input.styles[index % input.styles.len().max(1)];
            style.visible && style.slot == slot
        };
        let value_range = (0..lines.len())
            .filter(|&i| in_slot(i))
            .fold(None, |range, i| plots::widen(range, lines[i].value_range()))
            .map_or((-1.0, 1.0), padded);
        let y_of = |v: f64| {
            plot_bottom
                - ((v - value_range.0) / (value_range.1 - value_range.0)) as f32
                    * (plot_bottom - plot_top)
        };
        // Grid and ticks.
        let y_step = nice_step(
            value_range.1 - value_range.0,
            f64::from((plot_bottom - plot_top) / 50.0),
        );
        for v in ticks(value_range, y_step) {
            let y = y_of(v);
            shapes.push(grid_line([left, y], [right, y]));
            shapes.push(text(
                "tick",
                [left - 6.0, y + FONT * 0.35],
                time_axis::label(v, y_step),
                Anchor::End,
            ));
            if let Some(axis) = right_axis {
                let step = y_step / axis.gain.abs();
                shapes.push(text(
                    "tick",
                    [right + 6.0, y + FONT * 0.35],
                    time_axis::label(axis.value_at(v), step),
                    Anchor::Start,
                ));
            }
        }
        for t in ticks(input.range, time_step) {
            let x = x_of(t);
            shapes.push(grid_line([x, plot_top], [x, plot_bottom]));
            if k + 1 == slots.len() {
                shapes.push(text(
                    "tick",
                    [x, plot_bottom + FONT + 4.0],
                    time_axis::label(t, time_step),
                    Anchor::Middle,
                ));
            }
        }
        // Units over the axes.
        let unit_of = |right: bool| {
            input
                .styles
                .iter()
                .zip(&input.info.channels)
                .find(|(s, _)| {
                    s.visible && s.slot == slot && (s.right_axis == right || right_axis.is_none())
                })
                .map(|(_, c)| c.unit.clone())
                .unwrap_or_default()
        };
        shapes.push(text(
            "unit",
            [left - 6.0, plot_top - 6.0],
            unit_of(false),
            Anchor::End,
        ));
        if right_axis.is_some() {
            shapes.push(text(
                "unit",
                [right + 6.0, plot_top - 6.0],
                unit_of(true),
                Anchor::Start,
            ));
        }
        // Mark lines under the traces.
        let mut mark_labels = Vec::new();
        write_mark_shapes(
            &mut shapes,
            &mut mark_labels,
            input,
            &x_of,
            (plot_top, plot_bottom),
            k == 0,
        );
        // Traces, earlier captures first and faded.
        let channel_count = input.styles.len().max(1);
        for (layer_index, layer) in input.layers.iter().enumerate().rev() {
            for (channel, style) in input.styles.iter().enumerate() {
                if !style.visible || style.slot != slot {
                    continue;
                }
                let color = if layer.newest {
                    style.color
                } else {
                    style.color.gamma_multiply(0.35)
                };
                for run in lines[layer_index * channel_count + channel].runs() {
                    let points: Vec<[f32; 2]> = run
                        .iter()
                        .filter(|p| p.x >= input.range.0 && p.x <= input.range.1)
                        .map(|p| [x_of(p.x), y_of(p.y).clamp(plot_top, plot_bottom)])
                        .collect();
                    if points.len() > 1 {
                        shapes.push(Shape::Polyline {
                            class: "trace",
                            points,
                            color,
                            width: 1.5,
                            dashed: false,
                        });
                    }
                }
            }
        }
        // Mark labels over the traces, on a backing.
        shapes.append(&mut mark_labels);
        frame(&mut shapes, [left, plot_top], [right, plot_bottom]);
    }
    shapes.push(text(
        "axis",
        [left + plot_width / 2.0, h - 8.0],
        input.x_label.to_owned(),
        Anchor::Middle,
    ));
    Figure {
        width,
        height,
        shapes,
    }
}

fn text(class: &'static str, at: [f32; 2], text: String, anchor: Anchor) -> Shape {
    Shape::Text {
        class,
        at,
        text,
        size: FONT,
        color: INK,
        anchor,
    }
}

fn grid_line(from: [f32; 2], to: [f32; 2]) -> Shape {
    Shape::Polyline {
        class: "grid",
        points: vec![from, to],
        color: GRID,
        width: 1.0,
        dashed: false,
    }
}

fn frame(shapes: &mut Vec<Shape>, min: [f32; 2], max: [f32; 2]) {
    shapes.push(Shape::Polyline {
        class: "frame",
        points: vec![min, [max[0], min[1]], max, [min[0], max[1]], min],
        color: FRAME,
        width: 1.0,
        dashed: false,
    });
}

/// The legend row above a plot: a swatch and a label per channel.
fn legend(
    shapes: &mut Vec<Shape>,
    input: &ExportInput<'_>,
    slot: PlotSlot,
    has_right_axis: bool,
    left: f32,
    top: f32,
) {
    let font = super::figure::measuring_font();
    let mut x = left;
    let y = top + LEGEND_ROW - 7.0;
    let mut entries: Vec<_> = input
        .styles
        .iter()
        .zip(&input.info.channels)
        .filter(|(s, _)| s.visible && s.slot == slot)
        .collect();
    entries.sort_by_key(|(s, _)| s.right_axis);
    for (style, channel) in entries {
        let name = plots::legend_name(&channel.label(), style, has_right_axis);
        shapes.push(Shape::Polyline {
            class: "swatch",
            points: vec![[x, y - 4.0], [x + 18.0, y - 4.0]],
            color: style.color,
            width: 3.0,
            dashed: false,
        });
        let width = font.as_ref().map_or(name.len() as f32 * FONT * 0.55, |f| {
            super::figure::text_width(f, &name, FONT)
        });
        shapes.push(text("legend", [x + 24.0, y], name, Anchor::Start));
        x += 24.0 + width + 16.0;
    }
}

/// Dashed lines at the writes in range (into `shapes`), and labels where
/// there is room (into `labels`).
fn write_mark_shapes(
    shapes: &mut Vec<Shape>,
    labels: &mut Vec<Shape>,
    input: &ExportInput<'_>,
    x_of: &dyn Fn(f64) -> f32,
    (top, bottom): (f32, f32),
    labelled: bool,
) {
    let first = input.writes.partition_point(|w| w.time_s < input.range.0);
    let shown: Vec<&WriteMark> = input.writes[first..]
        .iter()
        .take_while(|w| w.time_s <= input.range.1)
        .take(500)
        .collect();
    let xs: Vec<f32> = shown.iter().map(|w| x_of(w.time_s)).collect();
    for index in write_marks::spaced(&xs, write_marks::LINE_GAP) {
        let x = xs[index];
        shapes.push(Shape::Polyline {
            class: "write",
            points: vec![[x, top], [x, bottom]],
            color: MARK.gamma_multiply(0.6),
            width: 1.0,
            dashed: true,
        });
    }
    if !labelled {
        return;
    }
    let texts: Vec<String> = shown.iter().map(|w| write_marks::mark_text(w)).collect();
    let widths: Vec<f32> = texts
        .iter()
        .map(|t| t.chars().count() as f32 * FONT * 0.55)
        .collect();
    for index in write_marks::labels_with_room(&xs, &widths) {
        labels.push(Shape::Rect {
            min: [xs[index] + 1.0, top + 2.0],
            max: [xs[index] + 5.0 + widths[index], top + FONT + 6.0],
            fill: BACKGROUND.gamma_multiply(0.85),
        });
        labels.push(Shape::Text {
            class: "write",
            at: [xs[index] + 3.0, top + FONT + 2.0],
            text: texts[index].clone(),
            size: FONT,
            color: MARK,
            anchor: Anchor::Start,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::WriteSource;
    use crate::history::History;
    use crate::protocol::{ChannelInfo, ChannelRole, SampleBatch};

    /// A sine on a 1 kHz clock over 2 s, in rad and A.
    fn history() -> History {
        let mut history = History::new(2, 10_000);
        let values = (0..2000)
            .flat_map(|i| {
                let t = f64::from(i) * 1e-3;
                [(t * 6.0).sin() as f32, (t * 3.0).cos() as f32 * 5.0]
            })
            .collect();
        history.push_batch(
            &SampleBatch {
                first_tick: 0,
                stride: 1,
                tick_hz: 1000.0,
                channel_count: 2,
                values,
                exact: None,
            },
            0,
        );
        history
    }

    #[test]
    fn the_figure_has_a_legend_entry_and_traces_per_channel_and_few_write_labels() {
        let history = history();
        let info = DeviceInfo {
            name: "test".into(),
            firmware: String::new(),
            protocol_version: 1,
            loop_hz: 1000,
            watchdog_ms: 0,
            channels: vec![
                ChannelInfo {
                    name: "position".into(),
                    unit: "rad".into(),
                    role: ChannelRole::Feedback,
                },
                ChannelInfo {
                    name: "effort".into(),
                    unit: "A".into(),
                    role: ChannelRole::Effort,
                },
            ],
            params: Vec::new(),
            other_axes: Vec::new(),
        };
        let styles = super::super::channels::default_styles(&info.channels);
        // 300 writes in 1.5 s: far too many to label each.
        let writes: Vec<WriteMark> = (0..300)
            .map(|i| WriteMark {
                time_s: 0.2 + f64::from(i) * 0.005,
                name: "pos.kp".into(),
                value: i as f32,
                previous: 0.0,
                unit: "A/rad".into(),
                setpoint: false,
                source: WriteSource::Edit,
            })
            .collect();
        let layers = [Layer {
            history: &history,
            shift: 0.0,
            newest: true,
        }];
        let figure = figure(&ExportInput {
            layers: &layers,
            styles: &styles,
            info: &info,
            range: (0.0, 2.0),
            x_label: "device time [s]",
            writes: &writes,
            size: [800, 500],
        });
        let svg = figure.to_svg();
        assert_eq!(svg.matches("<text class=\"legend\"").count(), 2);
        assert_eq!(svg.matches("<polyline class=\"trace\"").count(), 2);
        // 300 marks 2 points apart: lines only every 3 points or more.
        let lines = svg.matches("<polyline class=\"write\"").count();
        assert!((2 * 100..2 * 300).contains(&lines), "{lines} mark lines");
        let labels = svg.matches("<text class=\"write\"").count();
        assert!((2..=12).contains(&labels), "{labels} write labels");
        // At least three labelled time ticks on the bottom plot.
        assert!(svg.matches("<text class=\"tick\"").count() >= 3 + 2 * 3);
        let rgba = figure.to_rgba().expect("drawn");
        assert_eq!(rgba.len(), 800 * 500 * 4);
    }
}
