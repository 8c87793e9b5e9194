//! Frame-level resegmentation: per-speaker GMMs scored on every speech frame, smoothed over a
//! short window and decoded with a Viterbi pass whose switch penalty sets the minimum
//! plausible turn, so boundaries land within a frame or two of the acoustic change
//! (≈0.1 s) instead of on the 0.5 s grid of the clustering windows.
//!
//! Memory: one byte of state per frame across the recording; the log-likelihoods and the
//! Viterbi back-pointers exist for one speech run at a time, and each speaker model trains
//! on at most `max_train_frames` evenly spread frames, so a four-hour file needs little more
//! than a short one.

use std::ops::Range;

use super::features::Cepstra;
use super::gmm::Gmm;
use crate::dsp::vad::runs_where;

/// A frame's speaker; `NONE` outside speech. Speakers are few (`max_speakers` ≤ 8).
pub type Label = u8;
pub const NONE: Label = Label::MAX;

pub struct ResegParams {
    pub components: usize,
    pub em_iterations: usize,
    pub passes: usize,
    /// Half-width in frames of the moving average applied to the log-likelihoods.
    pub smooth: usize,
    /// Log-probability cost of changing speaker between adjacent frames.
    pub switch_penalty: f32,
    /// Most frames a speaker's model trains on (evenly spread over that speaker's frames).
    pub max_train_frames: usize,
    /// Smoothed margin (nats per frame) from which a frame's speaker counts as settled.
    pub settled_margin: f32,
}

/// Result per frame: speaker label (`NONE` outside speech), and how many speech frames won
/// by at least `settled_margin` over the best other speaker in the last pass.
pub struct Reseg {
    pub labels: Vec<Label>,
    pub settled: usize,
}

/// Labels every speech frame of `init` (`NONE` = not speech) with one of `k` speakers.
/// Frames labelled `k` or above are speech that trains no model and only get a speaker
/// from the decoding.
pub fn resegment(ceps: &Cepstra, init: &[Label], k: usize, p: &ResegParams) -> Reseg {
    let mut labels = init.to_vec();
    if k < 2 {
        labels
            .iter_mut()
            .filter(|l| **l != NONE)
            .for_each(|l| *l = 0);
        return Reseg { labels, settled: 0 };
    }
    let runs = runs_where(init, |&l| l != NONE);
    let mut settled = 0;
    for _ in 0..p.passes {
        let models: Vec<Gmm> = (0..k)
            .map(|s| {
                let frames = training_frames(ceps, &labels, s, p.max_train_frames);
                Gmm::fit(&frames, p.components, p.em_iterations)
            })
            .collect();
        settled = 0;
        for run in &runs {
            let ll = smoothed_ll(ceps, run.clone(), &models, p.smooth);
            let path = viterbi(&ll, k, p.switch_penalty);
            settled += settled_frames(&ll, &path, k, p.settled_margin);
            labels[run.clone()].copy_from_slice(&path);
        }
    }
    Reseg { labels, settled }
}

/// Fills silent pauses of at most `max` frames between two frames of the same speaker with
/// that speaker: a breath inside a sentence is speech to annotators and to a coach.
pub fn bridge_pauses(labels: &mut [Label], max: usize) {
    let mut last: Option<usize> = None;
    for i in 0..labels.len() {
        if labels[i] == NONE {
            continue;
        }
        if let Some(l) = last
            && i - l > 1
            && i - l - 1 <= max
            && labels[l] == labels[i]
        {
            let speaker = labels[i];
            labels[l + 1..i].iter_mut().for_each(|x| *x = speaker);
        }
        last = Some(i);
    }
}

/// Frames labelled `speaker`, at most `max` of them, evenly spread.
fn training_frames<'a>(
    ceps: &'a Cepstra,
    labels: &[Label],
    speaker: usize,
    max: usize,
) -> Vec<&'a [f32]> {
    let own = |l: &Label| usize::from(*l) == speaker;
    let step = labels
        .iter()
        .filter(|l| own(l))
        .count()
        .div_ceil(max.max(1))
        .max(1);
    labels
        .iter()
        .enumerate()
        .filter(|(_, l)| own(l))
        .step_by(step)
        .map(|(i, _)| ceps.frame(i))
        .collect()
}

