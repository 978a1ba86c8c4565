//! The plot's frame and memory costs on a long history, against the naive
//! way in the same run.
//!
//! - `frame`: one whole egui frame (layout, egui_plot, tessellation) of a
//!   1200×600 plot of 4 channels × 10 million samples, showing the whole
//!   history and a 1 s zoom. Ours: each channel thinned from the history's
//!   min/max summary over the window the app thins (`thinning_window`: the
//!   view and a margin, one column per pixel), handed over borrowed.
//!   Naive: egui_plot handed every sample, borrowed (no copy).
//! - `memory` (printed, not timed): bytes per stored channel-sample, times
//!   and summary included, at 4 channels, against a time column of f64
//!   beside f32 columns (no summary) and against one `PlotPoint` per
//!   channel-sample.

// `missing_docs` is for the library's public items; `criterion_group!`
// defines an undocumented `pub fn` here.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use egui_plot::{Line, Plot, PlotPoint, PlotPoints};
use motiontune::app::scope::lines::{ChannelLine, Placement, thinning_window};
use motiontune::history::History;
use motiontune::protocol::SampleBatch;

const LOOP_HZ: f64 = 10_000.0;
const CHANNELS: usize = 4;
const SAMPLES: usize = 10_000_000;
const WIDTH: f32 = 1200.0;

/// A recognisable signal per channel: a slow sine with noise and an
/// occasional spike, so the min/max summary has real work.
fn value(channel: usize, i: usize) -> f32 {
    let t = i as f32 / LOOP_HZ as f32;
    let noise = ((i * 7919 + channel * 104_729) % 1000) as f32 / 1000.0 - 0.5;
    let spike = if i.is_multiple_of(100_003) { 5.0 } else { 0.0 };
    (t * (0.5 + channel as f32)).sin() + 0.05 * noise + spike
}

/// The history the app would hold, and every sample as plot points.
fn build() -> (History, Vec<Vec<PlotPoint>>) {
    let mut history = History::new(CHANNELS, SAMPLES as u64);
    let per_batch = 10_000;
    for start in (0..SAMPLES).step_by(per_batch) {
        let values = (start..start + per_batch)
            .flat_map(|i| (0..CHANNELS).map(move |channel| value(channel, i)))
            .collect();
        history.push_batch(
            &SampleBatch {
                first_tick: start as i64,
                stride: 1,
                tick_hz: LOOP_HZ,
                channel_count: CHANNELS,
                values,
                exact: None,
            },
            0,
        );
    }
    let raw = (0..CHANNELS)
        .map(|channel| {
            (0..SAMPLES)
                .map(|i| PlotPoint::new(i as f64 / LOOP_HZ, f64::from(value(channel, i))))
                .collect()
        })
        .collect();
    (history, raw)
}

/// What a frame draws.
#[derive(Clone, Copy)]
enum Lines<'a> {
    Thinned(&'a [ChannelLine]),
    EverySample(&'a [Vec<PlotPoint>]),
}

/// Runs one frame of a plot of `lines`; returns the number of meshes, so
/// the work cannot be optimised away.
fn frame(ctx: &egui::Context, view: (f64, f64), lines: Lines<'_>) -> usize {
    let input = egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(
            egui::Pos2::ZERO,
            egui::vec2(WIDTH, 600.0),
        )),
        ..Default::default()
    };
    let output = ctx.run_ui(input, |ui| {
        egui::CentralPanel::default().show(ui, |ui| {
            Plot::new("bench").show(ui, move |plot_ui| {
                plot_ui.set_plot_bounds_x(view.0..=view.1);
                match lines {
                    Lines::Thinned(lines) => {
                        for line in lines {
                            line.draw(plot_ui, "channel", egui::Color32::LIGHT_BLUE, 1.5);
                        }
                    }
                    Lines::EverySample(raw) => {
                        for points in raw {
                            plot_ui.line(Line::new(
                                "channel",
                                PlotPoints::Borrowed(black_box(points)),
                            ));
                        }
                    }
                }
            });
        });
    });
    ctx.tessellate(output.shapes, output.pixels_per_point).len()
}

fn plot_frames(c: &mut Criterion) {
    let (history, raw) = build();
    let ctx = egui::Context::default();
    let end = SAMPLES as f64 / LOOP_HZ;
    let mut lines: Vec<ChannelLine> = (0..CHANNELS).map(|_| ChannelLine::default()).collect();
    for (name, view) in [("full history", (0.0, end)), ("1 s zoom", (500.0, 501.0))] {
        let mut group = c.benchmark_group(format!("frame 4 ch x 10M samples, {name}"));
        group.sample_size(10);
        group.bench_function("thinned from the summary", |b| {
            b.iter(|| {
                let (times, columns) = thinning_window(view.0..view.1, WIDTH as usize);
                for (channel, line) in lines.iter_mut().enumerate() {
                    line.update(
                        &history,
                        channel,
                        times.clone(),
                        columns,
                        Placement::default(),
                    );
                }
                frame(&ctx, view, Lines::Thinned(&lines))
            })
        });
        group.bench_function("every sample to egui_plot", |b| {
            b.iter(|| frame(&ctx, view, Lines::EverySample(&raw)))
        });
        group.finish();
    }
    let points: usize = lines.iter().map(ChannelLine::point_count).sum();
    println!("points handed to egui_plot per frame (4 channels, 1 s zoom): {points}");

    let channel_samples = (history.len() * CHANNELS) as f64;
    println!(
        "memory: {:.2} bytes per channel-sample (samples, tick runs, min/max summary, gaps); \
         f64 time + f32 columns: {:.2}; a PlotPoint per channel-sample: {}",
        history.bytes_used() as f64 / channel_samples,
        (8.0 + 4.0 * CHANNELS as f64) / CHANNELS as f64,
        std::mem::size_of::<PlotPoint>(),
    );
}

criterion_group!(benches, plot_frames);
criterion_main!(benches);
