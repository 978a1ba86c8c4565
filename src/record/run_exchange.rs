//! Step runs travel between engineers: runs are exported to a file of the
//! same format as the runs file, and a runs file or an exported one is
//! imported into another store.
//!
//! An import gives every run a fresh id (the file's ids mean nothing here),
//! keeps everything else the run was measured with, and notes the file it
//! came from in [`StepRun::source`]. A run already kept — the same time,
//! device and step with the same trace — is skipped, so importing a file
//! twice adds nothing. A file that cannot be used, in whole or in one run,
//! is refused with one line saying why, and the store is left as it was.

use std::path::Path;

use serde_json::error::Category;

use super::step_runs::{RUNS_FORMAT, RUNS_FORMAT_VERSION, RunsFile, write_runs_file};
use super::{RunStore, StepRun};

/// What an import did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImportOutcome {
    /// Runs added to the store.
    pub imported: usize,
    /// Runs left out because the store already keeps them.
    pub skipped: usize,
}

/// Why runs could not be exported or imported.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// The export file could not be written.
    #[error("cannot export step runs to {path}: {reason}")]
    Export {
        /// The file asked for.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// The file could not be imported; nothing was added.
    #[error("cannot import step runs from {path}: {reason}")]
    Import {
        /// The file asked for.
        path: String,
        /// What went wrong.
        reason: String,
    },
}

impl RunStore {
    /// Writes the runs of `ids` that the store keeps, oldest first, to
    /// `path` in the runs file's format; returns how many.
    pub fn export(&self, ids: &[u64], path: &Path) -> Result<usize, ExchangeError> {
        let error = |reason: String| ExchangeError::Export {
            path: path.display().to_string(),
            reason,
        };
        let chosen: Vec<StepRun> = self
            .runs()
            .iter()
            .filter(|r| ids.contains(&r.id))
            .cloned()
            .collect();
        if chosen.is_empty() {
            return Err(error("no runs chosen".to_owned()));
        }
        write_runs_file(path, &chosen).map_err(error)?;
        Ok(chosen.len())
    }

    /// Adds the runs of the file at `path` that the store does not keep
    /// yet, each under a fresh id, and saves.
    pub fn import(&mut self, path: &Path) -> Result<ImportOutcome, ExchangeError> {
        let error = |reason: String| ExchangeError::Import {
            path: path.display().to_string(),
            reason,
        };
        let runs = read_runs(path).map_err(error)?;
        let source = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let mut fresh: Vec<StepRun> = Vec::new();
        let mut skipped = 0;
        for mut run in runs {
            let kept = |other: &StepRun| same_measurement(other, &run);
            if self.runs().iter().any(kept) || fresh.iter().any(kept) {
                skipped += 1;
                continue;
            }
            run.source.clone_from(&source);
            fresh.push(run);
        }
        let imported = fresh.len();
        if imported > 0 {
            self.adopt(fresh);
        }
        Ok(ImportOutcome { imported, skipped })
    }
}

/// The runs of the file at `path`, each checked; the error is the reason.
fn read_runs(path: &Path) -> Result<Vec<StepRun>, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let file: RunsFile<'_> = serde_json::from_slice(&bytes).map_err(|e| match e.classify() {
        // Also a number too large for its field, such as an infinite time.
        Category::Syntax | Category::Eof => format!("not readable JSON ({e})"),
        Category::Data | Category::Io => format!("not a step runs file ({e})"),
    })?;
    // Files from before the format was named say nothing; they are ours.
    if !file.format.is_empty() && file.format != RUNS_FORMAT {
        return Err(format!("a \"{}\" file, not step runs", file.format));
    }
    if file.version > RUNS_FORMAT_VERSION {
        return Err(format!(
            "written in version {} of the format; this motiontune reads up to {RUNS_FORMAT_VERSION}",
            file.version
        ));
    }
    let runs = file.runs.into_owned();
    for run in &runs {
        check(run).map_err(|problem| format!("run \"{}\" {problem}", run.name))?;
    }
    Ok(runs)
}

/// Why `run` cannot be drawn or compared, if it cannot. Its numbers are
/// finite already: JSON has no infinity or NaN, and the parser refuses a
/// number too large for its field.
fn check(run: &StepRun) -> Result<(), String> {
    let trace = &run.trace;
    let points = trace.time.len();
    let lengths = [
        Some(trace.reference.len()),
        Some(trace.feedback.len()),
        trace.effort.as_ref().map(Vec::len),
    ];
    if lengths.into_iter().flatten().any(|len| len != points) {
        return Err("has a trace whose signals differ in length".to_owned());
    }
    Ok(())
}

