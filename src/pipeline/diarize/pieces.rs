//! Re-clustering of known speech from short pieces, for the case where the 10 s window
//! clustering folded a declared speaker into another (AMI dev01: a second voice that only
//! ever speaks 0.5–2.5 s at a time and overlaps the first inside every window, so no window
//! yields a clean embedding of it). Here every 1.5 s piece of speech (hop 0.75 s) gets its own
//! CAM++ embedding, from its frames outside the detected overlaps; the pieces are clustered at
//! the declared count and every 10 ms frame takes the majority label of the pieces that cover
//! it.

use super::cluster::{cluster, dot};
use super::fbank::{Fbank, N_BINS};
use super::models::{ModelError, Models};
use super::neural::normalize;
use crate::domain::timeline::Cursor;
use crate::domain::{ANALYSIS_RATE, Span, SpeakerTurn};

const PIECE_S: f64 = 1.5;
const HOP_S: f64 = 0.75;
/// Speech shorter than this yields no piece of its own (too few frames for CAM++); its
/// frames take the label of the nearest piece.
const MIN_PIECE_S: f64 = 0.5;
/// Voting grid (s).
const FRAME_S: f64 = 0.01;
/// Least overlap-free speech (filterbank rows of 10 ms) a piece embeds on its own; a piece
/// with less embeds all its rows.
const MIN_CLEAN_ROWS: usize = 50;

/// The pieces' answer.
pub struct Split {
    /// Speaker turns `0..k` over the speech; empty when it yields fewer pieces than speakers.
    pub turns: Vec<SpeakerTurn>,
    /// Smallest cosine distance between two speakers' mean piece embeddings: how clearly the
    /// pieces hear different voices (0 with fewer than two speakers).
    pub separation: f32,
}

/// Speaker turns `0..k` over `speech` (sorted, disjoint). A piece is embedded without the
/// frames inside `overlaps` (sorted, disjoint): where two people talk at once the louder
/// voice takes the whole embedding, and the quieter one's speech around the overlap with it
/// (AMI dev01, 15.5–16.4 s).
///
/// # Errors
/// An ONNX Runtime failure.
pub fn diarize(
    models: &Models,
    x: &[f32],
    speech: &[Span],
    overlaps: &[Span],
    k: usize,
) -> Result<Split, ModelError> {
    let pieces = cut(speech);
    if pieces.len() < k.max(1) {
        return Ok(Split {
            turns: Vec::new(),
            separation: 0.0,
        });
    }
    let fb = Fbank::new();
    let rate = f64::from(ANALYSIS_RATE);
    let mut vectors = Vec::with_capacity(pieces.len());
    for p in &pieces {
        let a = ((p.start * rate) as usize).min(x.len());
        let b = ((p.end * rate) as usize).min(x.len());
        let rows = fb.compute(&x[a..b]);
        let mut e = models.embed(&outside(rows, p.start, overlaps))?;
        normalize(&mut e);
        vectors.push(e);
    }
    // A single piece (a cough, a laugh) must not become a speaker: clusters need 2 pieces,
    // 2.25 s of speech at hop 0.75 s, to count.
    let clustering = cluster(&vectors, Some(k), k, 0.0, 2);
    Ok(Split {
        turns: vote(speech, &pieces, &clustering.labels, k),
        separation: separation(clustering.centroids),
    })
}

/// The filterbank rows of a piece starting at `start` (s) whose centres lie outside
/// `overlaps`, or all of them when fewer than [`MIN_CLEAN_ROWS`] do.
fn outside(rows: Vec<f32>, start: f64, overlaps: &[Span]) -> Vec<f32> {
    let mut inside = Cursor::new(overlaps);
    let clean: Vec<f32> = rows
        .chunks_exact(N_BINS)
        .enumerate()
        .filter(|(j, _)| !inside.contains(start + Fbank::centre_s(*j)))
        .flat_map(|(_, row)| row.iter().copied())
        .collect();
    if clean.len() >= MIN_CLEAN_ROWS * N_BINS {
        clean
    } else {
        rows
    }
}

