//! The recording cut into overlapping 10 s windows, and what the segmentation model heard in
//! each: up to three local speakers per frame, and the speech of each local speaker to embed.

use super::{HOP_S, NeuralParams, SEPARATED_LOCAL_S};
use crate::pipeline::diarize::fbank::{Fbank, N_BINS};
use crate::pipeline::diarize::models::{POWERSET, SEG_FIELD, SEG_FRAMES, SEG_STEP, SEG_WINDOW};

/// Hop (samples) of the embedding model's filterbank rows: 10 ms.
const FBANK_HOP: usize = 160;
/// Centre (samples) of a filterbank row's 25 ms analysis window, from the row's start.
const FBANK_CENTRE: usize = 200;
/// Fewest filterbank rows (0.2 s) worth an embedding.
const MIN_EMBED_ROWS: usize = 20;

/// One window's decoded local activity, `SEG_FRAMES × 3`.
pub(super) struct Local {
    pub(super) start_frame: usize,
    pub(super) active: Vec<[bool; 3]>,
}

/// First model frame of each window: every `step` frames until a window reaches the end.
pub(super) fn window_starts(samples: usize, step: usize) -> Vec<usize> {
    let mut starts = vec![0];
    while let Some(&last) = starts.last()
        && last * SEG_STEP + SEG_WINDOW < samples
    {
        starts.push(last + step);
    }
    starts
}

/// At most `budget` of `starts`, in order, spread evenly without a fixed stride: one pick
/// in each of `budget` equal strata, at a phase within it that moves by the golden ratio
/// from one stratum to the next. A fixed stride aliases with anything periodic in the
/// recording (the dev voices' hour, one call looped every 180 s, read every 90 s saw the same
/// two windows twenty times and folded both voices into one).
pub(super) fn spread(starts: Vec<usize>, budget: Option<usize>) -> Vec<usize> {
    const GOLDEN_FRACTION: f64 = 0.618_033_988_749_895;
    let Some(budget) = budget.filter(|&b| b > 0 && b < starts.len()) else {
        return starts;
    };
    let stratum = starts.len() as f64 / budget as f64;
    (0..budget)
        .map(|i| {
            let phase = (0.5 + i as f64 * GOLDEN_FRACTION).fract();
            starts[((i as f64 + phase) * stratum) as usize]
        })
        .collect()
}

/// Local speakers the segmentation heard in `local`'s window, each for at least
/// `SEPARATED_LOCAL_S` (the bound `count` takes as people who surely spoke; two make a window separated).
pub(super) fn heard_speakers(local: &Local) -> usize {
    let min = (SEPARATED_LOCAL_S / HOP_S).ceil() as usize;
    (0..3)
        .filter(|&s| local.active.iter().filter(|a| a[s]).count() >= min)
        .count()
}

/// Share of the windows (`heard`: each one's [`heard_speakers`]) with two or more.
pub(super) fn separated_share(heard: &[usize]) -> f64 {
    let separated = heard.iter().filter(|&&h| h >= 2).count();
    separated as f64 / heard.len().max(1) as f64
}

/// Hard powerset decoding: the most likely class per frame.
pub(super) fn decode(y: &[f32]) -> Vec<[bool; 3]> {
    y.chunks_exact(POWERSET.len())
        .take(SEG_FRAMES)
        .map(|row| {
            let c = (0..POWERSET.len())
                .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                .unwrap_or(0);
            POWERSET[c]
        })
        .collect()
}

/// One local speaker's embedding.
pub(super) struct Embedding {
    /// Index of its window in the `Local`s.
    pub(super) window: usize,
    /// Its local speaker (0..3) in that window.
    pub(super) local: usize,
    /// From frames where it speaks alone, not from the overlapped fallback (see
    /// [`speaker_fbank`]): a single voice, not a mixture.
    pub(super) alone: bool,
    pub(super) vector: Vec<f32>,
}

