//! The native window: its title, size and icon, and the app in it; the
//! terminal's Ctrl-C wakes it so it closes the normal way.

use super::{App, AppOptions, icon};

/// Opens the native window.
pub fn run_native(options: AppOptions) -> anyhow::Result<()> {
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("motiontune")
        .with_inner_size([1400.0, 900.0])
        .with_min_inner_size([800.0, 500.0]);
    if let Some(icon) = icon::icon() {
        viewport = viewport.with_icon(icon);
    }
    let native = eframe::NativeOptions {
        viewport,
        ..Default::default()
    };
    eframe::run_native(
        "motiontune",
        native,
        Box::new(move |cc| {
            let ctx = cc.egui_ctx.clone();
            crate::interrupt::wake_with(move || ctx.request_repaint());
            Ok(Box::new(App::new(cc, options)))
        }),
    )
    .map_err(|e| anyhow::anyhow!("cannot open the window: {e}"))
}
