//! `FOCMotor::monitor()`'s lines as they arrive, and how often to ask
//! for them. It promises:
//!
//! - Any format the sketch chose reads: `monitor()` prints the selected
//!   variables with `monitor_decimals` decimals, between
//!   `monitor_separator`, after `monitor_start_char` and before
//!   `monitor_end_char` when those are set (Arduino-FOC 2.4.0,
//!   `FOCMotor.cpp`:321-383, `FOCMotor.h`:287-290). The format is learned
//!   from two lines that agree and held; a line that looks like it and
//!   does not parse, or holds `nan`, `inf` or `ovf`, is a bad sample, never
//!   a silent zero; a line of one variable is a bare number, which in `@3`
//!   no reply can be.
//! - The link is never asked to carry more than 70 % of what the serial
//!   port can: the monitor's downsample is chosen from the baud rate, the
//!   line length and the loop rate ([`RatePlan`]), then checked against
//!   the rate and lengths that arrive. At 115200 baud a full line takes
//!   about 4.5 ms; a board whose UART is full stalls in `print()`, and
//!   with it the motor's loop.

/// What the sketch's monitoring lines look like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MonitorFormat {
    /// The character a line starts with, if any.
    pub start: Option<char>,
    /// `None` until a line of two variables shows it.
    pub separator: Option<char>,
    /// The character a line ends with before its line end, if any.
    pub end: Option<char>,
}

impl MonitorFormat {
    /// Whether a line of format `other` fits this one (a line of one
    /// variable shows no separator).
    fn admits(&self, other: &MonitorFormat) -> bool {
        self.start == other.start
            && self.end == other.end
            && (self.separator.is_none()
                || other.separator.is_none()
                || self.separator == other.separator)
    }

    fn merge(&mut self, other: &MonitorFormat) {
        self.separator = self.separator.or(other.separator);
    }
}

/// One number as Arduino's `print(float, decimals)` writes it, at the
/// start of `text`: its value and length.
fn number_at(text: &str) -> Option<(f32, usize)> {
    for word in ["nan", "ovf", "inf"] {
        if text.starts_with(word) {
            let value = if word == "inf" {
                f32::INFINITY
            } else {
                f32::NAN
            };
            return Some((value, 3));
        }
    }
    let bytes = text.as_bytes();
    let mut end = usize::from(bytes.first() == Some(&b'-'));
    let digits_from = end;
    while bytes.get(end).is_some_and(u8::is_ascii_digit) {
        end += 1;
    }
    if end == digits_from {
        return None;
    }
    if bytes.get(end) == Some(&b'.') && bytes.get(end + 1).is_some_and(u8::is_ascii_digit) {
        end += 1;
        while bytes.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
    }
    let value = text[..end].parse::<f64>().ok()? as f32;
    Some((value, end))
}

/// `line` read as a monitoring line of any format.
pub fn parse_any(line: &str) -> Option<(MonitorFormat, Vec<f32>)> {
    if !line.is_ascii() || line.is_empty() {
        return None;
    }
    let mut format = MonitorFormat {
        start: None,
        separator: None,
        end: None,
    };
    let mut rest = line;
    if number_at(rest).is_none() {
        let start = rest.chars().next()?;
        format.start = Some(start);
        rest = &rest[1..];
    }
    let mut values = Vec::new();
    loop {
        let (value, length) = number_at(rest)?;
        values.push(value);
        rest = &rest[length..];
        let mut chars = rest.chars();
        let Some(next) = chars.next() else {
            break;
        };
        if chars.as_str().is_empty() {
            format.end = Some(next);
            break;
        }
        match format.separator {
            Some(separator) if separator != next => return None,
            _ => format.separator = Some(next),
        }
        rest = chars.as_str();
    }
    Some((format, values))
}

/// What a line is to the monitor reader.
#[derive(Clone, Debug, PartialEq)]
pub enum MonitorLine {
    /// A monitoring line: its values, in the order printed.
    Sample(Vec<f32>),
    /// A line of the monitor's format that does not parse as it.
    Bad,
    /// A monitoring line while the format is still being learned.
    Learning,
    /// Not a monitoring line.
    NotMonitor,
}

/// The monitor's format, learned from the lines.
#[derive(Clone, Debug, Default)]
pub struct MonitorReader {
    format: Option<MonitorFormat>,
    candidate: Option<MonitorFormat>,
}

impl MonitorReader {
    /// The start character of the format learned, or being learned.
    pub fn start(&self) -> Option<char> {
        self.format
            .or(self.candidate)
            .and_then(|format| format.start)
    }

