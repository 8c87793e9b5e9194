//! What the measured part of a session produced, kept so nothing paid for is bought twice.
//!
//! Transcription is paid per request and decoding plus diarization take minutes on an hour
//! of audio; the judgement after them is the stage most likely to meet an outage. So when
//! the measured part is done its result is checkpointed ([`Measured`]), and a later attempt
//! (after a transient failure, a hand-back at shutdown or an expired lease) resumes from it.
//! A re-judgement (`ops.reassess`) reads the same record. The record is valid only for the
//! inputs it came from: [`fingerprint`] names them, and a different fingerprint means the
//! work is done again. Where checkpoints are kept is the caller's business ([`Checkpoints`]):
//! a table for the daemon, nowhere for a local run.

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::{Language, TranscriptSegment};
use crate::pipeline::JobSpec;
use crate::pipeline::assess::inputs::MeasuredMetrics;

/// The checkpoint stage name of [`Measured`].
pub const MEASURED: &str = "measured";

/// Everything the measured part produced: what the judgement reads and what the result
/// stores beside it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Measured {
    pub language: Language,
    /// The aligned transcript (empty without transcription).
    pub segments: Vec<TranscriptSegment>,
    pub assessable: Assessable,
    /// `analysis_results.metrics` as measured (the judgement adds the roles).
    pub metrics: Value,
    /// `analysis_results.provenance` as measured (the judgement adds its own part).
    pub provenance: Value,
    pub audio_seconds: f64,
    pub bytes: u64,
}

/// Whether the measurements can be judged.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Assessable {
    Metrics(MeasuredMetrics),
    /// The measurements were withheld (low diarization confidence): the reason.
    Withheld(String),
}

/// Names what the measured part depends on: the object (key and size), the session's
/// language and speaker count (`estimate` when not declared), the transcription provider
/// and model (`stt`, see [`crate::clients::stt::SpeechToText::identity`]), and this build.
pub fn fingerprint(job: &JobSpec, bytes: u64, stt: &str) -> String {
    // A declared count keeps the form earlier builds wrote (`speakers=2`).
    let speakers = job
        .num_speakers
        .map_or_else(|| "estimate".to_owned(), |k| k.to_string());
    format!(
        "v{} key={} bytes={bytes} language={:?} speakers={speakers} stt={stt}",
        env!("CARGO_PKG_VERSION"),
        job.audio_path,
        job.language,
    )
}

/// Where stage results are kept between attempts. Failures to load or save are the
/// implementation's to log: a missing checkpoint only means the work is done again.
pub trait Checkpoints: Send + Sync {
    /// The payload saved for `stage` under this `fingerprint`, if any.
    fn load<'a>(&'a self, stage: &'a str, fingerprint: &'a str) -> BoxFuture<'a, Option<Value>>;
    fn save<'a>(
        &'a self,
        stage: &'a str,
        fingerprint: &'a str,
        payload: Value,
    ) -> BoxFuture<'a, ()>;
}

/// One session's checkpoints under the fingerprint of its inputs: what the stages use.
#[derive(Clone, Copy)]
pub struct Kept<'a> {
    pub checkpoints: &'a dyn Checkpoints,
    pub fingerprint: &'a str,
}

impl Kept<'_> {
    /// Keeps nothing (a local run, the benches).
    pub fn none() -> Kept<'static> {
        Kept {
            checkpoints: &NoCheckpoints,
            fingerprint: "",
        }
    }

    /// The result of `stage` an earlier attempt kept for the same inputs.
    pub async fn load<T: serde::de::DeserializeOwned>(&self, stage: &str) -> Option<T> {
        let payload = self.checkpoints.load(stage, self.fingerprint).await?;
        serde_json::from_value(payload)
            .inspect_err(
                |err| tracing::warn!(%err, stage, "unreadable checkpoint; redoing the stage"),
            )
            .ok()
    }

    pub async fn save<T: Serialize>(&self, stage: &str, result: &T) {
        if let Ok(payload) = serde_json::to_value(result) {
            self.checkpoints
                .save(stage, self.fingerprint, payload)
                .await;
        }
    }
}

/// The checkpoint stage of the diarization.
pub const DIARIZATION: &str = "diarization";

/// A local run keeps nothing: it has no second attempt.
pub struct NoCheckpoints;

impl Checkpoints for NoCheckpoints {
    fn load<'a>(&'a self, _: &'a str, _: &'a str) -> BoxFuture<'a, Option<Value>> {
        Box::pin(async { None })
    }
    fn save<'a>(&'a self, _: &'a str, _: &'a str, _: Value) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
}
