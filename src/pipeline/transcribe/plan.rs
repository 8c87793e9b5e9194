//! Where to cut the recording: chunks at non-speech (for timed models) or merged speaker
//! turns (for text-only models), every piece under the upload size and duration limits.

use crate::domain::{ANALYSIS_RATE, Span, SpeakerTurn};
use crate::pipeline::encode::max_flac_bytes;

/// Limits and knobs of chunking.
#[derive(Clone, Debug)]
pub struct ChunkingConfig {
    /// Provider upload limit (OpenAI: 25 MB).
    pub max_bytes: usize,
    /// Longest chunk in seconds; shorter chunks mean more parallelism and smaller retries.
    pub max_duration_s: f64,
    /// Silence kept around speech so that word onsets and endings are not clipped.
    pub pad_s: f64,
    /// Requests in flight at once.
    pub in_flight: usize,
    /// Text-only models: a turn shorter than this is merged into a neighbour or padded,
    /// because a fraction of a second gives the model too little to go on.
    pub min_turn_s: f64,
    /// Text-only models: same-speaker turns separated by less than this become one request.
    pub turn_merge_gap_s: f64,
}

impl Default for ChunkingConfig {
    fn default() -> Self {
        Self {
            max_bytes: 25 * 1024 * 1024,
            max_duration_s: 600.0,
            pad_s: 0.3,
            in_flight: 4,
            min_turn_s: 2.0,
            turn_merge_gap_s: 1.0,
        }
    }
}

impl ChunkingConfig {
    /// The longest piece that fits both limits, whatever the FLAC compression achieves.
    pub fn limit_s(&self) -> f64 {
        let (mut lo, mut hi) = (0.0_f64, self.max_duration_s.max(1.0));
        for _ in 0..40 {
            let mid = (lo + hi) / 2.0;
            if max_flac_bytes(mid) <= self.max_bytes {
                lo = mid
            } else {
                hi = mid
            }
        }
        lo.min(self.max_duration_s)
    }
}

/// Cuts `samples` into chunks that contain all speech, cut only in non-speech unless a
/// single stretch of speech is longer than the limit (then at its quietest moment).
pub fn plan_chunks(samples: &[f32], speech: &[Span], cfg: &ChunkingConfig) -> Vec<Span> {
    let total = samples.len() as f64 / f64::from(ANALYSIS_RATE);
    let limit = cfg.limit_s();
    let regions = padded_regions(speech, cfg.pad_s, total);
    let pieces: Vec<Span> = regions
        .iter()
        .flat_map(|r| split_long(samples, *r, limit))
        .collect();
    let mut chunks: Vec<Span> = Vec::new();
    for p in pieces {
        match chunks.last_mut() {
            Some(c) if p.end - c.start <= limit => c.end = p.end,
            _ => chunks.push(p),
        }
    }
    chunks
}

fn padded_regions(speech: &[Span], pad: f64, total: f64) -> Vec<Span> {
    let mut spans: Vec<Span> = speech
        .iter()
        .map(|s| Span {
            start: (s.start - pad).max(0.0),
            end: (s.end + pad).min(total),
        })
        .filter(|s| s.end > s.start)
        .collect();
    spans.sort_by(|a, b| a.start.total_cmp(&b.start));
    let mut merged: Vec<Span> = Vec::new();
    for s in spans {
        match merged.last_mut() {
            Some(m) if s.start <= m.end => m.end = m.end.max(s.end),
            _ => merged.push(s),
        }
    }
    merged
}

/// Splits a span longer than `limit` at the quietest 50 ms in the last half of each window.
fn split_long(samples: &[f32], span: Span, limit: f64) -> Vec<Span> {
    let mut out = Vec::new();
    let mut start = span.start;
    while span.end - start > limit {
        let cut = quietest(samples, start + limit * 0.5, start + limit).unwrap_or(start + limit);
        out.push(Span { start, end: cut });
        start = cut;
    }
    out.push(Span {
        start,
        end: span.end,
    });
    out
}

fn quietest(samples: &[f32], from: f64, to: f64) -> Option<f64> {
    let rate = f64::from(ANALYSIS_RATE);
    let frame = (0.05 * rate) as usize;
    let (a, b) = (
        (from * rate) as usize,
        ((to * rate) as usize).min(samples.len()),
    );
    (a..b.saturating_sub(frame))
        .step_by(frame / 2)
        .map(|i| (i, samples[i..i + frame].iter().map(|x| x * x).sum::<f32>()))
        .min_by(|x, y| x.1.total_cmp(&y.1))
        .map(|(i, _)| (i + frame / 2) as f64 / rate)
}

/// Speaker turns made fit for one request each: same-speaker neighbours merged, short
/// turns folded into a touching longer turn (else padded to the minimum length), and
/// turns over the limit split.
pub fn plan_turns(turns: &[SpeakerTurn], cfg: &ChunkingConfig, total: f64) -> Vec<SpeakerTurn> {
    let mut sorted = turns.to_vec();
    sorted.sort_by(|a, b| a.span.start.total_cmp(&b.span.start));
    let merged = merge_same_speaker(sorted, cfg.turn_merge_gap_s);
    let folded = fold_short(merged, cfg.min_turn_s);
    let limit = cfg.limit_s();
    folded
        .into_iter()
        .flat_map(|t| {
            let pad = ((cfg.min_turn_s - t.span.duration()) / 2.0).max(0.0);
            let span = Span {
                start: (t.span.start - pad).max(0.0),
                end: (t.span.end + pad).min(total),
            };
            chop(span, limit).into_iter().map(move |span| SpeakerTurn {
                speaker: t.speaker,
                span,
            })
        })
        .collect()
}

