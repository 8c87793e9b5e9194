//! Frame-level resegmentation: per-speaker GMMs scored on every speech frame, smoothed over a
//! short window and decoded with a Viterbi pass whose switch penalty sets the minimum
//! plausible turn, so boundaries land within a frame or two of the acoustic change
//! (≈0.1 s) instead of on the 0.5 s grid of the clustering windows.

use super::features::Cepstra;
use super::gmm::Gmm;

pub const NONE: usize = usize::MAX;

pub struct ResegParams {
    pub components: usize,
    pub em_iterations: usize,
    pub passes: usize,
    /// Half-width in frames of the moving average applied to the log-likelihoods.
    pub smooth: usize,
    /// Log-probability cost of changing speaker between adjacent frames.
    pub switch_penalty: f32,
}

/// Result per frame: speaker label (`NONE` outside speech) and the smoothed margin between
/// the chosen speaker's log-likelihood and the best other's (nats per frame).
pub struct Reseg {
    pub labels: Vec<usize>,
    pub margin: Vec<f32>,
}

pub fn resegment(ceps: &Cepstra, init: &[usize], k: usize, p: &ResegParams) -> Reseg {
    let mut labels = init.to_vec();
    let mut margin = vec![0.0f32; labels.len()];
    if k < 2 {
        labels
            .iter_mut()
            .filter(|l| **l != NONE)
            .for_each(|l| *l = 0);
        return Reseg { labels, margin };
    }
    let speech: Vec<bool> = init.iter().map(|&l| l != NONE).collect();
    // Frames in speech but not in any clustering window start unlabelled and only get a
    // speaker from the decoding.
    let mut train = labels.clone();
    for _ in 0..p.passes {
        let models: Vec<Gmm> = (0..k)
            .map(|s| {
                let frames: Vec<&[f32]> = (0..ceps.len())
                    .filter(|&i| train[i] == s)
                    .map(|i| ceps.frame(i))
                    .collect();
                Gmm::fit(&frames, p.components, p.em_iterations)
            })
            .collect();
        let ll = smoothed_ll(ceps, &speech, &models, p.smooth);
        labels = viterbi(&ll, &speech, k, p.switch_penalty);
        margin = margins(&ll, &labels, k);
        train = labels.clone();
    }
    Reseg { labels, margin }
}

/// `n × k` log-likelihoods (0 off speech), averaged over ±`half` speech frames.
fn smoothed_ll(ceps: &Cepstra, speech: &[bool], models: &[Gmm], half: usize) -> Vec<f32> {
    let k = models.len();
    let n = ceps.len();
    let mut raw = vec![0.0f32; n * k];
    for i in (0..n).filter(|&i| speech[i]) {
        for (s, m) in models.iter().enumerate() {
            raw[i * k + s] = m.log_likelihood(ceps.frame(i));
        }
    }
    let mut out = vec![0.0f32; n * k];
    let mut i = 0;
    while i < n {
        if !speech[i] {
            i += 1;
            continue;
        }
        let start = i;
        while i < n && speech[i] {
            i += 1;
        }
        box_filter(&raw[start * k..i * k], &mut out[start * k..i * k], k, half);
    }
    out
}

/// Moving average over ±half rows of a row-major `rows × k` block, via prefix sums.
fn box_filter(src: &[f32], dst: &mut [f32], k: usize, half: usize) {
    let rows = src.len() / k;
    let mut prefix = vec![0.0f64; (rows + 1) * k];
    for r in 0..rows {
        for s in 0..k {
            prefix[(r + 1) * k + s] = prefix[r * k + s] + f64::from(src[r * k + s]);
        }
    }
    for r in 0..rows {
        let (a, b) = (r.saturating_sub(half), (r + half + 1).min(rows));
        for s in 0..k {
            dst[r * k + s] = ((prefix[b * k + s] - prefix[a * k + s]) / (b - a) as f64) as f32;
        }
    }
}

fn viterbi(ll: &[f32], speech: &[bool], k: usize, penalty: f32) -> Vec<usize> {
    let n = speech.len();
    let mut labels = vec![NONE; n];
    let mut back = vec![0u8; n * k];
    let mut score = vec![0.0f32; k];
    let mut next = vec![0.0f32; k];
    let mut i = 0;
    while i < n {
        if !speech[i] {
            i += 1;
            continue;
        }
        let start = i;
        score.copy_from_slice(&ll[i * k..(i + 1) * k]);
        i += 1;
        while i < n && speech[i] {
            let best = (0..k)
                .max_by(|&a, &b| score[a].total_cmp(&score[b]))
                .unwrap_or(0);
            for s in 0..k {
                let (stay, jump) = (score[s], score[best] - penalty);
                let (v, from) = if s == best || stay >= jump {
                    (stay, s)
                } else {
                    (jump, best)
                };
                next[s] = v + ll[i * k + s];
                back[i * k + s] = from as u8;
            }
            score.copy_from_slice(&next);
            i += 1;
        }
        let mut s = (0..k)
            .max_by(|&a, &b| score[a].total_cmp(&score[b]))
            .unwrap_or(0);
        for t in (start..i).rev() {
            labels[t] = s;
            s = back[t * k + s] as usize;
        }
    }
    labels
}

fn margins(ll: &[f32], labels: &[usize], k: usize) -> Vec<f32> {
    labels
        .iter()
        .enumerate()
        .map(|(i, &l)| {
            if l == NONE {
                return 0.0;
            }
            let row = &ll[i * k..(i + 1) * k];
            let other = (0..k)
                .filter(|&s| s != l)
                .map(|s| row[s])
                .fold(f32::NEG_INFINITY, f32::max);
            (row[l] - other).max(0.0)
        })
        .collect()
}
