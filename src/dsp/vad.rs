//! Frame-level voice activity math: speech-band energy, an adaptive noise floor from a
//! sliding energy histogram, hysteresis decisions, and run-length smoothing.
//!
//! Everything works on one scalar per 10 ms frame, so a three-hour file costs 4 bytes a
//! frame here, whatever the mel spectrogram's size.

use std::ops::Range;

use super::mel::MelConfig;

/// Indices of the mel bands whose centres lie in `[lo_hz, hi_hz]`.
pub fn band_range(mel: &MelConfig, lo_hz: f64, hi_hz: f64) -> Range<usize> {
    let centres = mel.band_centres_hz();
    let start = centres
        .iter()
        .position(|&c| c >= lo_hz)
        .unwrap_or(centres.len());
    let end = centres
        .iter()
        .rposition(|&c| c <= hi_hz)
        .map_or(start, |i| i + 1);
    start..end.max(start)
}

/// Energy (dB, arbitrary reference) of one natural-log mel row summed over `bands`.
pub fn band_energy_db(log_mel_row: &[f32], bands: Range<usize>) -> f32 {
    let sum: f64 = log_mel_row[bands].iter().map(|&v| f64::from(v).exp()).sum();
    (10.0 * sum.max(1e-30).log10()) as f32
}

/// Centred moving average over `2·half + 1` frames, done on power so one loud frame does
/// not dominate less than it should, then back to dB.
pub fn smooth_db(values_db: &[f32], half: usize) -> Vec<f32> {
    let power: Vec<f64> = values_db
        .iter()
        .map(|&v| 10f64.powf(f64::from(v) / 10.0))
        .collect();
    let mut prefix = vec![0.0; power.len() + 1];
    for (i, p) in power.iter().enumerate() {
        prefix[i + 1] = prefix[i] + p;
    }
    (0..power.len())
        .map(|i| {
            let (a, b) = (i.saturating_sub(half), (i + half + 1).min(power.len()));
            let mean = (prefix[b] - prefix[a]) / (b - a) as f64;
            (10.0 * mean.max(1e-30).log10()) as f32
        })
        .collect()
}

/// Histogram resolution and range for the sliding percentiles.
const HIST_STEP_DB: f32 = 0.25;
const HIST_MIN_DB: f32 = -160.0;
const HIST_BINS: usize = 960;

/// Two running percentiles of `values_db` over a centred window of `window` frames,
/// evaluated every `stride` frames and held in between. O(n + n/stride · bins).
pub fn sliding_percentiles(
    values_db: &[f32],
    window: usize,
    stride: usize,
    q: [f64; 2],
) -> Vec<[f32; 2]> {
    let n = values_db.len();
    let bin = |v: f32| {
        (((v - HIST_MIN_DB) / HIST_STEP_DB) as isize).clamp(0, HIST_BINS as isize - 1) as usize
    };
    let mut hist = vec![0u32; HIST_BINS];
    let (mut lo, mut hi) = (0usize, 0usize);
    let mut out = Vec::with_capacity(n);
    let stride = stride.max(1);
    let half = window / 2;
    let mut i = 0;
    while i < n {
        let centre = (i + stride / 2).min(n - 1);
        let (want_lo, want_hi) = (centre.saturating_sub(half), (centre + half + 1).min(n));
        while hi < want_hi {
            hist[bin(values_db[hi])] += 1;
            hi += 1;
        }
        while lo < want_lo {
            hist[bin(values_db[lo])] -= 1;
            lo += 1;
        }
        let value = q.map(|qq| percentile_of(&hist, hi - lo, qq));
        let end = (i + stride).min(n);
        out.extend(std::iter::repeat_n(value, end - i));
        i = end;
    }
    out
}

fn percentile_of(hist: &[u32], count: usize, q: f64) -> f32 {
    let target = ((count.max(1) - 1) as f64 * q).round() as u64;
    let mut seen = 0u64;
    for (b, &c) in hist.iter().enumerate() {
        seen += u64::from(c);
        if seen > target {
            return HIST_MIN_DB + (b as f32 + 0.5) * HIST_STEP_DB;
        }
    }
    HIST_MIN_DB
}

