//! The conversation's vocabulary, shared by every layer: times, speakers' turns, words,
//! transcript segments, the session's language. Plain data, no behaviour beyond arithmetic
//! on it; the pipeline produces these values, the report, the store and the scorers read them.
//!
//! Every time here is in seconds in the ORIGINAL recording's timeline; the database stores
//! milliseconds.

pub mod assignment;
pub mod timeline;

use serde::{Deserialize, Serialize};

/// The rate every analysis stage works at.
pub const ANALYSIS_RATE: u32 = 16_000;

/// Language of a session, as stored in `sessions.language`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Ja,
    En,
    Auto,
}

/// A half-open time interval `[start, end)` in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Span {
    pub start: f64,
    pub end: f64,
}

impl Span {
    pub fn duration(&self) -> f64 {
        (self.end - self.start).max(0.0)
    }
    pub fn overlap(&self, other: &Span) -> f64 {
        (self.end.min(other.end) - self.start.max(other.start)).max(0.0)
    }
}

/// One speaker's continuous stretch of speech.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpeakerTurn {
    /// 0-based speaker index; rendered `speaker_N` until roles are assigned.
    pub speaker: usize,
    pub span: Span,
}

impl SpeakerTurn {
    /// Number of speakers `turns` label `0..n` (one past the highest index; 0 when empty).
    pub fn speaker_count(turns: &[SpeakerTurn]) -> usize {
        turns.iter().map(|t| t.speaker + 1).max().unwrap_or(0)
    }
}

/// The neutral name of speaker `n` until roles are known: what transcript rows, metric keys
/// and the model's prompt call it.
pub fn speaker_label(speaker: usize) -> String {
    format!("speaker_{speaker}")
}

/// [`speaker_label`] of a segment's speaker, `unknown` when no turn covers it.
pub fn segment_speaker_label(speaker: Option<usize>) -> String {
    speaker.map_or_else(|| "unknown".to_owned(), speaker_label)
}

/// A word with its time, when the transcription provider gives word times.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Word {
    pub span: Span,
    pub text: String,
    pub probability: Option<f32>,
}

/// One transcript segment after alignment: one speaker, one stretch of time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TranscriptSegment {
    pub span: Span,
    pub speaker: Option<usize>,
    pub text: String,
    pub words: Vec<Word>,
    pub confidence: Option<f32>,
}
