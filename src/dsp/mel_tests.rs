//! Unit tests for the log-mel extractor with generated signals.

use super::*;
use crate::dsp::test_signals::noise;

const SR: f32 = 16_000.0;

fn sine(freq: f32, amp: f32, n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| amp * (2.0 * std::f32::consts::PI * freq * i as f32 / SR).sin())
        .collect()
}

#[test]
fn frame_count_covers_every_sample() {
    let mut ex = MelExtractor::new(MelConfig::default()).unwrap();
    for n in [0usize, 1, 159, 160, 161, 400, 16_000, 16_001] {
        let f = ex.compute(&vec![0.0; n]);
        assert_eq!(f.len(), n.div_ceil(160), "n = {n}");
        assert_eq!(f.data.len(), f.len() * 64);
    }
}

#[test]
fn tone_peaks_in_the_right_band() {
    let cfg = MelConfig::default();
    let mut ex = MelExtractor::new(cfg.clone()).unwrap();
    for freq in [200.0f32, 1000.0, 3000.0, 6000.0] {
        let f = ex.compute(&sine(freq, 0.5, 16_000));
        let row = f.frame(50);
        let best = (0..row.len())
            .max_by(|&a, &b| row[a].total_cmp(&row[b]))
            .unwrap();
        let centre = cfg.band_centres_hz()[best];
        assert!(
            (centre - f64::from(freq)).abs() / f64::from(freq) < 0.08,
            "{freq} Hz peaked in band {best} centred at {centre:.0} Hz"
        );
    }
}

#[test]
fn incremental_blocks_match_one_shot() {
    let signal = noise(0.3, 16_000 + 77, 7);
    let mut ex = MelExtractor::new(MelConfig::default()).unwrap();
    let whole = ex.compute(&signal);
    let mut out = ex.new_frames();
    for block in signal.chunks(333) {
        ex.push(block, &mut out);
    }
    ex.finish(&mut out);
    assert_eq!(out.len(), whole.len());
    let max_diff = out
        .data
        .iter()
        .zip(&whole.data)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(max_diff < 1e-5, "max diff {max_diff}");
    assert_eq!(out.energy_db, whole.energy_db);
}

#[test]
fn silence_is_floored_not_infinite() {
    let mut ex = MelExtractor::new(MelConfig::default()).unwrap();
    let f = ex.compute(&[0.0; 1600]);
    assert!(f.energy_db.iter().all(|&e| e == ENERGY_FLOOR_DB));
    assert!(f.data.iter().all(|&v| v == MEL_FLOOR.ln()));
}

#[test]
fn energy_reads_sine_level_and_ignores_dc() {
    let mut ex = MelExtractor::new(MelConfig::default()).unwrap();
    let tone = sine(1000.0, 0.1, 8000);
    let f = ex.compute(&tone);
    // RMS of a sine is amp/√2: 20·log10(0.1) − 3.01 dB.
    assert!(
        (f.energy_db[10] - (-23.01)).abs() < 0.05,
        "{}",
        f.energy_db[10]
    );
    let shifted: Vec<f32> = tone.iter().map(|x| x + 0.2).collect();
    let g = ex.compute(&shifted);
    assert!((g.energy_db[10] - f.energy_db[10]).abs() < 0.01);
}

#[test]
fn gain_shifts_log_mel_uniformly() {
    let mut ex = MelExtractor::new(MelConfig::default()).unwrap();
    let quiet = noise(0.01, 8000, 3);
    let loud: Vec<f32> = quiet.iter().map(|x| x * 10.0).collect();
    let (a, b) = (ex.compute(&quiet), ex.compute(&loud));
    let expected = 100f32.ln();
    for (x, y) in a.frame(20).iter().zip(b.frame(20)) {
        assert!((y - x - expected).abs() < 1e-3);
    }
    assert!((b.energy_db[20] - a.energy_db[20] - 20.0).abs() < 1e-3);
}

#[test]
fn timing_helpers_follow_hop_and_window() {
    let ex = MelExtractor::new(MelConfig::default()).unwrap();
    let f = ex.new_frames();
    assert!((f.frame_time(100) - 1.0).abs() < 1e-12);
    assert!((f.frame_center(0) - 0.0125).abs() < 1e-12);
}

#[test]
fn rejects_bad_configs_and_mismatched_plans() {
    let bad = [
        MelConfig {
            win_length: 600,
            ..MelConfig::default()
        },
        MelConfig {
            hop_length: 0,
            ..MelConfig::default()
        },
        MelConfig {
            n_mels: 0,
            ..MelConfig::default()
        },
        MelConfig {
            f_max: 9000.0,
            ..MelConfig::default()
        },
        MelConfig {
            f_min: 8000.0,
            f_max: 7000.0,
            ..MelConfig::default()
        },
    ];
    for cfg in bad {
        assert!(MelExtractor::new(cfg.clone()).is_err(), "{cfg:?}");
    }
    let plan = RealFftPlanner::<f32>::new().plan_fft_forward(1024);
    assert!(MelExtractor::with_fft(MelConfig::default(), plan).is_err());
}

#[test]
fn every_band_has_weight() {
    let cfg = MelConfig {
        n_mels: 128,
        f_min: 0.0,
        ..MelConfig::default()
    };
    let fb = mel_filterbank(&cfg);
    assert_eq!(fb.len(), 128);
    assert!(fb.iter().all(|f| f.weights.iter().any(|&w| w > 0.0)));
}
