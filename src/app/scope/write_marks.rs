//! Marks of the writes sent to the device on the live plots: a dashed line
//! at each write's time and its name and new value at the line's top.
//! Where labels would overprint, only those with room are written (the
//! first of a crowd, then the next one clear of it); hovering near any
//! mark shows its full label.

use egui_plot::{LineStyle, PlotBounds, VLine};

use crate::device::session::WriteMark;

/// The writes within `bounds`' time range (at most 200).
fn writes_in_view<'a>(
    writes: &'a [WriteMark],
    bounds: &PlotBounds,
) -> impl Iterator<Item = &'a WriteMark> {
    let (t0, t1) = (bounds.min()[0], bounds.max()[0]);
    let first = writes.partition_point(|w| w.time_s < t0);
    writes[first..]
        .iter()
        .take_while(move |w| w.time_s <= t1)
        .take(200)
}

const WRITE_MARK_COLOR: egui::Color32 = egui::Color32::from_rgb(200, 160, 60);

/// Points between a label's end and the next label.
const LABEL_GAP: f32 = 6.0;

/// How near the pointer must be to a mark to show its label, points.
const HOVER_REACH: f32 = 4.0;

/// Fewest points between two mark lines drawn: closer ones would only
/// paint the plot over.
pub const LINE_GAP: f32 = 3.0;

/// Which of the marks at `xs` (ascending) get a line: each at least
/// `gap` from the last one drawn.
pub fn spaced(xs: &[f32], gap: f32) -> Vec<usize> {
    let mut kept = Vec::new();
    let mut clear_from = f32::NEG_INFINITY;
    for (index, &x) in xs.iter().enumerate() {
        if x >= clear_from {
            kept.push(index);
            clear_from = x + gap;
        }
    }
    kept
}

/// A dashed vertical line at each write in view, thinned where they
/// crowd.
pub(super) fn draw_write_marks(
    plot_ui: &mut egui_plot::PlotUi<'_>,
    writes: &[WriteMark],
    bounds: &PlotBounds,
) {
    let shown: Vec<&WriteMark> = writes_in_view(writes, bounds).collect();
    let xs: Vec<f32> = shown
        .iter()
        .map(|w| {
            plot_ui
                .screen_from_plot(egui_plot::PlotPoint::new(w.time_s, 0.0))
                .x
        })
        .collect();
    for index in spaced(&xs, LINE_GAP) {
        plot_ui.vline(
            VLine::new("", shown[index].time_s)
                .color(WRITE_MARK_COLOR)
                .style(LineStyle::dashed_dense())
                .width(1.0),
        );
    }
}

/// A write's label: name, new value and unit.
pub fn mark_text(write: &WriteMark) -> String {
    if write.unit.is_empty() {
        format!("{} = {}", write.name, write.value)
    } else {
        format!("{} = {} {}", write.name, write.value, write.unit)
    }
}

/// Which of the marks at `xs` (ascending, points) get a label `widths`
/// wide: a label is kept when it starts clear of the last kept one's end,
/// so no two overprint and a crowd shows its first.
pub fn labels_with_room(xs: &[f32], widths: &[f32]) -> Vec<usize> {
    let mut kept = Vec::new();
    let mut clear_from = f32::NEG_INFINITY;
    for (index, (&x, &width)) in xs.iter().zip(widths).enumerate() {
        if x >= clear_from {
            kept.push(index);
            clear_from = x + width + LABEL_GAP;
        }
    }
    kept
}