/// Smallest pairwise cosine distance between the centroids, see [`Split::separation`].
fn separation(mut centroids: Vec<Vec<f32>>) -> f32 {
    centroids.iter_mut().for_each(|c| normalize(c));
    let mut least = f32::INFINITY;
    for (i, a) in centroids.iter().enumerate() {
        for b in &centroids[i + 1..] {
            least = least.min(1.0 - dot(a, b));
        }
    }
    if least.is_finite() { least } else { 0.0 }
}

/// Pieces of `PIECE_S` every `HOP_S` inside each speech span; the last piece of a span ends
/// at its end; a span shorter than `PIECE_S` (but at least `MIN_PIECE_S`) is one piece.
fn cut(speech: &[Span]) -> Vec<Span> {
    let mut out = Vec::new();
    for s in speech.iter().filter(|s| s.duration() >= MIN_PIECE_S) {
        if s.duration() <= PIECE_S {
            out.push(*s);
            continue;
        }
        let mut start = s.start;
        loop {
            let end = start + PIECE_S;
            if end >= s.end - 1e-9 {
                out.push(Span {
                    start: (s.end - PIECE_S).max(s.start),
                    end: s.end,
                });
                break;
            }
            out.push(Span { start, end });
            start += HOP_S;
        }
    }
    out
}

