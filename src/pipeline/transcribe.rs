//! Transcription of a whole recording through an OpenAI-compatible API.
//!
//! Models with times (verbose_json, diarized_json): the recording is cut at non-speech into
//! chunks ([`plan::plan_chunks`]); text-only models: one request per merged speaker turn
//! ([`plan::plan_turns`]), so their text still has a speaker and a time. Pieces are FLAC
//! encoded off the async runtime and sent with a bounded number in flight; each result is
//! shifted by its piece's own start, so every time is in the original recording's timeline.
//! Each piece's answer is checkpointed as it arrives (in the session's [`Kept`] checkpoints): an
//! attempt after a failure at piece 20 of 37 sends only the 17 missing ones.

mod plan;
mod usage;

use futures::{StreamExt, TryStreamExt};

pub use plan::{ChunkingConfig, plan_chunks, plan_turns};
pub use usage::{ModelUsage, PriceTable, SttUsage};

use crate::clients::stt::{AudioUpload, SpeechToText, SttError, SttSegment, Transcription};
use crate::domain::{ANALYSIS_RATE, Language, Span, SpeakerTurn};
use crate::pipeline::checkpoint::Kept;
use crate::pipeline::encode::{EncodeError, encode_flac};

/// Who transcribes, in which language: the process's provider and the session's language.
#[derive(Clone, Copy)]
pub struct SttCall<'a> {
    pub provider: &'a dyn SpeechToText,
    pub language: Language,
}

/// Called with (pieces done, pieces total) each time a piece finishes. Throttling the
/// progress rows is the caller's business; this is called at most once per piece.
pub type Progress<'a> = &'a (dyn Fn(usize, usize) + Send + Sync);

/// The checkpoint stage of one piece: named by its span, which the plan derives from the
/// audio alone, so a later attempt plans the same pieces.
fn stage(span: Span) -> String {
    format!("{PIECE_STAGE}{:.3}-{:.3}", span.start, span.end)
}

/// Prefix of the pieces' checkpoint stages (they go when the session completes).
const PIECE_STAGE: &str = "transcript_piece:";

/// Why transcribing the recording failed.
#[derive(Debug, thiserror::Error)]
pub enum TranscribeError {
    #[error(transparent)]
    Stt(#[from] SttError),
    #[error(transparent)]
    Encode(#[from] EncodeError),
    #[error("encoded chunk of {bytes} bytes exceeds the {limit}-byte upload limit")]
    TooLarge { bytes: usize, limit: usize },
}

impl TranscribeError {
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Stt(e) if e.is_transient())
    }
}

/// Segments in the original timeline (not yet filtered or aligned), and what was sent.
#[derive(Clone, Debug, Default)]
pub struct RawTranscript {
    pub segments: Vec<SttSegment>,
    /// The pieces sent, in time order.
    pub pieces: Vec<Span>,
    pub usage: SttUsage,
}

/// Transcribes the recording the way the client's model allows: chunked at non-speech for
/// models with times, per speaker turn for text-only models.
///
/// # Errors
/// The first permanent error, or a transient one that outlived the client's retries.
#[allow(
    clippy::too_many_arguments,
    reason = "the recording (samples, speech, turns), its plan (cfg, prices) and where each \
              finished piece goes (progress, store): a struct would only move the list"
)]
pub async fn transcribe(
    stt: SttCall<'_>,
    samples: &[f32],
    speech: &[Span],
    turns: &[SpeakerTurn],
    cfg: &ChunkingConfig,
    prices: &PriceTable,
    progress: Progress<'_>,
    store: Kept<'_>,
) -> Result<RawTranscript, TranscribeError> {
    if stt.provider.has_times() {
        transcribe_chunked(stt, samples, speech, cfg, prices, progress, store).await
    } else {
        transcribe_turns(stt, samples, turns, cfg, prices, progress, store).await
    }
}

