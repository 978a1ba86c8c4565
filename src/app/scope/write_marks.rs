//! Marks of the writes sent to the device on the live plots: a dashed line
//! at each write's time and its name and new value at the line's top.

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

/// A dashed vertical line at each write in view.
pub(super) fn draw_write_marks(
    plot_ui: &mut egui_plot::PlotUi<'_>,
    writes: &[WriteMark],
    bounds: &PlotBounds,
) {
    for write in writes_in_view(writes, bounds) {
        plot_ui.vline(
            VLine::new("", write.time_s)
                .color(WRITE_MARK_COLOR)
                .style(LineStyle::dashed_dense())
                .width(1.0),
        );
    }
}

/// Each write's name and new value at the top of its line. Painted over
/// the plot rather than added to it, so the labels never widen the plot's
/// automatic bounds.
pub(super) fn label_write_marks(
    ui: &egui::Ui,
    response: &egui_plot::PlotResponse<(PlotBounds, Option<egui_plot::PlotPoint>)>,
    writes: &[WriteMark],
) {
    let frame = *response.transform.frame();
    let painter = ui.painter_at(frame);
    for write in writes_in_view(writes, response.transform.bounds()) {
        let x = response
            .transform
            .position_from_point(&egui_plot::PlotPoint::new(write.time_s, 0.0))
            .x;
        let unit = if write.unit.is_empty() {
            String::new()
        } else {
            format!(" {}", write.unit)
        };
        painter.text(
            egui::pos2(x + 3.0, frame.top() + 2.0),
            egui::Align2::LEFT_TOP,
            format!("{} = {}{unit}", write.name, write.value),
            egui::FontId::proportional(11.0),
            WRITE_MARK_COLOR,
        );
    }
}
