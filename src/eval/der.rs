//! Diarization error rate (DER) with an optimal one-to-one speaker mapping, in the two
//! conventions of `shared/data/README.md`, plus the talk-ratio error a coach would notice.
//!
//! - [`Convention::Full`]: no collar, overlapping reference speech scored (pyannote tables).
//! - [`Convention::Nist`]: 0.25 s removed on EACH side of every reference boundary (md-eval's
//!   "collar 0.25", pyannote.metrics `collar=0.5`), reference overlap excluded.
//! - [`Convention::Peers`]: as `Nist` with 0.125 s on each side: pyannote.metrics
//!   `collar=0.25`, the scoring of `shared/data/PEERS.md` (its sherpa-onnx figures reproduce
//!   to the digit this way, not with `Nist`), so a comparison with the peers is like for like.
//!
//! The time is cut into elementary segments at every boundary; in a segment of length `d`
//! with `R` reference and `H` hypothesis speakers of which `C` are correctly mapped pairs:
//! miss `d·max(0,R−H)`, false alarm `d·max(0,H−R)`, confusion `d·(min(R,H)−C)`, total `d·R`.
//! The mapping maximises the total co-occurrence time (Hungarian algorithm), as md-eval does.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::domain::assignment::hungarian_max;
use crate::domain::timeline::{self, Cursor};
use crate::domain::{Span, SpeakerTurn};
use crate::eval::reference::RefTurn;

/// Which scoring convention to apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Convention {
    Full,
    Nist,
    Peers,
}

impl Convention {
    fn collar(self) -> f64 {
        match self {
            Convention::Full => 0.0,
            Convention::Nist => 0.25,
            Convention::Peers => 0.125,
        }
    }
    fn skip_overlap(self) -> bool {
        matches!(self, Convention::Nist | Convention::Peers)
    }
}

/// Scored durations in seconds; rates are fractions of `total`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DerReport {
    pub convention: Convention,
    /// Reference speech time inside the scored regions (overlap counted once per speaker).
    pub total: f64,
    pub miss: f64,
    pub false_alarm: f64,
    pub confusion: f64,
    /// Reference label → hypothesis speaker index it was mapped to.
    pub mapping: BTreeMap<String, Option<usize>>,
}

impl DerReport {
    pub fn der(&self) -> f64 {
        if self.total > 0.0 {
            (self.miss + self.false_alarm + self.confusion) / self.total
        } else {
            0.0
        }
    }
    pub fn rate(&self, part: f64) -> f64 {
        if self.total > 0.0 {
            part / self.total
        } else {
            0.0
        }
    }
}

/// Scores `hyp` against `reference`, only inside `uem` when given.
pub fn score(
    reference: &[RefTurn],
    hyp: &[SpeakerTurn],
    uem: Option<&[Span]>,
    convention: Convention,
) -> DerReport {
    let (labels, ref_sets) = reference_sets(reference);
    let hyp_sets = timeline::by_speaker(hyp);
    let scored = scored_regions(&ref_sets, &hyp_sets, uem, convention);
    let ref_in: Vec<Vec<Span>> = ref_sets
        .iter()
        .map(|s| timeline::intersect(s, &scored))
        .collect();
    let hyp_in: Vec<Vec<Span>> = hyp_sets
        .iter()
        .map(|s| timeline::intersect(s, &scored))
        .collect();
    let map = optimal_mapping(&ref_in, &hyp_in);
    let mut report = accumulate(&ref_in, &hyp_in, &map);
    report.convention = convention;
    report.mapping = labels.into_iter().zip(map).collect();
    report
}

/// Largest absolute difference, in percentage points, between a reference speaker's share of
/// the total reference talk time and its mapped hypothesis speaker's share of hypothesis talk
/// time (inside the UEM, no collar; an unmapped speaker has share 0).
pub fn talk_ratio_error(reference: &[RefTurn], hyp: &[SpeakerTurn], uem: Option<&[Span]>) -> f64 {
    let (_, ref_sets) = reference_sets(reference);
    let hyp_sets = timeline::by_speaker(hyp);
    let region = scored_regions(&ref_sets, &hyp_sets, uem, Convention::Full);
    let ref_t: Vec<f64> = ref_sets
        .iter()
        .map(|s| timeline::total(&timeline::intersect(s, &region)))
        .collect();
    let hyp_t: Vec<f64> = hyp_sets
        .iter()
        .map(|s| timeline::total(&timeline::intersect(s, &region)))
        .collect();
    let (rsum, hsum) = (ref_t.iter().sum::<f64>(), hyp_t.iter().sum::<f64>());
    let ref_in: Vec<Vec<Span>> = ref_sets
        .iter()
        .map(|s| timeline::intersect(s, &region))
        .collect();
    let hyp_in: Vec<Vec<Span>> = hyp_sets
        .iter()
        .map(|s| timeline::intersect(s, &region))
        .collect();
    let map = optimal_mapping(&ref_in, &hyp_in);
    let share = |t: f64, sum: f64| if sum > 0.0 { t / sum } else { 0.0 };
    ref_t
        .iter()
        .zip(&map)
        .map(|(&r, m)| {
            let h = m.map_or(0.0, |j| share(hyp_t[j], hsum));
            (share(r, rsum) - h).abs() * 100.0
        })
        .fold(0.0, f64::max)
}

