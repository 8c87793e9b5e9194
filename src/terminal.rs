//! `vibeinsight analyze FILE`: the daemon's pipeline on a local file, with progress bars on
//! the terminal instead of progress rows, and the report written to a directory.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context;
use uuid::Uuid;

use crate::config::Settings;
use crate::domain::Language;
use crate::pipeline::progress::{ProgressSink, ProgressUpdate};
use crate::pipeline::{self, Deps, JobSpec, Outcome, Source};
use crate::report;
use crate::storage::Storage;

/// Draws one bar per update on stderr, in the session's language.
pub struct TerminalProgress {
    language: Language,
    last: Mutex<Option<ProgressUpdate>>,
}

impl ProgressSink for TerminalProgress {
    fn report(&self, update: ProgressUpdate) {
        let mut last = self
            .last
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if last.as_ref() == Some(&update) {
            return;
        }
        let filled = usize::from(update.percent) / 5;
        let bar = format!("{}{}", "█".repeat(filled), "░".repeat(20 - filled));
        let message = crate::store::progress::message(&update, self.language);
        eprintln!("{bar} {:>3}% {message}", update.percent);
        *last = Some(update);
    }
}

/// Runs the whole analysis on `file` and writes `report.json` (and `report.html` when the
/// measurements allowed an assessment) into `out`. A judgement that could not be produced
/// (invalid answer, provider unreachable) is reported in both files, not as an error.
///
/// # Errors
/// The measured part fails (the error says why) or the report cannot be written.
pub async fn analyze(
    settings: &Settings,
    file: &Path,
    language: Language,
    speakers: Option<u8>,
    out: &Path,
) -> anyhow::Result<PathBuf> {
    let bytes = std::fs::metadata(file)
        .with_context(|| format!("Cannot read {}", file.display()))?
        .len();
    let source = Source {
        path: file.to_path_buf(),
        extension: file
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase),
        bytes,
    };
    let deps = Deps::from_settings(Storage::from_settings(&settings.storage).await?, settings)?;
    let job = JobSpec {
        session_id: Uuid::new_v4(),
        audio_path: file.display().to_string(),
        language,
        num_speakers: speakers,
    };
    let progress = TerminalProgress {
        language,
        last: Mutex::new(None),
    };
    let outcome = pipeline::analyze_file(&source, &job, &deps, &progress)
        .await
        .map_err(|err| anyhow::anyhow!("{err}"))?;
    write_report(&outcome, out)
}

/// Builds the report from the outcome (once: the same builder fills the stored row) and
/// writes it; returns the page, or `report.json` when there is no page.
fn write_report(outcome: &Outcome, out: &Path) -> anyhow::Result<PathBuf> {
    let report = report::row::built(outcome).report;
    let page = report::write_built(out, &report)?;
    eprintln!("{}", report::summary::text(&report));
    Ok(page.unwrap_or_else(|| out.join("report.json")))
}
