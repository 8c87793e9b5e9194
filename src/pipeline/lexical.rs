//! Lexical conversation metrics from the aligned transcript, Japanese and English:
//! questions (open / closed), backchannels (aizuchi), fillers per minute and speech rate
//! per speaker. Rules, not models: cheap, deterministic and explainable to a coach.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::{Language, TranscriptSegment, Word};

mod lexicon;
use lexicon::*;

/// Open questions invite an answer in the other person's words; closed ones a yes/no.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    Open,
    Closed,
}

/// Per-speaker lexical measurements.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SpeakerLexical {
    pub questions_open: usize,
    pub questions_closed: usize,
    pub backchannels: usize,
    pub fillers: usize,
    pub fillers_per_minute: f64,
    /// Characters per minute (Japanese) or words per minute (English).
    pub speech_rate: f64,
    pub speech_rate_unit: String,
    pub speaking_seconds: f64,
}

/// Lexical metrics of a session, keyed `speaker_N` (or `unknown`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LexicalMetrics {
    pub language: String,
    pub speakers: BTreeMap<String, SpeakerLexical>,
}

/// Computes the metrics; `language` Auto is resolved from the text itself.
pub fn lexical_metrics(segments: &[TranscriptSegment], language: Language) -> LexicalMetrics {
    let lang = resolve(language, segments);
    let mut speakers: BTreeMap<String, SpeakerLexical> = BTreeMap::new();
    for seg in segments {
        let key = seg
            .speaker
            .map_or_else(|| "unknown".to_owned(), crate::domain::speaker_label);
        let m = speakers.entry(key).or_default();
        m.speaking_seconds += seg.span.duration();
        m.fillers += count_fillers(&seg.text, lang);
        m.speech_rate += units(&seg.text, lang) as f64;
        for utt in utterances(&seg.text) {
            if is_backchannel(utt, lang) {
                m.backchannels += 1;
            } else {
                match classify_question(utt, lang) {
                    Some(QuestionKind::Open) => m.questions_open += 1,
                    Some(QuestionKind::Closed) => m.questions_closed += 1,
                    None => {}
                }
            }
        }
    }
    for m in speakers.values_mut() {
        let minutes = m.speaking_seconds / 60.0;
        let per_min = |x: f64| if minutes > 0.0 { x / minutes } else { 0.0 };
        m.speech_rate = per_min(m.speech_rate);
        m.fillers_per_minute = per_min(m.fillers as f64);
        m.speech_rate_unit = if lang == Language::Ja {
            "chars_per_minute"
        } else {
            "words_per_minute"
        }
        .to_owned();
    }
    LexicalMetrics {
        language: if lang == Language::Ja { "ja" } else { "en" }.to_owned(),
        speakers,
    }
}

fn resolve(language: Language, segments: &[TranscriptSegment]) -> Language {
    if language != Language::Auto {
        return language;
    }
    let (mut kana, mut latin) = (0usize, 0usize);
    for c in segments.iter().flat_map(|s| s.text.chars()) {
        if is_japanese(c) {
            kana += 1;
        } else if c.is_ascii_alphabetic() {
            latin += 1;
        }
    }
    if kana * 2 >= latin && kana > 0 {
        Language::Ja
    } else {
        Language::En
    }
}

fn is_japanese(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30FF | 0x4E00..=0x9FFF | 0x3400..=0x4DBF)
}

/// Sentences, split after sentence-final punctuation of either script.
pub fn utterances(text: &str) -> Vec<&str> {
    text.split_inclusive(['。', '？', '！', '?', '!', '.'])
        .map(str::trim)
        .filter(|s| s.chars().any(char::is_alphanumeric))
        .collect()
}

const JA_QUESTION_ENDINGS: &[&str] = &[
    "でしょうか",
    "ですか",
    "ますか",
    "ませんか",
    "ましたか",
    "でしたか",
    "のか",
    "んですか",
    "かな",
    "かね",
    "だろうか",
    "か",
    "の",
];
const EN_AUX: &[&str] = &[
    "do",
    "does",
    "did",
    "is",
    "are",
    "was",
    "were",
    "am",
    "can",
    "could",
    "will",
    "would",
    "should",
    "shall",
    "have",
    "has",
    "had",
    "may",
    "might",
    "must",
    "don't",
    "doesn't",
    "didn't",
    "isn't",
    "aren't",
    "wasn't",
    "won't",
    "wouldn't",
    "can't",
    "couldn't",
    "shouldn't",
    "haven't",
    "hasn't",
];

/// Whether one sentence is a question, and which kind.
pub fn classify_question(utt: &str, lang: Language) -> Option<QuestionKind> {
    match lang {
        Language::Ja => ja_question(utt),
        _ => en_question(utt),
    }
}

fn ja_question(utt: &str) -> Option<QuestionKind> {
    let marked = utt.ends_with('？') || utt.ends_with('?');
    let core = utt.trim_end_matches(['。', '？', '?', '！', '!', '、', ' ', 'ね', 'ー']);
    let has_wh = JA_QUESTION_WORDS.iter().any(|w| core.contains(w));
    // A bare "〜の" is a question only with a question word or a question mark ("どうしたの").
    let ending = JA_QUESTION_ENDINGS
        .iter()
        .any(|e| core.ends_with(e) && (*e != "の" || has_wh || marked));
    if !(marked || ending) || is_ja_ack(core) {
        return None;
    }
    Some(if has_wh {
        QuestionKind::Open
    } else {
        QuestionKind::Closed
    })
}

