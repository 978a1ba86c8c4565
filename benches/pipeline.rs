//! The plot's hot path, against the naive way in the same run: one whole
//! egui frame of a plot (layout, egui_plot, tessellation) showing a 10 s and
//! a 60 s window at 10 kHz, with the history thinned per pixel column,
//! against handing egui_plot every sample. Decoding the wire is measured in
//! `benches/ingest.rs`.

use criterion::{Criterion, criterion_group, criterion_main};
use egui_plot::{Line, Plot, PlotPoint, PlotPoints};
use motiontune::history::History;
use motiontune::protocol::SampleBatch;

const LOOP_HZ: u32 = 10_000;

/// `seconds` at 10 kHz of one channel, as the store holds it and as raw
/// plot points.
fn history_of(seconds: usize) -> (History, Vec<PlotPoint>) {
    let n = seconds * LOOP_HZ as usize;
    let mut history = History::new(1, n);
    let values: Vec<f32> = (0..n)
        .map(|i| (i as f32 * 2e-3).sin() + 0.01 * ((i * 7919) % 101) as f32 / 101.0)
        .collect();
    let raw = values
        .iter()
        .enumerate()
        .map(|(i, &v)| PlotPoint::new(i as f64 / f64::from(LOOP_HZ), f64::from(v)))
        .collect();
    history.push_batch(
        &SampleBatch {
            first_tick: 0,
            stride: 1,
            tick_hz: f64::from(LOOP_HZ),
            channel_count: 1,
            values,
        },
        0,
    );
    (history, raw)
}

fn plot_frame(ctx: &egui::Context, points: &[PlotPoint], end: f64) -> usize {
    let input = egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(
            egui::Pos2::ZERO,
            egui::vec2(1200.0, 600.0),
        )),
        ..Default::default()
    };
    let output = ctx.run_ui(input, |ui| {
        egui::CentralPanel::default().show(ui, |ui| {
            Plot::new("bench").show(ui, |plot_ui| {
                plot_ui.set_plot_bounds_x(0.0..=end);
                plot_ui.line(Line::new("position", PlotPoints::Borrowed(points)));
            });
        });
    });
    ctx.tessellate(output.shapes, output.pixels_per_point).len()
}

fn plot(c: &mut Criterion) {
    let ctx = egui::Context::default();
    for seconds in [10, 60] {
        let (history, raw) = history_of(seconds);
        let end = seconds as f64;
        let mut thinned = Vec::new();
        let mut group = c.benchmark_group(format!("plot frame, {seconds} s window at 10 kHz"));
        group.bench_function("thinned per pixel column", |b| {
            b.iter(|| {
                thinned.clear();
                thinned.extend(
                    history
                        .thin(0, 0.0, end, 1200)
                        .into_iter()
                        .map(|[t, v]| PlotPoint::new(t, v)),
                );
                plot_frame(&ctx, &thinned, end)
            })
        });
        group.bench_function("every sample to egui_plot", |b| {
            b.iter(|| plot_frame(&ctx, &raw, end))
        });
        group.finish();
    }
}

criterion_group!(benches, plot);
criterion_main!(benches);