/// Frame-level majority vote of the pieces' labels inside `speech`; ties go to the later
/// label (the piece that reaches further into the turn); speech frames no piece covers take
/// the label of the nearest piece.
fn vote(speech: &[Span], pieces: &[Span], labels: &[usize], k: usize) -> Vec<SpeakerTurn> {
    let frame = |t: f64| (t / FRAME_S).round() as usize;
    let n = speech.last().map_or(0, |s| frame(s.end));
    let mut votes = vec![0u32; n * k];
    let mut newest = vec![usize::MAX; n];
    for (p, &l) in pieces.iter().zip(labels).filter(|(_, l)| **l < k) {
        for i in frame(p.start)..frame(p.end).min(n) {
            votes[i * k + l] += 1;
            newest[i] = l;
        }
    }
    let nearest = |i: usize| {
        let t = (i as f64 + 0.5) * FRAME_S;
        let distance = |p: &Span| (p.start - t).max(t - p.end).max(0.0);
        pieces
            .iter()
            .zip(labels)
            .min_by(|a, b| distance(a.0).total_cmp(&distance(b.0)))
            .map_or(0, |(_, &l)| l)
    };
    let mut turns: Vec<SpeakerTurn> = Vec::new();
    for s in speech {
        for i in frame(s.start)..frame(s.end).min(n) {
            let row = &votes[i * k..(i + 1) * k];
            let best = row.iter().copied().max().unwrap_or(0);
            let label = if best == 0 {
                nearest(i)
            } else if row[newest[i]] == best {
                newest[i]
            } else {
                (0..k).rev().find(|&c| row[c] == best).unwrap_or(0)
            };
            let (start, end) = (i as f64 * FRAME_S, (i + 1) as f64 * FRAME_S);
            match turns.last_mut() {
                Some(t) if t.speaker == label && (t.span.end - start).abs() < 1e-6 => {
                    t.span.end = end;
                }
                _ => turns.push(SpeakerTurn {
                    speaker: label,
                    span: Span { start, end },
                }),
            }
        }
    }
    turns
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(start: f64, end: f64) -> Span {
        Span { start, end }
    }

    /// `n` filterbank rows, each filled with its own index.
    fn rows(n: usize) -> Vec<f32> {
        (0..n).flat_map(|j| [j as f32; N_BINS]).collect()
    }

    fn row_ids(rows: &[f32]) -> Vec<usize> {
        rows.chunks_exact(N_BINS).map(|r| r[0] as usize).collect()
    }

    #[test]
    fn a_piece_is_embedded_without_its_overlapped_rows_unless_too_few_remain() {
        // 100 rows from 2.0 s; row j is centred at 2.0 + 0.0125 + 0.01 j s. The overlap
        // [2.5, 2.7) holds the centres of rows 49..=68.
        let kept = row_ids(&outside(rows(100), 2.0, &[span(2.5, 2.7)]));
        let want: Vec<usize> = (0..49).chain(69..100).collect();
        assert_eq!(kept, want);
        // An overlap over most of the piece leaves fewer than MIN_CLEAN_ROWS: all rows stay.
        let all = row_ids(&outside(rows(100), 2.0, &[span(2.1, 3.0)]));
        assert_eq!(all, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn pieces_cover_each_span_and_end_at_its_end() {
        let got = cut(&[span(0.0, 3.0), span(4.0, 4.3), span(5.0, 6.0)]);
        let want = [
            span(0.0, 1.5),
            span(0.75, 2.25),
            span(1.5, 3.0),
            span(5.0, 6.0),
        ];
        assert_eq!(got.len(), want.len(), "{got:?}");
        for (g, w) in got.iter().zip(&want) {
            assert!(
                (g.start - w.start).abs() < 1e-9 && (g.end - w.end).abs() < 1e-9,
                "{got:?}"
            );
        }
        let odd = cut(&[span(0.0, 2.0)]);
        assert_eq!(odd.len(), 2, "{odd:?}");
        assert!((odd[1].start - 0.5).abs() < 1e-9 && (odd[1].end - 2.0).abs() < 1e-9);
    }

    #[test]
    fn frames_take_the_majority_and_uncovered_speech_the_nearest_piece() {
        let speech = [span(0.0, 3.0), span(5.0, 5.2)];
        let pieces = [span(0.0, 1.5), span(0.75, 2.25), span(1.5, 3.0)];
        let turns = vote(&speech, &pieces, &[0, 0, 1], 2);
        // 0–1.5 speaker 0; 1.5–2.25 a tie, which goes to the later label; 2.25–3.0 speaker 1;
        // the uncovered 0.2 s region takes the nearest piece's label (1).
        let got: Vec<(usize, f64, f64)> = turns
            .iter()
            .map(|t| (t.speaker, t.span.start, t.span.end))
            .collect();
        let want = [(0, 0.0, 1.5), (1, 1.5, 3.0), (1, 5.0, 5.2)];
        assert_eq!(got.len(), want.len(), "{got:?}");
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g.0, w.0, "{got:?}");
            assert!(
                (g.1 - w.1).abs() < 0.011 && (g.2 - w.2).abs() < 0.011,
                "{got:?}"
            );
        }
    }

    #[test]
    fn a_majority_beats_the_newest_piece() {
        let speech = [span(0.0, 2.0)];
        let pieces = [span(0.0, 2.0), span(0.0, 2.0), span(1.0, 2.0)];
        let turns = vote(&speech, &pieces, &[0, 0, 1], 2);
        assert_eq!(turns.len(), 1, "{turns:?}");
        assert_eq!(turns[0].speaker, 0);
    }

    #[test]
    fn separation_is_the_closest_pair_of_voices() {
        let c = vec![
            vec![1.0, 0.0, 0.0],
            vec![0.0, 2.0, 0.0],
            vec![1.0, 1.0, 0.0],
        ];
        let want = 1.0 - std::f32::consts::FRAC_1_SQRT_2;
        assert!((separation(c) - want).abs() < 1e-6);
        assert!(separation(vec![vec![1.0, 0.0]]).abs() < f32::EPSILON);
    }

    #[test]
    fn too_little_speech_gives_no_turns_and_needs_no_model() {
        assert!(cut(&[span(0.0, 0.4)]).is_empty());
        assert!(vote(&[], &[], &[], 2).is_empty());
    }

    #[test]
    fn fbank_rows_of_a_piece_are_enough_for_an_embedding() {
        let rows = Fbank::new().compute(&vec![0.1f32; (MIN_PIECE_S * 16_000.0) as usize]);
        assert!(rows.len() / N_BINS >= 20);
    }
}
