//! A drawing made of a few kinds of shapes (polylines, rectangles, text),
//! written as SVG or rasterized to PNG from the same list, so both files
//! of an export show the same thing. Coordinates are pixels from the top
//! left. The PNG draws text with egui's own proportional font, so it
//! needs no font installed.

use std::fmt::Write as _;
use std::path::Path;

use ab_glyph::{Font as _, FontVec, PxScale, ScaleFont as _};

/// Where a text's anchor point is along its line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anchor {
    /// The text starts at the point.
    Start,
    /// The text is centred on the point.
    Middle,
    /// The text ends at the point.
    End,
}

/// One thing drawn.
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    /// Connected line segments.
    Polyline {
        /// What the line is, for the SVG's `class` (`trace`, `grid` …).
        class: &'static str,
        /// Its points, in order.
        points: Vec<[f32; 2]>,
        /// Stroke colour.
        color: egui::Color32,
        /// Stroke width, pixels.
        width: f32,
        /// Drawn dashed.
        dashed: bool,
    },
    /// A rectangle.
    Rect {
        /// Top-left corner.
        min: [f32; 2],
        /// Bottom-right corner.
        max: [f32; 2],
        /// Fill colour.
        fill: egui::Color32,
    },
    /// One line of text; `at` is its baseline's anchor point.
    Text {
        /// What the text is, for the SVG's `class` (`legend`, `tick` …).
        class: &'static str,
        /// The baseline's anchor point.
        at: [f32; 2],
        /// The text.
        text: String,
        /// Font size, pixels.
        size: f32,
        /// Colour.
        color: egui::Color32,
        /// Which part of the text sits on `at`.
        anchor: Anchor,
    },
}

/// A drawing of a given size.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Figure {
    /// Width, pixels.
    pub width: u32,
    /// Height, pixels.
    pub height: u32,
    /// Drawn in order, later over earlier.
    pub shapes: Vec<Shape>,
}

fn hex(color: egui::Color32) -> String {
    let [r, g, b, _] = color.to_srgba_unmultiplied();
    format!("#{r:02x}{g:02x}{b:02x}")
}

fn opacity(color: egui::Color32) -> f32 {
    f32::from(color.to_srgba_unmultiplied()[3]) / 255.0
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl Figure {
    /// The drawing as an SVG document.
    pub fn to_svg(&self) -> String {
        let (w, h) = (self.width, self.height);
        let mut out = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" \
             viewBox=\"0 0 {w} {h}\" font-family=\"Ubuntu, 'DejaVu Sans', sans-serif\">\n"
        );
        for shape in &self.shapes {
            // Writing to a String cannot fail.
            let _ = match shape {
                Shape::Polyline {
                    class,
                    points,
                    color,
                    width,
                    dashed,
                } => {
                    let mut list = String::with_capacity(points.len() * 14);
                    for [x, y] in points {
                        let _ = write!(list, "{x:.1},{y:.1} ");
                    }
                    let dash = if *dashed {
                        " stroke-dasharray=\"4 3\""
                    } else {
                        ""
                    };
                    writeln!(
                        out,
                        "<polyline class=\"{class}\" points=\"{}\" fill=\"none\" stroke=\"{}\" \
                         stroke-opacity=\"{:.2}\" stroke-width=\"{width}\" \
                         stroke-linejoin=\"round\"{dash}/>",
                        list.trim_end(),
                        hex(*color),
                        opacity(*color)
                    )
                }
                Shape::Rect { min, max, fill } => writeln!(
                    out,
                    "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\" \
                     fill-opacity=\"{:.2}\"/>",
                    min[0],
                    min[1],
                    max[0] - min[0],
                    max[1] - min[1],
                    hex(*fill),
                    opacity(*fill)
                ),
                Shape::Text {
                    class,
                    at,
                    text,
                    size,
                    color,
                    anchor,
                } => {
                    let anchor = match anchor {
                        Anchor::Start => "start",
                        Anchor::Middle => "middle",
                        Anchor::End => "end",
                    };
                    writeln!(
                        out,
                        "<text class=\"{class}\" x=\"{:.1}\" y=\"{:.1}\" font-size=\"{size}\" \
                         text-anchor=\"{anchor}\" fill=\"{}\">{}</text>",
                        at[0],
                        at[1],
                        hex(*color),
                        escape(text)
                    )
                }
            };
        }
        out.push_str("</svg>\n");
        out
    }

    /// The drawing rasterized, as straight RGBA rows.
    pub fn to_rgba(&self) -> Result<Vec<u8>, String> {
        let mut pixmap = tiny_skia::Pixmap::new(self.width, self.height)
            .ok_or_else(|| format!("cannot draw {}×{} pixels", self.width, self.height))?;
        let font = default_font()?;
        for shape in &self.shapes {
            match shape {
                Shape::Polyline {
                    points,
                    color,
                    width,
                    dashed,
                    ..
                } => stroke(&mut pixmap, points, *color, *width, *dashed),
                Shape::Rect { min, max, fill } => {
                    if let Some(rect) = tiny_skia::Rect::from_ltrb(min[0], min[1], max[0], max[1]) {
                        pixmap.fill_rect(
                            rect,
                            &paint(*fill),
                            tiny_skia::Transform::identity(),
                            None,
                        );
                    }
                }
                Shape::Text {
                    at,
                    text,
                    size,
                    color,
                    anchor,
                    ..
                } => draw_text(&mut pixmap, &font, *at, text, *size, *color, *anchor),
            }
        }
        let mut rgba = Vec::with_capacity(pixmap.data().len());
        for pixel in pixmap.pixels() {
            let c = pixel.demultiply();
            rgba.extend_from_slice(&[c.red(), c.green(), c.blue(), c.alpha()]);
        }
        Ok(rgba)
    }

    /// Writes the drawing as a PNG.
    pub fn save_png(&self, path: &Path) -> Result<(), String> {
        let rgba = self.to_rgba()?;
        let file = std::fs::File::create(path).map_err(|e| e.to_string())?;
        let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), self.width, self.height);
        encoder.set_color(png::ColorType::Rgba);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
        writer.write_image_data(&rgba).map_err(|e| e.to_string())?;
        writer.finish().map_err(|e| e.to_string())
    }

    /// Writes the drawing as SVG.
    pub fn save_svg(&self, path: &Path) -> Result<(), String> {
        std::fs::write(path, self.to_svg()).map_err(|e| e.to_string())
    }
}

