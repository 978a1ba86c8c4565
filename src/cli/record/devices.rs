//! `motiontune record --port A --port B …`: several devices into one CSV
//! file ([`crate::record::devices`]), each for `--seconds` of its own
//! time.
//!
//! The links connect side by side; samples a device streamed while the
//! others were still connecting are left out, so every device's span
//! starts once all are streaming. Each device's samples are written as
//! they arrive, on its own time (exact) and on the host's
//! ([`HostAlignment`]). A device whose link is lost, or that stops
//! streaming, ends its part of the file there while the others record on;
//! the command then fails naming it. Ctrl+C or SIGTERM keeps every sample
//! that reached the app, as with one device.

use std::time::{Duration, Instant};

use anyhow::bail;
use crossbeam_channel::{Receiver, Select};

use super::RecordArgs;
use super::span::within;
use crate::cli::connect::{INTERRUPT_POLL, connect_all};
use crate::device::label::labels;
use crate::link::{Alignment, Link, LinkEvent, LinkHealth, host_seconds};
use crate::protocol::{DeviceInfo, Event};
use crate::record::devices::DevicesCsv;
use crate::record::{FLUSH_INTERVAL, RecordError, RecordFormat, RowFile};

/// One device's part of the recording.
struct Part {
    /// Its column group in the file.
    device: usize,
    label: String,
    port: String,
    /// Closed (dropped) once its span is complete.
    link: Option<Link>,
    info: DeviceInfo,
    /// How its clock was mapped onto the host's, kept when its link closes.
    alignment: Option<Alignment>,
    /// Host minus device time, as the link last estimated it.
    offset_s: f64,
    /// Device time of its first sample written.
    first_time: Option<f64>,
    rows: u64,
    lost: u64,
    /// Why its part ended early.
    failed: Option<String>,
}

impl Part {
    fn recording(&self) -> bool {
        self.link.is_some()
    }
}

pub(super) fn run(args: &RecordArgs) -> anyhow::Result<()> {
    if args.text_out.is_some() {
        bail!("--text-out takes one device's text lines: give one --port");
    }
    let format = args
        .format
        .unwrap_or_else(|| RecordFormat::for_path(&args.out));
    if format != RecordFormat::Csv {
        bail!("several devices are recorded to CSV (Parquet takes one --port): name the file .csv");
    }
    // The host axis starts now.
    host_seconds();
    let connected = connect_all(args.devices.targets()?, args.divider)?;
    let names: Vec<&str> = connected.iter().map(|(_, i)| i.name.as_str()).collect();
    let labels = labels(&args.devices.labels, &names).map_err(anyhow::Error::msg)?;
    let groups: Vec<_> = labels
        .iter()
        .zip(&connected)
        .map(|(label, (_, info))| (label.clone(), info.channels.clone()))
        .collect();
    let file = RowFile::create(&args.out).map_err(|reason| RecordError::Create {
        path: args.out.display().to_string(),
        reason,
    })?;
    let mut file = DevicesCsv::new(file, &groups)?;
    file.flush()?;
    let mut parts: Vec<Part> = connected
        .into_iter()
        .zip(labels)
        .enumerate()
        .map(|(device, ((link, info), label))| Part {
            device,
            label,
            port: link.target().name().to_owned(),
            link: Some(link),
            info,
            alignment: None,
            offset_s: 0.0,
            first_time: None,
            rows: 0,
            lost: 0,
            failed: None,
        })
        .collect();
    // What came while the others connected is not part of the span.
    for part in &mut parts {
        let events: Vec<LinkEvent> = part
            .link
            .as_ref()
            .map_or_else(Vec::new, |link| link.events().try_iter().collect());
        for event in events {
            if let LinkEvent::Closed(error) = event {
                part.end(Some(closed_why(error)));
            }
        }
    }

    let receivers: Vec<Receiver<LinkEvent>> = parts
        .iter()
        .map(|p| {
            p.link
                .as_ref()
                .map_or_else(crossbeam_channel::never, |l| l.events().clone())
        })
        .collect();
    let mut select = Select::new();
    for receiver in &receivers {
        select.recv(receiver);
    }
    // Device time decides each span; the wall clock only guards against a
    // device that stops streaming.
    let wall_limit = Duration::from_secs_f64(args.seconds * 2.0 + 5.0);
    let started = Instant::now();
    let mut last_flush = Instant::now();
    let mut interrupted = false;
    while parts.iter().any(Part::recording) {
        if crate::interrupt::requested() {
            interrupted = true;
            break;
        }
        if started.elapsed() > wall_limit {
            for part in parts.iter_mut().filter(|p| p.recording()) {
                let why = format!("stopped streaming after {} samples", part.rows);
                part.end(Some(why));
            }
            break;
        }
        if let Ok(operation) = select.select_timeout(INTERRUPT_POLL) {
            let index = operation.index();
            let event = operation
                .recv(&receivers[index])
                .unwrap_or(LinkEvent::Closed(None));
            let part = &mut parts[index];
            part.take(event, args.seconds, &mut file)?;
            if !part.recording() {
                select.remove(index);
            }
        }
        // As often as the GUI's recorder: a kill loses at most this much.
        if last_flush.elapsed() >= FLUSH_INTERVAL {
            file.flush()?;
            last_flush = Instant::now();
        }
    }
    if interrupted {
        // Samples the links decoded before they closed reached the app too.
        for part in &mut parts {
            if let Some(link) = part.link.take() {
                part.keep_alignment(link.health());
                for event in link.close() {
                    part.take_closing(event, args.seconds, &mut file)?;
                }
            }
        }
    }
    file.finish()?;
    let summary = summary(&parts, &args.out);
    if interrupted {
        bail!("interrupted: {summary}");
    }
    let failed: Vec<String> = parts
        .iter()
        .filter_map(|p| {
            p.failed
                .as_ref()
                .map(|why| format!("{} on {}: {why}", p.label, p.port))
        })
        .collect();
    if !failed.is_empty() {
        bail!("{}; {summary}", failed.join("; "));
    }
    eprintln!("{summary}");
    Ok(())
}