    /// Reads one line: a sample, a bad line, a line learning the format, or none of these.
    pub fn read(&mut self, line: &str) -> MonitorLine {
        let parsed = parse_any(line);
        let Some(format) = &mut self.format else {
            let Some((seen, _)) = parsed else {
                return MonitorLine::NotMonitor;
            };
            match &mut self.candidate {
                Some(candidate) if candidate.admits(&seen) => {
                    candidate.merge(&seen);
                    self.format = self.candidate.take();
                }
                _ => self.candidate = Some(seen),
            }
            return MonitorLine::Learning;
        };
        match parsed {
            // `nan`, `inf`, `ovf`: the line is the monitor's, its value no
            // sample (a plot or an analysis has no use for it).
            Some((seen, values))
                if format.admits(&seen) && values.iter().all(|v| v.is_finite()) =>
            {
                format.merge(&seen);
                MonitorLine::Sample(values)
            }
            Some(_) => MonitorLine::Bad,
            None => {
                let looks_like = format
                    .separator
                    .is_some_and(|separator| line.contains(separator))
                    || format.start.is_some_and(|start| line.starts_with(start));
                if looks_like {
                    MonitorLine::Bad
                } else {
                    MonitorLine::NotMonitor
                }
            }
        }
    }
}

/// The share of the serial port's capacity monitoring may take.
pub const LINK_SHARE: f64 = 0.7;
/// Bytes a monitored variable is taken to cost before lines are measured
/// (`-12.3456` and a separator; the last one's `\r\n` instead).
const BYTES_PER_VARIABLE: f64 = 9.0;
/// A change of plan smaller than this is not worth a new `MMD`.
const REPLAN_RATIO: f64 = 1.3;
/// Above this share of the port, the sketch is taken to wait on its UART
/// (the loop rate measured is then only a floor).
const SATURATED_SHARE: f64 = 0.9;

/// How often `monitor()` prints: every `base × divider` loops, `base`
/// chosen so that lines of `line_bytes` at `loop_hz` take at most
/// [`LINK_SHARE`] of `baud`, split evenly between the motors whose links
/// share the port ([`RatePlan::set_links`]).
#[derive(Clone, Debug, PartialEq)]
pub struct RatePlan {
    baud: u32,
    /// The sketch's loop rate, Hz, as assumed or measured.
    pub loop_hz: f64,
    /// Bytes of one monitoring line, line end included.
    pub line_bytes: f64,
    /// Loops per print before the divider: the `MMD` base.
    pub base: u32,
    /// Links streaming over the port, this one included.
    links: usize,
}

impl RatePlan {
    /// A plan for `variables` monitored at an assumed loop rate.
    pub fn new(baud: u32, loop_hz: f64, variables: usize) -> Self {
        let line_bytes = variables as f64 * BYTES_PER_VARIABLE + 1.0;
        let mut plan = Self {
            baud: baud.max(300),
            loop_hz: loop_hz.max(1.0),
            line_bytes,
            base: 1,
            links: 1,
        };
        plan.base = plan.base_for(plan.loop_hz, line_bytes);
        plan
    }

    /// Bytes a second the port carries (8N1: ten bits a byte).
    pub fn capacity(&self) -> f64 {
        f64::from(self.baud) / 10.0
    }

    /// Bytes a second this link's monitoring may take.
    fn budget(&self) -> f64 {
        LINK_SHARE * self.capacity() / self.links as f64
    }

    fn base_for(&self, loop_hz: f64, line_bytes: f64) -> u32 {
        let budget = self.budget();
        (loop_hz * line_bytes / budget).ceil().clamp(1.0, 65_535.0) as u32
    }

    /// `MMD` for a stream divider (`MMD` is an unsigned int on the board;
    /// kept to 16 bits for the smallest).
    pub fn downsample(&self, divider: u16) -> u32 {
        (self.base * u32::from(divider.max(1))).min(65_535)
    }

    /// `links` links now share the port (one motor's each): a new base
    /// when the share changes it.
    pub fn set_links(&mut self, links: usize) -> Option<u32> {
        let links = links.max(1);
        if links == self.links {
            return None;
        }
        self.links = links;
        let base = self.base_for(self.loop_hz, self.line_bytes);
        (base != self.base).then(|| {
            self.base = base;
            base
        })
    }

    /// Lines a second at divider 1.
    pub fn stream_hz(&self) -> f64 {
        self.loop_hz / f64::from(self.base)
    }