fn paint(color: egui::Color32) -> tiny_skia::Paint<'static> {
    let [r, g, b, a] = color.to_srgba_unmultiplied();
    let mut paint = tiny_skia::Paint::default();
    paint.set_color_rgba8(r, g, b, a);
    paint.anti_alias = true;
    paint
}

fn stroke(
    pixmap: &mut tiny_skia::Pixmap,
    points: &[[f32; 2]],
    color: egui::Color32,
    width: f32,
    dashed: bool,
) {
    let mut builder = tiny_skia::PathBuilder::new();
    let mut rest = points.iter();
    let Some([x, y]) = rest.next() else {
        return;
    };
    builder.move_to(*x, *y);
    for [x, y] in rest {
        builder.line_to(*x, *y);
    }
    let Some(path) = builder.finish() else {
        return;
    };
    let stroke = tiny_skia::Stroke {
        width,
        line_join: tiny_skia::LineJoin::Round,
        dash: if dashed {
            tiny_skia::StrokeDash::new(vec![4.0, 3.0], 0.0)
        } else {
            None
        },
        ..tiny_skia::Stroke::default()
    };
    pixmap.stroke_path(
        &path,
        &paint(color),
        &stroke,
        tiny_skia::Transform::identity(),
        None,
    );
}

/// egui's proportional font, as compiled into the app.
fn default_font() -> Result<FontVec, String> {
    let definitions = egui::FontDefinitions::default();
    let data = definitions
        .families
        .get(&egui::FontFamily::Proportional)
        .and_then(|names| names.first())
        .and_then(|name| definitions.font_data.get(name))
        .ok_or("no font compiled in")?;
    let bytes: &[u8] = (*data.font).as_ref();
    FontVec::try_from_vec_and_index(bytes.to_vec(), data.index).map_err(|e| e.to_string())
}

/// Width of `text` at `size` pixels in `font`.
pub fn text_width(font: &FontVec, text: &str, size: f32) -> f32 {
    let scaled = font.as_scaled(PxScale::from(size));
    let mut width = 0.0;
    let mut previous = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(previous) = previous {
            width += scaled.kern(previous, id);
        }
        width += scaled.h_advance(id);
        previous = Some(id);
    }
    width
}

