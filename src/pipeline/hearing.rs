//! Who said what: transcription and diarization, in the order the model needs. Models that
//! give times transcribe first (the turns only decide whose words they are); text-only
//! models wait for the turns and are sent one request per turn. Each half books its own
//! stopwatch stage and keeps its own checkpoint.

use std::sync::Arc;

use crate::error::{Failure, JobError};
use crate::pipeline::JobSpec;
use crate::pipeline::checkpoint::{self, Kept};
use crate::pipeline::diarize::{self, Diarization, DiarizeOptions, FrontEnd};
use crate::pipeline::progress::{ProgressSink, ProgressUpdate, Stage};
use crate::pipeline::stopwatch::Stopwatch;
use crate::pipeline::transcript::{self, Transcriber, Transcript};
use crate::pipeline::types::AnalysisAudio;
use crate::telemetry::spawn_blocking_in_span;

/// The audio (handed back by the blocking stages), its speaker turns and its transcript.
pub struct Heard {
    pub audio: AnalysisAudio,
    pub diarization: Diarization,
    pub transcript: Option<Transcript>,
}

/// # Errors
/// Transcription errors (transient ones retry the job); a diarizer failure is permanent.
pub async fn transcribe_and_diarize(
    audio: AnalysisAudio,
    front: Arc<FrontEnd>,
    job: &JobSpec,
    stt: &Transcriber,
    progress: &dyn ProgressSink,
    watch: &mut Stopwatch,
    kept: Kept<'_>,
) -> Result<Heard, JobError> {
    let speech = &front.speech;
    let (audio, diarization, raw) = if stt.needs_turns() {
        // The app sees one "transcribing" stage: its requests follow the turns found first.
        progress.report(ProgressUpdate::stage(Stage::Transcribing));
        let (audio, diarization) = diarize_stage(audio, &front, job, watch, kept).await?;
        watch.start("transcribe");
        let turns = &diarization.turns;
        let raw = transcript::transcribe_raw(
            stt,
            &audio.mono,
            speech,
            turns,
            job.language,
            progress,
            kept,
        )
        .await?;
        (audio, diarization, raw)
    } else {
        watch.start("transcribe");
        if stt.provider.is_some() {
            progress.report(ProgressUpdate::stage(Stage::Transcribing));
        }
        let raw =
            transcript::transcribe_raw(stt, &audio.mono, speech, &[], job.language, progress, kept)
                .await?;
        progress.report(ProgressUpdate::stage(Stage::Diarization));
        let (audio, diarization) = diarize_stage(audio, &front, job, watch, kept).await?;
        (audio, diarization, raw)
    };
    let transcript =
        raw.map(|raw| transcript::finish(raw, speech, &diarization.turns, job.language));
    Ok(Heard {
        audio,
        diarization,
        transcript,
    })
}

/// The kept diarization of an earlier attempt, or a new one (then kept).
async fn diarize_stage(
    audio: AnalysisAudio,
    front: &Arc<FrontEnd>,
    job: &JobSpec,
    watch: &mut Stopwatch,
    kept: Kept<'_>,
) -> Result<(AnalysisAudio, Diarization), JobError> {
    watch.start("diarize");
    if let Some(diarization) = kept.load::<Diarization>(checkpoint::DIARIZATION).await {
        return Ok((audio, diarization));
    }
    let (audio, diarization) = diarize_blocking(audio, Arc::clone(front), job).await?;
    kept.save(checkpoint::DIARIZATION, &diarization).await;
    Ok((audio, diarization))
}

/// Who spoke when, on the analysis audio, with the session's speaker count.
async fn diarize_blocking(
    audio: AnalysisAudio,
    front: Arc<FrontEnd>,
    job: &JobSpec,
) -> Result<(AnalysisAudio, Diarization), JobError> {
    let options = DiarizeOptions {
        num_speakers: job.num_speakers.map(usize::from),
        ..DiarizeOptions::default()
    };
    let (audio, diarization) = spawn_blocking_in_span(move || {
        let diarization = diarize::diarize(&audio, Some(&front), &options);
        (audio, diarization)
    })
    .await
    .map_err(|err| JobError::from_join("diarization", &err))?;
    let diarization =
        diarization.map_err(|err| Failure::Internal(format!("diarization: {err}")))?;
    tracing::info!(
        mode = ?diarization.mode,
        speakers = diarization.num_speakers,
        turns = diarization.turns.len(),
        confidence = diarization.confidence,
        "diarized"
    );
    Ok((audio, diarization))
}
