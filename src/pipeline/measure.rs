//! Speaking-time metrics from a diarization: who talked how much, in what turns, how fast the
//! floor changed hands, who overlapped whom and how silences were broken.
//!
//! Turn rule: a speaker's consecutive segments separated by a pause shorter than
//! [`MERGE_PAUSE`] seconds, with no other speaker starting in between, form ONE turn (a
//! breath or hesitation does not end a turn). Every metric carries the diarization's
//! confidence and is withheld (value `None`, with a reason) below [`MIN_CONFIDENCE`].

use serde::Serialize;

use crate::domain::SpeakerTurn;
use crate::pipeline::diarize::{Diarization, Mode};

pub const MERGE_PAUSE: f64 = 0.5;
pub const MIN_SILENCE: f64 = 3.0;
pub const MIN_CONFIDENCE: f32 = 0.5;

/// A metric value, or the reason it was withheld.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Measured<T> {
    pub value: Option<T>,
    pub confidence: f32,
    pub withheld: Option<String>,
}

impl<T> Measured<T> {
    fn gate(value: T, confidence: f32) -> Self {
        if confidence >= MIN_CONFIDENCE {
            Self {
                value: Some(value),
                confidence,
                withheld: None,
            }
        } else {
            Self::withhold(
                confidence,
                format!("diarization confidence {confidence:.2} below {MIN_CONFIDENCE}"),
            )
        }
    }
    fn withhold(confidence: f32, reason: String) -> Self {
        Self {
            value: None,
            confidence,
            withheld: Some(reason),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SpeakerStats {
    pub speaker: usize,
    pub talk_time_s: f64,
    pub talk_ratio: f64,
    pub turns: usize,
    pub mean_turn_s: f64,
    pub median_turn_s: f64,
    pub longest_monologue_s: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Latency {
    pub count: usize,
    pub median_s: f64,
    pub p90_s: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OverlapEvent {
    pub start: f64,
    pub duration: f64,
    /// The speaker who came in while the other was talking.
    pub started_by: usize,
    pub overlapped: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SilenceEvent {
    pub start: f64,
    pub duration: f64,
    /// `None` when the recording ends in the silence.
    pub broken_by: Option<usize>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SpeakingMetrics {
    pub speakers: Measured<Vec<SpeakerStats>>,
    pub gini_coefficient: Measured<f64>,
    pub switches_per_minute: Measured<f64>,
    pub response_latency: Measured<Latency>,
    pub overlaps: Measured<Vec<OverlapEvent>>,
    pub silences: Measured<Vec<SilenceEvent>>,
}

/// Computes every metric; `duration` is the recording length in seconds.
pub fn measure(d: &Diarization, duration: f64) -> SpeakingMetrics {
    let c = d.confidence;
    if d.turns.is_empty() {
        return nothing_to_measure(c);
    }
    let turns = merge_turns(&d.turns);
    let stats = speaker_stats(&turns, d.num_speakers);
    let gini = gini(&stats.iter().map(|s| s.talk_time_s).collect::<Vec<_>>());
    let latencies = floor_changes(&turns);
    let switches = latencies.len() as f64 / (duration / 60.0).max(1e-9);
    let response_latency = if latencies.len() < 3 {
        Measured::withhold(c, format!("only {} floor changes", latencies.len()))
    } else {
        Measured::gate(latency(latencies), c)
    };
    let overlaps = if d.mode == Mode::Mono && d.overlaps.is_empty() {
        Measured::withhold(
            c,
            "mono diarization found no overlap it could confirm".into(),
        )
    } else {
        Measured::gate(overlap_events(&turns), c)
    };
    SpeakingMetrics {
        speakers: Measured::gate(stats, c),
        gini_coefficient: Measured::gate(gini, c),
        switches_per_minute: Measured::gate(switches, c),
        response_latency,
        overlaps,
        silences: Measured::gate(silences(&d.turns, duration), c),
    }
}

/// No speech found: every metric withheld with that reason, not with a confidence figure
/// that would read like a doubtful measurement.
fn nothing_to_measure(c: f32) -> SpeakingMetrics {
    let why = || "no speech found in the recording".to_owned();
    SpeakingMetrics {
        speakers: Measured::withhold(c, why()),
        gini_coefficient: Measured::withhold(c, why()),
        switches_per_minute: Measured::withhold(c, why()),
        response_latency: Measured::withhold(c, why()),
        overlaps: Measured::withhold(c, why()),
        silences: Measured::withhold(c, why()),
    }
}

/// Applies the turn rule of the module doc; input in any order, output sorted by start.
pub fn merge_turns(turns: &[SpeakerTurn]) -> Vec<SpeakerTurn> {
    let mut sorted = turns.to_vec();
    sorted.sort_by(|a, b| a.span.start.total_cmp(&b.span.start));
    let mut out: Vec<SpeakerTurn> = Vec::new();
    for t in sorted {
        let last_same = out.iter().rposition(|o| o.speaker == t.speaker);
        let mergeable = last_same.is_some_and(|i| {
            let gap_ok = t.span.start - out[i].span.end < MERGE_PAUSE;
            let nobody_between = out[i + 1..].iter().all(|o| o.span.start < out[i].span.end);
            gap_ok && nobody_between
        });
        match last_same {
            Some(i) if mergeable => out[i].span.end = out[i].span.end.max(t.span.end),
            _ => out.push(t),
        }
    }
    out
}

fn speaker_stats(turns: &[SpeakerTurn], n: usize) -> Vec<SpeakerStats> {
    let total: f64 = turns.iter().map(|t| t.span.duration()).sum();
    (0..n)
        .map(|s| {
            let mut lens: Vec<f64> = turns
                .iter()
                .filter(|t| t.speaker == s)
                .map(|t| t.span.duration())
                .collect();
            lens.sort_by(f64::total_cmp);
            let talk: f64 = lens.iter().sum();
            SpeakerStats {
                speaker: s,
                talk_time_s: talk,
                talk_ratio: if total > 0.0 { talk / total } else { 0.0 },
                turns: lens.len(),
                mean_turn_s: if lens.is_empty() {
                    0.0
                } else {
                    talk / lens.len() as f64
                },
                median_turn_s: quantile(&lens, 0.5),
                longest_monologue_s: lens.last().copied().unwrap_or(0.0),
            }
        })
        .collect()
}

/// Gini coefficient: mean absolute difference over all ordered pairs / (2 · mean).
pub fn gini(x: &[f64]) -> f64 {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    if x.is_empty() || mean <= 0.0 {
        return 0.0;
    }
    let diff: f64 = x
        .iter()
        .flat_map(|a| x.iter().map(move |b| (a - b).abs()))
        .sum();
    diff / (2.0 * n * n * mean)
}

/// Gap (s, ≥ 0) before each turn that takes the floor from a different speaker.
fn floor_changes(turns: &[SpeakerTurn]) -> Vec<f64> {
    turns
        .windows(2)
        .filter(|w| w[0].speaker != w[1].speaker)
        .map(|w| (w[1].span.start - w[0].span.end).max(0.0))
        .collect()
}

fn latency(mut v: Vec<f64>) -> Latency {
    v.sort_by(f64::total_cmp);
    Latency {
        count: v.len(),
        median_s: quantile(&v, 0.5),
        p90_s: quantile(&v, 0.9),
    }
}

/// Linear-interpolated quantile of sorted data.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

fn overlap_events(turns: &[SpeakerTurn]) -> Vec<OverlapEvent> {
    let mut out = Vec::new();
    for (i, a) in turns.iter().enumerate() {
        for b in turns[i + 1..]
            .iter()
            .take_while(|b| b.span.start < a.span.end)
        {
            let d = a.span.overlap(&b.span);
            if b.speaker != a.speaker && d > 0.0 {
                out.push(OverlapEvent {
                    start: b.span.start,
                    duration: d,
                    started_by: b.speaker,
                    overlapped: a.speaker,
                });
            }
        }
    }
    out
}

fn silences(turns: &[SpeakerTurn], duration: f64) -> Vec<SilenceEvent> {
    let mut sorted = turns.to_vec();
    sorted.sort_by(|a, b| a.span.start.total_cmp(&b.span.start));
    let mut out = Vec::new();
    let mut covered = 0.0f64;
    for t in &sorted {
        if t.span.start - covered >= MIN_SILENCE && covered > 0.0 {
            out.push(SilenceEvent {
                start: covered,
                duration: t.span.start - covered,
                broken_by: Some(t.speaker),
            });
        }
        covered = covered.max(t.span.end);
    }
    if duration - covered >= MIN_SILENCE && covered > 0.0 {
        out.push(SilenceEvent {
            start: covered,
            duration: duration - covered,
            broken_by: None,
        });
    }
    out
}

#[cfg(test)]
#[path = "measure_tests.rs"]
mod tests;
