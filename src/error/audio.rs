//! What can go wrong reading a recording (the decoder's errors), as types the worker turns
//! into a permanent failure with a message in the session's language ([`super::Failure::Audio`]).
//!
//! A file larger than the configured maximum never reaches the decoder: storage refuses it
//! before download (`StorageError::TooLarge` → `Failure::ObjectTooLarge`), so size is not a
//! decode error.

use crate::domain::Language;

#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("the file is empty")]
    Empty,
    #[error("unsupported format or codec: {0}")]
    Unsupported(String),
    #[error("the file has no audio track")]
    NoAudioTrack,
    #[error("the audio is corrupt: {0}")]
    Corrupt(String),
    #[error("the file is truncated before any audio")]
    Truncated,
    #[error("the recording is {secs:.0} s long, more than the {max_secs} s allowed")]
    TooLong { secs: f64, max_secs: u64 },
    #[error("cannot read the file: {0}")]
    Io(String),
    /// The worker could not keep the decoded signal (its scratch file, see
    /// `pipeline::samples`): a fault of the machine, not of the file, so the job is retried.
    #[error("cannot store the decoded audio: {0}")]
    Scratch(String),
}

impl AudioError {
    /// One sentence for the session's `error` and progress message.
    pub fn summary(&self, language: Language) -> String {
        let ja = language == Language::Ja;
        let pick = |j: &str, e: &str| if ja { j } else { e }.to_owned();
        match self {
            AudioError::Empty => pick("音声ファイルが空です", "The audio file is empty"),
            AudioError::Unsupported(_) => pick(
                "対応していない音声形式です",
                "This audio format is not supported",
            ),
            AudioError::NoAudioTrack => {
                pick("音声トラックがありません", "The file has no audio track")
            }
            AudioError::Corrupt(_) => {
                pick("音声ファイルが破損しています", "The audio file is corrupt")
            }
            AudioError::Truncated => pick(
                "音声ファイルが途中で切れています",
                "The audio file is truncated",
            ),
            AudioError::TooLong { secs, max_secs } => {
                let (minutes, max_minutes) = ((secs / 60.0).ceil() as u64, max_secs / 60);
                if ja {
                    format!("録音が長すぎます（約{minutes}分、上限{max_minutes}分）")
                } else {
                    format!(
                        "The recording is too long (about {minutes} min; the limit is {max_minutes} min)"
                    )
                }
            }
            AudioError::Io(_) => pick(
                "音声ファイルを読み込めません",
                "The audio file cannot be read",
            ),
            AudioError::Scratch(_) => pick(
                "デコードした音声を一時保存できませんでした",
                "The decoded audio could not be stored for analysis",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_has_a_message_in_both_languages() {
        let all = [
            AudioError::Empty,
            AudioError::Unsupported("x".into()),
            AudioError::NoAudioTrack,
            AudioError::Corrupt("x".into()),
            AudioError::Truncated,
            AudioError::TooLong {
                secs: 5000.0,
                max_secs: 4 * 3600,
            },
            AudioError::Io("x".into()),
        ];
        for err in &all {
            let (ja, en) = (err.summary(Language::Ja), err.summary(Language::En));
            assert!(!ja.is_ascii() && en.is_ascii() && ja != en, "{ja} / {en}");
        }
        let too_long = all[5].summary(Language::En);
        assert!(
            too_long.contains("84 min") && too_long.contains("240 min"),
            "{too_long}"
        );
    }
}
