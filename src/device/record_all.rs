//! The recording of every device into one file, from the app: the file
//! `record --port A --port B` writes ([`crate::record::devices`]), through
//! the same writer. The devices connected when it starts each get a column
//! group under the label they carry then. Every batch a session takes in
//! from then on goes in ([`DeviceSession::start_tap`]): in the frame it is
//! drained, on the device's own time (exact) and mapped onto the host's
//! by the session's link as it stands then
//! ([`DeviceSession::host_offset_s`], the estimate the command line uses).
//! A device whose link is lost, or that is disconnected or replaced, ends
//! its columns there; the others record on. A device added meanwhile is
//! not in the file. No egui: the app draws the control and sends intents
//! to [`super::Devices`].

use std::path::Path;

use super::DeviceId;
use super::devices::Device;
use super::session::DeviceSession;
use crate::record::{DevicesRecording, RecordError};

/// A recording of every device in progress, or finishing.
pub struct RecordAll {
    recording: DevicesRecording,
    parts: Vec<Part>,
}

/// One device's column group.
struct Part {
    id: DeviceId,
    label: String,
    /// Host minus device time, as the link last estimated it (kept once
    /// the link is gone).
    offset_s: f64,
    /// Why its columns ended before the recording did.
    ended: Option<String>,
}

/// One device's part of the recording, as the app shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartStatus {
    /// The device.
    pub id: DeviceId,
    /// The label its columns carry.
    pub label: String,
    /// Its rows in the file so far.
    pub rows: u64,
    /// Why its columns ended early, if they did.
    pub ended: Option<String>,
}

impl RecordAll {
    /// Starts recording into `path` every device of `devices` that is
    /// connected (described), each tapped from now on. Fails, tapping
    /// none, when the file cannot be created.
    pub(super) fn start(path: &Path, devices: &mut [Device]) -> Result<Self, RecordError> {
        let recorded: Vec<&mut Device> = devices
            .iter_mut()
            .filter(|d| d.session.is_connected() && d.session.info.is_some())
            .collect();
        let groups: Vec<_> = recorded
            .iter()
            .filter_map(|d| {
                let info = d.session.info.as_ref()?;
                Some((d.label().to_owned(), info.channels.clone()))
            })
            .collect();
        let recording = DevicesRecording::start(path, &groups)?;
        let mut parts = Vec::with_capacity(recorded.len());
        for device in recorded {
            device.session.start_tap();
            parts.push(Part {
                id: device.id,
                label: device.label().to_owned(),
                offset_s: device.session.host_offset_s().unwrap_or(0.0),
                ended: None,
            });
        }
        Ok(Self { recording, parts })
    }

    /// Hands what `device`'s session took in since the last call to the
    /// file; ends its columns if its link was lost.
    pub(super) fn take(&mut self, id: DeviceId, session: &mut DeviceSession) {
        let Some(at) = self.parts.iter().position(|p| p.id == id) else {
            return;
        };
        let Some(tapped) = session.take_tapped() else {
            return;
        };
        let part = &mut self.parts[at];
        if part.ended.is_some() {
            return;
        }
        if let Some(offset) = session.host_offset_s() {
            part.offset_s = offset;
        }
        for batch in tapped.batches {
            if !batch.is_empty() {
                self.recording.write(at, batch, part.offset_s);
            }
        }
        if let Some(why) = tapped.ended {
            part.ended = Some(why);
            session.stop_tap();
        }
    }

    /// `id`'s session goes away (disconnected, or replaced by another):
    /// what it took in goes in, then its columns end with `why`.
    pub(super) fn device_gone(&mut self, id: DeviceId, session: &mut DeviceSession, why: &str) {
        self.take(id, session);
        if let Some(part) = self.parts.iter_mut().find(|p| p.id == id) {
            part.ended.get_or_insert_with(|| why.to_owned());
        }
        session.stop_tap();
    }

    /// Stops taking batches: what the sessions took in so far goes in,
    /// then the file is finished on the writer thread.
    pub(super) fn stop(&mut self, devices: &mut [Device]) {
        for device in devices {
            self.take(device.id, &mut device.session);
            device.session.stop_tap();
        }
        self.recording.stop();
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        self.recording.path()
    }

    /// Whether it still takes batches.
    pub fn is_running(&self) -> bool {
        self.recording.is_running()
    }

    /// Each device's part: its label, rows so far and why it ended.
    pub fn parts(&self) -> Vec<PartStatus> {
        let rows = self.recording.rows();
        self.parts
            .iter()
            .zip(rows)
            .map(|(part, rows)| PartStatus {
                id: part.id,
                label: part.label.clone(),
                rows,
                ended: part.ended.clone(),
            })
            .collect()
    }

    /// Once the file is finished (or the writer failed): where it went and
    /// each device's rows, in one line; or why it stopped. Never blocks.
    pub(super) fn outcome(&mut self) -> Option<Result<String, String>> {
        let outcome = self.recording.outcome()?;
        let each = self.each_device();
        let path = self.path().display();
        Some(match outcome {
            Ok(()) => Ok(format!("recorded to {path}: {each}")),
            Err(error) => Err(format!(
                "recording every device stopped: {error}; {path} keeps the rows up to then: {each}"
            )),
        })
    }

    /// `LABEL: N rows` for each device, with why its columns ended early.
    fn each_device(&self) -> String {
        let each: Vec<String> = self
            .parts()
            .into_iter()
            .map(|p| {
                let ended = p
                    .ended
                    .map_or_else(String::new, |why| format!(" (ended: {why})"));
                format!("{}: {} rows{ended}", p.label, p.rows)
            })
            .collect();
        each.join("; ")
    }
}
