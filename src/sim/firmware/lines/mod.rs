//! An Arduino sketch that prints its PID loop for a plotter and takes gains
//! as text commands, wrapping the simulated drive; tests make it print
//! every format real sketches use ([`SketchFormat`], [`print`]) and misbehave
//! as real ones do ([`Mishap`]).
//!
//! What it does, and where each behaviour comes from:
//! - Prints one sample every `print_every` control ticks, after a banner
//!   and (in [`SketchFormat::Header`]) a header printed once in `setup()`.
//!   With `time_column`, `micros()` comes first, a `u32` that wraps every
//!   2³² µs (`micros_at_start` sets where it starts); Teleplot's
//!   timestamps are `millis()`, wrapping every 2³² ms.
//! - Reads commands the way most sketches do: `Serial.readStringUntil('\n')`,
//!   `String::trim()` (which also drops a `\r`), then `startsWith("kp ")`
//!   and `substring(3).toFloat()`. `toFloat` is `atof`: it reads the
//!   longest number at the start and gives 0 for none, so `kp abc` sets kp
//!   to 0 — a real sketch's quirk, kept. Commands: `kp`, `ki`, `kd`, `sp`
//!   (setpoint), `enable`, `disable`; any other line is ignored silently.
//!   Nothing is echoed.
//! - The loop runs from `setup()`: the output is on at start unless
//!   [`LinesSketchSettings::enabled_at_start`] says otherwise. A sketch
//!   made with `powered: false` waits for [`LinesSketch::power_on`], as a
//!   board reset by the host opening its port starts when the port opens.
//! - Mishaps, each at a sample number, once or again every so many samples:
//!   a bad value in one field, a line of text, the loop blocking (no line,
//!   no control, `micros()` running on: a stall), or the bytes held up on
//!   the way and delivered all at once (a USB hiccup: the sketch goes on).
//! - With `keep_log`, every sample is kept with the `micros()` it was
//!   printed at and the fields as printed, for tests to check what the
//!   host made of them.

pub mod print;

use super::super::drive::{DriveConfig, SETPOINT_INDEX, SimDrive};
use super::super::emulated::EmulatedDevice;
pub use print::SketchFormat;

/// Something a real sketch does now and then.
#[derive(Clone, Debug, PartialEq)]
pub enum Mishap {
    /// Field `field` (0 to 2) of the sample is printed as `text` (`nan`,
    /// `inf`, `ovf`, an empty field, a word).
    BadValue {
        /// The field, 0 to 2.
        field: usize,
        /// What is printed in its place.
        text: String,
    },
    /// A line of text before the sample (`Serial.println("...")`).
    Text(String),
    /// The loop blocks this many ms before printing the sample.
    Stall {
        /// How long, ms.
        ms: u32,
    },
    /// The bytes from this sample on are held up this many ms, then
    /// delivered at once; the sketch goes on meanwhile.
    Hiccup {
        /// How long, ms.
        ms: u32,
    },
}

/// A mishap at sample `at` (counted from 0), and again every `every`.
#[derive(Clone, Debug, PartialEq)]
pub struct Scheduled {
    /// The sample it first happens at.
    pub at: u64,
    /// Samples between repeats; `None` for once.
    pub every: Option<u64>,
    /// What happens.
    pub mishap: Mishap,
}

impl Scheduled {
    fn due(&self, sample: u64) -> bool {
        match self.every {
            Some(every) if every > 0 => {
                sample >= self.at && (sample - self.at).is_multiple_of(every)
            }
            _ => sample == self.at,
        }
    }
}

/// The sketch's build-time choices.
#[derive(Clone, Debug)]
pub struct LinesSketchSettings {
    /// The control loop's rate, Hz.
    pub loop_hz: u32,
    /// Control ticks per printed sample.
    pub print_every: u32,
    /// How a sample is printed.
    pub format: SketchFormat,
    /// Print `micros()` as the first field.
    pub time_column: bool,
    /// What `micros()` reads at the start.
    pub micros_at_start: u32,
    /// The output is on from power-on.
    pub enabled_at_start: bool,
    /// Lines printed in `setup()` before anything else.
    pub banner: Vec<String>,
    /// What goes wrong, and when.
    pub mishaps: Vec<Scheduled>,
    /// Starts at once, or waits for [`LinesSketch::power_on`].
    pub powered: bool,
    /// Keep every printed sample with its `micros()`, for tests.
    pub keep_log: bool,
}

impl Default for LinesSketchSettings {
    fn default() -> Self {
        Self {
            loop_hz: 1000,
            print_every: 2,
            format: SketchFormat::Labelled,
            time_column: false,
            micros_at_start: 0,
            enabled_at_start: true,
            banner: Vec::new(),
            mishaps: Vec::new(),
            powered: true,
            keep_log: false,
        }
    }
}

/// A sample as the sketch printed it.
#[derive(Clone, Debug, PartialEq)]
pub struct Printed {
    /// `micros()` as the sample was printed, unwrapped (it runs past 2³²).
    pub micros: u64,
    /// The three fields as printed.
    pub fields: [String; 3],
}

/// Longest command line kept; a sketch's `String` would grow, but nothing
/// longer is a command.
const MAX_COMMAND: usize = 256;