    /// Learns from `lines_per_s` lines of `mean_bytes` (line end
    /// included) that arrived at
    /// `downsample`; a new base when the plan was off by more than 30 %.
    pub fn learn(&mut self, lines_per_s: f64, mean_bytes: f64, downsample: u32) -> Option<u32> {
        if !(lines_per_s > 0.0 && mean_bytes > 0.0) {
            return None;
        }
        let mut loop_hz = lines_per_s * f64::from(downsample);
        if lines_per_s * mean_bytes > SATURATED_SHARE / LINK_SHARE * self.budget() {
            // The loop waited on the UART: it runs faster than this.
            loop_hz *= 2.0;
        }
        self.loop_hz = loop_hz;
        self.line_bytes = mean_bytes;
        let base = self.base_for(loop_hz, self.line_bytes);
        let ratio = f64::from(base.max(self.base)) / f64::from(base.min(self.base).max(1));
        if ratio > REPLAN_RATIO {
            self.base = base;
            Some(base)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_the_sketch_may_choose_reads() {
        let tab = parse_any("1.0000\t-0.5000\t2").expect("tab");
        assert_eq!(tab.1, vec![1.0, -0.5, 2.0]);
        assert_eq!(tab.0.separator, Some('\t'));
        let framed = parse_any(">1.00,2.00<").expect("start and end");
        assert_eq!(framed.0.start, Some('>'));
        assert_eq!(framed.0.end, Some('<'));
        assert_eq!(framed.1, vec![1.0, 2.0]);
        assert_eq!(parse_any("2.5000").expect("one").1, vec![2.5]);
        assert!(parse_any("nan 2.0").expect("nan").1[0].is_nan());
        for text in [
            "MOT:Ready.",
            "Motor ready.",
            "@machine",
            "?M:motor",
            "1.0\t2.0,3.0",
            "",
        ] {
            assert_eq!(parse_any(text), None, "{text:?}");
        }
    }

    #[test]
    fn the_format_is_learned_then_held() {
        let mut reader = MonitorReader::default();
        assert_eq!(reader.read("0.5000"), MonitorLine::Learning);
        assert_eq!(reader.read("MOT:Ready."), MonitorLine::NotMonitor);
        assert_eq!(reader.read("0.5000"), MonitorLine::Learning);
        assert_eq!(reader.read("1.0\t2.0"), MonitorLine::Sample(vec![1.0, 2.0]));
        assert_eq!(reader.read("0.1"), MonitorLine::Sample(vec![0.1]));
        // Corrupted lines of the format are bad samples, text stays text.
        assert_eq!(reader.read("q.0\t2.0"), MonitorLine::Bad);
        assert_eq!(reader.read("m1.0\t2.0"), MonitorLine::Bad);
        assert_eq!(reader.read("1.0)2.0\t3.0"), MonitorLine::Bad);
        assert_eq!(reader.read("Motor ready."), MonitorLine::NotMonitor);
        assert_eq!(
            reader.read("nan\t2.0"),
            MonitorLine::Bad,
            "no sample of nan"
        );
    }

    /// Share of the port the plan's lines take at `downsample`.
    fn share(plan: &RatePlan, downsample: u32) -> f64 {
        plan.loop_hz / f64::from(downsample) * plan.line_bytes / plan.capacity()
    }

    #[test]
    fn the_downsample_keeps_the_port_under_seventy_percent() {
        // 7 variables at 10 kHz on 115200 baud.
        let mut plan = RatePlan::new(115_200, 10_000.0, 7);
        assert_eq!(plan.base, 80);
        assert!(share(&plan, plan.downsample(1)) <= LINK_SHARE);
        assert_eq!(plan.downsample(3), 240);
        // Shorter lines than guessed at a slower loop: a denser stream.
        assert_eq!(plan.learn(25.0, 51.0, 80), Some(13));
        assert!(share(&plan, 13) <= LINK_SHARE);
        // Within 30 %: left alone.
        assert_eq!(plan.learn(150.0, 52.0, 13), None);
        // A port kept full: the loop is faster than it looks.
        let mut full = RatePlan::new(115_200, 1000.0, 7);
        assert_eq!(full.base, 8);
        let new = full.learn(220.0, 52.0, 8).expect("replanned");
        assert!(new > 20, "{new}");
    }

    #[test]
    fn motors_sharing_a_port_share_its_seventy_percent() {
        let mut plan = RatePlan::new(115_200, 10_000.0, 7);
        assert_eq!(plan.set_links(1), None);
        assert_eq!(plan.set_links(2), Some(159), "80 for one");
        assert!(2.0 * share(&plan, plan.downsample(1)) <= LINK_SHARE);
        assert_eq!(plan.set_links(2), None, "no change, no new plan");
        // Half the port full is full for one of two.
        assert!(plan.learn(110.0, 52.0, 80).is_some());
        assert!(plan.loop_hz > 15_000.0, "{}", plan.loop_hz);
        let before = plan.base;
        let alone = plan.set_links(1).expect("a new plan alone");
        assert!(alone < before, "{alone} < {before}");
    }
}