fn reference_sets(reference: &[RefTurn]) -> (Vec<String>, Vec<Vec<Span>>) {
    let mut by_label: BTreeMap<&str, Vec<Span>> = BTreeMap::new();
    for t in reference {
        by_label.entry(&t.speaker).or_default().push(t.span);
    }
    by_label
        .into_iter()
        .map(|(k, v)| (k.to_owned(), timeline::normalize(v)))
        .unzip()
}

fn scored_regions(
    ref_sets: &[Vec<Span>],
    hyp_sets: &[Vec<Span>],
    uem: Option<&[Span]>,
    conv: Convention,
) -> Vec<Span> {
    let base = match uem {
        Some(u) => timeline::normalize(u.iter().copied()),
        None => {
            let end = ref_sets
                .iter()
                .chain(hyp_sets)
                .flatten()
                .map(|s| s.end)
                .fold(0.0, f64::max);
            vec![Span { start: 0.0, end }]
        }
    };
    let mut excluded = Vec::new();
    let c = conv.collar();
    if c > 0.0 {
        for s in ref_sets.iter().flatten() {
            excluded.push(Span {
                start: s.start - c,
                end: s.start + c,
            });
            excluded.push(Span {
                start: s.end - c,
                end: s.end + c,
            });
        }
    }
    if conv.skip_overlap() {
        excluded.extend(timeline::overlap_regions(ref_sets));
    }
    timeline::subtract(&base, &timeline::normalize(excluded))
}

/// Maps each reference speaker to at most one hypothesis speaker, maximising co-occurrence.
fn optimal_mapping(ref_sets: &[Vec<Span>], hyp_sets: &[Vec<Span>]) -> Vec<Option<usize>> {
    let gain: Vec<Vec<f64>> = ref_sets
        .iter()
        .map(|r| {
            hyp_sets
                .iter()
                .map(|h| timeline::total(&timeline::intersect(r, h)))
                .collect()
        })
        .collect();
    let assign = hungarian_max(&gain);
    assign
        .into_iter()
        .enumerate()
        .map(|(i, j)| j.filter(|&j| gain[i][j] > 0.0))
        .collect()
}

fn accumulate(ref_sets: &[Vec<Span>], hyp_sets: &[Vec<Span>], map: &[Option<usize>]) -> DerReport {
    let mut cuts: Vec<f64> = ref_sets
        .iter()
        .chain(hyp_sets)
        .flatten()
        .flat_map(|s| [s.start, s.end])
        .collect();
    cuts.sort_by(f64::total_cmp);
    cuts.dedup();
    let mut rc: Vec<Cursor> = ref_sets.iter().map(|s| Cursor::new(s)).collect();
    let mut hc: Vec<Cursor> = hyp_sets.iter().map(|s| Cursor::new(s)).collect();
    let mut rep = DerReport {
        convention: Convention::Full,
        total: 0.0,
        miss: 0.0,
        false_alarm: 0.0,
        confusion: 0.0,
        mapping: BTreeMap::new(),
    };
    for w in cuts.windows(2) {
        let (d, mid) = (w[1] - w[0], 0.5 * (w[0] + w[1]));
        let r_on: Vec<bool> = rc.iter_mut().map(|c| c.contains(mid)).collect();
        let h_on: Vec<bool> = hc.iter_mut().map(|c| c.contains(mid)).collect();
        let nr = r_on.iter().filter(|&&b| b).count() as f64;
        let nh = h_on.iter().filter(|&&b| b).count() as f64;
        let correct = r_on
            .iter()
            .zip(map)
            .filter(|(on, m)| **on && m.is_some_and(|j| h_on[j]))
            .count() as f64;
        rep.total += d * nr;
        rep.miss += d * (nr - nh).max(0.0);
        rep.false_alarm += d * (nh - nr).max(0.0);
        rep.confusion += d * (nr.min(nh) - correct);
    }
    rep
}

#[cfg(test)]
#[path = "der_tests.rs"]
mod tests;
