//! Step runs kept for A/B comparison: each measured step with the gain set
//! in force, its metrics and a trace for overlays, named, shown or hidden,
//! and saved to a JSON file so they survive a restart.
//!
//! Saving happens on a thread of its own: the caller hands over a snapshot
//! and never waits. The file is written to a temporary name and renamed, so
//! a crash leaves the old file or the new one, never half of one. A file
//! that cannot be read is left as it is and nothing is saved over it.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crossbeam_channel::{Receiver, Sender, unbounded};
use serde::{Deserialize, Serialize};

use crate::analysis::{METRICS, metric_values};
use crate::tuning::StepResponse;

/// Most points of a trace kept per run: enough for an overlay as wide as a
/// screen, small enough that a hundred runs load at once.
pub const MAX_TRACE_POINTS: usize = 4000;

/// One parameter's value when the run was measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GainValue {
    /// The parameter's name.
    pub name: String,
    /// Its value, in its unit.
    pub value: f32,
    #[serde(default)]
    /// Its unit.
    pub unit: String,
}

/// The samples of a run, seconds from the step; thinned to at most
/// [`MAX_TRACE_POINTS`], keeping each bucket's lowest and highest feedback.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    /// Seconds from the step.
    pub time: Vec<f32>,
    /// The reference, in the signal's unit.
    pub reference: Vec<f32>,
    /// The feedback, in the signal's unit.
    pub feedback: Vec<f32>,
    #[serde(default)]
    /// The effort, in its unit, when the device streams one.
    pub effort: Option<Vec<f32>>,
}

/// One measured step kept for comparison.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepRun {
    /// Unique among the runs kept.
    pub id: u64,
    /// The name shown; the user may rename it.
    pub name: String,
    #[serde(default = "shown")]
    /// Drawn in the overlay.
    pub visible: bool,
    /// Wall-clock time of the measurement, RFC 3339.
    pub recorded_at: String,
    #[serde(default)]
    /// The device it was measured on.
    pub device: String,
    /// The setpoint before and after the step.
    pub from: f32,
    /// The setpoint after the step.
    pub to: f32,
    #[serde(default)]
    /// The unit of the reference and feedback.
    pub signal_unit: String,
    #[serde(default)]
    /// The unit of the effort.
    pub effort_unit: String,
    /// The tuning gains in force.
    pub gains: Vec<GainValue>,
    /// Metric values by key (see [`METRICS`]); `None` where the metric does
    /// not exist for this response.
    #[serde(default)]
    pub metrics: BTreeMap<String, Option<f64>>,
    /// Why the step could not be measured, when it could not.
    #[serde(default)]
    pub error: Option<String>,
    /// The name of the file the run was imported from; empty for a run
    /// measured here.
    #[serde(default)]
    pub source: String,
    /// The samples, for the overlay.
    pub trace: Trace,
}

fn shown() -> bool {
    true
}

impl StepRun {
    /// The value of metric `key`, if this run has it.
    pub fn metric(&self, key: &str) -> Option<f64> {
        self.metrics.get(key).copied().flatten()
    }
}

/// What a run is measured under, besides the response itself.
#[derive(Clone, Debug, Default)]
pub struct RunContext {
    /// The device's name.
    pub device: String,
    /// The unit of the reference and feedback.
    pub signal_unit: String,
    /// The unit of the effort.
    pub effort_unit: String,
    /// The tuning gains in force.
    pub gains: Vec<GainValue>,
}

/// Why the runs file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum RunsFileError {
    /// The file exists but could not be read; runs are not saved over it.
    #[error("cannot read step runs from {path}: {reason}; runs of this session will not be saved")]
    Read {
        /// The runs file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// Saving failed.
    #[error("cannot save step runs to {path}: {reason}")]
    Write {
        /// The runs file.
        path: String,
        /// What went wrong.
        reason: String,
    },
}

/// The kept runs, in the order they were measured.
pub struct RunStore {
    runs: Vec<StepRun>,
    next_id: u64,
    saver: Option<RunSaver>,
}

/// What a runs file says it is: the runs file and an exported file are
/// one format, so either can be imported.
pub(super) const RUNS_FORMAT: &str = "motiontune step runs";
/// The newest version of the format this build reads and writes.
pub(super) const RUNS_FORMAT_VERSION: u32 = 1;

/// The runs file, and an exported file: the runs, and what the file is.
/// Files from before the format was named have neither field.
#[derive(Serialize, Deserialize)]
pub(super) struct RunsFile<'a> {
    #[serde(default)]
    pub(super) format: Cow<'a, str>,
    #[serde(default)]
    pub(super) version: u32,
    pub(super) runs: Cow<'a, [StepRun]>,
}