/// Per-frame speech decision with two thresholds: enter speech above `on`, leave it only
/// below `off` (≤ `on`), so energy wobbling around one threshold does not chatter.
pub fn hysteresis(values_db: &[f32], on: &[f32], off: &[f32]) -> Vec<bool> {
    let mut active = false;
    values_db
        .iter()
        .zip(on.iter().zip(off))
        .map(|(&v, (&hi, &lo))| {
            active = if active { v >= lo } else { v >= hi };
            active
        })
        .collect()
}

/// Fills non-speech gaps shorter than `min_gap` frames (between two speech runs), then
/// drops speech runs shorter than `min_run` frames.
pub fn smooth_runs(decisions: &mut [bool], min_run: usize, min_gap: usize) {
    let runs = runs_of(decisions, false);
    for r in runs {
        let inner = r.start > 0 && r.end < decisions.len();
        if inner && r.len() < min_gap {
            decisions[r].fill(true);
        }
    }
    for r in runs_of(decisions, true) {
        if r.len() < min_run {
            decisions[r].fill(false);
        }
    }
}

/// Index ranges of maximal runs equal to `value`.
pub fn runs_of(decisions: &[bool], value: bool) -> Vec<Range<usize>> {
    runs_where(decisions, |&d| d == value)
}

/// Index ranges of maximal runs of items for which `keep` holds.
pub fn runs_where<T>(items: &[T], keep: impl Fn(&T) -> bool) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, item) in items.iter().enumerate() {
        match (keep(item), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push(s..i);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push(s..items.len());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn band_range_selects_speech_bands() {
        let mel = MelConfig::default();
        let r = band_range(&mel, 200.0, 4000.0);
        let c = mel.band_centres_hz();
        assert!(c[r.start] >= 200.0 && c[r.start - 1] < 200.0);
        assert!(c[r.end - 1] <= 4000.0 && c[r.end] > 4000.0);
        assert!(band_range(&mel, 9000.0, 9500.0).is_empty());
    }

    #[test]
    fn band_energy_sums_powers() {
        let row = [0.0f32, 0.0, 100f32.ln()];
        assert!((band_energy_db(&row, 0..2) - 10.0 * 2f32.log10()).abs() < 1e-4);
        assert!((band_energy_db(&row, 2..3) - 20.0).abs() < 1e-4);
    }

    #[test]
    fn smoothing_preserves_constant_and_spreads_a_click() {
        let flat = smooth_db(&[-30.0; 20], 3);
        assert!(flat.iter().all(|v| (v + 30.0).abs() < 1e-3));
        let mut click = vec![-90.0f32; 21];
        click[10] = 0.0;
        let s = smooth_db(&click, 2);
        assert!((s[10] - 10.0 * (1.0f32 / 5.0).log10()).abs() < 0.01);
        assert!(s[13] < -80.0);
    }

    #[test]
    fn sliding_percentiles_follow_a_level_change() {
        let mut v = vec![-60.0f32; 1000];
        v.extend(vec![-30.0f32; 1000]);
        let p = sliding_percentiles(&v, 200, 10, [0.1, 0.9]);
        assert_eq!(p.len(), 2000);
        assert!((p[100][0] + 60.0).abs() < 0.5 && (p[1900][0] + 30.0).abs() < 0.5);
        assert!(p[1000][0] < p[1000][1], "mixed window spans both levels");
    }

    #[test]
    fn hysteresis_holds_through_dips_above_off() {
        let v = [0.0, 10.0, 6.0, 6.0, 2.0, 6.0];
        let d = hysteresis(&v, &[8.0; 6], &[5.0; 6]);
        assert_eq!(d, vec![false, true, true, true, false, false]);
    }

    #[test]
    fn run_smoothing_fills_gaps_then_drops_blips() {
        let mut d: Vec<bool> = "0111001110000100".chars().map(|c| c == '1').collect();
        smooth_runs(&mut d, 3, 3);
        let s: String = d.iter().map(|&b| if b { '1' } else { '0' }).collect();
        assert_eq!(s, "0111111110000000");
        assert_eq!(runs_of(&d, true), vec![1..9]);
    }
}
