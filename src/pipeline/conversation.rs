//! The conversation as measured: speaking-time metrics, the transcript's lexical counts and
//! overlap classification joined into the shape the assessment and the report read
//! ([`MeasuredMetrics`]). Deterministic: the LLM never sees a number it could change here.
//!
//! Overlap rule: with words, an overlap whose incoming words are a backchannel (はい, うん,
//! "yeah", …) is a backchannel, anything else an interruption. Without a transcript, the
//! structure decides: if the overlapped speaker yields the floor within 0.3 s of the overlap's
//! end it was an interruption; if they talk on and the incoming burst is short (≤ 1.5 s) it
//! was a backchannel.

use std::collections::BTreeMap;

use crate::domain::{Language, SpeakerTurn, TranscriptSegment, Word, speaker_label};
use crate::pipeline::assess::inputs::{
    MeasuredMetrics, Overlap, OverlapKind, QuestionCounts, Silence, SpeakerMetrics,
};
use crate::pipeline::diarize::Diarization;
use crate::pipeline::lexical::{LexicalMetrics, is_backchannel_overlap};
use crate::pipeline::measure::{OverlapEvent, SpeakingMetrics, merge_turns};

const YIELD_MARGIN_S: f64 = 0.3;
const MAX_BACKCHANNEL_S: f64 = 1.5;

/// The transcript side, when there is one.
pub struct Lexical<'a> {
    pub segments: &'a [TranscriptSegment],
    pub metrics: &'a LexicalMetrics,
    pub language: Language,
}

/// Joins the measurements. `Err` carries why they are withheld (low diarization confidence):
/// then nothing downstream may present per-speaker numbers.
///
/// # Errors
/// The reason the speaking metrics were withheld.
pub fn measured_metrics(
    diarization: &Diarization,
    speaking: &SpeakingMetrics,
    lexical: Option<&Lexical>,
    duration_s: f64,
) -> Result<MeasuredMetrics, String> {
    let withheld = |reason: &Option<String>| reason.clone().unwrap_or_default();
    let stats = speaking
        .speakers
        .value
        .as_ref()
        .ok_or_else(|| withheld(&speaking.speakers.withheld))?;
    let gini = speaking
        .gini_coefficient
        .value
        .ok_or_else(|| withheld(&speaking.gini_coefficient.withheld))?;
    let switches = speaking
        .switches_per_minute
        .value
        .ok_or_else(|| withheld(&speaking.switches_per_minute.withheld))?;
    let turns = merge_turns(&diarization.turns);
    let latencies = response_latencies(&turns);
    let speakers = stats
        .iter()
        .map(|s| SpeakerMetrics {
            speaker: s.speaker,
            talk_time_s: s.talk_time_s,
            talk_ratio: s.talk_ratio,
            turns: s.turns as u32,
            mean_turn_s: s.mean_turn_s,
            longest_monologue_s: s.longest_monologue_s,
            mean_response_latency_s: latencies.get(&s.speaker).map(|gaps| mean(gaps)),
            questions: lexical.map(|l| questions(l.metrics, s.speaker)),
            speech_rate: lexical.and_then(|l| speech_rate(l.metrics, s.speaker)),
        })
        .collect();
    let overlaps = speaking.overlaps.value.as_deref().unwrap_or_default();
    let silences = speaking.silences.value.as_deref().unwrap_or_default();
    Ok(MeasuredMetrics {
        duration_s,
        gini_coefficient: gini,
        interactivity_per_min: switches,
        speakers,
        overlaps: overlaps
            .iter()
            .map(|o| classify(o, &turns, lexical))
            .collect(),
        silences: silences
            .iter()
            .map(|s| Silence {
                start: s.start,
                end: s.start + s.duration,
            })
            .collect(),
    })
}

