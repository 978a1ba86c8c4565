//! An Arduino sketch that prints its PID loop in serial-plotter format and
//! takes gains as text commands, wrapping the simulated drive.
//!
//! What it does, and where each behaviour comes from:
//! - Prints one line every `print_every` control ticks with `Serial.print(x,
//!   4)` and `Serial.println()`: four fixed decimals, a `-` kept on a value
//!   that rounds to zero (Arduino `Print::printFloat`), `\r\n` at the end
//!   (`Print::println`).
//! - [`SketchFormat::Labelled`] prints `setpoint:…,position:…,effort:…`, the
//!   form of the Arduino IDE 2 serial-plotter tutorial;
//!   [`SketchFormat::Header`] prints a header line `setpoint position
//!   effort` once in `setup()` and then tab-separated numbers (the IDE's
//!   "CSV header style"). With `time_column`, `micros()` comes first, a
//!   `u32` that wraps every 2³² µs.
//! - Reads commands the way most sketches do: `Serial.readStringUntil('\n')`,
//!   `String::trim()` (which also drops a `\r`), then `startsWith("kp ")`
//!   and `substring(3).toFloat()`. `toFloat` is `atof`: it reads the
//!   longest number at the start and gives 0 for none, so `kp abc` sets kp
//!   to 0 — a real sketch's quirk, kept. Commands: `kp`, `ki`, `kd`, `sp`
//!   (setpoint), `enable`, `disable`; any other line is ignored silently.
//!   Nothing is echoed.
//! - The loop runs from `setup()`: the output is on at start unless
//!   [`LinesSketchSettings::enabled_at_start`] says otherwise.

use super::super::drive::{DriveConfig, SETPOINT_INDEX, SimDrive};
use super::super::emulated::EmulatedDevice;

/// How the sketch prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SketchFormat {
    /// `setpoint:0.1000,position:0.0990,effort:0.1234`
    Labelled,
    /// A header line once, then `0.1000\t0.0990\t0.1234`.
    Header,
}

/// The sketch's build-time choices.
#[derive(Clone, Debug)]
pub struct LinesSketchSettings {
    pub loop_hz: u32,
    /// Control ticks per printed line.
    pub print_every: u32,
    pub format: SketchFormat,
    /// Print `micros()` as the first field.
    pub time_column: bool,
    pub enabled_at_start: bool,
}

impl Default for LinesSketchSettings {
    fn default() -> Self {
        Self {
            loop_hz: 1000,
            print_every: 2,
            format: SketchFormat::Labelled,
            time_column: false,
            enabled_at_start: true,
        }
    }
}

/// Longest command line kept; a sketch's `String` would grow, but nothing
/// longer is a command.
const MAX_COMMAND: usize = 256;

/// The emulated sketch.
pub struct LinesSketch {
    pub drive: SimDrive,
    settings: LinesSketchSettings,
    tick: u64,
    input: Vec<u8>,
    output: Vec<u8>,
    started: bool,
    /// Command lines understood.
    pub commands: u64,
    /// Lines that were no command, ignored as the sketch does.
    pub ignored_lines: u64,
}

impl LinesSketch {
    pub fn new(config: DriveConfig, settings: LinesSketchSettings) -> Self {
        let mut drive = SimDrive::new(config);
        drive.set_enabled(settings.enabled_at_start);
        Self {
            drive,
            settings,
            tick: 0,
            input: Vec::new(),
            output: Vec::new(),
            started: false,
            commands: 0,
            ignored_lines: 0,
        }
    }

    /// Bytes the sketch prints besides its plot lines (a debug message,
    /// noise on the wire), sent before its next line.
    pub fn print_raw(&mut self, bytes: &[u8]) {
        self.output.extend_from_slice(bytes);
    }

    fn setup(&mut self) {
        if self.settings.format == SketchFormat::Header {
            let time = if self.settings.time_column {
                "time\t"
            } else {
                ""
            };
            self.output
                .extend_from_slice(format!("{time}setpoint\tposition\teffort\r\n").as_bytes());
        }
    }

    fn command(&mut self, line: &str) {
        let line = line.trim();
        let gain = |prefix: &str| line.strip_prefix(prefix).map(to_float);
        let write = [("kp ", 0), ("ki ", 1), ("kd ", 2), ("sp ", SETPOINT_INDEX)]
            .into_iter()
            .find_map(|(prefix, index)| gain(prefix).map(|value| (index, value)));
        match (write, line) {
            (Some((index, value)), _) => {
                // The drive's limits stand in for the sketch's constrain().
                let _ = self.drive.set_param(index, value);
                self.commands += 1;
            }
            (None, "enable") => {
                self.drive.set_enabled(true);
                self.commands += 1;
            }
            (None, "disable") => {
                self.drive.set_enabled(false);
                self.commands += 1;
            }
            (None, _) => self.ignored_lines += 1,
        }
    }

