//! Drops the text Whisper invents in silence, noise and music.
//!
//! Four independent tests, each counted: the segment lies in non-speech (by the VAD), the
//! model itself says "no speech" with low confidence, the text loops on itself, or it is
//! one of the phrases Whisper is known to produce from subtitles in its training data.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::clients::stt::SttSegment;
use crate::domain::Span;

/// Why a segment was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    Empty,
    NonSpeech,
    NoSpeechProb,
    Repetition,
    KnownPhrase,
}

/// Segments dropped, by reason (for `metrics`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DropCounts {
    pub by_reason: BTreeMap<DropReason, usize>,
}

impl DropCounts {
    pub fn total(&self) -> usize {
        self.by_reason.values().sum()
    }
}

/// Thresholds of the filter.
#[derive(Clone, Debug)]
pub struct HallucinationConfig {
    /// Keep a segment only if at least this share of its time is speech…
    pub min_speech_fraction: f64,
    /// …or at least this many seconds of it are (long segments spanning pauses).
    pub min_speech_seconds: f64,
    /// Whisper's own rule: no_speech_prob above this AND avg_logprob below the next.
    pub no_speech_prob: f32,
    pub avg_logprob: f32,
    /// gzip compression ratio above which text is a loop (Whisper's default 2.4).
    pub compression_ratio: f32,
    /// Known hallucinations, compared after [`normalise`].
    pub known_phrases: Vec<String>,
}

impl Default for HallucinationConfig {
    fn default() -> Self {
        Self {
            min_speech_fraction: 0.2,
            min_speech_seconds: 0.5,
            no_speech_prob: 0.6,
            avg_logprob: -1.0,
            compression_ratio: 2.4,
            known_phrases: KNOWN_PHRASES.iter().map(|p| normalise(p)).collect(),
        }
    }
}

const KNOWN_PHRASES: &[&str] = &[
    "ご視聴ありがとうございました",
    "ご視聴ありがとうございます",
    "最後までご視聴いただきありがとうございました",
    "チャンネル登録お願いします",
    "チャンネル登録よろしくお願いします",
    "チャンネル登録と高評価をお願いします",
    "チャンネル登録",
    "高評価お願いします",
    "おやすみなさい",
    "字幕視聴ありがとうございました",
    "次回もお楽しみに",
    "thanks for watching",
    "thank you for watching",
    "thank you so much for watching",
    "please subscribe",
    "subscribe to my channel",
    "like and subscribe",
    "see you next time",
    "subtitles by the amaraorg community",
    "transcribed by",
    "you",
];

/// Keeps the segments that carry speech; returns them and what was dropped.
pub fn filter_hallucinations(
    segments: Vec<SttSegment>,
    speech: &[Span],
    cfg: &HallucinationConfig,
) -> (Vec<SttSegment>, DropCounts) {
    let mut counts = DropCounts::default();
    let mut kept: Vec<SttSegment> = Vec::with_capacity(segments.len());
    for seg in segments {
        match drop_reason(&seg, speech, cfg, kept.last()) {
            Some(r) => *counts.by_reason.entry(r).or_default() += 1,
            None => kept.push(seg),
        }
    }
    (kept, counts)
}

fn drop_reason(
    seg: &SttSegment,
    speech: &[Span],
    cfg: &HallucinationConfig,
    prev: Option<&SttSegment>,
) -> Option<DropReason> {
    let norm = normalise(&seg.text);
    if norm.is_empty() {
        return Some(DropReason::Empty);
    }
    if !enough_speech(seg, speech, cfg) {
        return Some(DropReason::NonSpeech);
    }
    if let (Some(p), Some(l)) = (seg.no_speech_prob, seg.avg_logprob)
        && p > cfg.no_speech_prob
        && l < cfg.avg_logprob
    {
        return Some(DropReason::NoSpeechProb);
    }
    if seg
        .compression_ratio
        .is_some_and(|c| c > cfg.compression_ratio)
        || loops(&norm, &seg.text)
        || repeats_prev(&norm, seg, prev)
    {
        return Some(DropReason::Repetition);
    }
    is_known(&norm, &cfg.known_phrases).then_some(DropReason::KnownPhrase)
}

fn enough_speech(seg: &SttSegment, speech: &[Span], cfg: &HallucinationConfig) -> bool {
    // Word times are tighter than segment times, which Whisper stretches over pauses.
    let span = match (seg.words.first(), seg.words.last()) {
        (Some(a), Some(b)) => Span {
            start: a.span.start,
            end: b.span.end,
        },
        _ => seg.span,
    };
    let overlap: f64 = speech.iter().map(|s| s.overlap(&span)).sum();
    let dur = span.duration().max(0.05);
    overlap >= cfg.min_speech_fraction * dur || overlap >= cfg.min_speech_seconds
}