/// Filterbank rows (10 ms) of the window where local speaker `s` speaks alone, or where it
/// speaks at all when that is too short (then `false`: the rows mix its voice with others);
/// `None` when even that is too short.
pub(super) fn speaker_fbank(
    fb: &Fbank,
    win: &[f32],
    act: &[[bool; 3]],
    s: usize,
    p: &NeuralParams,
) -> Option<(Vec<f32>, bool)> {
    let alone: Vec<bool> = act
        .iter()
        .map(|a| a[s] && a.iter().filter(|&&v| v).count() == 1)
        .collect();
    let any: Vec<bool> = act.iter().map(|a| a[s]).collect();
    let min = (p.min_embed_s / HOP_S) as usize;
    let (kind, mask) = [alone, any]
        .into_iter()
        .enumerate()
        .find(|(_, m)| m.iter().filter(|&&v| v).count() >= min)?;
    let feats = fb.compute(win);
    let max_rows = (p.max_embed_s * super::SAMPLE_RATE / FBANK_HOP as f64) as usize;
    let mut out = Vec::with_capacity(max_rows * N_BINS);
    for (j, row) in feats.chunks_exact(N_BINS).enumerate() {
        let centre = j * FBANK_HOP + FBANK_CENTRE;
        let f = (centre.saturating_sub(SEG_FIELD / 2) as f64 / SEG_STEP as f64).round() as usize;
        if mask.get(f).copied().unwrap_or(false) {
            out.extend_from_slice(row);
            if out.len() >= max_rows * N_BINS {
                break;
            }
        }
    }
    (out.len() >= MIN_EMBED_ROWS * N_BINS).then_some((out, kind == 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(runs: &[(usize, usize, usize)]) -> Local {
        let mut active = vec![[false; 3]; SEG_FRAMES];
        for &(s, a, b) in runs {
            active[a..b].iter_mut().for_each(|f| f[s] = true);
        }
        Local {
            start_frame: 0,
            active,
        }
    }

    #[test]
    fn windows_step_until_one_reaches_the_end() {
        let step = 5;
        let frames = |n: usize| n * SEG_STEP;
        assert_eq!(window_starts(SEG_WINDOW, step), vec![0]);
        assert_eq!(window_starts(SEG_WINDOW + 1, step), vec![0, 5]);
        let end = frames(10) + SEG_WINDOW;
        assert_eq!(window_starts(end, step), vec![0, 5, 10]);
        assert_eq!(window_starts(end + 1, step), vec![0, 5, 10, 15]);
    }

    #[test]
    fn a_budget_of_windows_is_spread_without_aliasing_a_period() {
        let starts: Vec<usize> = (0..360).collect();
        assert_eq!(spread(starts.clone(), None), starts);
        assert_eq!(
            spread(starts[..30].to_vec(), Some(40)),
            starts[..30].to_vec()
        );
        let picked = spread(starts, Some(40));
        assert_eq!(picked.len(), 40);
        assert!(picked.windows(2).all(|w| w[0] < w[1]));
        // One pick per stratum of 9: no gap reaches two strata.
        assert!(picked.windows(2).all(|w| w[1] - w[0] < 18), "{picked:?}");
        // A recording repeating every 18 windows: a stride of 9 sees 2 phases of it.
        let phases: std::collections::BTreeSet<usize> = picked.iter().map(|s| s % 18).collect();
        assert!(phases.len() >= 15, "{phases:?}");
    }

    #[test]
    fn a_window_counts_as_separated_with_two_substantial_local_speakers() {
        let half_second = (SEPARATED_LOCAL_S / HOP_S).ceil() as usize;
        let two = window(&[(0, 0, 100), (1, 100, 100 + half_second)]);
        let blip = window(&[(0, 0, 100), (1, 100, 100 + half_second - 1)]);
        let one = window(&[(2, 0, 500)]);
        let heard = [two, blip, one].map(|l| heard_speakers(&l));
        assert!((separated_share(&heard) - 1.0 / 3.0).abs() < 1e-9);
        assert!(separated_share(&[]).abs() < f64::EPSILON);
    }
}
