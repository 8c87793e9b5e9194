//! The transcript stage: transcribe (chunked at non-speech, or per speaker turn for
//! text-only models), drop what Whisper invents in silence, give every word the speaker who
//! covers it, and count the lexical signals (questions, backchannels, fillers, speech rate).

use serde::Serialize;

use crate::clients::openai_stt::{ResponseMode, SttClient};
use crate::config::SttSettings;
use crate::error::{Failure, JobError, Origin};
use crate::pipeline::align::align;
use crate::pipeline::checkpoint::Kept;
use crate::pipeline::hallucination::{DropCounts, HallucinationConfig, filter_hallucinations};
use crate::pipeline::lexical::{LexicalMetrics, lexical_metrics};
use crate::pipeline::progress::{ProgressSink, ProgressUpdate, Stage};
use crate::pipeline::transcribe::{RawTranscript, SttUsage, TranscribeError, transcribe};
use crate::pipeline::types::{Language, Span, SpeakerTurn, TranscriptSegment};

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
    pub model: String,
    pub requests: usize,
    pub segments: usize,
    pub dropped: DropCounts,
    #[serde(skip)]
    pub usage: SttUsage,
}

/// Whether the configured model returns only text, so it must wait for the speaker turns.
pub fn needs_turns(settings: &SttSettings) -> bool {
    settings.client_config().is_some_and(|cfg| {
        !cfg.mode
            .unwrap_or_else(|| ResponseMode::for_model(&cfg.model))
            .has_times()
    })
}

/// Provider output before filtering and alignment.
pub struct Raw {
    transcript: RawTranscript,
    model: String,
}

/// Transcribes `samples` (16 kHz mono); `None` when transcription is not configured.
/// `turns` may be empty for models with times (they are only needed by text-only models).
///
/// # Errors
/// Provider errors: transient ones (429, 5xx, timeouts) retry the job, others fail it.
pub async fn transcribe_raw(
    settings: &SttSettings,
    samples: &[f32],
    speech: &[Span],
    turns: &[SpeakerTurn],
    language: Language,
    progress: &dyn ProgressSink,
    store: Kept<'_>,
) -> Result<Option<Raw>, JobError> {
    let Some(mut config) = settings.client_config() else {
        return Ok(None);
    };
    config.language = language;
    let model = config.model.clone();
    let client = SttClient::new(config)
        .map_err(|err| Failure::Internal(format!("transcription client: {err}")))?;
    let report = |done: usize, total: usize| {
        let percent = 40 + (20 * done / total.max(1)) as u8;
        progress.report(ProgressUpdate {
            stage: Stage::Transcribing,
            percent: percent.min(59),
            note: None,
        });
    };
    let chunking = settings.chunking();
    let transcript = transcribe(
        &client,
        samples,
        speech,
        turns,
        &chunking,
        &settings.price_table(),
        &report,
        store,
    )
    .await
    .map_err(job_error)?;
    Ok(Some(Raw { transcript, model }))
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
        Failure::Transcription(err.to_string()).into()
    }
}
