//! Progress: the stages a session moves through, their percentages and their messages,
//! and the sink that carries them out of the pipeline.
//!
//! The sink is synchronous so blocking DSP stages can report too; the daemon's sink forwards
//! to a task that writes rows, the CLI's prints.

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use crate::domain::Language;

/// A stage as stored in `processing_status.status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Queued,
    Downloading,
    Preprocessing,
    Transcribing,
    Diarization,
    Analyzing,
    Saving,
    Completed,
    Retrying,
    Error,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Queued => "queued",
            Stage::Downloading => "downloading",
            Stage::Preprocessing => "preprocessing",
            Stage::Transcribing => "transcribing",
            Stage::Diarization => "diarization",
            Stage::Analyzing => "analyzing",
            Stage::Saving => "saving",
            Stage::Completed => "completed",
            Stage::Retrying => "retrying",
            Stage::Error => "error",
        }
    }

    /// The percentage the app's progress bar shows when the stage starts (the seed's values).
    pub fn start_percent(self) -> u8 {
        match self {
            Stage::Queued | Stage::Retrying | Stage::Error => 0,
            Stage::Downloading => 10,
            Stage::Preprocessing => 20,
            Stage::Transcribing => 40,
            Stage::Diarization => 60,
            Stage::Analyzing => 80,
            Stage::Saving => 95,
            Stage::Completed => 100,
        }
    }

    pub fn message(self, language: Language) -> &'static str {
        let ja = language == Language::Ja;
        match (self, ja) {
            (Stage::Queued, true) => "処理待ちです",
            (Stage::Queued, false) => "Waiting in the queue",
            (Stage::Downloading, true) => "音声ファイルを取得しています",
            (Stage::Downloading, false) => "Fetching the recording",
            (Stage::Preprocessing, true) => "音声を解析用に変換しています",
            (Stage::Preprocessing, false) => "Decoding and preparing the audio",
            (Stage::Transcribing, true) => "文字起こしをしています",
            (Stage::Transcribing, false) => "Transcribing",
            (Stage::Diarization, true) => "話者を識別しています",
            (Stage::Diarization, false) => "Identifying who spoke when",
            (Stage::Analyzing, true) => "会話を分析しています",
            (Stage::Analyzing, false) => "Analysing the conversation",
            (Stage::Saving, true) => "結果を保存しています",
            (Stage::Saving, false) => "Saving the results",
            (Stage::Completed, true) => "分析が完了しました",
            (Stage::Completed, false) => "Analysis complete",
            (Stage::Retrying, true) => "一時的なエラーのため再試行します",
            (Stage::Retrying, false) => "Temporary problem; retrying",
            (Stage::Error, true) => "処理に失敗しました",
            (Stage::Error, false) => "Processing failed",
        }
    }
}

/// One progress report: a stage, how far along (0..=100 overall), and an optional note
/// appended to the stage's message (e.g. a warning about audio quality).
#[derive(Clone, Debug, PartialEq)]
pub struct ProgressUpdate {
    pub stage: Stage,
    pub percent: u8,
    pub note: Option<String>,
}

impl ProgressUpdate {
    pub fn stage(stage: Stage) -> Self {
        ProgressUpdate {
            stage,
            percent: stage.start_percent(),
            note: None,
        }
    }
}

/// Where the pipeline reports progress. Implementations must not block for long.
pub trait ProgressSink: Send + Sync {
    fn report(&self, update: ProgressUpdate);

    /// The recording's length, once known (the daemon scales the job's deadline by it).
    fn recording_length(&self, _seconds: f64) {}
}

/// The analysing bar while the model writes: it only ever moves forward (a repair call
/// starts its answer from zero, but the bar does not go back) and reports only a changed
/// percentage, so a long answer costs a few progress rows, not one a second.
#[derive(Default)]
pub struct WritingBar {
    /// Characters of the calls before the current one.
    before: AtomicUsize,
    /// Characters of the current call so far.
    current: AtomicUsize,
    percent: AtomicU8,
}

impl WritingBar {
    pub fn written(&self, chars: usize, progress: &dyn ProgressSink) {
        let previous = self.current.swap(chars, Ordering::Relaxed);
        if chars < previous {
            self.before.fetch_add(previous, Ordering::Relaxed);
        }
        let update = assess_progress(self.before.load(Ordering::Relaxed) + chars);
        if update.percent > self.percent.fetch_max(update.percent, Ordering::Relaxed) {
            progress.report(update);
        }
    }
}

/// While the model writes, the bar moves from the analysing stage's start towards saving:
/// a judgement answer is some 3,000 characters, so the curve is half way there at ~2,000
/// and never reaches the next stage before the answer is complete.
fn assess_progress(chars: usize) -> ProgressUpdate {
    let start = f64::from(Stage::Analyzing.start_percent());
    let room = f64::from(Stage::Saving.start_percent()) - start - 1.0;
    let share = 1.0 - (-(chars as f64) / 3_000.0).exp();
    ProgressUpdate {
        stage: Stage::Analyzing,
        percent: (start + room * share).floor() as u8,
        note: None,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[derive(Default)]
    struct Rows(Mutex<Vec<u8>>);

    impl ProgressSink for Rows {
        fn report(&self, update: ProgressUpdate) {
            self.0.lock().unwrap().push(update.percent);
        }
    }

    #[test]
    fn the_writing_bar_never_goes_back_and_never_repeats_itself() {
        let (bar, rows) = (WritingBar::default(), Rows::default());
        // An answer, then a repair whose answer starts from zero again.
        for chars in (0..=3_000).step_by(50).chain((0..=3_000).step_by(50)) {
            bar.written(chars, &rows);
        }
        let rows = rows.0.into_inner().unwrap();
        assert!(rows.windows(2).all(|w| w[0] < w[1]), "{rows:?}");
        assert!(rows.len() <= 14 && *rows.last().unwrap() < Stage::Saving.start_percent());
        assert!(
            *rows.last().unwrap() > 88,
            "the repair moved it on: {rows:?}"
        );
    }
}