fn draw_text(
    pixmap: &mut tiny_skia::Pixmap,
    font: &FontVec,
    at: [f32; 2],
    text: &str,
    size: f32,
    color: egui::Color32,
    anchor: Anchor,
) {
    let scale = PxScale::from(size);
    let scaled = font.as_scaled(scale);
    let width = text_width(font, text, size);
    let mut x = match anchor {
        Anchor::Start => at[0],
        Anchor::Middle => at[0] - width / 2.0,
        Anchor::End => at[0] - width,
    };
    let [r, g, b, a] = color.to_srgba_unmultiplied();
    let (pw, ph) = (pixmap.width() as i64, pixmap.height() as i64);
    let stride = pixmap.width() as usize;
    let pixels = pixmap.pixels_mut();
    let mut previous = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(previous) = previous {
            x += scaled.kern(previous, id);
        }
        let glyph = id.with_scale_and_position(scale, ab_glyph::point(x, at[1]));
        x += scaled.h_advance(id);
        previous = Some(id);
        let Some(outlined) = font.outline_glyph(glyph) else {
            continue;
        };
        let bounds = outlined.px_bounds();
        outlined.draw(|gx, gy, coverage| {
            let px = bounds.min.x as i64 + i64::from(gx);
            let py = bounds.min.y as i64 + i64::from(gy);
            if px < 0 || py < 0 || px >= pw || py >= ph {
                return;
            }
            let pixel = &mut pixels[py as usize * stride + px as usize];
            let under = pixel.demultiply();
            let alpha = coverage.clamp(0.0, 1.0) * f32::from(a) / 255.0;
            let mix = |top: u8, bottom: u8| {
                (f32::from(top) * alpha + f32::from(bottom) * (1.0 - alpha)).round() as u8
            };
            let out_alpha = (alpha * 255.0 + f32::from(under.alpha()) * (1.0 - alpha)).round();
            let straight = tiny_skia::ColorU8::from_rgba(
                mix(r, under.red()),
                mix(g, under.green()),
                mix(b, under.blue()),
                out_alpha as u8,
            );
            *pixel = straight.premultiply();
        });
    }
}

/// A font for measuring text the way the PNG draws it.
pub fn measuring_font() -> Option<FontVec> {
    default_font().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Figure {
        Figure {
            width: 64,
            height: 32,
            shapes: vec![
                Shape::Rect {
                    min: [0.0, 0.0],
                    max: [64.0, 32.0],
                    fill: egui::Color32::WHITE,
                },
                Shape::Polyline {
                    class: "trace",
                    points: vec![[2.0, 30.0], [62.0, 2.0]],
                    color: egui::Color32::from_rgb(255, 0, 0),
                    width: 2.0,
                    dashed: false,
                },
                Shape::Text {
                    class: "legend",
                    at: [4.0, 14.0],
                    text: "Δt <5>".into(),
                    size: 12.0,
                    color: egui::Color32::BLACK,
                    anchor: Anchor::Start,
                },
            ],
        }
    }

    #[test]
    fn svg_holds_each_shape_and_escapes_text() {
        let svg = sample().to_svg();
        assert_eq!(svg.matches("<polyline class=\"trace\"").count(), 1);
        assert_eq!(svg.matches("<text class=\"legend\"").count(), 1);
        assert!(svg.contains(">Δt &lt;5&gt;</text>"), "{svg}");
        assert!(svg.contains("points=\"2.0,30.0 62.0,2.0\""), "{svg}");
    }

    #[test]
    fn the_raster_has_the_line_and_the_text() {
        let figure = sample();
        let rgba = figure.to_rgba().expect("drawn");
        assert_eq!(rgba.len(), 64 * 32 * 4);
        let at = |x: usize, y: usize| &rgba[(y * 64 + x) * 4..(y * 64 + x) * 4 + 4];
        // Mid-line: red (edges blend with the white).
        let mid = at(32, 16);
        assert!(mid[0] > 240 && mid[1] < 80 && mid[2] < 80, "{mid:?}");
        // Corner: white background.
        assert_eq!(at(63, 31), [255, 255, 255, 255]);
        // The text left dark pixels in its box.
        let dark = (0..16)
            .flat_map(|y| (0..24).map(move |x| (x, y)))
            .filter(|&(x, y)| at(x, y)[0] < 100)
            .count();
        assert!(dark > 5, "{dark}");
    }
}