impl RunStore {
    /// A store that keeps runs in memory only.
    pub fn in_memory() -> Self {
        Self {
            runs: Vec::new(),
            next_id: 1,
            saver: None,
        }
    }

    /// Loads the runs saved at `path` (none when the file does not exist
    /// yet) and saves every change there. A file that cannot be read is
    /// reported and left untouched; the store then keeps runs in memory.
    pub fn open(path: &Path) -> (Self, Option<RunsFileError>) {
        let runs = match std::fs::read(path) {
            Ok(bytes) => match serde_json::from_slice::<RunsFile<'_>>(&bytes) {
                Ok(file) => file.runs.into_owned(),
                Err(error) => {
                    return (Self::in_memory(), Some(read_error(path, &error)));
                }
            },
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(error) => return (Self::in_memory(), Some(read_error(path, &error))),
        };
        let next_id = runs.iter().map(|r| r.id).max().unwrap_or(0) + 1;
        let (saver, error) = match RunSaver::start(path.to_path_buf()) {
            Ok(saver) => (Some(saver), None),
            Err(error) => (None, Some(error)),
        };
        let store = Self {
            runs,
            next_id,
            saver,
        };
        (store, error)
    }

    /// The runs kept, oldest first.
    pub fn runs(&self) -> &[StepRun] {
        &self.runs
    }

    /// Keeps a measured step; returns its id.
    pub fn add(
        &mut self,
        response: &StepResponse,
        context: &RunContext,
        recorded_at: String,
    ) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let (metrics, error) = match &response.metrics {
            Ok(metrics) => (
                METRICS
                    .iter()
                    .zip(metric_values(metrics))
                    .map(|(info, value)| (info.key.to_owned(), value))
                    .collect(),
                None,
            ),
            Err(error) => (BTreeMap::new(), Some(error.to_string())),
        };
        self.runs.push(StepRun {
            id,
            name: format!("run {id}"),
            visible: true,
            recorded_at,
            device: context.device.clone(),
            from: response.from,
            to: response.to,
            signal_unit: context.signal_unit.clone(),
            effort_unit: context.effort_unit.clone(),
            gains: context.gains.clone(),
            metrics,
            error,
            source: String::new(),
            trace: thin_trace(response),
        });
        self.save();
        id
    }

    /// Renames run `id` and saves.
    pub fn rename(&mut self, id: u64, name: &str) {
        if let Some(run) = self.runs.iter_mut().find(|r| r.id == id) {
            run.name = name.to_owned();
            self.save();
        }
    }

    /// Shows or hides run `id` and saves.
    pub fn set_visible(&mut self, id: u64, visible: bool) {
        if let Some(run) = self.runs.iter_mut().find(|r| r.id == id) {
            run.visible = visible;
            self.save();
        }
    }

    /// Deletes run `id` and saves.
    pub fn delete(&mut self, id: u64) {
        let before = self.runs.len();
        self.runs.retain(|r| r.id != id);
        if self.runs.len() != before {
            self.save();
        }
    }

    /// Keeps `runs` from elsewhere, each under a fresh id, and saves.
    pub(super) fn adopt(&mut self, runs: Vec<StepRun>) {
        for mut run in runs {
            run.id = self.next_id;
            self.next_id += 1;
            self.runs.push(run);
        }
        self.save();
    }

    /// The newest save error, if saving failed since the last call.
    pub fn take_save_error(&mut self) -> Option<RunsFileError> {
        self.saver.as_ref().and_then(RunSaver::take_error)
    }

    /// Blocks until every change so far is on disk (for tests and exit).
    pub fn flush(&self) {
        if let Some(saver) = &self.saver {
            saver.flush();
        }
    }

    fn save(&self) {
        if let Some(saver) = &self.saver {
            saver.save(self.runs.clone());
        }
    }
}

