//! The console of a device session, as a serial monitor shows one: every
//! line of text the device sent that is not data, and every line the user
//! typed for it. It promises to hold
//!
//! - every [`Event::Text`](crate::protocol::Event::Text) an adapter passes
//!   on, with its level: a sketch's banners and prints, SimpleFOC's library
//!   text, ODrive's error strings, a native device's TEXT messages, the
//!   adapters' own warnings, and the reply to every typed line. Replies to
//!   the adapters' own requests (reads, writes, status polls, ODrive's
//!   feedback polls) are not console material: they are the parameters,
//!   the status and the samples the other panes show;
//! - every typed line: sent (marked `>`) once the link took it, or not
//!   sent and why, in one line;
//! - only while asked ([`Console::set_show_data`]), the samples as they
//!   arrive, one data line each (`name:value` per channel, at the sample's
//!   own device time). They are what the adapter read, not the bytes on
//!   the wire, and sit in a ring of their own ([`DATA_KEPT`]), so a fast
//!   stream never pushes the device's text out;
//!
//! each with the wall time it arrived and the device time when one is
//! known. Memory is bounded: the newest [`KEPT`] text lines and
//! [`DATA_KEPT`] data lines are kept, the older ones counted as dropped.
//! The lines typed are kept apart as a history ([`SentHistory`]) for the
//! command line's Up and Down keys. No egui; [`Console::save`] writes the
//! lines kept as CSV, oldest first.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::path::Path;
use std::time::SystemTime;

use crate::protocol::{SampleBatch, TextLevel};

/// Text lines kept (device text and typed lines); older ones are dropped
/// and counted.
pub const KEPT: usize = 10_000;
/// Data lines kept while they are shown.
pub const DATA_KEPT: usize = 1_000;
/// Typed lines the history keeps.
pub const HISTORY_KEPT: usize = 100;

/// Where a console line came from.
#[derive(Clone, Debug, PartialEq)]
pub enum LineSource {
    /// Text the device (or its adapter) sent, at its level.
    Device(TextLevel),
    /// A line the user typed, taken by the link to write.
    Sent,
    /// A line the user typed that was not sent, and why (one line).
    NotSent(String),
    /// A sample as text ([`Console::set_show_data`]).
    Data,
}

impl LineSource {
    /// A word naming the source (the CSV's `source` column).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Device(TextLevel::Info) => "device",
            Self::Device(TextLevel::Warning) => "device warning",
            Self::Device(TextLevel::Error) => "device error",
            Self::Sent => "sent",
            Self::NotSent(_) => "not sent",
            Self::Data => "data",
        }
    }
}

/// One line of the console.
#[derive(Clone, Debug, PartialEq)]
pub struct ConsoleLine {
    /// When the app recorded it.
    pub wall: SystemTime,
    /// Device time then (a data line: its sample's), seconds, when known.
    pub device_time_s: Option<f64>,
    /// Whether the device sent it or the user typed it.
    pub source: LineSource,
    /// The text as the device sent it or the user typed it.
    pub text: String,
    /// Its place among every line recorded, text and data alike.
    order: u64,
}

impl ConsoleLine {
    /// The wall time as `hh:mm:ss.mmm` (UTC).
    pub fn wall_clock(&self) -> String {
        super::time_of_day(self.wall)
    }

    /// The line as the console shows it: a typed line marked `>`, with
    /// why it was not sent when it was not.
    pub fn shown(&self) -> String {
        match &self.source {
            LineSource::Sent => format!("> {}", self.text),
            LineSource::NotSent(why) => format!("> {}  ({why})", self.text),
            LineSource::Device(_) | LineSource::Data => self.text.clone(),
        }
    }

    /// Whether the shown line holds `needle`, ignoring case; `needle` is
    /// already in lower case. An empty needle matches every line.
    pub fn matches(&self, needle: &str) -> bool {
        match self.source {
            _ if needle.is_empty() => true,
            // Most lines: their text as it is, looked through without a copy.
            LineSource::Device(_) | LineSource::Data => contains_folded(&self.text, needle),
            LineSource::Sent | LineSource::NotSent(_) => contains_folded(&self.shown(), needle),
        }
    }
}

/// Whether `haystack` holds `needle` (in lower case), ignoring case.
fn contains_folded(haystack: &str, needle: &str) -> bool {
    if needle.is_empty() {
        true
    } else if haystack.is_ascii() && needle.is_ascii() {
        haystack
            .as_bytes()
            .windows(needle.len())
            .any(|window| window.eq_ignore_ascii_case(needle.as_bytes()))
    } else {
        haystack.to_lowercase().contains(needle)
    }
}

