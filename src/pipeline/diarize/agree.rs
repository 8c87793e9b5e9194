//! Agreement between two independent diarizations of the same audio (the neural one and the
//! classical cepstral one), used as the confidence of the neural path: where two systems that
//! share no model agree on who spoke, the answer is rarely wrong; where they disagree, one of
//! them is, and the metrics built on it should not be trusted.

use crate::domain::SpeakerTurn;
use crate::domain::assignment::hungarian_max;

/// Grid of the comparison (s).
const STEP: f64 = 0.05;

/// Share of the frames where exactly one speaker talks in either hypothesis on which both
/// name the same speaker, under the speaker mapping that maximises that share. 0 when there
/// is no speech at all; 1 for identical single-speaker timelines.
pub fn agreement(a: &[SpeakerTurn], b: &[SpeakerTurn]) -> f32 {
    let end = a.iter().chain(b).map(|t| t.span.end).fold(0.0, f64::max);
    let n = (end / STEP).ceil() as usize;
    let (la, ka) = single_labels(a, n);
    let (lb, kb) = single_labels(b, n);
    let mut gain = vec![vec![0.0f64; kb]; ka];
    let mut scored = 0usize;
    for (x, y) in la.iter().zip(&lb) {
        if x.is_some() || y.is_some() {
            scored += 1;
        }
        if let (Some(i), Some(j)) = (x, y) {
            gain[*i][*j] += 1.0;
        }
    }
    if scored == 0 {
        return 0.0;
    }
    let map = hungarian_max(&gain);
    // A fold from +0: `sum` of nothing is -0.0, which a report prints as "-0.00".
    let matched = map
        .iter()
        .enumerate()
        .filter_map(|(i, j)| j.map(|j| gain[i][j]))
        .fold(0.0, |acc, g| acc + g);
    (matched / scored as f64) as f32
}

/// Per frame, the speaker when exactly one is active; and the number of speakers.
fn single_labels(turns: &[SpeakerTurn], n: usize) -> (Vec<Option<usize>>, usize) {
    let k = SpeakerTurn::speaker_count(turns);
    let mut count = vec![0u8; n];
    let mut label = vec![None; n];
    for t in turns {
        let a = ((t.span.start / STEP).round().max(0.0) as usize).min(n);
        let b = ((t.span.end / STEP).round().max(0.0) as usize).min(n);
        for i in a..b {
            count[i] = count[i].saturating_add(1);
            label[i] = Some(t.speaker);
        }
    }
    for (l, c) in label.iter_mut().zip(&count) {
        if *c != 1 {
            *l = None;
        }
    }
    (label, k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Span;

    fn t(speaker: usize, start: f64, end: f64) -> SpeakerTurn {
        SpeakerTurn {
            speaker,
            span: Span { start, end },
        }
    }

    #[test]
    fn relabelled_copy_agrees_fully() {
        let a = vec![t(0, 0.0, 2.0), t(1, 2.0, 4.0)];
        let b = vec![t(1, 0.0, 2.0), t(0, 2.0, 4.0)];
        assert!((agreement(&a, &b) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn one_speaker_against_two_agrees_on_the_larger_half() {
        // 3 s of speaker 0 and 1 s of speaker 1, against one speaker throughout.
        let a = vec![t(0, 0.0, 3.0), t(1, 3.0, 4.0)];
        let b = vec![t(0, 0.0, 4.0)];
        assert!((agreement(&a, &b) - 0.75).abs() < 1e-3);
    }

    #[test]
    fn speech_only_one_side_counts_against() {
        // Hypothesis b misses the second half: half the scored frames disagree.
        let a = vec![t(0, 0.0, 2.0)];
        let b = vec![t(0, 0.0, 1.0)];
        assert!((agreement(&a, &b) - 0.5).abs() < 1e-3);
        assert_eq!(agreement(&[], &[]), 0.0);
        let nothing_heard = agreement(&a, &[]);
        assert!(nothing_heard == 0.0 && nothing_heard.is_sign_positive());
    }
}