/// `run.len() × k` log-likelihoods of the run's frames, averaged over ±`half` frames.
fn smoothed_ll(ceps: &Cepstra, run: Range<usize>, models: &[Gmm], half: usize) -> Vec<f32> {
    let k = models.len();
    let raw: Vec<f32> = run
        .flat_map(|i| models.iter().map(move |m| m.log_likelihood(ceps.frame(i))))
        .collect();
    box_filter(&raw, k, half)
}

/// Moving average over ±half rows of a row-major `rows × k` block, via prefix sums.
fn box_filter(src: &[f32], k: usize, half: usize) -> Vec<f32> {
    let rows = src.len() / k;
    let mut prefix = vec![0.0f64; (rows + 1) * k];
    for r in 0..rows {
        for s in 0..k {
            prefix[(r + 1) * k + s] = prefix[r * k + s] + f64::from(src[r * k + s]);
        }
    }
    let mut out = vec![0.0f32; rows * k];
    for r in 0..rows {
        let (a, b) = (r.saturating_sub(half), (r + half + 1).min(rows));
        for s in 0..k {
            out[r * k + s] = ((prefix[b * k + s] - prefix[a * k + s]) / (b - a) as f64) as f32;
        }
    }
    out
}

/// Best speaker path through one run of `ll.len() / k` speech frames.
fn viterbi(ll: &[f32], k: usize, penalty: f32) -> Vec<Label> {
    let rows = ll.len() / k;
    let mut path = vec![0; rows];
    if rows == 0 {
        return path;
    }
    let mut back = vec![0 as Label; rows * k];
    let mut score = ll[..k].to_vec();
    let mut next = vec![0.0f32; k];
    for r in 1..rows {
        let best = argmax(&score);
        for s in 0..k {
            let (stay, jump) = (score[s], score[best] - penalty);
            let (v, from) = if s == best || stay >= jump {
                (stay, s)
            } else {
                (jump, best)
            };
            next[s] = v + ll[r * k + s];
            back[r * k + s] = from as Label;
        }
        score.copy_from_slice(&next);
    }
    let mut s = argmax(&score);
    for r in (0..rows).rev() {
        path[r] = s as Label;
        s = usize::from(back[r * k + s]);
    }
    path
}

fn argmax(v: &[f32]) -> usize {
    (0..v.len())
        .max_by(|&a, &b| v[a].total_cmp(&v[b]))
        .unwrap_or(0)
}

/// Frames whose chosen speaker beats the best other by at least `margin`.
fn settled_frames(ll: &[f32], path: &[Label], k: usize, margin: f32) -> usize {
    path.iter()
        .zip(ll.chunks_exact(k))
        .filter(|&(&l, row)| {
            let other = (0..k)
                .filter(|&s| s != usize::from(l))
                .map(|s| row[s])
                .fold(f32::NEG_INFINITY, f32::max);
            row[usize::from(l)] - other >= margin
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows of two speakers' log-likelihoods: `a` where speaker 0 is likelier, `b` where 1 is.
    fn ll(pattern: &str) -> Vec<f32> {
        pattern
            .chars()
            .flat_map(|c| if c == 'a' { [0.0, -1.0] } else { [-1.0, 0.0] })
            .collect()
    }

    #[test]
    fn viterbi_follows_a_long_change_and_ignores_a_blip() {
        let path = viterbi(&ll("aaaaaaaaaaaaaaabaaaaaaaaaabbbbbbbbbbbbbbb"), 2, 3.0);
        let expected: Vec<Label> = [vec![0; 26], vec![1; 15]].concat();
        assert_eq!(path, expected);
    }

    #[test]
    fn bridges_short_pauses_of_one_speaker_only() {
        let mut labels = [0, NONE, NONE, 0, NONE, 1, NONE, NONE, NONE, 1];
        bridge_pauses(&mut labels, 2);
        assert_eq!(labels, [0, 0, 0, 0, NONE, 1, NONE, NONE, NONE, 1]);
    }

    #[test]
    fn speech_runs_split_at_unlabelled_frames() {
        let labels = [NONE, 0, 1, 2, NONE, NONE, 1, NONE, 0];
        assert_eq!(runs_where(&labels, |&l| l != NONE), vec![1..4, 6..7, 8..9]);
    }

    #[test]
    fn settled_counts_only_decisive_frames() {
        let rows = [0.0, -1.0, 0.0, -0.2, -2.0, 0.0];
        assert_eq!(settled_frames(&rows, &[0, 0, 1], 2, 0.5), 2);
    }
}
