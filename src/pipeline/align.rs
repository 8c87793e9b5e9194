//! Gives every word a speaker from the diarization and splits segments where it changes.
//!
//! A word (or a segment, when the provider gave no word times) belongs to the speaker whose
//! turns cover most of it. `diarized_json` labels ("A", "B") are mapped onto our speakers by
//! total time overlap and used only when a segment has no overlap with our turns.

use std::collections::HashMap;

use crate::clients::stt::SttSegment;
use crate::domain::{Span, SpeakerTurn, TranscriptSegment, Word};

/// A word this close to a turn but outside every turn still takes that turn's speaker:
/// word times and diarization boundaries both jitter by a few hundred milliseconds.
const NEAR_S: f64 = 0.5;

/// Aligned transcript segments in time order.
pub fn align(segments: &[SttSegment], turns: &[SpeakerTurn]) -> Vec<TranscriptSegment> {
    let labels = map_provider_labels(segments, turns);
    let mut out: Vec<TranscriptSegment> = segments
        .iter()
        .flat_map(|seg| {
            let fallback = seg
                .provider_speaker
                .as_ref()
                .and_then(|l| labels.get(l).copied());
            if seg.words.is_empty() {
                vec![whole_segment(seg, speaker_of(seg.span, turns).or(fallback))]
            } else {
                split_by_speaker(seg, turns, fallback)
            }
        })
        .collect();
    out.sort_by(|a, b| a.span.start.total_cmp(&b.span.start));
    out
}

/// The speaker covering most of `span`, or the nearest turn's within [`NEAR_S`].
pub fn speaker_of(span: Span, turns: &[SpeakerTurn]) -> Option<usize> {
    let mut cover: HashMap<usize, f64> = HashMap::new();
    for t in turns {
        let o = t.span.overlap(&span);
        if o > 0.0 {
            *cover.entry(t.speaker).or_default() += o;
        }
    }
    if let Some((s, _)) = cover
        .into_iter()
        .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
    {
        return Some(s);
    }
    let gap = |t: &SpeakerTurn| {
        (t.span.start - span.end)
            .max(span.start - t.span.end)
            .max(0.0)
    };
    turns
        .iter()
        .filter(|t| gap(t) <= NEAR_S)
        .min_by(|a, b| gap(a).total_cmp(&gap(b)))
        .map(|t| t.speaker)
}

/// Provider label → our speaker with the largest total overlap, greedily one to one.
pub fn map_provider_labels(
    segments: &[SttSegment],
    turns: &[SpeakerTurn],
) -> HashMap<String, usize> {
    let mut overlap: HashMap<(String, usize), f64> = HashMap::new();
    for seg in segments {
        let Some(label) = &seg.provider_speaker else {
            continue;
        };
        for t in turns {
            *overlap.entry((label.clone(), t.speaker)).or_default() += t.span.overlap(&seg.span);
        }
    }
    let mut pairs: Vec<((String, usize), f64)> =
        overlap.into_iter().filter(|(_, o)| *o > 0.0).collect();
    pairs.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut map = HashMap::new();
    let mut used = std::collections::HashSet::new();
    for ((label, spk), _) in pairs {
        if !map.contains_key(&label) && used.insert(spk) {
            map.insert(label, spk);
        }
    }
    map
}

fn whole_segment(seg: &SttSegment, speaker: Option<usize>) -> TranscriptSegment {
    TranscriptSegment {
        span: seg.span,
        speaker,
        text: seg.text.clone(),
        words: Vec::new(),
        confidence: seg.avg_logprob.map(|l| l.exp().clamp(0.0, 1.0)),
    }
}