/// Lowercase, full-width ASCII folded to half-width, only letters and digits kept, so
/// "Thanks for watching!" and "ｔｈａｎｋｓ ｆｏｒ ｗａｔｃｈｉｎｇ。" compare equal.
pub fn normalise(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Known phrases removed from the text leave (almost) nothing.
fn is_known(norm: &str, phrases: &[String]) -> bool {
    let mut rest = norm.to_owned();
    let mut sorted: Vec<&String> = phrases.iter().filter(|p| !p.is_empty()).collect();
    sorted.sort_by_key(|p| std::cmp::Reverse(p.chars().count()));
    for p in sorted {
        // Short phrases ("you") only count as the whole text, never as a substring.
        if p.chars().count() < 6 {
            if rest == **p {
                rest.clear();
            }
        } else {
            rest = rest.replace(p.as_str(), "");
        }
    }
    rest.chars().count() * 5 <= norm.chars().count()
}

/// A unit repeated back to back covering most of the text: "ありがとうございます" ×5,
/// "the the the the the the the the". Words for spaced scripts, characters otherwise; a
/// real "うんうんうん" is short and stays.
fn loops(norm: &str, raw: &str) -> bool {
    let words: Vec<String> = raw
        .split_whitespace()
        .map(normalise)
        .filter(|w| !w.is_empty())
        .collect();
    let chars: Vec<String> = norm.chars().map(String::from).collect();
    let (units, min_len) = if words.len() >= 4 {
        (words, 8)
    } else {
        (chars, 16)
    };
    longest_run(&units) >= min_len && longest_run(&units) * 10 >= units.len() * 6
}

/// Length covered by the longest back-to-back repetition (≥ 3 copies) of any unit.
fn longest_run(t: &[String]) -> usize {
    let n = t.len();
    let mut best = 0;
    for len in 1..=n / 3 {
        for start in 0..len.min(n) {
            let mut i = start;
            let mut copies = 1;
            while i + 2 * len <= n {
                if t[i..i + len] == t[i + len..i + 2 * len] {
                    copies += 1;
                } else {
                    if copies >= 3 {
                        best = best.max(copies * len);
                    }
                    copies = 1;
                }
                i += len;
            }
            if copies >= 3 {
                best = best.max(copies * len);
            }
        }
    }
    best
}

/// The same sentence again right after itself, without the time it takes to say it again:
/// Whisper's decoding loop writes the copy over a moment too short for it, or over the
/// original. A sentence said twice (people do repeat themselves, and a VAD-checked
/// segment of normal length is speech) is kept; measured on the simulated dev
/// conversations, where speakers repeat whole sentences, dropping every exact repeat
/// raised CER from 0.127 to 0.359 (ja_dev_2min_stereo) and from 0.185 to 0.254 (ja_dev_3min).
fn repeats_prev(norm: &str, seg: &SttSegment, prev: Option<&SttSegment>) -> bool {
    norm.chars().count() >= 8
        && prev.is_some_and(|p| normalise(&p.text) == norm && !said_again(seg, p))
}

/// The copy starts after the original ends and lasts at least half as long.
fn said_again(seg: &SttSegment, prev: &SttSegment) -> bool {
    const JITTER_S: f64 = 0.05;
    seg.span.start >= prev.span.end - JITTER_S && seg.span.duration() >= 0.5 * prev.span.duration()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(start: f64, end: f64, text: &str) -> SttSegment {
        SttSegment {
            span: Span { start, end },
            text: text.to_owned(),
            avg_logprob: None,
            no_speech_prob: None,
            compression_ratio: None,
            provider_speaker: None,
            words: vec![],
        }
    }

    #[test]
    fn each_reason_is_counted() {
        let speech = [Span {
            start: 0.0,
            end: 30.0,
        }];
        let mut quiet = seg(6.0, 8.0, "えーと");
        quiet.no_speech_prob = Some(0.9);
        quiet.avg_logprob = Some(-1.5);
        let segs = vec![
            seg(0.0, 5.0, "今日はよろしくお願いします。"),
            quiet,
            seg(
                9.0,
                12.0,
                "ありがとうございます。ありがとうございます。ありがとうございます。",
            ),
            seg(12.0, 14.0, "ご視聴ありがとうございました！"),
            seg(14.0, 16.0, "Thanks for watching."),
            seg(40.0, 42.0, "Hello there"),
            seg(16.0, 17.0, "うんうんうん"),
        ];
        let (kept, counts) = filter_hallucinations(segs, &speech, &HallucinationConfig::default());
        let texts: Vec<&str> = kept.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(texts, ["今日はよろしくお願いします。", "うんうんうん"]);
        let c = |r| counts.by_reason.get(&r).copied().unwrap_or(0);
        assert_eq!(
            (c(DropReason::NonSpeech), c(DropReason::NoSpeechProb)),
            (1, 1)
        );
        assert_eq!(
            (c(DropReason::Repetition), c(DropReason::KnownPhrase)),
            (1, 2)
        );
    }

    #[test]
    fn known_phrases_need_to_be_most_of_the_text() {
        let cfg = HallucinationConfig::default();
        assert!(is_known(
            &normalise("ｔｈａｎｋｓ ｆｏｒ ｗａｔｃｈｉｎｇ。"),
            &cfg.known_phrases
        ));
        assert!(is_known(&normalise("You"), &cfg.known_phrases));
        assert!(!is_known(&normalise("Did you see it?"), &cfg.known_phrases));
        assert!(!is_known(
            &normalise("チャンネル登録の方法について今日は話します"),
            &cfg.known_phrases
        ));
    }

    #[test]
    fn a_sentence_said_again_stays_and_a_squeezed_copy_goes() {
        let speech = [Span {
            start: 0.0,
            end: 20.0,
        }];
        let text = "王もこのやり方は喜んでいません。";
        let segs = vec![
            seg(0.0, 3.0, text),
            seg(3.5, 6.4, text),
            seg(6.4, 6.9, text),
            seg(5.0, 8.0, text),
        ];
        let (kept, counts) = filter_hallucinations(segs, &speech, &HallucinationConfig::default());
        let starts: Vec<f64> = kept.iter().map(|s| s.span.start).collect();
        assert_eq!(starts, [0.0, 3.5]);
        assert_eq!(counts.by_reason.get(&DropReason::Repetition), Some(&2));
    }

    #[test]
    fn english_word_loops_are_caught() {
        assert!(loops(
            &normalise("the the the the the the the the the"),
            "the the the the the the the the the"
        ));
        assert!(!loops(
            &normalise("no no no, I meant the other one"),
            "no no no, I meant the other one"
        ));
    }
}
