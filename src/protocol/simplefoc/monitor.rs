//! The sketch's own monitoring, as this connection found it: streaming
//! means replacing the sketch's `MMD` downsample and `MMS` variable
//! selection, so both are read first and written back when the connection
//! closes. It promises that a connection which streamed leaves the
//! monitoring as the sketch had it, and that one which did not stream
//! sends nothing.
//!
//! The Commander prints the value in force when `MMD` or `MMS` comes
//! without a value (Arduino-FOC 2.4.0 `src/communication/Commander.cpp`:
//! 377-380 `if(!GET) motor->monitor_downsample = value;` then
//! `println((int)motor->monitor_downsample)`; 391-404 sets the variables
//! only `if(!GET)`, then prints the seven bits), so reading changes
//! nothing. `MM#` (the monitor's decimals) has no such check (386-390: a
//! bare `MM#` sets 0), so it is never sent: the decimals are the sketch's.

/// What the sketch's monitoring was and what this connection changed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SketchMonitor {
    /// The reads have been queued (once per connection).
    asked: bool,
    /// `MMD` as found, as printed (`(int)`, so a value the sketch wrapped
    /// reads negative, and written back the same way wraps the same).
    downsample: Option<i64>,
    /// `MMS` as found, target in bit 6.
    selection: Option<u8>,
    /// This connection wrote `MMD`.
    rate_changed: bool,
    /// This connection wrote `MMS`.
    selection_changed: bool,
}

impl SketchMonitor {
    /// True the first time only: the reads must go out before the first
    /// change.
    pub fn take_first_read(&mut self) -> bool {
        !std::mem::replace(&mut self.asked, true)
    }

    /// The reply to `MMD` without a value.
    pub fn found_downsample(&mut self, value: f32) {
        if value.is_finite() && value.fract() == 0.0 {
            self.downsample = Some(value as i64);
        }
    }

    /// The reply to `MMS` without a value.
    pub fn found_selection(&mut self, bits: u8) {
        self.selection = Some(bits & 0b111_1111);
    }

    /// This connection wrote `MMD`.
    pub fn rate_changed(&mut self) {
        self.rate_changed = true;
    }

    /// This connection wrote `MMS`.
    pub fn selection_changed(&mut self) {
        self.selection_changed = true;
    }

    /// The lines that put back what this connection changed, for the
    /// motor under `letter`: the selection as found, then the downsample
    /// as found. A downsample that could not be read is set to 0, so at
    /// least the stream this connection started stops; a selection that
    /// could not be read is left as it is.
    pub fn restore(&self, letter: char) -> String {
        let mut lines = String::new();
        if let (true, Some(bits)) = (self.selection_changed, self.selection) {
            lines += &format!("{letter}MS{bits:07b}\n");
        }
        if self.rate_changed {
            lines += &format!("{letter}MD{}\n", self.downsample.unwrap_or(0));
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_changed_nothing_sent() {
        let mut monitor = SketchMonitor::default();
        monitor.found_downsample(100.0);
        monitor.found_selection(0b110_0011);
        assert_eq!(monitor.restore('M'), "");
    }

    #[test]
    fn what_was_found_is_put_back_with_its_leading_zeros() {
        let mut monitor = SketchMonitor::default();
        assert!(monitor.take_first_read());
        assert!(!monitor.take_first_read(), "read once");
        monitor.found_downsample(100.0);
        monitor.found_selection(0b011_0011);
        monitor.selection_changed();
        monitor.rate_changed();
        assert_eq!(monitor.restore('M'), "MMS0110011\nMMD100\n");
    }

    #[test]
    fn an_unread_rate_stops_the_stream_and_an_unread_selection_stays() {
        let mut monitor = SketchMonitor::default();
        monitor.found_downsample(f32::NAN);
        monitor.selection_changed();
        monitor.rate_changed();
        assert_eq!(monitor.restore('A'), "AMD0\n");
        monitor.found_downsample(-1.0);
        assert_eq!(monitor.restore('A'), "AMD-1\n", "as the sketch had it");
    }
}