/// Lines of one kind, the newest `capacity` of them.
#[derive(Clone, Debug)]
struct Ring {
    lines: VecDeque<ConsoleLine>,
    capacity: usize,
    dropped: u64,
}

impl Ring {
    fn new(capacity: usize) -> Self {
        Self {
            lines: VecDeque::new(),
            capacity,
            dropped: 0,
        }
    }

    fn push(&mut self, line: ConsoleLine) {
        if self.lines.len() >= self.capacity {
            self.lines.pop_front();
            self.dropped += 1;
        }
        self.lines.push_back(line);
    }
}

/// The lines typed, newest last, and where Up and Down have walked to.
#[derive(Clone, Debug, Default)]
pub struct SentHistory {
    lines: VecDeque<String>,
    /// The line recalled, counted back from the newest (0); `None` while
    /// the user types a line of their own.
    at: Option<usize>,
    /// What was typed before the walk began, given back past the newest.
    draft: String,
}

impl SentHistory {
    /// Keeps a line typed (a repeat of the newest is kept once), and ends
    /// a walk.
    pub fn push(&mut self, line: &str) {
        self.at = None;
        self.draft.clear();
        if self.lines.back().is_some_and(|last| last == line) {
            return;
        }
        if self.lines.len() >= HISTORY_KEPT {
            self.lines.pop_front();
        }
        self.lines.push_back(line.to_owned());
    }

    /// Up: the line typed before the one recalled (the newest at first,
    /// keeping `typing` to give back); `None` past the oldest or with none.
    pub fn older(&mut self, typing: &str) -> Option<&str> {
        let next = self.at.map_or(0, |at| at + 1);
        if next >= self.lines.len() {
            return None;
        }
        if self.at.is_none() {
            self.draft = typing.to_owned();
        }
        self.at = Some(next);
        self.lines
            .get(self.lines.len() - 1 - next)
            .map(String::as_str)
    }

    /// Down: the line typed after the one recalled, or what was being
    /// typed before the walk once past the newest; `None` when not walking.
    pub fn newer(&mut self) -> Option<&str> {
        match self.at? {
            0 => {
                self.at = None;
                Some(self.draft.as_str())
            }
            at => {
                self.at = Some(at - 1);
                self.lines.get(self.lines.len() - at).map(String::as_str)
            }
        }
    }

    /// How many lines are kept.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Whether no line is kept.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

/// The console: text lines, data lines while shown, and the typed history.
#[derive(Clone, Debug)]
pub struct Console {
    text: Ring,
    data: Ring,
    show_data: bool,
    next_order: u64,
    /// The lines typed, for Up and Down.
    pub history: SentHistory,
}

impl Default for Console {
    fn default() -> Self {
        Self {
            text: Ring::new(KEPT),
            data: Ring::new(DATA_KEPT),
            show_data: false,
            next_order: 0,
            history: SentHistory::default(),
        }
    }
}

impl Console {
    fn line(
        &mut self,
        device_time_s: Option<f64>,
        source: LineSource,
        text: String,
    ) -> ConsoleLine {
        let order = self.next_order;
        self.next_order += 1;
        ConsoleLine {
            wall: SystemTime::now(),
            device_time_s: device_time_s.filter(|t| t.is_finite()),
            source,
            text,
            order,
        }
    }

    /// Records a line of text the device sent.
    pub fn device_text(&mut self, device_time_s: Option<f64>, level: TextLevel, text: &str) {
        let line = self.line(device_time_s, LineSource::Device(level), text.to_owned());
        self.text.push(line);
    }

    /// Records a typed line the link took to write.
    pub fn sent(&mut self, device_time_s: Option<f64>, text: &str) {
        let line = self.line(device_time_s, LineSource::Sent, text.to_owned());
        self.text.push(line);
    }

    /// Records a typed line that was not sent, and why (one line).
    pub fn not_sent(&mut self, device_time_s: Option<f64>, text: &str, why: &str) {
        let why = why.lines().next().unwrap_or_default().to_owned();
        let line = self.line(device_time_s, LineSource::NotSent(why), text.to_owned());
        self.text.push(line);
    }

    /// Whether samples are recorded as data lines.
    pub fn shows_data(&self) -> bool {
        self.show_data
    }

    /// Starts or stops recording samples as data lines; stopping forgets
    /// the data lines kept.
    pub fn set_show_data(&mut self, show: bool) {
        if !show {
            self.data = Ring::new(DATA_KEPT);
        }
        self.show_data = show;
    }

