//! The response formats a model supports, and parsing of successful responses: verbose_json,
//! json, text and diarized_json bodies.

use serde::Deserialize;

use crate::clients::stt::{SttSegment, Transcription};
use crate::domain::{Span, Word};

/// What the provider is asked to return; decides how the response is parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseMode {
    /// `verbose_json` with `timestamp_granularities[]` segment and word (whisper-1 style).
    VerboseJson,
    /// `json`: text only (gpt-4o-transcribe, gpt-4o-mini-transcribe).
    Json,
    /// `text`: a bare string body, for servers that offer nothing else.
    Text,
    /// `diarized_json` with `chunking_strategy=auto` (gpt-4o-transcribe-diarize).
    Diarized,
}

impl ResponseMode {
    /// The mode a model supports, by OpenAI's model names; anything unknown is assumed to be
    /// a Whisper-style model, which is what compatible servers host.
    pub fn for_model(model: &str) -> Self {
        match model {
            "gpt-4o-transcribe-diarize" => Self::Diarized,
            m if m.starts_with("gpt-4o") && m.contains("transcribe") => Self::Json,
            _ => Self::VerboseJson,
        }
    }

    pub(super) fn format_field(self) -> &'static str {
        match self {
            Self::VerboseJson => "verbose_json",
            Self::Json => "json",
            Self::Text => "text",
            Self::Diarized => "diarized_json",
        }
    }

    /// Whether the provider returns times inside the request (else only text per request).
    pub fn has_times(self) -> bool {
        matches!(self, Self::VerboseJson | Self::Diarized)
    }
}

#[derive(Deserialize)]
struct RawBody {
    text: Option<String>,
    language: Option<String>,
    // Compatible servers send `null` instead of leaving the key out.
    segments: Option<Vec<RawSegment>>,
    words: Option<Vec<RawWord>>,
}

#[derive(Deserialize)]
struct RawSegment {
    start: f64,
    end: f64,
    text: Option<String>,
    avg_logprob: Option<f32>,
    no_speech_prob: Option<f32>,
    compression_ratio: Option<f32>,
    speaker: Option<String>,
}

#[derive(Deserialize)]
struct RawWord {
    word: String,
    start: f64,
    end: f64,
    probability: Option<f32>,
}

pub(super) fn parse_body(mode: ResponseMode, body: &str) -> Result<Transcription, String> {
    if mode == ResponseMode::Text {
        return Ok(Transcription {
            text: body.trim().to_owned(),
            ..Default::default()
        });
    }
    let raw: RawBody =
        serde_json::from_str(body).map_err(|e| format!("{e}; body starts {:?}", head(body)))?;
    let mut words: Vec<Word> = raw
        .words
        .unwrap_or_default()
        .into_iter()
        .filter_map(to_word)
        .collect();
    let mut segments: Vec<SttSegment> = raw
        .segments
        .unwrap_or_default()
        .into_iter()
        .map(to_segment)
        .collect();
    attach_words(&mut segments, &mut words);
    Ok(Transcription {
        text: raw.text.unwrap_or_default().trim().to_owned(),
        language: raw.language,
        segments,
    })
}

fn to_word(w: RawWord) -> Option<Word> {
    // Compatible servers keep Whisper's leading space on words.
    let text = w.word.trim().to_owned();
    (!text.is_empty()).then_some(Word {
        span: Span {
            start: w.start,
            end: w.end.max(w.start),
        },
        text,
        probability: w.probability,
    })
}

fn to_segment(s: RawSegment) -> SttSegment {
    SttSegment {
        span: Span {
            start: s.start,
            end: s.end.max(s.start),
        },
        text: s.text.unwrap_or_default().trim().to_owned(),
        avg_logprob: s.avg_logprob,
        no_speech_prob: s.no_speech_prob,
        compression_ratio: s.compression_ratio,
        provider_speaker: s.speaker,
        words: Vec::new(),
    }
}

/// OpenAI returns words in one top-level list; each goes to the segment holding its
/// midpoint, or the nearest one, so no word is lost to rounding at segment edges.
fn attach_words(segments: &mut [SttSegment], words: &mut Vec<Word>) {
    if segments.is_empty() {
        return;
    }
    for w in words.drain(..) {
        let mid = (w.span.start + w.span.end) / 2.0;
        let dist = |s: &SttSegment| {
            if mid < s.span.start {
                s.span.start - mid
            } else {
                (mid - s.span.end).max(0.0)
            }
        };
        let best =
            (0..segments.len()).min_by(|&a, &b| dist(&segments[a]).total_cmp(&dist(&segments[b])));
        if let Some(i) = best {
            segments[i].words.push(w);
        }
    }
}

fn head(s: &str) -> String {
    s.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_lists_are_empty() {
        let body = r#"{"task":"transcribe","language":"ja","duration":0.0,"text":"","words":null,"segments":null}"#;
        assert_eq!(
            parse_body(ResponseMode::VerboseJson, body).unwrap(),
            Transcription {
                language: Some("ja".into()),
                ..Default::default()
            }
        );
    }

    #[test]
    fn words_go_to_the_segment_holding_them() {
        let body = r#"{"text":"a b","segments":[{"start":0,"end":1,"text":" a"},{"start":1,"end":2,"text":" b"}],
            "words":[{"word":" a","start":0.2,"end":0.4},{"word":" b","start":1.1,"end":2.3}]}"#;
        let t = parse_body(ResponseMode::VerboseJson, body).unwrap();
        assert_eq!(t.segments[0].words[0].text, "a");
        assert_eq!(t.segments[1].words[0].text, "b");
        assert_eq!(t.segments[0].text, "a");
    }
}