fn read_error(path: &Path, reason: &dyn std::fmt::Display) -> RunsFileError {
    RunsFileError::Read {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// The trace of `response`, thinned to at most [`MAX_TRACE_POINTS`]: each
/// bucket keeps the samples of its lowest and highest feedback, in time
/// order, so peaks survive.
fn thin_trace(response: &StepResponse) -> Trace {
    let len = response.time.len();
    let indices: Vec<usize> = if len <= MAX_TRACE_POINTS {
        (0..len).collect()
    } else {
        let buckets = MAX_TRACE_POINTS / 2;
        let mut indices = Vec::with_capacity(MAX_TRACE_POINTS);
        for bucket in 0..buckets {
            let range = bucket * len / buckets..(bucket + 1) * len / buckets;
            let feedback = &response.feedback[range.clone()];
            let by_value = |a: &(usize, &f64), b: &(usize, &f64)| a.1.total_cmp(b.1);
            let (Some(low), Some(high)) = (
                feedback.iter().enumerate().min_by(by_value),
                feedback.iter().enumerate().max_by(by_value),
            ) else {
                continue;
            };
            let (first, second) = (low.0.min(high.0), low.0.max(high.0));
            indices.push(range.start + first);
            if second != first {
                indices.push(range.start + second);
            }
        }
        indices
    };
    let pick = |values: &[f64]| indices.iter().map(|&i| values[i] as f32).collect();
    Trace {
        time: pick(&response.time),
        reference: pick(&response.reference),
        feedback: pick(&response.feedback),
        effort: response.effort.as_deref().map(pick),
    }
}

enum SaveRequest {
    Save(Vec<StepRun>),
    Flush(Sender<()>),
}

/// The thread that writes the runs file: it writes the newest snapshot
/// and skips any that were overtaken while it wrote.
struct RunSaver {
    requests: Sender<SaveRequest>,
    errors: Receiver<RunsFileError>,
}

impl RunSaver {
    fn start(path: PathBuf) -> Result<Self, RunsFileError> {
        let shown_path = path.display().to_string();
        let (requests, request_rx) = unbounded::<SaveRequest>();
        let (error_tx, errors) = unbounded();
        std::thread::Builder::new()
            .name("runs saver".into())
            .spawn(move || {
                while let Ok(first) = request_rx.recv() {
                    // Only the newest snapshot matters; a flush is answered
                    // once everything asked before it is written.
                    let mut newest = None;
                    let mut flushes = Vec::new();
                    for request in std::iter::once(first).chain(request_rx.try_iter()) {
                        match request {
                            SaveRequest::Save(runs) => newest = Some(runs),
                            SaveRequest::Flush(done) => flushes.push(done),
                        }
                    }
                    if let Some(runs) = newest
                        && let Err(error) = write_runs(&path, runs)
                    {
                        let _ = error_tx.send(error);
                    }
                    for done in flushes {
                        let _ = done.send(());
                    }
                }
            })
            .map_err(|e| RunsFileError::Write {
                path: shown_path,
                reason: format!("cannot start the saving thread: {e}"),
            })?;
        Ok(Self { requests, errors })
    }

    fn save(&self, runs: Vec<StepRun>) {
        let _ = self.requests.send(SaveRequest::Save(runs));
    }

    fn flush(&self) {
        let (done, wait) = unbounded();
        if self.requests.send(SaveRequest::Flush(done)).is_ok() {
            let _ = wait.recv();
        }
    }

    fn take_error(&self) -> Option<RunsFileError> {
        self.errors.try_iter().last()
    }
}

fn write_runs(path: &Path, runs: Vec<StepRun>) -> Result<(), RunsFileError> {
    write_runs_file(path, &runs).map_err(|reason| RunsFileError::Write {
        path: path.display().to_string(),
        reason,
    })
}

/// Writes `runs` to `path` as a runs file, through a temporary name so a
/// crash leaves the old file or the new one; the error is the reason.
pub(super) fn write_runs_file(path: &Path, runs: &[StepRun]) -> Result<(), String> {
    let file = RunsFile {
        format: Cow::Borrowed(RUNS_FORMAT),
        version: RUNS_FORMAT_VERSION,
        runs: Cow::Borrowed(runs),
    };
    let json = serde_json::to_vec(&file).map_err(|e| e.to_string())?;
    if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder).map_err(|e| e.to_string())?;
    }
    let temporary = path.with_extension("json.tmp");
    std::fs::write(&temporary, json).map_err(|e| e.to_string())?;
    std::fs::rename(&temporary, path).map_err(|e| e.to_string())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::analysis::{StepOptions, StepRecord, step_metrics};

    /// A first-order step of `len` samples with one spike of `spike` at
    /// sample `spike_at`.
    pub(in crate::record) fn response(len: usize, spike_at: usize, spike: f64) -> StepResponse {
        let time: Vec<f64> = (0..len).map(|i| i as f64 * 1e-4 - 0.01).collect();
        let reference: Vec<f64> = time.iter().map(|&t| f64::from(t >= 0.0)).collect();
        let mut feedback: Vec<f64> = time
            .iter()
            .map(|&t| {
                if t < 0.0 {
                    0.0
                } else {
                    1.0 - (-t / 0.05).exp()
                }
            })
            .collect();
        feedback[spike_at] += spike;
        let metrics = step_metrics(
            &StepRecord {
                time: &time,
                reference: &reference,
                feedback: &feedback,
                effort: None,
            },
            &StepOptions::default(),
        );
        StepResponse {
            number: 1,
            from: 0.0,
            to: 1.0,
            step_time_s: 12.5,
            time,
            reference,
            feedback,
            effort: None,
            metrics,
        }
    }

    pub(in crate::record) fn context() -> RunContext {
        RunContext {
            device: "sim".into(),
            signal_unit: "rad".into(),
            effort_unit: "A".into(),
            gains: vec![GainValue {
                name: "pos.kp".into(),
                value: 20.0,
                unit: "A/rad".into(),
            }],
        }
    }

    #[test]
    fn runs_survive_reopening_with_names_visibility_and_deletions() {
        let folder = tempfile::tempdir().expect("temp dir");
        let path = folder.path().join("nested").join("runs.json");
        let (mut store, error) = RunStore::open(&path);
        assert!(error.is_none());
        // 1 s of hold, 20 time constants: the final value is the true one.
        let first = store.add(&response(10_000, 100, 0.0), &context(), "t1".into());
        let second = store.add(&response(3000, 100, 0.0), &context(), "t2".into());
        let third = store.add(&response(3000, 100, 0.0), &context(), "t3".into());
        store.rename(first, "kp 20");
        store.set_visible(second, false);
        store.delete(third);
        store.flush();

        let (reopened, error) = RunStore::open(&path);
        assert!(error.is_none());
        let runs = reopened.runs();
        assert_eq!(runs.len(), 2);
        assert_eq!((runs[0].name.as_str(), runs[0].visible), ("kp 20", true));
        assert_eq!((runs[1].id, runs[1].visible), (second, false));
        assert_eq!(runs[0].gains, context().gains);
        // JSON keeps the trace's f32 and, with serde_json's float_roundtrip,
        // the metrics' f64 exactly.
        assert_eq!(runs[0].trace, store.runs()[0].trace);
        assert_eq!(runs[0].metrics, store.runs()[0].metrics);
        let rise = runs[0]
            .metric("rise_time")
            .expect("a first-order step rises");
        let expected = 0.05 * 9f64.ln();
        assert!((rise - expected).abs() < 0.01 * expected, "{rise}");
    }

    #[test]
    fn new_ids_follow_the_saved_ones() {
        let folder = tempfile::tempdir().expect("temp dir");
        let path = folder.path().join("runs.json");
        let (mut store, _) = RunStore::open(&path);
        store.add(&response(100, 50, 0.0), &context(), "t".into());
        store.add(&response(100, 50, 0.0), &context(), "t".into());
        store.flush();
        let (mut reopened, _) = RunStore::open(&path);
        assert_eq!(
            reopened.add(&response(100, 50, 0.0), &context(), "t".into()),
            3
        );
    }

    #[test]
    fn an_unreadable_file_is_reported_and_never_overwritten() {
        let folder = tempfile::tempdir().expect("temp dir");
        let path = folder.path().join("runs.json");
        std::fs::write(&path, b"{ not json").expect("write");
        let (mut store, error) = RunStore::open(&path);
        let message = error.expect("reported").to_string();
        assert!(message.contains("runs.json"), "{message}");
        assert!(!message.contains('\n'), "one line: {message}");
        store.add(&response(100, 50, 0.0), &context(), "t".into());
        store.flush();
        assert_eq!(std::fs::read(&path).expect("still there"), b"{ not json");
    }

    #[test]
    fn a_failed_step_is_kept_with_its_reason() {
        let mut flat = response(300, 50, 0.0);
        flat.feedback.fill(0.0);
        flat.metrics = step_metrics(
            &StepRecord {
                time: &flat.time,
                reference: &flat.reference,
                feedback: &flat.feedback,
                effort: None,
            },
            &StepOptions::default(),
        );
        let mut store = RunStore::in_memory();
        store.add(&flat, &context(), "t".into());
        let run = &store.runs()[0];
        assert!(run.metrics.is_empty());
        assert!(
            run.error
                .as_deref()
                .is_some_and(|e| e.contains("did not move")),
            "{:?}",
            run.error
        );
    }

    #[test]
    fn long_traces_are_thinned_and_keep_their_peaks() {
        let long = response(100_000, 61_234, 5.0);
        let trace = thin_trace(&long);
        assert!(trace.time.len() <= MAX_TRACE_POINTS, "{}", trace.time.len());
        assert!(trace.time.len() > MAX_TRACE_POINTS / 2);
        let peak = trace.feedback.iter().copied().fold(f32::MIN, f32::max);
        assert!(peak > 5.0, "the spike survives: {peak}");
        assert!(trace.time.windows(2).all(|w| w[0] < w[1]), "in time order");
        let short = response(1000, 10, 0.0);
        assert_eq!(
            thin_trace(&short).time.len(),
            1000,
            "short traces are kept whole"
        );
    }
}
