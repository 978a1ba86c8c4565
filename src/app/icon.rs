//! The application icon (`assets/icon.png`, drawn by
//! `scripts/make_icon.py`): a step response with its overshoot. Built into
//! the binary and decoded when the window opens.

/// The icon's PNG bytes.
const ICON_PNG: &[u8] = include_bytes!("../../assets/icon.png");

/// The icon as the window wants it: 8-bit RGBA. `None` (no icon, the
/// window opens all the same) only if the built-in file were broken.
pub fn icon() -> Option<egui::IconData> {
    let decoder = png::Decoder::new(std::io::Cursor::new(ICON_PNG));
    let mut reader = decoder.read_info().ok()?;
    let mut rgba = vec![0; reader.output_buffer_size()?];
    let frame = reader.next_frame(&mut rgba).ok()?;
    if (frame.color_type, frame.bit_depth) != (png::ColorType::Rgba, png::BitDepth::Eight) {
        return None;
    }
    rgba.truncate(frame.buffer_size());
    Some(egui::IconData {
        rgba,
        width: frame.width,
        height: frame.height,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_icon_is_a_square_rgba_image_with_a_drawing_on_it() {
        let icon = icon().expect("the built-in icon decodes");
        assert_eq!((icon.width, icon.height), (128, 128));
        assert_eq!(icon.rgba.len(), 128 * 128 * 4);
        let pixel = |x: usize, y: usize| &icon.rgba[(y * 128 + x) * 4..][..4];
        // Transparent corners, the dark square, and the orange curve.
        assert_eq!(pixel(0, 0)[3], 0);
        assert_eq!(pixel(64, 120), [30, 38, 52, 255]);
        let orange = icon
            .rgba
            .chunks(4)
            .filter(|p| p == &[255, 150, 40, 255])
            .count();
        assert!(orange > 300, "{orange} orange pixels");
    }
}
