//! The Commander's own settings for the session, and when the sketch is
//! ready to be spoken to.
//!
//! - [`CommanderSettings`]: the adapter speaks in verbosity `@3` with 12
//!   decimals, so that every reply names its command and carries the
//!   value in force exactly (a reply of 3 decimals shows the default
//!   current filter `Tf` 0.000530516 as 0.001). `@` and `#` sent bare print
//!   the value in force without changing it (Commander.cpp:73, 90); what
//!   was found is written back when the connection closes, or at once when
//!   the device turns out not to be a motor. A Commander in `@0` prints
//!   nothing at all (not even to `@`), so one that answers `@3` and not
//!   `@` was in `@0`.
//! - [`BootWatch`]: a board may still be in `setup()` when the port opens
//!   (sensor alignment takes seconds; many boards reset on opening). The
//!   Commander only runs from `loop()`, and what arrives meanwhile waits in
//!   a receive buffer of 64 bytes or is lost. So nothing is sent while the
//!   library's setup text runs (`MOT:Init` … `MOT:Ready.`,
//!   FOCMotor.cpp:73-815) nor until other text has been quiet for a
//!   moment; text that keeps coming is waited for 1.5 s at most.

use std::time::{Duration, Instant};

/// Decimals the adapter reads values with: an `f32` printed with 12
/// decimals reads back exactly from 1e-5 up.
pub const SESSION_DECIMALS: u8 = 12;

/// The Commander's verbosity and decimals: as found, and whether this
/// connection changed them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CommanderSettings {
    found_verbosity: Option<u8>,
    verbosity_changed: bool,
    found_decimals: Option<u8>,
    decimals_changed: bool,
}

impl CommanderSettings {
    /// The verbosity read before this connection changed it (the first one found counts).
    pub fn found_verbosity(&mut self, verbosity: u8) {
        self.found_verbosity.get_or_insert(verbosity);
    }

    /// `@3` was answered: the verbosity is this connection's to restore;
    /// unread, it was `@0`.
    pub fn verbosity_set(&mut self) {
        self.found_verbosity.get_or_insert(0);
        self.verbosity_changed = true;
    }

    /// The verbosity found, once read.
    pub fn verbosity(&self) -> Option<u8> {
        self.found_verbosity
    }

    /// The decimals read before this connection changed them (the first found counts).
    pub fn found_decimals(&mut self, decimals: u8) {
        self.found_decimals.get_or_insert(decimals);
    }

    /// The decimals found, once read.
    pub fn decimals(&self) -> Option<u8> {
        self.found_decimals
    }

    /// This connection set the decimals: they are its to restore.
    pub fn decimals_set(&mut self) {
        self.decimals_changed = true;
    }

    /// The lines that put back what was changed, once: the decimals, then
    /// the verbosity (last, so nothing else goes unanswered).
    pub fn take_restore(&mut self) -> String {
        let mut lines = String::new();
        if let (true, Some(decimals)) = (
            std::mem::take(&mut self.decimals_changed),
            self.found_decimals,
        ) {
            lines += &format!("#{decimals}\n");
        }
        if let (true, Some(verbosity)) = (
            std::mem::take(&mut self.verbosity_changed),
            self.found_verbosity,
        ) {
            lines += &format!("@{verbosity}\n");
        }
        lines
    }
}

/// Text that ends the library's setup (`initFOC`, FOCMotor.cpp:815, 818).
const SETUP_ENDS: [&str; 2] = ["MOT:Ready.", "ERR-MOT:Init FOC fail"];
/// How long text must have stopped before the first command goes out.
const QUIET: Duration = Duration::from_millis(250);
/// Text that keeps coming is not waited for longer than this.
const LONGEST_CHATTER: Duration = Duration::from_millis(1500);
/// The library's setup silent for this long has hung or lost its end.
const LONGEST_SETUP_SILENCE: Duration = Duration::from_secs(8);

