//! Sorted, disjoint interval sets: the small algebra DER scoring and the speaking-time metrics
//! share (union, difference, intersection) so every scorer sees the same time arithmetic.

use crate::domain::{Span, SpeakerTurn};

/// Sorts spans and merges the ones that touch or overlap; empty spans are dropped.
pub fn normalize(spans: impl IntoIterator<Item = Span>) -> Vec<Span> {
    let mut v: Vec<Span> = spans.into_iter().filter(|s| s.end > s.start).collect();
    v.sort_by(|a, b| a.start.total_cmp(&b.start));
    let mut out: Vec<Span> = Vec::with_capacity(v.len());
    for s in v {
        match out.last_mut() {
            Some(last) if s.start <= last.end => last.end = last.end.max(s.end),
            _ => out.push(s),
        }
    }
    out
}

/// Each speaker's talk (`0..SpeakerTurn::speaker_count`) as a normalized set.
pub fn by_speaker(turns: &[SpeakerTurn]) -> Vec<Vec<Span>> {
    (0..SpeakerTurn::speaker_count(turns))
        .map(|c| normalize(turns.iter().filter(|t| t.speaker == c).map(|t| t.span)))
        .collect()
}

/// `a \ b` for normalized inputs.
pub fn subtract(a: &[Span], b: &[Span]) -> Vec<Span> {
    let mut out = Vec::new();
    let mut j = 0;
    for s in a {
        let mut cur = s.start;
        while j < b.len() && b[j].end <= cur {
            j += 1;
        }
        let mut k = j;
        while k < b.len() && b[k].start < s.end {
            if b[k].start > cur {
                out.push(Span {
                    start: cur,
                    end: b[k].start,
                });
            }
            cur = cur.max(b[k].end);
            k += 1;
        }
        if cur < s.end {
            out.push(Span {
                start: cur,
                end: s.end,
            });
        }
    }
    out
}

/// `a ∩ b` for normalized inputs.
pub fn intersect(a: &[Span], b: &[Span]) -> Vec<Span> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        let start = a[i].start.max(b[j].start);
        let end = a[i].end.min(b[j].end);
        if end > start {
            out.push(Span { start, end });
        }
        if a[i].end < b[j].end { i += 1 } else { j += 1 }
    }
    out
}

/// Total duration of a normalized set.
pub fn total(spans: &[Span]) -> f64 {
    spans.iter().map(Span::duration).sum()
}

/// Regions covered by at least two of the given per-speaker sets.
pub fn overlap_regions(sets: &[Vec<Span>]) -> Vec<Span> {
    let mut events: Vec<(f64, i32)> = sets
        .iter()
        .flatten()
        .flat_map(|s| [(s.start, 1), (s.end, -1)])
        .collect();
    // Ends sort before starts at the same instant so touching turns do not count as overlap.
    events.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let (mut depth, mut open, mut out) = (0, 0.0, Vec::new());
    for (t, d) in events {
        if depth < 2 && depth + d >= 2 {
            open = t;
        } else if depth >= 2 && depth + d < 2 && t > open {
            out.push(Span {
                start: open,
                end: t,
            });
        }
        depth += d;
    }
    normalize(out)
}

/// Answers "is `t` inside the set?" for non-decreasing `t` in amortised O(1).
pub struct Cursor<'a> {
    spans: &'a [Span],
    idx: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(spans: &'a [Span]) -> Self {
        Self { spans, idx: 0 }
    }
    pub fn contains(&mut self, t: f64) -> bool {
        while self.idx < self.spans.len() && self.spans[self.idx].end <= t {
            self.idx += 1;
        }
        self.spans.get(self.idx).is_some_and(|s| s.start <= t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    fn sp(a: f64, b: f64) -> Span {
        Span { start: a, end: b }
    }
    #[test]
    fn set_algebra() {
        let a = normalize([sp(5.0, 8.0), sp(0.0, 2.0), sp(1.0, 3.0)]);
        assert_eq!(a, vec![sp(0.0, 3.0), sp(5.0, 8.0)]);
        let b = vec![sp(1.0, 2.0), sp(6.0, 9.0)];
        assert_eq!(
            subtract(&a, &b),
            vec![sp(0.0, 1.0), sp(2.0, 3.0), sp(5.0, 6.0)]
        );
        assert_eq!(intersect(&a, &b), vec![sp(1.0, 2.0), sp(6.0, 8.0)]);
        assert_eq!(total(&a), 6.0);
        let ov = overlap_regions(&[vec![sp(0.0, 4.0)], vec![sp(3.0, 6.0)], vec![sp(4.0, 5.0)]]);
        assert_eq!(ov, vec![sp(3.0, 5.0)]);
    }
}