/// `a` and `b` are one measurement: the same time, device, step and trace
/// (names, visibility and where they came from may differ).
fn same_measurement(a: &StepRun, b: &StepRun) -> bool {
    a.recorded_at == b.recorded_at
        && a.device == b.device
        && a.from == b.from
        && a.to == b.to
        && a.trace == b.trace
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::record::step_runs::tests::{context, response};

    /// A store holding three measured steps, the second renamed and hidden.
    fn measured() -> RunStore {
        let mut store = RunStore::in_memory();
        let at = |minute: u32| format!("2026-12-06T10:0{minute}:00Z");
        store.add(&response(3000, 100, 0.0), &context(), at(0));
        let second = store.add(&response(3000, 2000, 0.3), &context(), at(1));
        store.add(&response(500, 100, 0.0), &context(), at(2));
        store.rename(second, "kp 30");
        store.set_visible(second, false);
        store
    }

    fn ids(store: &RunStore) -> Vec<u64> {
        store.runs().iter().map(|r| r.id).collect()
    }

    /// `measured()` exported to `name` in `folder`.
    fn exported(folder: &Path, name: &str) -> PathBuf {
        let path = folder.join(name);
        let store = measured();
        assert_eq!(store.export(&ids(&store), &path).expect("exports"), 3);
        path
    }

    #[test]
    fn exported_runs_import_into_another_store_unchanged_but_for_id_and_source() {
        let folder = tempfile::tempdir().expect("temp dir");
        let file = exported(folder.path(), "ab.json");
        let runs_file = folder.path().join("theirs").join("runs.json");
        let (mut theirs, error) = RunStore::open(&runs_file);
        assert!(error.is_none());
        theirs.add(&response(800, 10, 0.0), &context(), "t".into());

        let outcome = theirs.import(&file).expect("imports");
        assert_eq!(
            outcome,
            ImportOutcome {
                imported: 3,
                skipped: 0
            }
        );
        let mine = measured();
        for (theirs, mine) in theirs.runs()[1..].iter().zip(mine.runs()) {
            let expected = StepRun {
                id: theirs.id,
                source: "ab.json".to_owned(),
                ..mine.clone()
            };
            assert_eq!(*theirs, expected);
        }
        // Saved through the runs file like any other change.
        theirs.flush();
        let (reopened, error) = RunStore::open(&runs_file);
        assert!(error.is_none());
        assert_eq!(reopened.runs(), theirs.runs());
    }

    #[test]
    fn an_exported_file_and_the_runs_file_are_one_format() {
        let folder = tempfile::tempdir().expect("temp dir");
        let file = exported(folder.path(), "ab.json");
        let (opened, error) = RunStore::open(&file);
        assert!(error.is_none());
        assert_eq!(opened.runs(), measured().runs());

        // A runs file from before the format was named imports too.
        let old = folder.path().join("old.json");
        let runs = serde_json::to_string(measured().runs()).expect("serializes");
        std::fs::write(&old, format!(r#"{{"runs": {runs}}}"#)).expect("write");
        let outcome = RunStore::in_memory().import(&old).expect("imports");
        assert_eq!(outcome.imported, 3);
    }

    #[test]
    fn only_the_chosen_runs_are_exported() {
        let folder = tempfile::tempdir().expect("temp dir");
        let path = folder.path().join("one.json");
        let store = measured();
        assert_eq!(store.export(&[2, 99], &path).expect("exports"), 1);
        let mut other = RunStore::in_memory();
        other.import(&path).expect("imports");
        assert_eq!(other.runs()[0].name, "kp 30");
        let nothing = store.export(&[99], &path).expect_err("nothing chosen");
        assert_eq!(
            nothing.to_string(),
            format!(
                "cannot export step runs to {}: no runs chosen",
                path.display()
            )
        );
    }

    #[test]
    fn imported_ids_never_collide_with_kept_ones() {
        let folder = tempfile::tempdir().expect("temp dir");
        // Both stores number their runs from 1.
        let mut theirs = RunStore::in_memory();
        theirs.add(&response(400, 10, 0.0), &context(), "t".into());
        theirs.add(&response(600, 10, 0.0), &context(), "t".into());
        let file = folder.path().join("theirs.json");
        theirs.export(&ids(&theirs), &file).expect("exports");

        let mut store = measured();
        store.import(&file).expect("imports");
        let added = store.add(&response(700, 10, 0.0), &context(), "t".into());
        assert_eq!(ids(&store), [1, 2, 3, 4, 5, 6]);
        assert_eq!(added, 6);
    }

    #[test]
    fn importing_again_skips_the_runs_already_kept() {
        let folder = tempfile::tempdir().expect("temp dir");
        let file = exported(folder.path(), "ab.json");
        let mut store = RunStore::in_memory();
        assert_eq!(store.import(&file).expect("first").imported, 3);
        let again = store.import(&file).expect("again");
        assert_eq!(
            again,
            ImportOutcome {
                imported: 0,
                skipped: 3
            }
        );
        assert_eq!(store.runs().len(), 3);

        // The store's own runs are kept already, whatever their names.
        let mut mine = measured();
        mine.rename(1, "renamed");
        let own = mine.import(&file).expect("own file");
        assert_eq!(
            own,
            ImportOutcome {
                imported: 0,
                skipped: 3
            }
        );

        // A run listed twice in one file is imported once.
        let twice = folder.path().join("twice.json");
        let run = serde_json::to_value(&measured().runs()[0]).expect("serializes");
        let json = serde_json::json!({ "runs": [run.clone(), run] });
        std::fs::write(&twice, json.to_string()).expect("write");
        let outcome = RunStore::in_memory().import(&twice).expect("imports");
        assert_eq!(
            outcome,
            ImportOutcome {
                imported: 1,
                skipped: 1
            }
        );
    }

    #[test]
    fn bad_files_are_refused_in_one_line_and_change_nothing() {
        let folder = tempfile::tempdir().expect("temp dir");
        let good: serde_json::Value = serde_json::from_slice(
            &std::fs::read(exported(folder.path(), "ab.json")).expect("read"),
        )
        .expect("json");
        // The last run is spoiled: the runs before it must not be added.
        let spoiled = |spoil: fn(&mut serde_json::Value)| {
            let mut file = good.clone();
            spoil(&mut file["runs"][2]);
            file.to_string()
        };
        let cases: [(&str, Option<String>, &str); 9] = [
            ("missing", None, "No such file"),
            ("not json", Some("{ not json".into()), "not readable JSON"),
            (
                "a profile",
                Some(r#"{"name": "tuned", "params": []}"#.into()),
                "missing field `runs`",
            ),
            ("a list", Some("[1, 2]".into()), "not a step runs file"),
            (
                "another format",
                Some(r#"{"format": "motiontune profile", "runs": []}"#.into()),
                "a \"motiontune profile\" file",
            ),
            (
                "a newer version",
                Some(r#"{"format": "motiontune step runs", "version": 99, "runs": []}"#.into()),
                "version 99",
            ),
            (
                "short feedback",
                Some(spoiled(|run| {
                    run["trace"]["feedback"].as_array_mut().map(Vec::pop);
                })),
                "differ in length",
            ),
            (
                "short effort",
                Some(spoiled(|run| {
                    run["trace"]["effort"] = serde_json::json!([0.0])
                })),
                "differ in length",
            ),
            (
                "an infinite time",
                Some(spoiled(|run| {
                    run["trace"]["time"][0] = serde_json::json!(1e300)
                })),
                "number out of range",
            ),
        ];
        for (case, contents, reason) in cases {
            let path = folder.path().join(format!("{case}.json"));
            if let Some(contents) = contents {
                std::fs::write(&path, contents).expect("write");
            }
            let mut store = measured();
            let before = store.runs().to_vec();
            let message = store.import(&path).expect_err(case).to_string();
            let prefix = format!("cannot import step runs from {}: ", path.display());
            assert!(message.starts_with(&prefix), "{case}: {message}");
            assert!(message.contains(reason), "{case}: {message}");
            assert!(!message.contains('\n'), "{case}: one line: {message}");
            assert_eq!(store.runs(), before, "{case}: the store is unchanged");
            assert_eq!(
                store.add(&response(100, 10, 0.0), &context(), "t".into()),
                4
            );
        }
    }
}