    /// Records each sample of `batch` as a data line, `name:value` per
    /// channel (`names` in channel order), while data lines are shown.
    /// Only the newest [`DATA_KEPT`] of a batch are formatted: the rest
    /// would be dropped at once (and are counted as dropped).
    pub fn samples(&mut self, batch: &SampleBatch, names: &[String]) {
        if !self.show_data {
            return;
        }
        let count = batch.len();
        let first = count.saturating_sub(DATA_KEPT);
        self.data.dropped += first as u64;
        for k in first..count {
            let mut text = String::new();
            for channel in 0..batch.channel_count {
                if channel > 0 {
                    text.push_str("  ");
                }
                let name = names.get(channel).map_or("", String::as_str);
                // As the device wrote it: a `micros()` column stays exact.
                let index = k * batch.channel_count + channel;
                let _ = match &batch.exact {
                    Some(exact) => write!(text, "{name}:{}", exact[index]),
                    None => write!(text, "{name}:{}", batch.values[index]),
                };
            }
            let line = self.line(Some(batch.time_of(k)), LineSource::Data, text);
            self.data.push(line);
        }
    }

    /// Lines kept, text and data.
    pub fn len(&self) -> usize {
        self.text.lines.len() + self.data.lines.len()
    }

    /// Whether no line is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Lines dropped to keep the newest: (text, data).
    pub fn dropped(&self) -> (u64, u64) {
        (self.text.dropped, self.data.dropped)
    }

    /// Every line kept, oldest first, text and data in the order they were
    /// recorded.
    pub fn lines(&self) -> impl Iterator<Item = &ConsoleLine> {
        let mut text = self.text.lines.iter().peekable();
        let mut data = self.data.lines.iter().peekable();
        std::iter::from_fn(move || match (text.peek(), data.peek()) {
            (Some(t), Some(d)) if d.order < t.order => data.next(),
            (Some(_), _) => text.next(),
            (None, _) => data.next(),
        })
    }

    /// The lines kept that hold `filter` (ignoring case), oldest first.
    pub fn matching(&self, filter: &str) -> Vec<&ConsoleLine> {
        let needle = filter.to_lowercase();
        self.lines().filter(|line| line.matches(&needle)).collect()
    }

    /// Writes the lines kept as CSV, oldest first: `wall_time` (RFC 3339,
    /// UTC), `device_time_s` (empty when unknown), `source`, `text` (a
    /// typed line as typed; one not sent with why in `note`), `note`.
    pub fn write_csv(&self, writer: impl std::io::Write) -> std::io::Result<()> {
        let mut csv = csv::Writer::from_writer(writer);
        csv.write_record(["wall_time", "device_time_s", "source", "text", "note"])?;
        for line in self.lines() {
            let wall = humantime::format_rfc3339_millis(line.wall).to_string();
            let device = line
                .device_time_s
                .map(|t| format!("{t:.4}"))
                .unwrap_or_default();
            let note = match &line.source {
                LineSource::NotSent(why) => why.as_str(),
                _ => "",
            };
            csv.write_record([
                wall.as_str(),
                device.as_str(),
                line.source.kind(),
                line.text.as_str(),
                note,
            ])?;
        }
        csv.flush()
    }

