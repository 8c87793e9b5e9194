//! How a job can fail, decided where the failure becomes known.
//!
//! [`JobError::Transient`] leaves the message on the queue and retries it after a backoff
//! (network, 5xx, 429, timeouts, database blips). [`JobError::Permanent`] fails the session and
//! dead-letters the message: retrying cannot fix a corrupt file or a missing object. Each
//! [`Failure`] knows how to explain itself to the session's owner in their language.

use std::time::Duration;

use uuid::Uuid;

use crate::domain::Language;

mod audio;
pub use audio::AudioError;

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
    #[error("transcription failed: {reason}")]
    Transcription { refusal: Refusal, reason: String },
    #[error("assessment failed: {reason}")]
    Assessment { refusal: Refusal, reason: String },
    #[error("gave up after {attempts} attempts; last error: {last}")]
    AttemptsExhausted { attempts: i32, last: String },
}

/// What a provider's permanent refusal was about, decided by its client where the refusal is
/// known (not from its wording): the session's error code says which.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The key is invalid or not allowed to use the model.
    Credentials,
    /// The account's quota or billing stops it.
    Quota,
    /// The provider will not accept this request as it is.
    Request,
}

impl Refusal {
    fn code(self) -> &'static str {
        match self {
            Refusal::Credentials => "provider_auth",
            Refusal::Quota => "provider_quota",
            Refusal::Request => "invalid_request",
        }
    }
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
            Failure::Transcription { .. } => text(
                "文字起こしサービスが要求を受け付けませんでした",
                "The transcription service refused the request",
            ),
            Failure::Assessment { .. } => text(
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

/// The stable codes stored in `sessions.error_code` (and `processing_status.error_code`, the
/// `error` event's `detail.error_code`): what the app branches on, whatever language the
/// prose in `sessions.error` is in. The migration's check constraint lists the same set.
pub const ERROR_CODES: [&str; 13] = [
    "audio_unsupported",
    "audio_corrupt",
    "audio_empty",
    "audio_too_long",
    "recording_not_found",
    "recording_too_large",
    "access_denied",
    "provider_auth",
    "provider_quota",
    "timed_out",
    "attempts_exhausted",
    "invalid_request",
    "internal",
];

/// How an attempt that ran out of time begins its reason, so exhausted attempts whose last
/// cause was the deadline are told apart (`timed_out`) from other outages.
pub const TIMED_OUT: &str = "timed out after";

impl Failure {
    /// This failure's stable code, one of [`ERROR_CODES`].
    pub fn code(&self) -> &'static str {
        match self {
            Failure::MalformedMessage(_)
            | Failure::SessionMissing(_)
            | Failure::InvalidAudioPath { .. }
            | Failure::StorageRejected(_)
            | Failure::TooManySpeakers { .. } => "invalid_request",
            Failure::ObjectMissing(_) => "recording_not_found",
            Failure::ObjectEmpty(_) => "audio_empty",
            Failure::ObjectTooLarge { .. } => "recording_too_large",
            Failure::AccessDenied(_) => "access_denied",
            Failure::Internal(_) => "internal",
            Failure::Audio(audio) => audio_code(audio),
            Failure::Transcription { refusal, .. } | Failure::Assessment { refusal, .. } => {
                refusal.code()
            }
            Failure::AttemptsExhausted { last, .. } if last.starts_with(TIMED_OUT) => "timed_out",
            Failure::AttemptsExhausted { .. } => "attempts_exhausted",
        }
    }
}

fn audio_code(audio: &AudioError) -> &'static str {
    match audio {
        AudioError::Empty => "audio_empty",
        AudioError::Unsupported(_) | AudioError::NoAudioTrack => "audio_unsupported",
        AudioError::Corrupt(_) | AudioError::Truncated | AudioError::Io(_) => "audio_corrupt",
        AudioError::TooLong { .. } => "audio_too_long",
        AudioError::Scratch(_) => "internal",
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
    #[test]
    fn every_failure_has_a_documented_code() {
        let stt = |refusal: Refusal| Failure::Transcription {
            refusal,
            reason: "refused".into(),
        };
        let cases = [
            (
                Failure::Audio(AudioError::Corrupt("x".into())),
                "audio_corrupt",
            ),
            (
                Failure::Audio(AudioError::Unsupported("x".into())),
                "audio_unsupported",
            ),
            (
                Failure::Audio(AudioError::NoAudioTrack),
                "audio_unsupported",
            ),
            (Failure::Audio(AudioError::Empty), "audio_empty"),
            (
                Failure::Audio(AudioError::TooLong {
                    secs: 9e4,
                    max_secs: 14400,
                }),
                "audio_too_long",
            ),
            (Failure::ObjectMissing("k".into()), "recording_not_found"),
            (
                Failure::ObjectTooLarge { bytes: 2, max: 1 },
                "recording_too_large",
            ),
            (Failure::AccessDenied("k".into()), "access_denied"),
            (stt(Refusal::Credentials), "provider_auth"),
            (stt(Refusal::Quota), "provider_quota"),
            (stt(Refusal::Request), "invalid_request"),
            (Failure::MalformedMessage("x".into()), "invalid_request"),
            (Failure::Internal("bug".into()), "internal"),
            (
                Failure::AttemptsExhausted {
                    attempts: 5,
                    last: format!("{TIMED_OUT} 900 s in stage transcribing"),
                },
                "timed_out",
            ),
            (
                Failure::AttemptsExhausted {
                    attempts: 5,
                    last: "HTTP 503".into(),
                },
                "attempts_exhausted",
            ),
        ];
        for (failure, code) in cases {
            assert_eq!(failure.code(), code, "{failure}");
            assert!(ERROR_CODES.contains(&failure.code()));
        }
    }

    #[test]
    fn the_codes_are_the_ones_the_database_accepts() {
        let migration = include_str!("../migrations/20261206000011_error_codes.sql");
        let constraint = migration.split("sessions_error_code_check").nth(1).unwrap();
        let constraint = &constraint[..constraint.find(";").unwrap()];
        let listed = constraint.matches('\'').count() / 2;
        assert_eq!(listed, ERROR_CODES.len());
        for code in ERROR_CODES {
            assert!(constraint.contains(&format!("'{code}'")), "{code}");
        }
    }
}
