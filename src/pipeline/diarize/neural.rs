//! Neural path (the pyannote 3.x recipe, on a CPU budget): segmentation-3.0 finds up to three
//! local speakers (and their overlaps) in 10 s windows; CAM++ embeds each local speaker from
//! the frames where it speaks alone; the embeddings are clustered into the global speakers;
//! each window's local speakers are mapped to distinct global ones; the windows' activities
//! are averaged on the model's 16.9 ms frame grid, where the locally counted number of
//! speakers picks the most active global speakers per frame.

use super::cluster::{cut_k, dot};
use super::fbank::{Fbank, N_BINS};
use super::models::{
    ModelError, Models, POWERSET, SEG_BATCH, SEG_FIELD, SEG_FRAMES, SEG_STEP, SEG_WINDOW,
};
use crate::pipeline::types::{Span, SpeakerTurn};

#[derive(Clone, Debug)]
pub struct NeuralParams {
    /// Shortest window step in seconds (windows are 10 s long); longer recordings use a
    /// longer step so that about `max_windows` windows cover them (never above
    /// `max_step_s`).
    pub step_s: f64,
    pub max_windows: usize,
    pub max_step_s: f64,
    /// Least clean speech (s) a local speaker needs for its own embedding.
    pub min_embed_s: f64,
    /// Most speech (s) fed to one embedding; bounds the cost per window.
    pub max_embed_s: f64,
    /// Cosine distance beyond which a small cluster is kept as a separate speaker.
    pub distinct: f32,
    /// A speaker's silent pauses shorter than this (s) are bridged: annotators (and coaches)
    /// count a breath inside a sentence as speech. 1.5 s measured best (en_dev_3min nist
    /// 2.07 → 1.65 % against 1.0 s; the pyannote sample and AMI unchanged).
    pub fill_gap_s: f64,
    /// Sharpen the neural turns with the classical GMM resegmentation.
    pub refine: bool,
    /// Embed the local speakers of every `embed_every`-th window only; the other windows
    /// contribute their speech activity (see [`NeuralOutput::speech`]) but no turns. Long
    /// recordings: speech found everywhere, voices learnt from a bounded budget.
    pub embed_every: usize,
}

impl Default for NeuralParams {
    fn default() -> Self {
        Self {
            step_s: 1.0,
            max_windows: 60,
            max_step_s: 5.0,
            min_embed_s: 0.4,
            max_embed_s: 3.0,
            distinct: 0.7,
            fill_gap_s: 1.5,
            refine: true,
            embed_every: 1,
        }
    }
}

/// One window's decoded local activity, `SEG_FRAMES × 3`.
struct Local {
    start_frame: usize,
    active: Vec<[bool; 3]>,
}

pub struct NeuralOutput {
    pub turns: Vec<SpeakerTurn>,
    pub num_speakers: usize,
    /// Where any window heard speech, embedded or not (unbridged).
    pub speech: Vec<Span>,
    /// Share of the windows in which the segmentation heard two or more local speakers, each
    /// for at least [`SEPARATED_LOCAL_S`]: low when one person holds the floor, or when the
    /// model hears every voice as one local speaker (far-field AMI dev00: 3 of 22 windows,
    /// while the reference has both speakers in 18 of them).
    pub separated_windows: f64,
    /// Per model frame ([`frame_time`]), the probability that two speakers talk at once,
    /// averaged over the windows that cover it (0 outside them).
    pub overlap_probability: Vec<f32>,
}

impl NeuralOutput {
    /// Regions where [`Self::overlap_probability`] reaches `threshold`.
    pub fn detected_overlaps(&self, threshold: f32) -> Vec<Span> {
        frame_spans(
            self.overlap_probability
                .iter()
                .enumerate()
                .filter(|(_, p)| **p >= threshold)
                .map(|(f, _)| f),
        )
    }
}

/// Running mean of the powerset's pair classes over the windows covering each frame.
struct OverlapMean {
    sum: Vec<f32>,
    windows: Vec<u16>,
    /// Powerset classes with two or more speakers.
    pairs: Vec<usize>,
}

impl OverlapMean {
    fn new(frames: usize) -> Self {
        Self {
            sum: vec![0.0; frames],
            windows: vec![0; frames],
            pairs: (0..POWERSET.len())
                .filter(|&c| POWERSET[c].iter().filter(|&&v| v).count() >= 2)
                .collect(),
        }
    }