/// Gaps before each speaker's turns when the floor changes hands without overlap.
fn response_latencies(turns: &[SpeakerTurn]) -> BTreeMap<usize, Vec<f64>> {
    let mut out: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
    for pair in turns.windows(2) {
        let (before, after) = (&pair[0], &pair[1]);
        let gap = after.span.start - before.span.end;
        if before.speaker != after.speaker && gap >= 0.0 {
            out.entry(after.speaker).or_default().push(gap);
        }
    }
    out
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

fn questions(metrics: &LexicalMetrics, speaker: usize) -> QuestionCounts {
    // A speaker with no transcript lines asked nothing that was heard.
    metrics.speakers.get(&speaker_label(speaker)).map_or(
        QuestionCounts { open: 0, closed: 0 },
        |s| QuestionCounts {
            open: s.questions_open as u32,
            closed: s.questions_closed as u32,
        },
    )
}

fn speech_rate(metrics: &LexicalMetrics, speaker: usize) -> Option<f64> {
    metrics
        .speakers
        .get(&speaker_label(speaker))
        .map(|s| s.speech_rate)
        .filter(|rate| *rate > 0.0)
}

fn classify(event: &OverlapEvent, turns: &[SpeakerTurn], lexical: Option<&Lexical>) -> Overlap {
    let end = event.start + event.duration;
    let words = lexical.map(|l| incoming_words(l.segments, event.started_by, event.start, end));
    let kind = match (&words, lexical) {
        (Some(words), Some(l)) if !words.is_empty() => {
            if is_backchannel_overlap(words, l.language) {
                OverlapKind::Backchannel
            } else {
                OverlapKind::Interruption
            }
        }
        _ => structural_kind(event, turns),
    };
    let text = words.filter(|w| !w.is_empty()).map(|w| {
        w.iter()
            .map(|word| word.text.trim())
            .collect::<Vec<_>>()
            .join(" ")
    });
    Overlap {
        start: event.start,
        end,
        speaker: event.started_by,
        kind,
        text,
    }
}

fn structural_kind(event: &OverlapEvent, turns: &[SpeakerTurn]) -> OverlapKind {
    let end = event.start + event.duration;
    let overlapped_talks_on = turns.iter().any(|t| {
        t.speaker == event.overlapped
            && t.span.start <= event.start
            && t.span.end > end + YIELD_MARGIN_S
    });
    if overlapped_talks_on && event.duration <= MAX_BACKCHANNEL_S {
        OverlapKind::Backchannel
    } else {
        OverlapKind::Interruption
    }
}

/// The incoming speaker's words that fall in the overlap (with a little slack for word times).
fn incoming_words(
    segments: &[TranscriptSegment],
    speaker: usize,
    start: f64,
    end: f64,
) -> Vec<Word> {
    segments
        .iter()
        .filter(|s| s.speaker == Some(speaker))
        .flat_map(|s| s.words.iter())
        .filter(|w| w.span.end > start - 0.2 && w.span.start < end + 0.2)
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Span;
    use crate::pipeline::diarize::Mode;
    use crate::pipeline::measure::measure;

    fn turn(speaker: usize, start: f64, end: f64) -> SpeakerTurn {
        SpeakerTurn {
            speaker,
            span: Span { start, end },
        }
    }

    fn diarization(turns: Vec<SpeakerTurn>, confidence: f32) -> Diarization {
        Diarization {
            turns,
            overlaps: Vec::new(),
            num_speakers: 2,
            confidence,
            count: None,
            mode: Mode::Mono,
        }
    }

    #[test]
    fn latency_is_the_gap_before_a_speakers_turn_at_a_floor_change() {
        let turns = [
            turn(0, 0.0, 5.0),
            turn(1, 5.5, 9.0),
            turn(0, 11.0, 12.0),
            turn(1, 11.5, 14.0),
        ];
        let gaps = response_latencies(&turns);
        assert_eq!(
            gaps[&1],
            vec![0.5],
            "the overlapping start at 11.5 is no latency"
        );
        assert_eq!(gaps[&0], vec![2.0]);
    }

    #[test]
    fn a_short_burst_under_a_continuing_speaker_is_a_backchannel_and_taking_the_floor_is_not() {
        let turns = vec![turn(0, 0.0, 10.0), turn(1, 4.0, 4.6), turn(1, 9.5, 15.0)];
        let backchannel = OverlapEvent {
            start: 4.0,
            duration: 0.6,
            started_by: 1,
            overlapped: 0,
        };
        assert_eq!(
            structural_kind(&backchannel, &turns),
            OverlapKind::Backchannel
        );
        let takeover = OverlapEvent {
            start: 9.5,
            duration: 0.5,
            started_by: 1,
            overlapped: 0,
        };
        assert_eq!(
            structural_kind(&takeover, &turns),
            OverlapKind::Interruption
        );
    }

    #[test]
    fn words_decide_when_there_is_a_transcript() {
        let turns = vec![turn(0, 0.0, 10.0), turn(1, 4.0, 4.6)];
        let word = |text: &str| Word {
            span: Span {
                start: 4.1,
                end: 4.4,
            },
            text: text.into(),
            probability: None,
        };
        let segment = |text: &str| TranscriptSegment {
            span: Span {
                start: 4.0,
                end: 4.6,
            },
            speaker: Some(1),
            text: text.into(),
            words: vec![word(text)],
            confidence: None,
        };
        let event = OverlapEvent {
            start: 4.0,
            duration: 0.6,
            started_by: 1,
            overlapped: 0,
        };
        let metrics = LexicalMetrics {
            language: "ja".into(),
            speakers: BTreeMap::new(),
        };
        for (text, kind) in [
            ("うん", OverlapKind::Backchannel),
            ("違います", OverlapKind::Interruption),
        ] {
            let segments = [segment(text)];
            let lexical = Lexical {
                segments: &segments,
                metrics: &metrics,
                language: Language::Ja,
            };
            let overlap = classify(&event, &turns, Some(&lexical));
            assert_eq!((overlap.kind, overlap.text.as_deref()), (kind, Some(text)));
        }
    }

    #[test]
    fn low_confidence_withholds_instead_of_guessing() {
        let d = diarization(vec![turn(0, 0.0, 5.0), turn(1, 6.0, 9.0)], 0.1);
        let speaking = measure(&d, 10.0);
        assert!(
            measured_metrics(&d, &speaking, None, 10.0)
                .unwrap_err()
                .contains("confidence")
        );
    }

    #[test]
    fn without_a_transcript_questions_are_unknown_not_zero() {
        let d = diarization(
            vec![turn(0, 0.0, 5.0), turn(1, 6.0, 9.0), turn(0, 9.5, 12.0)],
            0.9,
        );
        let speaking = measure(&d, 12.0);
        let measured = measured_metrics(&d, &speaking, None, 12.0).unwrap();
        assert!(measured.speakers.iter().all(|s| s.questions.is_none()));
        assert_eq!(
            measured.speaker(1).unwrap().mean_response_latency_s,
            Some(1.0)
        );
    }
}