    fn print(&mut self, values: [f32; 3]) {
        let separator = match self.settings.format {
            SketchFormat::Labelled => ",",
            SketchFormat::Header => "\t",
        };
        let mut line = String::new();
        if self.settings.time_column {
            let micros = (self.tick * 1_000_000 / u64::from(self.settings.loop_hz.max(1))) as u32;
            match self.settings.format {
                SketchFormat::Labelled => line.push_str(&format!("time:{micros}{separator}")),
                SketchFormat::Header => line.push_str(&format!("{micros}{separator}")),
            }
        }
        let names = ["setpoint", "position", "effort"];
        for (k, (name, value)) in names.iter().zip(values).enumerate() {
            if k > 0 {
                line.push_str(separator);
            }
            if self.settings.format == SketchFormat::Labelled {
                line.push_str(name);
                line.push(':');
            }
            line.push_str(&format!("{value:.4}"));
        }
        line.push_str("\r\n");
        self.output.extend_from_slice(line.as_bytes());
    }
}

/// `atof`: the longest number at the start of `text` (after blanks), 0
/// when there is none.
fn to_float(text: &str) -> f32 {
    let text = text.trim_start();
    (1..=text.len())
        .rev()
        .filter(|&end| text.is_char_boundary(end))
        .find_map(|end| text[..end].parse::<f32>().ok().filter(|v| v.is_finite()))
        .unwrap_or(0.0)
}

impl EmulatedDevice for LinesSketch {
    fn loop_hz(&self) -> u32 {
        self.settings.loop_hz
    }

    fn receive(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            if byte != b'\n' {
                if self.input.len() < MAX_COMMAND {
                    self.input.push(byte);
                }
                continue;
            }
            let line = String::from_utf8_lossy(&self.input).into_owned();
            self.input.clear();
            self.command(&line);
        }
    }

    fn advance(&mut self, ticks: u64) {
        if !self.started {
            self.started = true;
            self.setup();
        }
        let dt = 1.0 / f64::from(self.settings.loop_hz.max(1));
        for _ in 0..ticks {
            let sample = self.drive.tick(dt);
            self.tick += 1;
            if self
                .tick
                .is_multiple_of(u64::from(self.settings.print_every.max(1)))
            {
                self.print([sample.setpoint, sample.position, sample.effort]);
            }
        }
    }

    fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sketch(format: SketchFormat, time_column: bool) -> LinesSketch {
        LinesSketch::new(
            DriveConfig::linear(),
            LinesSketchSettings {
                format,
                time_column,
                ..LinesSketchSettings::default()
            },
        )
    }

    fn text(sketch: &mut LinesSketch) -> String {
        String::from_utf8(sketch.take_output()).expect("the sketch prints text")
    }

    #[test]
    fn prints_plotter_lines_in_either_format() {
        let mut labelled = sketch(SketchFormat::Labelled, false);
        labelled.advance(4);
        assert_eq!(
            text(&mut labelled),
            "setpoint:0.0000,position:0.0000,effort:0.0000\r\n".repeat(2)
        );
        let mut header = sketch(SketchFormat::Header, true);
        header.advance(2);
        assert_eq!(
            text(&mut header),
            "time\tsetpoint\tposition\teffort\r\n2000\t0.0000\t0.0000\t0.0000\r\n"
        );
    }

    #[test]
    fn takes_commands_as_a_typical_sketch_parses_them() {
        let mut device = sketch(SketchFormat::Labelled, false);
        device.receive(b"kp 12.5\r\nki 3");
        device.receive(b"\nkd 0.75xyz\nsp 0.5\nhello\nkp\n");
        let gains = &device.drive.config.gains;
        assert_eq!((gains.ki, gains.kd), (3.0, 0.75));
        assert_eq!(gains.kp, 12.5, "`kp` without a space is no command");
        assert_eq!(device.drive.config.setpoint, 0.5);
        assert_eq!((device.commands, device.ignored_lines), (4, 2));
        device.receive(b"kp abc\n");
        assert_eq!(
            device.drive.config.gains.kp, 0.0,
            "toFloat of no number is 0"
        );
        device.receive(b"disable\n");
        assert!(!device.drive.enabled());
        device.receive(b"enable\n");
        assert!(device.drive.enabled());
        device.advance(400);
        let printed = text(&mut device);
        let last = printed.lines().last().expect("lines");
        assert!(last.starts_with("setpoint:0.5000,"), "{last}");
    }
}