    /// Saves the lines kept to `path` as CSV; returns how many it wrote.
    pub fn save(&self, path: &Path) -> Result<usize, super::SaveError> {
        super::write_file("console", path, |writer| self.write_csv(writer))?;
        Ok(self.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(console: &Console, filter: &str) -> Vec<String> {
        console
            .matching(filter)
            .iter()
            .map(|line| line.shown())
            .collect()
    }

    fn batch(first_tick: i64, values: Vec<f32>) -> SampleBatch {
        SampleBatch {
            first_tick,
            stride: 1,
            tick_hz: 1000.0,
            channel_count: 2,
            values,
            exact: None,
        }
    }

    #[test]
    fn typed_lines_are_marked_and_a_refusal_says_why_in_one_line() {
        let mut console = Console::default();
        console.device_text(None, TextLevel::Info, "MOT:Ready.");
        console.sent(Some(1.5), "MVP");
        console.device_text(Some(1.5), TextLevel::Info, "MVP0.2");
        console.not_sent(Some(1.6), "@1", "not sent: it would\nchange the verbosity");
        assert_eq!(
            shown(&console, ""),
            [
                "MOT:Ready.",
                "> MVP",
                "MVP0.2",
                "> @1  (not sent: it would)"
            ]
        );
        let first = console.lines().next().expect("a line");
        assert_eq!(first.device_time_s, None);
        assert_eq!(first.wall_clock().len(), "07:16:14.123".len());
    }

    #[test]
    fn the_filter_ignores_case_and_finds_the_marks_too() {
        let mut console = Console::default();
        console.device_text(None, TextLevel::Info, "MOT:Init");
        console.device_text(None, TextLevel::Warning, "WARN-MOT:low voltage");
        console.not_sent(None, "xyz", "not sent: no connection");
        assert_eq!(
            shown(&console, "mot:"),
            ["MOT:Init", "WARN-MOT:low voltage"]
        );
        assert_eq!(
            shown(&console, "NOT SENT"),
            ["> xyz  (not sent: no connection)"]
        );
        assert_eq!(console.matching("").len(), 3);
        assert!(console.matching("nothing like it").is_empty());
    }

    #[test]
    fn the_console_keeps_the_newest_lines_and_counts_the_rest() {
        let mut console = Console::default();
        for i in 0..KEPT + 7 {
            console.device_text(Some(i as f64), TextLevel::Info, &format!("line {i}"));
        }
        assert_eq!(console.len(), KEPT);
        assert_eq!(console.dropped(), (7, 0));
        assert_eq!(
            console.lines().next().map(|l| l.text.as_str()),
            Some("line 7")
        );
    }

    #[test]
    fn data_lines_come_only_when_asked_in_their_own_ring_in_order() {
        let mut console = Console::default();
        let names = ["sp".to_owned(), "pos".to_owned()];
        console.samples(&batch(0, vec![1.0, 2.0]), &names);
        assert!(console.is_empty(), "not asked");

        console.set_show_data(true);
        console.device_text(None, TextLevel::Info, "before");
        console.samples(&batch(10, vec![1.0, 2.5, 3.0, -4.0]), &names);
        console.device_text(None, TextLevel::Info, "after");
        assert_eq!(
            shown(&console, ""),
            ["before", "sp:1  pos:2.5", "sp:3  pos:-4", "after"]
        );
        let times: Vec<Option<f64>> = console.lines().map(|l| l.device_time_s).collect();
        assert_eq!(times, [None, Some(0.01), Some(0.011), None]);

        // A flood of data pushes out data only.
        let flood: Vec<f32> = (0..2 * (DATA_KEPT + 5)).map(|i| i as f32).collect();
        console.samples(&batch(20, flood), &names);
        assert_eq!(console.len(), 2 + DATA_KEPT);
        assert_eq!(console.dropped(), (0, 2 + 5));
        assert_eq!(shown(&console, "before"), ["before"]);

        console.set_show_data(false);
        assert_eq!(shown(&console, ""), ["before", "after"]);
    }

    #[test]
    fn up_and_down_walk_the_lines_typed_and_give_back_the_draft() {
        let mut history = SentHistory::default();
        assert_eq!(history.older("draft"), None, "nothing typed yet");
        for line in ["MVP", "MVI", "MVI", "ME1"] {
            history.push(line);
        }
        assert_eq!(history.len(), 3, "a repeat is kept once");
        assert_eq!(history.newer(), None, "not walking");
        assert_eq!(history.older("half typ"), Some("ME1"));
        assert_eq!(history.older("ME1"), Some("MVI"));
        assert_eq!(history.older("MVI"), Some("MVP"));
        assert_eq!(history.older("MVP"), None, "past the oldest");
        assert_eq!(history.newer(), Some("MVI"));
        assert_eq!(history.newer(), Some("ME1"));
        assert_eq!(history.newer(), Some("half typ"));
        assert_eq!(history.newer(), None);

        history.push("MVD");
        assert_eq!(history.older(""), Some("MVD"), "a new line ends the walk");
        for i in 0..HISTORY_KEPT {
            history.push(&i.to_string());
        }
        assert_eq!(history.len(), HISTORY_KEPT);
    }

    #[test]
    fn the_csv_holds_every_line_oldest_first_and_a_bad_folder_is_one_line() {
        let mut console = Console::default();
        console.device_text(None, TextLevel::Info, "hello, world");
        console.sent(Some(2.25), "MVP");
        console.not_sent(Some(2.5), "@1", "not sent: keeps @3");
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("console.csv");
        assert_eq!(console.save(&path).expect("saved"), 3);
        let text = std::fs::read_to_string(&path).expect("readable");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "wall_time,device_time_s,source,text,note");
        assert!(lines[1].ends_with(",,device,\"hello, world\","), "{text}");
        assert!(lines[2].ends_with(",2.2500,sent,MVP,"), "{text}");
        assert!(
            lines[3].ends_with(",2.5000,not sent,@1,not sent: keeps @3"),
            "{text}"
        );
        assert!(humantime::parse_rfc3339(&lines[1][..24]).is_ok(), "{text}");

        let error = console
            .save(&dir.path().join("missing").join("console.csv"))
            .expect_err("no such folder");
        let message = error.to_string();
        assert!(
            message.starts_with("cannot write the console to "),
            "{message}"
        );
        assert_eq!(message.lines().count(), 1);
    }
}