fn merge_same_speaker(turns: Vec<SpeakerTurn>, gap: f64) -> Vec<SpeakerTurn> {
    let mut out: Vec<SpeakerTurn> = Vec::new();
    for t in turns {
        match out.last_mut() {
            Some(p) if p.speaker == t.speaker && t.span.start - p.span.end <= gap => {
                p.span.end = p.span.end.max(t.span.end)
            }
            _ => out.push(t),
        }
    }
    out
}

/// A short turn that touches (or overlaps) a longer one rides along with it: the request
/// then carries both voices, and alignment later gives it back its own speaker by time.
fn fold_short(turns: Vec<SpeakerTurn>, min_s: f64) -> Vec<SpeakerTurn> {
    const TOUCH_S: f64 = 0.3;
    let mut out: Vec<SpeakerTurn> = Vec::new();
    for t in turns {
        match out.last_mut() {
            Some(p)
                if t.span.start - p.span.end <= TOUCH_S
                    && (t.span.duration() < min_s || p.span.duration() < min_s) =>
            {
                if t.span.duration() > p.span.duration() {
                    p.speaker = t.speaker;
                }
                p.span.end = p.span.end.max(t.span.end);
            }
            _ => out.push(t),
        }
    }
    out
}

fn chop(span: Span, limit: f64) -> Vec<Span> {
    let n = (span.duration() / limit).ceil().max(1.0) as usize;
    let step = span.duration() / n as f64;
    (0..n)
        .map(|i| Span {
            start: span.start + step * i as f64,
            end: span.start + step * (i + 1) as f64,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sp(start: f64, end: f64) -> Span {
        Span { start, end }
    }

    #[test]
    fn chunks_cut_in_gaps_and_respect_the_limit() {
        let samples = vec![0.0; ANALYSIS_RATE as usize * 100];
        let cfg = ChunkingConfig {
            max_duration_s: 30.0,
            pad_s: 0.2,
            ..Default::default()
        };
        let speech = [
            sp(1.0, 10.0),
            sp(12.0, 25.0),
            sp(27.0, 40.0),
            sp(60.0, 62.0),
        ];
        let chunks = plan_chunks(&samples, &speech, &cfg);
        // 0.8..40.2 would exceed 30 s, and so would 26.8..62.2.
        let expect = [sp(0.8, 25.2), sp(26.8, 40.2), sp(59.8, 62.2)];
        assert_eq!(chunks.len(), 3, "{chunks:?}");
        for (c, e) in chunks.iter().zip(expect) {
            assert!(
                (c.start - e.start).abs() < 1e-9 && (c.end - e.end).abs() < 1e-9,
                "{chunks:?}"
            );
        }
        for c in &chunks {
            assert!(c.duration() <= 30.0);
        }
    }

    #[test]
    fn byte_limit_shortens_chunks() {
        let cfg = ChunkingConfig {
            max_bytes: 1_000_000,
            ..Default::default()
        };
        let l = cfg.limit_s();
        assert!(
            l < 31.5 && l > 29.0 && max_flac_bytes(l) <= 1_000_000,
            "{l}"
        );
    }

    #[test]
    fn a_long_monologue_is_split_at_its_quietest_moment() {
        let rate = ANALYSIS_RATE as usize;
        let mut samples: Vec<f32> = (0..rate * 50)
            .map(|i| (i as f32 * 0.1).sin() * 0.5)
            .collect();
        samples[rate * 20..rate * 20 + rate / 5].fill(0.0);
        let cfg = ChunkingConfig {
            max_duration_s: 30.0,
            pad_s: 0.0,
            ..Default::default()
        };
        let chunks = plan_chunks(&samples, &[sp(0.0, 50.0)], &cfg);
        assert_eq!(chunks.len(), 2);
        assert!((chunks[0].end - 20.1).abs() < 0.1, "{chunks:?}");
    }

    #[test]
    fn turns_merge_fold_and_pad() {
        let t = |speaker, s, e| SpeakerTurn {
            speaker,
            span: sp(s, e),
        };
        let turns = [
            t(0, 0.0, 5.0),
            t(0, 5.5, 9.0),
            t(1, 9.1, 9.6),
            t(1, 20.0, 20.4),
            t(0, 30.0, 40.0),
        ];
        let cfg = ChunkingConfig {
            min_turn_s: 2.0,
            turn_merge_gap_s: 1.0,
            ..Default::default()
        };
        let planned = plan_turns(&turns, &cfg, 100.0);
        assert_eq!(planned.len(), 3, "{planned:?}");
        assert_eq!((planned[0].speaker, planned[0].span), (0, sp(0.0, 9.6)));
        assert_eq!(planned[1].speaker, 1);
        assert!((planned[1].span.duration() - 2.0).abs() < 1e-9);
    }
}
