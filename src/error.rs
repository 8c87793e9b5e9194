//! How a job can fail, decided where the failure becomes known.
//!
//! [`JobError::Transient`] leaves the message on the queue and retries it after a backoff
//! (network, 5xx, 429, timeouts, database blips). [`JobError::Permanent`] fails the session and
//! dead-letters the message: retrying cannot fix a corrupt file or a missing object. Each
//! [`Failure`] knows how to explain itself to the session's owner in their language.

use std::time::Duration;

use uuid::Uuid;

use crate::pipeline::decode::AudioError;
use crate::pipeline::types::Language;

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("{reason}")]
    Transient {
        /// Which dependency failed: what the worker's metrics count it under.
        origin: Origin,
        /// Operator-facing, secret-free reason; also shown on the `retrying` progress row.
        reason: String,
        /// A provider's own hint (`Retry-After`), honoured when longer than our backoff.
        retry_after: Option<Duration>,
    },
    #[error(transparent)]
    Permanent(#[from] Failure),
}

/// A decoding failure is the file's fault and permanent, except when the worker cannot store
/// the decoded signal (its scratch space): that is the machine's, and worth a retry.
impl From<AudioError> for JobError {
    fn from(err: AudioError) -> Self {
        match err {
            AudioError::Scratch(_) => JobError::transient(Origin::Worker, err.to_string()),
            audio => JobError::Permanent(Failure::Audio(audio)),
        }
    }
}

/// Where a transient failure came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Storage,
    Transcription,
    Assessment,
    /// The worker's own machine: scratch space, a blocking task cancelled at shutdown.
    Worker,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Storage => "storage",
            Origin::Transcription => "transcription",
            Origin::Assessment => "assessment",
            Origin::Worker => "worker",
        }
    }
}

impl JobError {
    pub fn transient(origin: Origin, reason: impl Into<String>) -> Self {
        JobError::Transient {
            origin,
            reason: reason.into(),
            retry_after: None,
        }
    }

    /// A blocking task that did not return its result: a panic is our own bug, permanent
    /// (retrying it would only burn attempts and provider money); a task cancelled by the
    /// runtime shutting down is retried.
    pub fn from_join(what: &str, err: &tokio::task::JoinError) -> Self {
        if err.is_panic() {
            Failure::Internal(format!("the {what} task panicked")).into()
        } else {
            JobError::transient(Origin::Worker, format!("the {what} task was cancelled"))
        }
    }
}

/// A failure retrying cannot fix.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("malformed queue message: {0}")]
    MalformedMessage(String),
    #[error("session {0} does not exist")]
    SessionMissing(Uuid),
    #[error("invalid audio path {path:?}: {reason}")]
    InvalidAudioPath { path: String, reason: &'static str },
    #[error("audio object {0:?} does not exist")]
    ObjectMissing(String),
    #[error("audio object {0:?} is empty (0 bytes)")]
    ObjectEmpty(String),
    #[error("audio object is {bytes} bytes, more than the {max} allowed")]
    ObjectTooLarge { bytes: u64, max: u64 },
    #[error("storage refused access to {0:?}")]
    AccessDenied(String),
    #[error("storage rejected the request: {0}")]
    StorageRejected(String),
    #[error(
        "the session declares {declared} speakers; at most {max} are told apart (0 or null estimates the count)"
    )]
    TooManySpeakers { declared: i64, max: usize },
    /// Our own bug (a panic, a broken invariant): never retried.
    #[error("internal error: {0}")]
    Internal(String),
    #[error(transparent)]
    Audio(#[from] AudioError),
    #[error("transcription failed: {0}")]
    Transcription(String),
    #[error("assessment failed: {0}")]
    Assessment(String),
    #[error("gave up after {attempts} attempts; last error: {last}")]
    AttemptsExhausted { attempts: i32, last: String },
}

impl Failure {
    /// Whether the recording may simply not be uploaded yet (missing, or created empty by a
    /// resumable upload that has not written its data).
    pub fn awaits_upload(&self) -> bool {
        matches!(self, Failure::ObjectMissing(_) | Failure::ObjectEmpty(_))
    }

    /// The sentence stored in `sessions.error` and shown on the `error` progress row.
    pub fn message(&self, language: Language) -> String {
        let ja = language == Language::Ja;
        let text = |j: &str, e: &str| if ja { j.to_owned() } else { e.to_owned() };
        let summary = match self {
            Failure::MalformedMessage(_) => text(
                "キューのメッセージが不正です",
                "The queue message is malformed",
            ),
            Failure::SessionMissing(_) => {
                text("セッションが存在しません", "The session does not exist")
            }
            Failure::InvalidAudioPath { .. } => text(
                "音声ファイルのパスが不正です",
                "The audio path is not allowed",
            ),
            Failure::ObjectMissing(_) => text(
                "音声ファイルが見つかりません",
                "The audio file was not found in storage",
            ),
            Failure::ObjectEmpty(_) => text(
                "音声ファイルが空です（アップロードが完了していません）",
                "The audio file is empty (the upload never completed)",
            ),
            Failure::ObjectTooLarge { .. } => {
                text("音声ファイルが大きすぎます", "The audio file is too large")
            }
            Failure::AccessDenied(_) => text(
                "ストレージへのアクセスが拒否されました",
                "Storage refused access to the audio file",
            ),
            Failure::StorageRejected(_) => text(
                "ストレージが要求を受け付けませんでした",
                "Storage rejected the request for the audio file",
            ),
            Failure::TooManySpeakers { .. } => text(
                "話者数の指定が上限を超えています",
                "The declared number of speakers is above the limit",
            ),
            Failure::Internal(_) => text(
                "内部エラーが発生しました（担当者に通知されます）",
                "An internal error occurred (the operators are alerted)",
            ),
            Failure::Audio(audio) => audio.summary(language),
            Failure::Transcription(_) => text(
                "文字起こしサービスが要求を受け付けませんでした",
                "The transcription service refused the request",
            ),
            Failure::Assessment(_) => text(
                "AI評価サービスが要求を受け付けませんでした",
                "The assessment service refused the request",
            ),
            Failure::AttemptsExhausted { .. } => text(
                "再試行の上限に達しました",
                "Gave up after repeated failures",
            ),
        };
        format!("{summary} ({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_is_an_internal_error_and_never_retried() {
        let panicked = tokio::task::spawn_blocking(|| panic!("index out of bounds"))
            .await
            .unwrap_err();
        match JobError::from_join("decoder", &panicked) {
            JobError::Permanent(Failure::Internal(what)) => assert!(what.contains("decoder")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_audio_is_permanent_but_a_full_scratch_disk_is_retried() {
        let corrupt = JobError::from(AudioError::Corrupt("bad frame".into()));
        assert!(matches!(
            corrupt,
            JobError::Permanent(Failure::Audio(AudioError::Corrupt(_)))
        ));
        let scratch = JobError::from(AudioError::Scratch("No space left on device".into()));
        match scratch {
            JobError::Transient { reason, .. } => assert!(reason.contains("No space left")),
            other => panic!("{other:?}"),
        }
    }
}
