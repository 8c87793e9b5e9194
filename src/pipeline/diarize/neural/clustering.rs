//! Global speakers from the local speakers' embeddings: agglomerative clustering (a known or
//! estimated count), then each window's local speakers mapped to distinct global ones.

use super::windows::Local;
use crate::pipeline::diarize::cluster::{cut_k, dot};
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

/// Global speaker of every (window, local speaker); distinct within a window, chosen to
/// maximise the summed similarity. Local speakers without an embedding stay `None`.
pub(super) fn assign(
    locals: &[Local],
    embs: &[(usize, usize, Vec<f32>)],
    cents: &[Vec<f32>],
) -> Vec<[Option<usize>; 3]> {
    let mut out = vec![[None; 3]; locals.len()];
    for (w, slot) in out.iter_mut().enumerate() {
        let mine: Vec<&(usize, usize, Vec<f32>)> = embs.iter().filter(|e| e.0 == w).collect();
        let sims: Vec<Vec<f32>> = mine
            .iter()
            .map(|e| cents.iter().map(|c| dot(c, &e.2)).collect())
            .collect();
        for (i, g) in best_assignment(&sims, cents.len()).into_iter().enumerate() {
            slot[mine[i].1] = g;
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