/// "そうですか" and friends end in か but acknowledge rather than ask.
fn is_ja_ack(core: &str) -> bool {
    [
        "そうですか",
        "そうか",
        "なるほどですか",
        "そうなんですか",
        "そうでしたか",
    ]
    .contains(&core)
}

fn en_question(utt: &str) -> Option<QuestionKind> {
    let words = en_words(utt);
    let first = words.first().map(String::as_str)?;
    let wh = words.iter().take(3).any(|w| EN_WH.contains(&w.as_str()));
    // "Do it now" / "Do that" are commands; "Does it…", "Is that…" ask.
    let object_after_do =
        |w: &str| first == "do" && ["it", "this", "that", "these", "those"].contains(&w);
    let inverted = EN_AUX.contains(&first)
        && words
            .get(1)
            .is_some_and(|w| EN_SUBJECTS.contains(&w.as_str()) && !object_after_do(w));
    let asks = utt.trim_end().ends_with('?') || EN_WH.contains(&first) || inverted;
    if !asks {
        return None;
    }
    Some(if wh {
        QuestionKind::Open
    } else {
        QuestionKind::Closed
    })
}

fn en_words(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || (c.is_ascii_punctuation() && c != '\'' && c != '-'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

const EN_BACKCHANNELS: &[&str] = &[
    "yeah",
    "yes",
    "yep",
    "yup",
    "right",
    "mm-hm",
    "mhm",
    "mm",
    "mmm",
    "hmm",
    "uh-huh",
    "okay",
    "ok",
    "sure",
    "i see",
    "exactly",
    "got it",
    "wow",
    "oh",
    "really",
    "true",
    "totally",
    "absolutely",
    "cool",
    "nice",
    "that's right",
    "of course",
    "uh",
    "huh",
];

/// Whether the text consists only of backchannel tokens ("はい、そうですね", "yeah, right").
pub fn is_backchannel(text: &str, lang: Language) -> bool {
    match lang {
        Language::Ja => ja_backchannel(text),
        _ => en_backchannel(text),
    }
}

fn ja_backchannel(text: &str) -> bool {
    let mut rest: String = text
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == 'ー')
        .collect();
    if rest.is_empty() {
        return false;
    }
    'outer: while !rest.is_empty() {
        // Lengthening marks ("へえー", "うーん") carry no word of their own.
        if let Some(r) = rest.strip_prefix('ー') {
            rest = r.to_owned();
            continue;
        }
        for b in JA_BACKCHANNELS {
            if let Some(r) = rest.strip_prefix(b) {
                rest = r.to_owned();
                continue 'outer;
            }
        }
        return false;
    }
    true
}

fn en_backchannel(text: &str) -> bool {
    let words = en_words(text);
    let mut i = 0;
    while i < words.len() {
        let two = words.get(i + 1).map(|n| format!("{} {n}", words[i]));
        if two.as_deref().is_some_and(|t| EN_BACKCHANNELS.contains(&t)) {
            i += 2;
        } else if EN_BACKCHANNELS.contains(&words[i].as_str()) {
            i += 1;
        } else {
            return false;
        }
    }
    !words.is_empty()
}

/// Whether the words spoken during an overlap are a backchannel (so the overlap is support,
/// not an interruption): short, and nothing but backchannel tokens.
pub fn is_backchannel_overlap(words: &[Word], lang: Language) -> bool {
    const MAX_S: f64 = 3.0;
    let (Some(first), Some(last)) = (words.first(), words.last()) else {
        return false;
    };
    let text = crate::pipeline::align::join_words(words);
    last.span.end - first.span.start <= MAX_S && is_backchannel(&text, lang)
}

const EN_FILLERS: &[&str] = &["um", "umm", "uh", "uhh", "er", "erm", "ah"];

/// Fillers in `text`. Japanese "あの" counts only when it stands alone ("あの、"), not
/// as the demonstrative "あの人"; English "like" only when set off by commas.
pub fn count_fillers(text: &str, lang: Language) -> usize {
    match lang {
        Language::Ja => ja_fillers(text),
        _ => en_fillers(text),
    }
}

fn ja_fillers(text: &str) -> usize {
    let chars: Vec<char> = text.chars().collect();
    let mut n = 0;
    let mut i = 0;
    while i < chars.len() {
        let at_start = i == 0 || !chars[i - 1].is_alphanumeric();
        let hit = JA_FILLERS.iter().find(|f| {
            let f: Vec<char> = f.chars().collect();
            chars[i..].starts_with(&f)
                && chars
                    .get(i + f.len())
                    .is_none_or(|c| !c.is_alphanumeric() || *c == 'ー')
        });
        match hit {
            Some(f) if at_start => {
                n += 1;
                i += f.chars().count();
            }
            _ => i += 1,
        }
    }
    n
}

fn en_fillers(text: &str) -> usize {
    let lower = text.to_lowercase();
    let base = en_words(&lower)
        .iter()
        .filter(|w| EN_FILLERS.contains(&w.as_str()))
        .count();
    let tokens: Vec<&str> = lower.split_whitespace().collect();
    let like = (0..tokens.len())
        .filter(|&i| {
            let t = tokens[i].trim_end_matches([',', '.']);
            t == "like" && (tokens[i].ends_with(',') || i > 0 && tokens[i - 1].ends_with(','))
        })
        .count();
    let phrases = lower.matches("you know,").count() + lower.matches("i mean,").count();
    base + like + phrases
}

/// Speech-rate units: characters of running text for Japanese, words for English.
fn units(text: &str, lang: Language) -> usize {
    match lang {
        Language::Ja => text.chars().filter(|c| c.is_alphanumeric()).count(),
        _ => en_words(text).len(),
    }
}