impl Part {
    /// Writes the samples of `event` within the span; ends the part when
    /// the span is complete or the link closed.
    fn take(
        &mut self,
        event: LinkEvent,
        seconds: f64,
        file: &mut DevicesCsv<RowFile>,
    ) -> anyhow::Result<()> {
        match event {
            LinkEvent::Closed(error) => {
                self.end(Some(closed_why(error)));
                Ok(())
            }
            event => {
                if self.take_closing(event, seconds, file)? {
                    self.end(None);
                }
                Ok(())
            }
        }
    }

    /// Writes the samples of `event` within the span, the link closing or
    /// not; true once the span is complete.
    fn take_closing(
        &mut self,
        event: LinkEvent,
        seconds: f64,
        file: &mut DevicesCsv<RowFile>,
    ) -> anyhow::Result<bool> {
        let LinkEvent::Device(Event::Samples { batch, lost_before }) = event else {
            return Ok(false);
        };
        if batch.is_empty() {
            return Ok(false);
        }
        if let Some(offset) = self.link.as_ref().and_then(|l| l.health().host_offset_s()) {
            self.offset_s = offset;
        }
        let start = *self.first_time.get_or_insert(batch.time_of(0));
        if self.rows > 0 {
            self.lost += lost_before;
        }
        let keep = within(&batch, start, seconds);
        file.write_batch(self.device, &batch.slice(0..keep), self.offset_s)?;
        self.rows += keep as u64;
        Ok(keep < batch.len())
    }

    /// Ends this part: closing its link stops the stream it started.
    fn end(&mut self, failed: Option<String>) {
        if let Some(link) = self.link.take() {
            self.keep_alignment(link.health());
        }
        if self.failed.is_none() {
            self.failed = failed;
        }
    }
}

impl Part {
    /// Keeps how the link mapped the device's clock, before it closes.
    fn keep_alignment(&mut self, health: &LinkHealth) {
        self.alignment = health.host_alignment();
    }
}

fn closed_why(error: Option<crate::link::LinkError>) -> String {
    error.map_or_else(|| "the link closed".to_owned(), |e| e.to_string())
}

/// What was recorded, in one line: each device's samples and how its
/// clock was mapped onto the host's.
fn summary(parts: &[Part], out: &std::path::Path) -> String {
    let each: Vec<String> = parts
        .iter()
        .map(|p| {
            let clock = p
                .alignment
                .map_or_else(|| "no samples".to_owned(), |a| a.describe());
            let lost = match p.lost {
                0 => String::new(),
                lost => format!(", the device reports {lost} samples lost"),
            };
            let name = if p.info.name == p.label {
                String::new()
            } else {
                format!(" ({})", p.info.name)
            };
            format!(
                "{}{name}: {} samples, host time {clock}{lost}",
                p.label, p.rows
            )
        })
        .collect();
    format!("recorded to {}: {}", out.display(), each.join("; "))
}
