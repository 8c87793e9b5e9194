//! Global speakers from the local speakers' embeddings: agglomerative clustering (a known or
//! estimated count), then each window's local speakers mapped to distinct global ones.

use super::windows::{Embedding, Local};
use crate::pipeline::diarize::cluster::{cut_k, dot, nearest};
use crate::pipeline::diarize::count::{self, CountEstimate};

pub(in crate::pipeline::diarize) fn normalize(v: &mut [f32]) {
    let n = dot(v, v).sqrt().max(1e-9);
    v.iter_mut().for_each(|x| *x /= n);
}

fn centroid(vectors: &[Vec<f32>], labels: &[usize], c: usize) -> Vec<f32> {
    let dim = vectors.first().map_or(0, Vec::len);
    let mut m = vec![0.0f32; dim];
    for (v, _) in vectors.iter().zip(labels).filter(|(_, l)| **l == c) {
        m.iter_mut().zip(v).for_each(|(a, b)| *a += b);
    }
    normalize(&mut m);
    m
}

/// Centroids of the global speakers, largest first, and the count estimate when `k` is
/// `None` (see `count`; `heard` holds each window's local speakers). With a known count the
/// dendrogram is cut there, but a small cluster (under a tenth of the embeddings, at most 3)
/// only survives when it is clearly a different voice (a short interjection); otherwise it is
/// an outlier of a bigger one (a laugh, a cough, an echo) and its windows join the nearest
/// speaker. Cutting deeper to force `k` substantial clusters was measured worse (AMI dev01
/// 35 → 55 % nist). An estimated count is cut the same way.
pub(super) fn cluster(
    vectors: &[Vec<f32>],
    k: Option<usize>,
    max_k: usize,
    heard: &[usize],
    distinct: f32,
) -> (Vec<Vec<f32>>, Option<CountEstimate>) {
    if vectors.is_empty() {
        return (Vec::new(), None);
    }
    let estimate = k.is_none().then(|| count::estimate(vectors, heard, max_k));
    let want = k
        .or(estimate.as_ref().map(|e| e.count))
        .unwrap_or(1)
        .clamp(1, max_k);
    let labels = cut_k(vectors, want);
    let m = labels.iter().max().map_or(0, |m| m + 1);
    let min_size = (vectors.len() / 10).clamp(1, 3);
    let mut sizes = vec![0usize; m];
    labels.iter().for_each(|&l| sizes[l] += 1);
    let cents: Vec<Vec<f32>> = (0..m).map(|c| centroid(vectors, &labels, c)).collect();
    let big: Vec<usize> = (0..m).filter(|&c| sizes[c] >= min_size).collect();
    let mut keep: Vec<usize> = (0..m)
        .filter(|&c| {
            sizes[c] >= min_size
                || big
                    .iter()
                    .all(|&b| 1.0 - dot(&cents[c], &cents[b]) > distinct)
        })
        .collect();
    keep.sort_by_key(|&c| std::cmp::Reverse(sizes[c]));
    (keep.iter().map(|&c| cents[c].clone()).collect(), estimate)
}

/// Share of the windows with two or more local speakers embedded where each speaks alone in
/// which two of them are nearest the same global speaker: the segmentation heard two voices
/// there, the clustering one. Such local speakers are then mapped to distinct global ones
/// all the same (see [`assign`]), one of them to a speaker that is not theirs. Mixed
/// embeddings (the overlapped fallback) are left out: a mixture lies near its louder voice.
pub(super) fn conflated_share(embs: &[Embedding], locals: usize, cents: &[Vec<f32>]) -> f64 {
    let mut nearest_per_window = vec![Vec::new(); locals];
    for e in embs.iter().filter(|e| e.alone) {
        nearest_per_window[e.window].push(nearest(cents, &e.vector));
    }
    let (mut windows, mut conflated) = (0usize, 0usize);
    for mut g in nearest_per_window.into_iter().filter(|g| g.len() >= 2) {
        let heard = g.len();
        g.sort_unstable();
        g.dedup();
        windows += 1;
        conflated += usize::from(g.len() < heard);
    }
    conflated as f64 / windows.max(1) as f64
}

/// Global speaker of every (window, local speaker); distinct within a window, chosen to
/// maximise the summed similarity. Local speakers without an embedding stay `None`.
pub(super) fn assign(
    locals: &[Local],
    embs: &[Embedding],
    cents: &[Vec<f32>],
) -> Vec<[Option<usize>; 3]> {
    let mut out = vec![[None; 3]; locals.len()];
    for (w, slot) in out.iter_mut().enumerate() {
        let mine: Vec<&Embedding> = embs.iter().filter(|e| e.window == w).collect();
        let sims: Vec<Vec<f32>> = mine
            .iter()
            .map(|e| cents.iter().map(|c| dot(c, &e.vector)).collect())
            .collect();
        for (i, g) in best_assignment(&sims, cents.len()).into_iter().enumerate() {
            slot[mine[i].local] = g;
        }
    }
    out
}

/// Exhaustive search over injective maps rows → columns (at most 3 rows); rows may stay
/// unassigned only when columns run out.
fn best_assignment(sims: &[Vec<f32>], k: usize) -> Vec<Option<usize>> {
    fn rec(
        i: usize,
        sims: &[Vec<f32>],
        k: usize,
        used: &mut Vec<bool>,
        cur: &mut Vec<Option<usize>>,
        best: &mut (f32, Vec<Option<usize>>),
        acc: f32,
    ) {
        if i == sims.len() {
            let assigned = cur.iter().filter(|c| c.is_some()).count();
            let score = acc + 10.0 * assigned as f32;
            if score > best.0 {
                *best = (score, cur.clone());
            }
            return;
        }
        for c in 0..k {
            if !used[c] {
                used[c] = true;
                cur.push(Some(c));
                rec(i + 1, sims, k, used, cur, best, acc + sims[i][c]);
                cur.pop();
                used[c] = false;
            }
        }
        cur.push(None);
        rec(i + 1, sims, k, used, cur, best, acc);
        cur.pop();
    }
    let mut best = (f32::NEG_INFINITY, vec![None; sims.len()]);
    rec(
        0,
        sims,
        k,
        &mut vec![false; k],
        &mut Vec::new(),
        &mut best,
        0.0,
    );
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emb(window: usize, local: usize, alone: bool, vector: [f32; 2]) -> Embedding {
        Embedding {
            window,
            local,
            alone,
            vector: vector.to_vec(),
        }
    }

    #[test]
    fn conflated_windows_count_clean_local_speakers_on_one_voice() {
        let cents = [vec![1.0, 0.0], vec![0.0, 1.0]];
        let embs = [
            // Window 0: two voices heard, both nearest speaker 0.
            emb(0, 0, true, [0.9, 0.1]),
            emb(0, 1, true, [0.8, 0.2]),
            // Window 1: two voices heard, one per speaker.
            emb(1, 0, true, [0.9, 0.1]),
            emb(1, 1, true, [0.1, 0.9]),
            // Window 2: the second voice only from overlapped speech, which lies near the
            // louder voice and proves nothing.
            emb(2, 0, true, [0.9, 0.1]),
            emb(2, 1, false, [0.7, 0.3]),
        ];
        assert!((conflated_share(&embs, 3, &cents) - 0.5).abs() < 1e-9);
        assert!(conflated_share(&[], 0, &cents).abs() < f64::EPSILON);
    }
}