/// Whether a line is the library's own debug output (`MOT:`, `WARN-MOT:`,
/// `ERR-MOT:`, FOCMotor.h:14-16).
pub fn is_library_text(line: &str) -> bool {
    ["MOT:", "WARN-MOT:", "ERR-MOT:"]
        .iter()
        .any(|prefix| line.starts_with(prefix))
}

/// When the sketch's setup text has ended.
#[derive(Clone, Debug)]
pub struct BootWatch {
    opened: Instant,
    /// The last text (a line or part of one, monitoring aside).
    last_text: Option<Instant>,
    /// When the text still coming began.
    chatter_since: Option<Instant>,
    /// Between the library's first setup line and its end.
    in_setup: bool,
}

impl BootWatch {
    /// Watching a sketch's boot text from the port's opening at `now`.
    pub fn new(now: Instant) -> Self {
        Self {
            opened: now,
            last_text: None,
            chatter_since: None,
            in_setup: false,
        }
    }

    /// A line of text arrived (not a monitoring line, not a reply).
    pub fn hear_line(&mut self, line: &str, now: Instant) {
        if is_library_text(line) {
            self.in_setup = !SETUP_ENDS.iter().any(|end| line.starts_with(end));
        }
        self.hear_part(now);
    }

    /// Part of a line arrived (a sketch printing dots as it calibrates).
    pub fn hear_part(&mut self, now: Instant) {
        let quiet_before = self.last_text.is_none_or(|last| now - last >= QUIET);
        if quiet_before {
            self.chatter_since = Some(now);
        }
        self.last_text = Some(now);
    }

    /// Whether a command may go out now.
    pub fn may_send(&self, now: Instant) -> bool {
        let Some(last) = self.last_text else {
            // Nothing heard at all: a moment for a board that resets.
            return now - self.opened >= QUIET;
        };
        let quiet = now - last >= QUIET;
        if self.in_setup {
            return now - last >= LONGEST_SETUP_SILENCE;
        }
        quiet
            || self
                .chatter_since
                .is_some_and(|since| now - since >= LONGEST_CHATTER)
    }

    /// Whether the library's setup text is running.
    pub fn in_setup(&self) -> bool {
        self.in_setup
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(start: Instant, ms: u64) -> Instant {
        start + Duration::from_millis(ms)
    }

    #[test]
    fn what_was_found_is_put_back_once() {
        let mut settings = CommanderSettings::default();
        assert_eq!(settings.take_restore(), "");
        settings.found_verbosity(2);
        settings.verbosity_set();
        settings.found_decimals(3);
        settings.decimals_set();
        assert_eq!(settings.take_restore(), "#3\n@2\n");
        assert_eq!(settings.take_restore(), "", "once");
        let mut silent = CommanderSettings::default();
        silent.verbosity_set();
        assert_eq!(silent.verbosity(), Some(0), "unanswered @ was @0");
        assert_eq!(silent.take_restore(), "@0\n");
    }

    #[test]
    fn nothing_goes_out_during_the_library_s_setup() {
        let start = Instant::now();
        let mut boot = BootWatch::new(start);
        assert!(!boot.may_send(ms(start, 100)));
        assert!(boot.may_send(ms(start, 250)), "a silent port: soon");
        boot.hear_line("MOT:Init", ms(start, 300));
        assert!(boot.in_setup());
        // The half second BLDCMotor::init() waits is not the end.
        assert!(!boot.may_send(ms(start, 800)));
        boot.hear_line("MOT:Enable driver.", ms(start, 800));
        boot.hear_line("MOT:Ready.", ms(start, 1300));
        assert!(!boot.in_setup());
        assert!(!boot.may_send(ms(start, 1400)));
        assert!(boot.may_send(ms(start, 1550)));
    }

    #[test]
    fn chatter_is_waited_for_a_while_only() {
        let start = Instant::now();
        let mut boot = BootWatch::new(start);
        for tick in 0..30 {
            boot.hear_part(ms(start, tick * 100));
            assert_eq!(
                boot.may_send(ms(start, tick * 100 + 50)),
                tick >= 15,
                "{tick}"
            );
        }
    }
}
