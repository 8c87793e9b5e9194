//! The windows put back on the model's frame grid: per frame, the global speakers heard
//! (as many as the windows counted), and the turns and spans that follow from them.

use super::windows::Local;
use super::{HOP_S, NeuralOutput, SAMPLE_RATE};
use crate::domain::{Span, SpeakerTurn};
use crate::pipeline::diarize::models::{POWERSET, SEG_FIELD, SEG_FRAMES};

/// Running mean of the powerset's pair classes over the windows covering each frame.
pub(super) struct OverlapMean {
    sum: Vec<f32>,
    windows: Vec<u16>,
    /// Powerset classes with two or more speakers.
    pairs: Vec<usize>,
}

impl OverlapMean {
    pub(super) fn new(frames: usize) -> Self {
        Self {
            sum: vec![0.0; frames],
            windows: vec![0; frames],
            pairs: (0..POWERSET.len())
                .filter(|&c| POWERSET[c].iter().filter(|&&v| v).count() >= 2)
                .collect(),
        }
    }

    /// `y`: one window's powerset log-probabilities, the window starting at frame `start`.
    pub(super) fn add(&mut self, start: usize, y: &[f32]) {
        let pairs = &self.pairs;
        for (i, row) in y.chunks_exact(POWERSET.len()).take(SEG_FRAMES).enumerate() {
            if let (Some(s), Some(w)) =
                (self.sum.get_mut(start + i), self.windows.get_mut(start + i))
            {
                *s += pairs.iter().map(|&c| row[c].exp()).sum::<f32>();
                *w += 1;
            }
        }
    }

    pub(super) fn mean(self) -> Vec<f32> {
        self.sum
            .iter()
            .zip(&self.windows)
            .map(|(s, &w)| if w == 0 { 0.0 } else { s / f32::from(w) })
            .collect()
    }
}

/// Start (s) of model frame `f` on the recording's clock: frames are `HOP_S` apart and
/// centred in the model's receptive field.
pub(super) fn frame_time(f: usize) -> f64 {
    f as f64 * HOP_S + SEG_FIELD as f64 / (2.0 * SAMPLE_RATE) - 0.5 * HOP_S
}

/// Per global frame, the set of active global speakers (bit mask).
pub(super) fn reconstruct(
    locals: &[Local],
    map: &[[Option<usize>; 3]],
    k: usize,
    n: usize,
) -> Vec<u32> {
    let mut score = vec![0.0f32; n * k.max(1)];
    let mut count = vec![0.0f32; n];
    let mut cover = vec![0.0f32; n];
    // Unmapped local speakers (too little speech for an embedding) follow the global speaker
    // they overlap most in the other windows: fill mapped ones first, then resolve.
    for (l, m) in locals.iter().zip(map) {
        for (i, a) in l.active.iter().enumerate() {
            let g = l.start_frame + i;
            if g >= n {
                break;
            }
            cover[g] += 1.0;
            count[g] += a.iter().filter(|&&v| v).count() as f32;
            for s in 0..3 {
                if let (true, Some(c)) = (a[s], m[s]) {
                    score[g * k + c] += 1.0;
                }
            }
        }
    }
    for (l, m) in locals.iter().zip(map) {
        for s in (0..3).filter(|&s| m[s].is_none()) {
            let frames: Vec<usize> = (0..SEG_FRAMES)
                .filter(|&i| l.active[i][s] && l.start_frame + i < n)
                .collect();
            if frames.is_empty() || k == 0 {
                continue;
            }
            let used: Vec<usize> = m.iter().flatten().copied().collect();
            let c = (0..k).filter(|c| !used.contains(c)).max_by(|&a, &b| {
                let f = |c: usize| {
                    frames
                        .iter()
                        .map(|&i| score[(l.start_frame + i) * k + c])
                        .sum::<f32>()
                };
                f(a).total_cmp(&f(b))
            });
            if let Some(c) = c {
                frames
                    .iter()
                    .for_each(|&i| score[(l.start_frame + i) * k + c] += 1.0);
            }
        }
    }
    (0..n)
        .map(|g| {
            if cover[g] == 0.0 || k == 0 {
                return 0;
            }
            let want = (count[g] / cover[g]).round() as usize;
            let mut order: Vec<usize> = (0..k).filter(|&c| score[g * k + c] > 0.0).collect();
            order.sort_by(|&a, &b| score[g * k + b].total_cmp(&score[g * k + a]));
            order.iter().take(want).fold(0u32, |m, &c| m | (1 << c))
        })
        .collect()
}

/// Sets speaker `c` active across its own silent pauses of at most `max` frames.
pub(super) fn fill_gaps(frames: &mut [u32], k: usize, max: usize) {
    for c in 0..k {
        let bit = 1u32 << c;
        let mut last_on: Option<usize> = None;
        for i in 0..frames.len() {
            if frames[i] & bit == 0 {
                continue;
            }
            // Only silent pauses: a gap where someone else spoke is their turn, not a breath.
            if let Some(l) = last_on
                && i - l > 1
                && i - l - 1 <= max
                && frames[l + 1..i].iter().all(|&f| f == 0)
            {
                frames[l + 1..i].iter_mut().for_each(|f| *f |= bit);
            }
            last_on = Some(i);
        }
    }
}

/// The time the given model frames cover, as merged spans on the recording's clock.
pub(super) fn frame_spans(frames: impl IntoIterator<Item = usize>) -> Vec<Span> {
    crate::domain::timeline::normalize(frames.into_iter().map(|f| Span {
        start: frame_time(f).max(0.0),
        end: frame_time(f + 1),
    }))
}

pub(super) fn to_output(frames: &[u32], k: usize) -> NeuralOutput {
    let mut turns = Vec::new();
    for c in 0..k {
        let mut i = 0;
        while i < frames.len() {
            if frames[i] & (1 << c) == 0 {
                i += 1;
                continue;
            }
            let s = i;
            while i < frames.len() && frames[i] & (1 << c) != 0 {
                i += 1;
            }
            let span = Span {
                start: frame_time(s).max(0.0),
                end: frame_time(i),
            };
            turns.push(SpeakerTurn { speaker: c, span });
        }
    }
    turns.sort_by(|a, b| a.span.start.total_cmp(&b.span.start));
    let num_speakers = SpeakerTurn::speaker_count(&turns);
    NeuralOutput {
        turns,
        num_speakers,
        speech: Vec::new(),
        read: Vec::new(),
        separated_windows: 0.0,
        conflated_windows: 0.0,
        overlap_probability: Vec::new(),
        count: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_probability_is_the_mean_over_covering_windows() {
        let mut mean = OverlapMean::new(SEG_FRAMES + 2);
        // Log-probabilities: all mass on the pair {0, 1} in the first window, on
        // speaker 0 alone in the second, which starts two frames later.
        let row = |c: usize| (0..7).map(move |j| if j == c { 0.0 } else { -1e9 });
        mean.add(0, &(0..SEG_FRAMES).flat_map(|_| row(4)).collect::<Vec<_>>());
        mean.add(2, &(0..SEG_FRAMES).flat_map(|_| row(1)).collect::<Vec<_>>());
        let p = mean.mean();
        assert!((p[0] - 1.0).abs() < 1e-6 && (p[2] - 0.5).abs() < 1e-6);
        assert!(p[SEG_FRAMES + 1].abs() < 1e-6);
    }
}