fn split_by_speaker(
    seg: &SttSegment,
    turns: &[SpeakerTurn],
    fallback: Option<usize>,
) -> Vec<TranscriptSegment> {
    let mut runs: Vec<(Option<usize>, Vec<Word>)> = Vec::new();
    for w in &seg.words {
        let spk = speaker_of(w.span, turns).or(fallback);
        // A word no turn explains stays with the speaker before it.
        let spk = spk.or_else(|| runs.last().and_then(|r| r.0));
        match runs.last_mut() {
            Some((s, ws)) if *s == spk => ws.push(w.clone()),
            _ => runs.push((spk, vec![w.clone()])),
        }
    }
    let whole = runs.len() == 1;
    runs.into_iter()
        .map(|(speaker, words)| {
            // An unsplit segment keeps the provider's text (its punctuation and spacing).
            let text = if whole {
                seg.text.clone()
            } else {
                join_words(&words)
            };
            let span = Span {
                start: words[0].span.start,
                end: words[words.len() - 1].span.end,
            };
            let confidence = mean_probability(&words)
                .or_else(|| seg.avg_logprob.map(|l| l.exp().clamp(0.0, 1.0)));
            TranscriptSegment {
                span,
                speaker,
                text,
                words,
                confidence,
            }
        })
        .collect()
}

fn mean_probability(words: &[Word]) -> Option<f32> {
    let ps: Vec<f32> = words.iter().filter_map(|w| w.probability).collect();
    (!ps.is_empty()).then(|| ps.iter().sum::<f32>() / ps.len() as f32)
}

/// Joins words with spaces except between two characters of scripts written without them.
pub fn join_words(words: &[Word]) -> String {
    let mut out = String::new();
    for w in words {
        let glue = match (out.chars().last(), w.text.chars().next()) {
            (Some(a), Some(b)) => !(is_cjk(a) || is_cjk(b)),
            _ => false,
        };
        if glue {
            out.push(' ');
        }
        out.push_str(&w.text);
    }
    out
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3000..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xFF00..=0xFFEF)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: f64, e: f64, t: &str) -> Word {
        Word {
            span: Span { start: s, end: e },
            text: t.into(),
            probability: Some(0.8),
        }
    }
    fn turn(speaker: usize, s: f64, e: f64) -> SpeakerTurn {
        SpeakerTurn {
            speaker,
            span: Span { start: s, end: e },
        }
    }
    fn seg(words: Vec<Word>, text: &str) -> SttSegment {
        let span = Span {
            start: words[0].span.start,
            end: words[words.len() - 1].span.end,
        };
        SttSegment {
            span,
            text: text.into(),
            avg_logprob: None,
            no_speech_prob: None,
            compression_ratio: None,
            provider_speaker: None,
            words,
        }
    }

    #[test]
    fn segment_splits_where_the_speaker_changes() {
        let turns = [turn(0, 0.0, 2.0), turn(1, 1.9, 4.0)];
        let s = seg(
            vec![
                w(0.1, 0.5, "How"),
                w(0.5, 1.0, "are"),
                w(1.0, 1.95, "you?"),
                w(2.1, 2.5, "Fine."),
                w(4.1, 4.3, "Thanks"),
            ],
            "How are you? Fine. Thanks",
        );
        let out = align(&[s], &turns);
        assert_eq!(out.len(), 2);
        assert_eq!(
            (out[0].speaker, out[0].text.as_str()),
            (Some(0), "How are you?")
        );
        assert_eq!(
            (out[1].speaker, out[1].text.as_str()),
            (Some(1), "Fine. Thanks")
        );
        assert_eq!(
            out[1].span,
            Span {
                start: 2.1,
                end: 4.3
            }
        );
    }

    #[test]
    fn japanese_words_join_without_spaces() {
        assert_eq!(
            join_words(&[w(0.0, 1.0, "仲"), w(1.0, 2.0, "間"), w(2.0, 3.0, "OK")]),
            "仲間OK"
        );
    }

    #[test]
    fn provider_labels_map_by_overlap() {
        let mut a = seg(vec![w(0.0, 3.0, "x")], "x");
        a.provider_speaker = Some("A".into());
        let mut b = seg(vec![w(3.0, 6.0, "y")], "y");
        b.provider_speaker = Some("B".into());
        let map = map_provider_labels(&[a, b], &[turn(1, 0.0, 3.0), turn(0, 3.0, 6.0)]);
        assert_eq!((map["A"], map["B"]), (1, 0));
    }

    #[test]
    fn segment_without_words_takes_the_majority_speaker() {
        let mut s = seg(vec![w(0.0, 10.0, "x")], "long text");
        s.words.clear();
        let out = align(&[s], &[turn(0, 0.0, 3.0), turn(1, 3.0, 10.0)]);
        assert_eq!((out.len(), out[0].speaker), (1, Some(1)));
    }
}