/// Chunks cut at non-speech; see [`plan_chunks`].
///
/// # Errors
/// As [`transcribe`].
pub async fn transcribe_chunked(
    stt: SttCall<'_>,
    samples: &[f32],
    speech: &[Span],
    cfg: &ChunkingConfig,
    prices: &PriceTable,
    progress: Progress<'_>,
    store: Kept<'_>,
) -> Result<RawTranscript, TranscribeError> {
    let pieces = plan_chunks(samples, speech, cfg);
    let results = send_pieces(stt, samples, &pieces, cfg, progress, store).await?;
    let mut out = RawTranscript {
        pieces,
        ..Default::default()
    };
    for (span, t) in results {
        out.usage
            .record(stt.provider.model(), span.duration(), prices);
        out.segments.extend(t.shifted(span.start).segments);
    }
    Ok(out)
}

/// One request per merged speaker turn; a response without segments becomes one segment
/// spanning its turn.
///
/// # Errors
/// As [`transcribe`].
pub async fn transcribe_turns(
    stt: SttCall<'_>,
    samples: &[f32],
    turns: &[SpeakerTurn],
    cfg: &ChunkingConfig,
    prices: &PriceTable,
    progress: Progress<'_>,
    store: Kept<'_>,
) -> Result<RawTranscript, TranscribeError> {
    let total = samples.len() as f64 / f64::from(ANALYSIS_RATE);
    let planned = plan_turns(turns, cfg, total);
    let pieces: Vec<Span> = planned.iter().map(|t| t.span).collect();
    let results = send_pieces(stt, samples, &pieces, cfg, progress, store).await?;
    let mut out = RawTranscript {
        pieces,
        ..Default::default()
    };
    for (span, t) in results {
        out.usage
            .record(stt.provider.model(), span.duration(), prices);
        if t.segments.is_empty() {
            if !t.text.is_empty() {
                out.segments.push(text_segment(span, t.text));
            }
        } else {
            out.segments.extend(t.shifted(span.start).segments);
        }
    }
    Ok(out)
}

fn text_segment(span: Span, text: String) -> SttSegment {
    SttSegment {
        span,
        text,
        avg_logprob: None,
        no_speech_prob: None,
        compression_ratio: None,
        provider_speaker: None,
        words: Vec::new(),
    }
}

/// Encodes and sends every piece not already in `store` with at most `cfg.in_flight`
/// requests at once, keeping each answer as it arrives; results come back in time order.
/// The first error drops (and so cancels) the requests in flight.
async fn send_pieces(
    stt: SttCall<'_>,
    samples: &[f32],
    pieces: &[Span],
    cfg: &ChunkingConfig,
    progress: Progress<'_>,
    store: Kept<'_>,
) -> Result<Vec<(Span, Transcription)>, TranscribeError> {
    let total = pieces.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<_> = futures::stream::iter(pieces.iter().copied().enumerate())
        .map(|(i, span)| {
            let done = &done;
            async move {
                let t = match store.load(&stage(span)).await {
                    Some(kept) => kept,
                    None => {
                        let upload = encode_piece(samples, span, cfg.max_bytes).await?;
                        let t = stt.provider.transcribe(&upload, stt.language).await?;
                        store.save(&stage(span), &t).await;
                        t
                    }
                };
                let n = done.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                progress(n, total);
                Ok::<_, TranscribeError>((i, span, t))
            }
        })
        .buffer_unordered(cfg.in_flight.max(1))
        .try_collect()
        .await?;
    results.sort_by_key(|(i, _, _)| *i);
    Ok(results.into_iter().map(|(_, s, t)| (s, t)).collect())
}

async fn encode_piece(
    samples: &[f32],
    span: Span,
    max_bytes: usize,
) -> Result<AudioUpload, TranscribeError> {
    let rate = f64::from(ANALYSIS_RATE);
    let a = ((span.start * rate).round() as usize).min(samples.len());
    let b = ((span.end * rate).round() as usize).clamp(a, samples.len());
    let chunk = samples[a..b].to_vec();
    // FLAC encoding is CPU work: keep it off the async workers.
    let flac = tokio::task::spawn_blocking(move || encode_flac(&chunk))
        .await
        .map_err(|e| EncodeError::from_join(&e))??;
    if flac.len() > max_bytes {
        return Err(TranscribeError::TooLarge {
            bytes: flac.len(),
            limit: max_bytes,
        });
    }
    Ok(AudioUpload {
        bytes: flac.into(),
        filename: "chunk.flac".to_owned(),
        mime: "audio/flac".to_owned(),
        duration_s: (b - a) as f64 / rate,
    })
}