    /// `y`: one window's powerset log-probabilities, the window starting at frame `start`.
    fn add(&mut self, start: usize, y: &[f32]) {
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

    fn mean(self) -> Vec<f32> {
        self.sum
            .iter()
            .zip(&self.windows)
            .map(|(s, &w)| if w == 0 { 0.0 } else { s / f32::from(w) })
            .collect()
    }
}

/// Start (s) of model frame `f` on the recording's clock: frames are `HOP_S` apart and
/// centred in the model's receptive field.
fn frame_time(f: usize) -> f64 {
    f as f64 * HOP_S + SEG_FIELD as f64 / 32_000.0 - 0.5 * HOP_S
}

/// Activity (s) a local speaker needs in a window to count in [`NeuralOutput::separated_windows`].
pub const SEPARATED_LOCAL_S: f64 = 0.5;

const HOP_S: f64 = SEG_STEP as f64 / 16_000.0;

/// # Errors
/// An ONNX Runtime failure.
pub fn diarize(
    models: &Models,
    x: &[f32],
    k: Option<usize>,
    max_k: usize,
    p: &NeuralParams,
) -> Result<NeuralOutput, ModelError> {
    let duration = x.len() as f64 / 16_000.0;
    let step_s =
        (duration / p.max_windows.max(1) as f64).clamp(p.step_s, p.step_s.max(p.max_step_s));
    let step = ((step_s / HOP_S).round() as usize).max(1);
    let total_frames = x.len().div_ceil(SEG_STEP);
    let fb = Fbank::new();
    let mut locals = Vec::new();
    let mut embs: Vec<(usize, usize, Vec<f32>)> = Vec::new();
    let mut overlap = OverlapMean::new(total_frames);
    let mut speech = vec![false; total_frames];
    let starts = window_starts(x.len(), step);
    let window_at = |start: usize| {
        let a = (start * SEG_STEP).min(x.len());
        &x[a..(a + SEG_WINDOW).min(x.len())]
    };
    for (b, batch) in starts.chunks(SEG_BATCH).enumerate() {
        let wins: Vec<&[f32]> = batch.iter().map(|&s| window_at(s)).collect();
        let ys = models.segment(&wins)?;
        for (i, ((&start, win), y)) in batch.iter().zip(&wins).zip(ys).enumerate() {
            overlap.add(start, &y);
            let active = decode(&y);
            for (heard, a) in speech.iter_mut().skip(start).zip(&active) {
                *heard |= a.iter().any(|&v| v);
            }
            if !(b * SEG_BATCH + i).is_multiple_of(p.embed_every.max(1)) {
                continue;
            }
            for s in 0..3 {
                if let Some(f) = speaker_fbank(&fb, win, &active, s, p) {
                    let mut e = models.embed(&f)?;
                    normalize(&mut e);
                    embs.push((locals.len(), s, e));
                }
            }
            locals.push(Local {
                start_frame: start,
                active,
            });
        }
    }
    let vectors: Vec<Vec<f32>> = embs.iter().map(|e| e.2.clone()).collect();
    let centroids = cluster(&vectors, k, max_k, p.distinct);
    let kk = centroids.len();
    let mapping = assign(&locals, &embs, &centroids);
    let mut frames = reconstruct(&locals, &mapping, kk, total_frames);
    fill_gaps(&mut frames, kk, (p.fill_gap_s / HOP_S) as usize);
    let mut out = to_output(&frames, kk);
    out.separated_windows = separated_share(&locals);
    out.overlap_probability = overlap.mean();
    out.speech = frame_spans(
        speech
            .iter()
            .enumerate()
            .filter(|(_, s)| **s)
            .map(|(f, _)| f),
    );
    Ok(out)
}

/// First model frame of each window: every `step` frames until a window reaches the end.
fn window_starts(samples: usize, step: usize) -> Vec<usize> {
    let mut starts = vec![0];
    while let Some(&last) = starts.last()
        && last * SEG_STEP + SEG_WINDOW < samples
    {
        starts.push(last + step);
    }
    starts
}

fn separated_share(locals: &[Local]) -> f64 {
    let min = (SEPARATED_LOCAL_S / HOP_S).ceil() as usize;
    let separated = locals
        .iter()
        .filter(|l| {
            let heard = (0..3)
                .filter(|&s| l.active.iter().filter(|a| a[s]).count() >= min)
                .count();
            heard >= 2
        })
        .count();
    separated as f64 / locals.len().max(1) as f64
}

/// Hard powerset decoding: the most likely class per frame.
fn decode(y: &[f32]) -> Vec<[bool; 3]> {
    y.chunks_exact(7)
        .take(SEG_FRAMES)
        .map(|row| {
            let c = (0..7)
                .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                .unwrap_or(0);
            POWERSET[c]
        })
        .collect()
}

/// Filterbank rows (10 ms) of the window where local speaker `s` speaks alone, or where it
/// speaks at all when that is too short; `None` when even that is too short.
fn speaker_fbank(
    fb: &Fbank,
    win: &[f32],
    act: &[[bool; 3]],
    s: usize,
    p: &NeuralParams,
) -> Option<Vec<f32>> {
    let alone: Vec<bool> = act
        .iter()
        .map(|a| a[s] && a.iter().filter(|&&v| v).count() == 1)
        .collect();
    let any: Vec<bool> = act.iter().map(|a| a[s]).collect();
    let min = (p.min_embed_s / HOP_S) as usize;
    let mask = [alone, any]
        .into_iter()
        .find(|m| m.iter().filter(|&&v| v).count() >= min)?;
    let feats = fb.compute(win);
    let max_rows = (p.max_embed_s * 100.0) as usize;
    let mut out = Vec::with_capacity(max_rows * N_BINS);
    for (j, row) in feats.chunks_exact(N_BINS).enumerate() {
        let centre = j * 160 + 200;
        let f = (centre.saturating_sub(SEG_FIELD / 2) as f64 / SEG_STEP as f64).round() as usize;
        if mask.get(f).copied().unwrap_or(false) {
            out.extend_from_slice(row);
            if out.len() >= max_rows * N_BINS {
                break;
            }
        }
    }
    (out.len() >= 20 * N_BINS).then_some(out)
}

pub(super) fn normalize(v: &mut [f32]) {
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

/// Centroids of the global speakers, largest first. With a known count the dendrogram is
/// cut there, but a small cluster (under a tenth of the embeddings, at most 3) only survives
/// when it is clearly a different voice (a short interjection); otherwise it is an outlier of
/// a bigger one (a laugh, a cough, an echo) and its windows join the nearest speaker. Cutting
/// deeper to force `k` substantial clusters was measured worse (AMI dev01 35 → 55 % nist).
fn cluster(vectors: &[Vec<f32>], k: Option<usize>, max_k: usize, distinct: f32) -> Vec<Vec<f32>> {
    if vectors.is_empty() {
        return Vec::new();
    }
    let want = k
        .unwrap_or_else(|| estimate_k(vectors, max_k, distinct))
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
    keep.iter().map(|&c| cents[c].clone()).collect()
}

/// Number of clusters whose average-linkage merge distance exceeds `distinct`.
fn estimate_k(vectors: &[Vec<f32>], max_k: usize, distinct: f32) -> usize {
    (1..=max_k.min(vectors.len()))
        .find(|&k| {
            let labels = cut_k(vectors, k);
            let cents: Vec<Vec<f32>> = (0..k).map(|c| centroid(vectors, &labels, c)).collect();
            vectors
                .iter()
                .zip(&labels)
                .all(|(v, &l)| 1.0 - dot(v, &cents[l]) < distinct)
        })
        .unwrap_or(max_k)
}

/// Global speaker of every (window, local speaker); distinct within a window, chosen to
/// maximise the summed similarity. Local speakers without an embedding stay `None`.
fn assign(
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

/// Per global frame, the set of active global speakers (bit mask).
fn reconstruct(locals: &[Local], map: &[[Option<usize>; 3]], k: usize, n: usize) -> Vec<u32> {
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
fn fill_gaps(frames: &mut [u32], k: usize, max: usize) {
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
fn frame_spans(frames: impl IntoIterator<Item = usize>) -> Vec<Span> {
    crate::eval::timeline::normalize(frames.into_iter().map(|f| Span {
        start: frame_time(f).max(0.0),
        end: frame_time(f + 1),
    }))
}

fn to_output(frames: &[u32], k: usize) -> NeuralOutput {
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
        separated_windows: 0.0,
        overlap_probability: Vec::new(),
    }
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
    fn a_window_counts_as_separated_with_two_substantial_local_speakers() {
        let half_second = (SEPARATED_LOCAL_S / HOP_S).ceil() as usize;
        let two = window(&[(0, 0, 100), (1, 100, 100 + half_second)]);
        let blip = window(&[(0, 0, 100), (1, 100, 100 + half_second - 1)]);
        let one = window(&[(2, 0, 500)]);
        assert!((separated_share(&[two, blip, one]) - 1.0 / 3.0).abs() < 1e-9);
        assert!(separated_share(&[]).abs() < f64::EPSILON);
    }

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
