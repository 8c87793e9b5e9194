//! Dual-channel mode: when each person has their own microphone, who speaks is decided by
//! which channel carries the voice. Bleed (the other person picked up ~20–30 dB down) is
//! rejected by requiring a channel to be within `BLEED_DB` of the louder one, which a bleed
//! copy never is.

use super::activity::{energy_mask, frame_levels, pad, smooth, spans_from_mask};
use crate::domain::timeline;
use crate::domain::{Span, SpeakerTurn};

/// Position of the activity threshold between noise floor and speech level.
const SHARE: f32 = 0.1;
const WIN: usize = 400;
const HOP: usize = 160;
/// A channel quieter than the other by more than this is treated as bleed.
const BLEED_DB: f32 = 15.0;
/// Share of active frames where the channels must differ by > 10 dB to call it dual-channel.
const SEPARATE_SHARE: f32 = 0.4;
/// Frames (10 ms) added around every active run of a channel.
const PAD_FRAMES: usize = 20;

/// Per-channel levels if the two channels carry different people, else `None`.
pub fn detect<S: std::ops::Deref<Target = [f32]>>(ch: &[S; 2]) -> Option<[Vec<f32>; 2]> {
    let l = [
        frame_levels(&ch[0], WIN, HOP),
        frame_levels(&ch[1], WIN, HOP),
    ];
    let median = super::activity::quantile(&l[0], 0.5).max(super::activity::quantile(&l[1], 0.5));
    let active: Vec<usize> = (0..l[0].len().min(l[1].len()))
        .filter(|&i| l[0][i].max(l[1][i]) > median)
        .collect();
    if active.is_empty() {
        return None;
    }
    let separate = active
        .iter()
        .filter(|&&i| (l[0][i] - l[1][i]).abs() > 10.0)
        .count();
    (separate as f32 / active.len() as f32 > SEPARATE_SHARE).then_some(l)
}

/// Turns and overlap regions from per-channel levels; speaker `c` is channel `c`.
pub fn diarize_channels(levels: &[Vec<f32>; 2]) -> (Vec<SpeakerTurn>, Vec<Span>) {
    let hop = HOP as f64 / 16_000.0;
    let centre = WIN as f64 / 32_000.0;
    let n = levels[0].len().min(levels[1].len());
    let mut sets = Vec::new();
    let mut turns = Vec::new();
    for c in 0..2 {
        let own = energy_mask(&levels[c][..n], SHARE);
        let mut mask: Vec<bool> = (0..n)
            .map(|i| own[i] && levels[c][i] > levels[1 - c][i] - BLEED_DB)
            .collect();
        smooth(&mut mask, 30, 10);
        // Onsets and decays sit under the threshold; the references include them.
        pad(&mut mask, PAD_FRAMES);
        let spans = spans_from_mask(&mask, hop, centre);
        turns.extend(spans.iter().map(|&span| SpeakerTurn { speaker: c, span }));
        sets.push(spans);
    }
    turns.sort_by(|a, b| a.span.start.total_cmp(&b.span.start));
    (turns, timeline::overlap_regions(&sets))
}
