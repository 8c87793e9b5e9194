//! Progress: the stages a session moves through, their percentages and their messages,
//! and the sink that carries them out of the pipeline.
//!
//! The sink is synchronous so blocking DSP stages can report too; the daemon's sink forwards
//! to a task that writes rows, the CLI's prints.

use crate::pipeline::types::Language;

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
