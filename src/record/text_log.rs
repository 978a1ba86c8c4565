//! The device's text lines that are not data (banners, debug prints,
//! warnings), written beside a recording as CSV: `host_s` (seconds since
//! the command started connecting, on the host's clock), `device_time_s`
//! (the time of the last sample recorded before the line, on the
//! recording's own clock; empty before the first), `level` and `text`.
//! A line a sketch printed between two samples sits between their times.

use std::io::Write;

use super::{RecordError, RowFile};
use crate::protocol::TextLevel;

/// Writes text lines as CSV rows.
pub struct TextLog<W: Write = RowFile> {
    csv: csv::Writer<W>,
    lines: u64,
}

impl<W: Write> TextLog<W> {
    /// Starts the file: writes the header row.
    pub fn new(sink: W) -> Result<Self, RecordError> {
        let mut csv = csv::Writer::from_writer(sink);
        csv.write_record(["host_s", "device_time_s", "level", "text"])?;
        Ok(Self { csv, lines: 0 })
    }

    /// Lines written so far (the header not counted).
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// Writes one line of the device's text with its host and device times.
    pub fn write(
        &mut self,
        host_s: f64,
        device_time_s: Option<f64>,
        level: TextLevel,
        text: &str,
    ) -> Result<(), RecordError> {
        let level = match level {
            TextLevel::Info => "info",
            TextLevel::Warning => "warning",
            TextLevel::Error => "error",
        };
        let device_time = device_time_s.map(|t| t.to_string()).unwrap_or_default();
        self.csv
            .write_record([&format!("{host_s:.6}"), &device_time, level, text])?;
        self.lines += 1;
        Ok(())
    }

    /// Hands the lines written so far to the file.
    pub fn flush(&mut self) -> Result<(), RecordError> {
        self.csv.flush()?;
        Ok(())
    }

    /// Flushes and returns the sink.
    pub fn finish(self) -> Result<W, RecordError> {
        self.csv
            .into_inner()
            .map_err(|e| RecordError::Io(std::io::Error::other(e.to_string())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_rows_with_their_times_and_commas_are_quoted() {
        let mut log = TextLog::new(Vec::new()).expect("header");
        log.write(0.5, None, TextLevel::Info, "Booting...")
            .expect("row");
        log.write(1.25, Some(0.75), TextLevel::Warning, "IMU found, starting")
            .expect("row");
        assert_eq!(log.lines(), 2);
        let text = String::from_utf8(log.finish().expect("flush")).expect("utf8");
        assert_eq!(
            text,
            "host_s,device_time_s,level,text\n0.500000,,info,Booting...\n\
             1.250000,0.75,warning,\"IMU found, starting\"\n"
        );
    }
}
