//! The transcript stage: transcribe (chunked at non-speech, or per speaker turn for
//! text-only models), drop what Whisper invents in silence, give every word the speaker who
//! covers it, and count the lexical signals (questions, backchannels, fillers, speech rate).

use serde::Serialize;

use std::sync::Arc;

use crate::clients::stt::SpeechToText;
use crate::domain::{Language, Span, SpeakerTurn, TranscriptSegment};
use crate::error::{Failure, JobError, Origin, Refusal};
use crate::pipeline::align::align;
use crate::pipeline::checkpoint::Kept;
use crate::pipeline::hallucination::{DropCounts, HallucinationConfig, filter_hallucinations};
use crate::pipeline::lexical::{LexicalMetrics, lexical_metrics};
use crate::pipeline::progress::{ProgressSink, ProgressUpdate, Stage};
use crate::pipeline::transcribe::{
    ChunkingConfig, PriceTable, RawTranscript, SttCall, SttUsage, TranscribeError, transcribe,
};

/// What the stage produced.
#[derive(Clone, Debug)]
pub struct Transcript {
    pub segments: Vec<TranscriptSegment>,
    pub lexical: LexicalMetrics,
    pub summary: TranscriptSummary,
}

/// Stored as `metrics.transcription`.
#[derive(Clone, Debug, Serialize)]
pub struct TranscriptSummary {
    /// The provider's metrics label (see [`SpeechToText::name`]).
    #[serde(skip)]
    pub provider: &'static str,
    pub model: String,
    pub requests: usize,
    pub segments: usize,
    pub dropped: DropCounts,
    #[serde(skip)]
    pub usage: SttUsage,
}

/// The process's transcription setup: the provider (`None` when transcription is off), how a
/// recording is cut into requests, and what they cost.
#[derive(Clone)]
pub struct Transcriber {
    pub provider: Option<Arc<dyn SpeechToText>>,
    pub chunking: ChunkingConfig,
    pub prices: PriceTable,
}

impl Transcriber {
    /// No transcription: sessions get no transcript.
    pub fn off() -> Self {
        Self {
            provider: None,
            chunking: ChunkingConfig::default(),
            prices: PriceTable::default(),
        }
    }

    /// Whether the model returns only text, so it must wait for the speaker turns.
    pub fn needs_turns(&self) -> bool {
        self.provider.as_ref().is_some_and(|p| !p.has_times())
    }

    /// What a transcript depends on besides the audio (see [`SpeechToText::identity`]).
    pub fn identity(&self) -> String {
        self.provider
            .as_ref()
            .map_or_else(|| "none".to_owned(), |p| p.identity())
    }
}

/// Provider output before filtering and alignment.
pub struct Raw {
    transcript: RawTranscript,
    provider: &'static str,
    model: String,
}

/// Transcribes `samples` (16 kHz mono); `None` when transcription is not configured.
/// `turns` may be empty for models with times (they are only needed by text-only models).
///
/// # Errors
/// Provider errors: transient ones (429, 5xx, timeouts) retry the job, others fail it.
pub async fn transcribe_raw(
    transcriber: &Transcriber,
    samples: &[f32],
    speech: &[Span],
    turns: &[SpeakerTurn],
    language: Language,
    progress: &dyn ProgressSink,
    store: Kept<'_>,
) -> Result<Option<Raw>, JobError> {
    let Some(provider) = transcriber.provider.as_deref() else {
        return Ok(None);
    };
    let report = |done: usize, total: usize| {
        let percent = 40 + (20 * done / total.max(1)) as u8;
        progress.report(ProgressUpdate {
            stage: Stage::Transcribing,
            percent: percent.min(59),
            note: None,
        });
    };
    let transcript = transcribe(
        SttCall { provider, language },
        samples,
        speech,
        turns,
        &transcriber.chunking,
        &transcriber.prices,
        &report,
        store,
    )
    .await
    .map_err(job_error)?;
    Ok(Some(Raw {
        transcript,
        provider: provider.name(),
        model: provider.model().to_owned(),
    }))
}

/// Drops hallucinations, gives each word its speaker, counts the lexical signals.
pub fn finish(raw: Raw, speech: &[Span], turns: &[SpeakerTurn], language: Language) -> Transcript {
    let requests = raw.transcript.pieces.len();
    let (kept, dropped) = filter_hallucinations(
        raw.transcript.segments,
        speech,
        &HallucinationConfig::default(),
    );
    let segments = align(&kept, turns);
    let lexical = lexical_metrics(&segments, language);
    let summary = TranscriptSummary {
        provider: raw.provider,
        model: raw.model,
        requests,
        segments: segments.len(),
        dropped,
        usage: raw.transcript.usage,
    };
    Transcript {
        segments,
        lexical,
        summary,
    }
}

fn job_error(err: TranscribeError) -> JobError {
    if err.is_transient() {
        let retry_after = match &err {
            TranscribeError::Stt(stt) => stt.retry_after(),
            _ => None,
        };
        JobError::Transient {
            origin: Origin::Transcription,
            reason: format!("transcription: {err}"),
            retry_after,
        }
    } else {
        let refusal = match &err {
            TranscribeError::Stt(stt) => stt.refusal(),
            TranscribeError::Encode(_) | TranscribeError::TooLarge { .. } => Refusal::Request,
        };
        Failure::Transcription {
            refusal,
            reason: err.to_string(),
        }
        .into()
    }
}