/// Labels the marks with room at the top of their line, and the one under
/// the pointer in full. Painted over the plot rather than added to it, so
/// the labels never widen the plot's automatic bounds.
pub(super) fn label_write_marks(
    ui: &egui::Ui,
    response: &egui_plot::PlotResponse<(PlotBounds, Option<egui_plot::PlotPoint>)>,
    writes: &[WriteMark],
) {
    let frame = *response.transform.frame();
    let painter = ui.painter_at(frame);
    let font = egui::FontId::proportional(11.0);
    let shown: Vec<&WriteMark> = writes_in_view(writes, response.transform.bounds()).collect();
    let x_of = |write: &WriteMark| {
        response
            .transform
            .position_from_point(&egui_plot::PlotPoint::new(write.time_s, 0.0))
            .x
    };
    let xs: Vec<f32> = shown.iter().map(|w| x_of(w)).collect();
    let galleys: Vec<_> = shown
        .iter()
        .map(|w| painter.layout_no_wrap(mark_text(w), font.clone(), WRITE_MARK_COLOR))
        .collect();
    let widths: Vec<f32> = galleys.iter().map(|g| g.size().x + 3.0).collect();
    let backing = ui.visuals().extreme_bg_color.gamma_multiply(0.85);
    for index in labels_with_room(&xs, &widths) {
        let at = egui::pos2(xs[index] + 3.0, frame.top() + 2.0);
        let rect = egui::Rect::from_min_size(at, galleys[index].size()).expand(1.0);
        painter.rect_filled(rect, 2.0, backing);
        painter.galley(at, galleys[index].clone(), WRITE_MARK_COLOR);
    }
    // The mark nearest the pointer, in full, on a backing so it reads over
    // the others.
    let Some(pointer) = response.response.hover_pos() else {
        return;
    };
    let nearest = xs
        .iter()
        .enumerate()
        .map(|(index, x)| (index, (x - pointer.x).abs()))
        .filter(|&(_, distance)| distance <= HOVER_REACH)
        .min_by(|a, b| a.1.total_cmp(&b.1));
    if let Some((index, _)) = nearest {
        let text = shown
            .iter()
            .zip(&xs)
            .filter(|&(_, x)| (x - xs[index]).abs() <= HOVER_REACH)
            .map(|(w, _)| format!("{}, was {}", mark_text(w), w.previous))
            .collect::<Vec<_>>()
            .join("\n");
        let galley = painter.layout_no_wrap(text, font, ui.visuals().strong_text_color());
        let at = egui::pos2(
            (xs[index] + 6.0).min(frame.right() - galley.size().x - 4.0),
            pointer.y.min(frame.bottom() - galley.size().y - 4.0),
        );
        let backing = egui::Rect::from_min_size(at, galley.size()).expand(3.0);
        painter.rect_filled(backing, 3.0, ui.visuals().extreme_bg_color);
        painter.rect_stroke(
            backing,
            3.0,
            egui::Stroke::new(1.0, WRITE_MARK_COLOR),
            egui::StrokeKind::Outside,
        );
        painter.galley(at, galley, ui.visuals().strong_text_color());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thousand_marks_in_800_points_get_few_labels_that_never_overlap() {
        let xs: Vec<f32> = (0..1000).map(|i| i as f32 * 0.8).collect();
        let widths = vec![60.0; 1000];
        let kept = labels_with_room(&xs, &widths);
        assert!(kept.len() <= 800 / 66 + 1, "{}", kept.len());
        assert!(kept.len() >= 10, "{}", kept.len());
        for pair in kept.windows(2) {
            assert!(xs[pair[1]] >= xs[pair[0]] + widths[pair[0]]);
        }
    }

    #[test]
    fn crowded_mark_lines_are_drawn_at_least_a_gap_apart() {
        let xs: Vec<f32> = (0..1000).map(|i| i as f32 * 0.8).collect();
        let drawn = spaced(&xs, LINE_GAP);
        assert!(
            drawn.len() <= 800 / 3 + 1 && drawn.len() > 200,
            "{}",
            drawn.len()
        );
        for pair in drawn.windows(2) {
            assert!(xs[pair[1]] - xs[pair[0]] >= LINE_GAP);
        }
    }

    #[test]
    fn sparse_marks_are_all_labelled() {
        let xs = [10.0, 200.0, 400.0];
        assert_eq!(labels_with_room(&xs, &[80.0; 3]), vec![0, 1, 2]);
        assert_eq!(labels_with_room(&[], &[]), Vec::<usize>::new());
    }
}