/// The emulated sketch.
pub struct LinesSketch {
    /// The simulated drive the sketch's loop runs.
    pub drive: SimDrive,
    settings: LinesSketchSettings,
    /// Control ticks since power-on (the clock `micros()` reads).
    tick: u64,
    /// Samples printed.
    samples: u64,
    /// Ticks the loop is still blocked for, and the sample it prints when
    /// it comes back.
    blocked: u64,
    pending: Option<([f32; 3], Vec<Mishap>)>,
    /// Ticks the output is still held up for.
    held_up: u64,
    input: Vec<u8>,
    output: Vec<u8>,
    started: bool,
    /// Command lines understood.
    pub commands: u64,
    /// Lines that were no command, ignored as the sketch does.
    pub ignored_lines: u64,
    log: Vec<Printed>,
}

impl LinesSketch {
    /// A sketch running `config`'s drive with `settings`.
    pub fn new(config: DriveConfig, settings: LinesSketchSettings) -> Self {
        let mut drive = SimDrive::new(config);
        drive.set_enabled(settings.enabled_at_start);
        Self {
            drive,
            settings,
            tick: 0,
            samples: 0,
            blocked: 0,
            pending: None,
            held_up: 0,
            input: Vec::new(),
            output: Vec::new(),
            started: false,
            commands: 0,
            ignored_lines: 0,
            log: Vec::new(),
        }
    }

    /// Starts a sketch made with `powered: false`.
    pub fn power_on(&mut self) {
        self.settings.powered = true;
    }

    /// Bytes the sketch prints besides its plot lines (a debug message,
    /// noise on the wire), sent before its next line.
    pub fn print_raw(&mut self, bytes: &[u8]) {
        self.output.extend_from_slice(bytes);
    }

    /// The samples printed so far (with `keep_log`).
    pub fn log(&self) -> &[Printed] {
        &self.log
    }

    /// `micros()` now, unwrapped.
    pub fn micros(&self) -> u64 {
        u64::from(self.settings.micros_at_start)
            + self.tick * 1_000_000 / u64::from(self.settings.loop_hz.max(1))
    }

    fn ms_to_ticks(&self, ms: u32) -> u64 {
        u64::from(ms) * u64::from(self.settings.loop_hz) / 1000
    }

    fn setup(&mut self) {
        for line in &self.settings.banner {
            self.output
                .extend_from_slice(format!("{line}\r\n").as_bytes());
        }
        if let Some(header) = print::header(self.settings.format, self.settings.time_column) {
            self.output.extend_from_slice(header.as_bytes());
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

    /// The mishaps due at the next sample; a stall blocks the loop first.
    fn mishaps_due(&mut self) -> Vec<Mishap> {
        let sample = self.samples;
        self.settings
            .mishaps
            .iter()
            .filter(|s| s.due(sample))
            .map(|s| s.mishap.clone())
            .collect()
    }

    fn print(&mut self, values: [f32; 3], mishaps: &[Mishap]) {
        let mut fields = values.map(print::print_float);
        for mishap in mishaps {
            match mishap {
                Mishap::BadValue { field, text } if *field < 3 => fields[*field] = text.clone(),
                Mishap::Text(text) => {
                    self.output
                        .extend_from_slice(format!("{text}\r\n").as_bytes());
                }
                Mishap::Hiccup { ms } => self.held_up = self.ms_to_ticks(*ms),
                _ => {}
            }
        }
        let micros = self.micros();
        let line = print::line(
            self.settings.format,
            self.settings.time_column,
            micros,
            &fields,
        );
        self.output.extend_from_slice(line.as_bytes());
        if self.settings.keep_log {
            self.log.push(Printed { micros, fields });
        }
        self.samples += 1;
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
        if !self.settings.powered {
            return;
        }
        if !self.started {
            self.started = true;
            self.setup();
        }
        let dt = 1.0 / f64::from(self.settings.loop_hz.max(1));
        let every = u64::from(self.settings.print_every.max(1));
        for _ in 0..ticks {
            self.tick += 1;
            self.held_up = self.held_up.saturating_sub(1);
            if self.blocked > 0 {
                // Blocked in the loop: time runs, nothing else does; the
                // sample goes out when the loop comes back.
                self.blocked -= 1;
                if self.blocked == 0
                    && let Some((values, mishaps)) = self.pending.take()
                {
                    self.print(values, &mishaps);
                }
                continue;
            }
            let sample = self.drive.tick(dt);
            if !self.tick.is_multiple_of(every) {
                continue;
            }
            let values = [sample.setpoint, sample.position, sample.effort];
            let mut mishaps = self.mishaps_due();
            let stall = mishaps.iter().find_map(|m| match m {
                Mishap::Stall { ms } => Some(*ms),
                _ => None,
            });
            mishaps.retain(|m| !matches!(m, Mishap::Stall { .. }));
            match stall.map(|ms| self.ms_to_ticks(ms)) {
                Some(blocked) if blocked > 0 => {
                    self.blocked = blocked;
                    self.pending = Some((values, mishaps));
                }
                _ => self.print(values, &mishaps),
            }
        }
    }

    fn take_output(&mut self) -> Vec<u8> {
        if self.held_up > 0 {
            return Vec::new();
        }
        std::mem::take(&mut self.output)
    }
}

#[cfg(test)]
mod tests;
