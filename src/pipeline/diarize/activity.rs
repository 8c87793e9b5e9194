//! Frame-level activity masks from levels: used for each channel of a dual-channel recording
//! and, when the caller has no VAD regions, as the speech mask of the mono path.

use crate::domain::Span;

/// Level in dB of each 10 ms hop (25 ms window) of a 16 kHz signal.
pub fn frame_levels(x: &[f32], win: usize, hop: usize) -> Vec<f32> {
    let n = x.len().div_ceil(hop);
    (0..n)
        .map(|i| {
            let a = i * hop;
            let seg = &x[a..(a + win).min(x.len())];
            let ms = seg.iter().map(|v| v * v).sum::<f32>() / seg.len().max(1) as f32;
            10.0 * ms.max(1e-10).log10()
        })
        .collect()
}

/// Levels at or below this are digital silence ([`frame_levels`] clamps at -100 dB).
const DIGITAL_FLOOR_DB: f32 = -99.0;

/// `q`-quantile of the levels above the digital floor.
pub fn quantile(levels: &[f32], q: f32) -> f32 {
    let mut v: Vec<f32> = levels
        .iter()
        .copied()
        .filter(|&l| l > DIGITAL_FLOOR_DB)
        .collect();
    if v.is_empty() {
        return -100.0;
    }
    v.sort_by(f32::total_cmp);
    v[((v.len() - 1) as f32 * q) as usize]
}

/// Speech where the level is well above the noise floor: the threshold sits a fixed share of
/// the way from the floor (10th percentile) to the loud speech level (95th percentile), but
/// never less than 6 dB above the floor. Where a tenth or more of the frames are digital
/// silence (a gated or muted channel, e.g. Zoom's per-participant tracks), that silence is
/// the floor: the quantile of the other frames would measure speech against itself and
/// find none.
pub fn energy_mask(levels: &[f32], share: f32) -> Vec<bool> {
    let silent = levels.iter().filter(|&&l| l <= DIGITAL_FLOOR_DB).count();
    let floor = if silent * 10 >= levels.len() {
        -100.0
    } else {
        quantile(levels, 0.10)
    };
    let peak = quantile(levels, 0.95);
    let thr = floor + (share * (peak - floor)).max(6.0);
    levels.iter().map(|&l| l > thr).collect()
}

/// Closes gaps shorter than `gap` frames, then drops runs shorter than `min_run` frames.
pub fn smooth(mask: &mut [bool], gap: usize, min_run: usize) {
    for_runs(mask, false, |run, inner| inner && run < gap, true);
    for_runs(mask, true, |run, _| run < min_run, false);
}

/// Extends every run of `true` by `frames` on both sides (speech onsets and decays are
/// quieter than the threshold).
pub fn pad(mask: &mut [bool], frames: usize) {
    if frames > 0 {
        let padded = widened(mask, frames as isize);
        mask.copy_from_slice(&padded);
    }
}

/// `mask` with every run of `true` widened by `by` frames on both sides, or narrowed when
/// `by` is negative (a run narrowed to nothing vanishes; widened runs may merge).
pub fn widened(mask: &[bool], by: isize) -> Vec<bool> {
    let n = mask.len() as isize;
    let mut out = vec![false; mask.len()];
    for run in crate::dsp::vad::runs_of(mask, true) {
        let a = (run.start as isize - by).clamp(0, n) as usize;
        let b = (run.end as isize + by).clamp(0, n) as usize;
        if a < b {
            out[a..b].iter_mut().for_each(|m| *m = true);
        }
    }
    out
}

/// Rewrites runs equal to `value` to `to` where `pred(run_len, is_inner)` holds.
fn for_runs(mask: &mut [bool], value: bool, pred: impl Fn(usize, bool) -> bool, to: bool) {
    let n = mask.len();
    let mut i = 0;
    while i < n {
        if mask[i] != value {
            i += 1;
            continue;
        }
        let s = i;
        while i < n && mask[i] == value {
            i += 1;
        }
        if pred(i - s, s > 0 && i < n) {
            mask[s..i].iter_mut().for_each(|m| *m = to);
        }
    }
}

/// Mask of frames whose centre falls inside the spans.
pub fn mask_from_spans(spans: &[Span], n: usize, hop: f64, centre: f64) -> Vec<bool> {
    let mut mask = vec![false; n];
    for s in spans {
        let a = ((s.start - centre) / hop).ceil().max(0.0) as usize;
        let b = (((s.end - centre) / hop).ceil().max(0.0) as usize).min(n);
        mask[a.min(b)..b].iter_mut().for_each(|m| *m = true);
    }
    mask
}

/// Runs of `true` as spans, frame `i` covering `[i·hop + centre − hop/2, … + hop)`.
pub fn spans_from_mask(mask: &[bool], hop: f64, centre: f64) -> Vec<Span> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < mask.len() {
        if !mask[i] {
            i += 1;
            continue;
        }
        let s = i;
        while i < mask.len() && mask[i] {
            i += 1;
        }
        let t = |f: usize| (f as f64 * hop + centre - 0.5 * hop).max(0.0);
        out.push(Span {
            start: t(s),
            end: t(i),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn smoothing_fills_gaps_and_drops_blips() {
        let mut m: Vec<bool> = "1110011111000100".chars().map(|c| c == '1').collect();
        smooth(&mut m, 3, 2);
        let s: String = m.iter().map(|&b| if b { '1' } else { '0' }).collect();
        // The 2-frame gap closes; the lone frame at 13 is dropped; the 3-frame gap stays.
        assert_eq!(s, "1111111111000000");
    }

    #[test]
    fn speech_between_digital_silences_is_speech() {
        // A muted channel: exact zeros, then words at -20 dB with quieter onsets.
        let mut levels = vec![-100.0; 60];
        levels.extend([-30.0, -22.0, -20.0, -20.0, -21.0, -20.0, -22.0, -30.0]);
        levels.extend(vec![-100.0; 60]);
        let mask = energy_mask(&levels, 0.1);
        assert_eq!(mask.iter().filter(|&&m| m).count(), 8);
    }
}
