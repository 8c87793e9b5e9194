//! VAD frame error: miss and false alarm against reference speech, at a fixed frame step.
//!
//! A frame counts when its centre lies inside a scoring region; it is speech in the
//! reference (or hypothesis) when its centre lies inside one of those spans. Percentages
//! are of scored time, the convention of pyannote's detection error rate numerator split.

use std::ops::AddAssign;

use crate::domain::Span;

/// Accumulated durations in seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FrameError {
    pub scored_s: f64,
    pub speech_s: f64,
    pub miss_s: f64,
    pub false_alarm_s: f64,
}

impl FrameError {
    pub fn miss_pct(&self) -> f64 {
        pct(self.miss_s, self.scored_s)
    }
    pub fn false_alarm_pct(&self) -> f64 {
        pct(self.false_alarm_s, self.scored_s)
    }
    pub fn total_pct(&self) -> f64 {
        pct(self.miss_s + self.false_alarm_s, self.scored_s)
    }
}

impl AddAssign for FrameError {
    fn add_assign(&mut self, o: Self) {
        self.scored_s += o.scored_s;
        self.speech_s += o.speech_s;
        self.miss_s += o.miss_s;
        self.false_alarm_s += o.false_alarm_s;
    }
}

fn pct(part: f64, whole: f64) -> f64 {
    if whole > 0.0 {
        100.0 * part / whole
    } else {
        0.0
    }
}

/// Scores `hypothesis` against `reference` inside `scored`, with frames of `step` seconds.
/// All span lists must be sorted by start (merged lists are).
pub fn vad_frame_error(
    hypothesis: &[Span],
    reference: &[Span],
    scored: &[Span],
    step: f64,
) -> FrameError {
    let mut out = FrameError::default();
    let (mut hyp, mut refs) = (Cursor::new(hypothesis), Cursor::new(reference));
    for region in scored {
        let first = (region.start / step).floor() as i64;
        let last = (region.end / step).ceil() as i64;
        for i in first..last {
            let t = (i as f64 + 0.5) * step;
            if t < region.start || t >= region.end {
                continue;
            }
            out.scored_s += step;
            match (refs.contains(t), hyp.contains(t)) {
                (true, true) => out.speech_s += step,
                (true, false) => {
                    out.speech_s += step;
                    out.miss_s += step;
                }
                (false, true) => out.false_alarm_s += step,
                (false, false) => {}
            }
        }
    }
    out
}

/// Membership test for increasing query times over sorted spans, in amortised O(1).
struct Cursor<'a> {
    spans: &'a [Span],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn new(spans: &'a [Span]) -> Self {
        Self { spans, at: 0 }
    }
    fn contains(&mut self, t: f64) -> bool {
        while self.at < self.spans.len() && self.spans[self.at].end <= t {
            self.at += 1;
        }
        self.spans.get(self.at).is_some_and(|s| s.start <= t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(start: f64, end: f64) -> Span {
        Span { start, end }
    }

    #[test]
    fn counts_miss_and_false_alarm_inside_scored_region() {
        let reference = [s(1.0, 3.0), s(5.0, 6.0)];
        let hyp = [s(2.0, 4.0), s(5.0, 6.0), s(9.0, 12.0)];
        let e = vad_frame_error(&hyp, &reference, &[s(0.0, 10.0)], 0.01);
        assert!((e.scored_s - 10.0).abs() < 1e-6);
        assert!((e.speech_s - 3.0).abs() < 1e-6);
        assert!((e.miss_s - 1.0).abs() < 1e-6);
        assert!((e.false_alarm_s - 2.0).abs() < 1e-6, "{e:?}");
        assert!((e.total_pct() - 30.0).abs() < 1e-4);
    }

    #[test]
    fn perfect_and_empty_hypotheses() {
        let reference = [s(0.5, 1.5)];
        let e = vad_frame_error(&reference, &reference, &[s(0.0, 2.0)], 0.01);
        assert_eq!(e.miss_s + e.false_alarm_s, 0.0);
        let e = vad_frame_error(&[], &reference, &[s(0.0, 2.0)], 0.01);
        assert!((e.miss_pct() - 50.0).abs() < 1e-4);
    }
}
