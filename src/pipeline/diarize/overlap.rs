//! Overlapped speech the timeline lacks. Segmentation-3.0 rarely names two local speakers
//! at once on far-field audio (AMI dev00: no frame), yet its probability for the pair
//! classes still rises where a second voice comes in. Where that probability marks an
//! overlap and the timeline has one speaker, the speaker heard nearest in time among the
//! others is added: in a two-person session, simply the other person. Talk time then counts
//! both voices, as annotators do.

use crate::domain::timeline::{by_speaker, intersect, normalize, subtract};
use crate::domain::{Span, SpeakerTurn};

/// `turns` plus a turn for the second speaker of every part of `detected` in which the
/// timeline has exactly one speaker. Sorted by start.
pub fn attribute(turns: &[SpeakerTurn], detected: &[Span]) -> Vec<SpeakerTurn> {
    let sets = by_speaker(turns);
    let detected = normalize(detected.iter().copied());
    let mut out = turns.to_vec();
    for (c, own) in sets.iter().enumerate() {
        let others = normalize(
            sets.iter()
                .enumerate()
                .filter(|(o, _)| *o != c)
                .flat_map(|(_, s)| s.iter().copied()),
        );
        let alone = subtract(&intersect(own, &detected), &others);
        for span in alone {
            if let Some(second) = nearest_other(&sets, c, span) {
                out.push(SpeakerTurn {
                    speaker: second,
                    span,
                });
            }
        }
    }
    out.sort_by(|a, b| a.span.start.total_cmp(&b.span.start));
    out
}

/// The speaker other than `c` whose speech comes closest to `span`.
fn nearest_other(sets: &[Vec<Span>], c: usize, span: Span) -> Option<usize> {
    let gap = |s: &Span| (s.start - span.end).max(span.start - s.end).max(0.0);
    sets.iter()
        .enumerate()
        .filter(|(o, _)| *o != c)
        .filter_map(|(o, s)| s.iter().map(gap).min_by(f64::total_cmp).map(|d| (o, d)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(o, _)| o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(start: f64, end: f64) -> Span {
        Span { start, end }
    }

    fn turn(speaker: usize, start: f64, end: f64) -> SpeakerTurn {
        SpeakerTurn {
            speaker,
            span: span(start, end),
        }
    }

    fn spans_of(turns: &[SpeakerTurn], c: usize) -> Vec<(f64, f64)> {
        by_speaker(turns)[c]
            .iter()
            .map(|s| (s.start, s.end))
            .collect()
    }

    #[test]
    fn a_detected_overlap_inside_one_speakers_turn_adds_the_other() {
        let turns = [turn(0, 0.0, 5.0), turn(1, 6.0, 8.0)];
        let got = attribute(&turns, &[span(2.0, 3.0)]);
        assert_eq!(spans_of(&got, 0), [(0.0, 5.0)]);
        assert_eq!(spans_of(&got, 1), [(2.0, 3.0), (6.0, 8.0)]);
    }

    #[test]
    fn silence_and_existing_overlap_are_left_alone() {
        let turns = [turn(0, 0.0, 4.0), turn(1, 3.0, 6.0)];
        // 3–4 is already both; 6–7 is silence.
        let detected = [span(3.0, 4.0), span(6.0, 7.0)];
        let got = attribute(&turns, &detected);
        assert_eq!(spans_of(&got, 0), [(0.0, 4.0)]);
        assert_eq!(spans_of(&got, 1), [(3.0, 6.0)]);
    }

    #[test]
    fn with_three_speakers_the_nearest_other_voice_is_added() {
        let turns = [turn(0, 0.0, 10.0), turn(1, 11.0, 12.0), turn(2, 20.0, 21.0)];
        let got = attribute(&turns, &[span(8.0, 9.0)]);
        assert_eq!(spans_of(&got, 1), [(8.0, 9.0), (11.0, 12.0)]);
        assert_eq!(spans_of(&got, 2), [(20.0, 21.0)]);
        let alone = [turn(0, 0.0, 10.0)];
        assert_eq!(attribute(&alone, &[span(1.0, 2.0)]).len(), 1);
    }
}
