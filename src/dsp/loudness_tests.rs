//! Unit tests for loudness and quality measures with generated signals.

use super::*;
use crate::dsp::test_signals::noise;

fn sine_at(sr: u32, freq: f64, dbfs: f64, seconds: f64) -> Vec<f32> {
    let amp = 10f64.powf(dbfs / 20.0);
    let n = (f64::from(sr) * seconds) as usize;
    (0..n)
        .map(|i| {
            (amp * (2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(sr)).sin()) as f32
        })
        .collect()
}

fn lufs(signal: &[f32], sr: u32, w: ChannelWeighting) -> Option<f64> {
    measure(signal, sr, w).integrated_lufs
}

#[test]
fn k_weighting_matches_the_published_48k_coefficients() {
    let [shelf, hp] = k_weighting(48_000);
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
    assert!(close(shelf.b[0], 1.535_124_859_586_97));
    assert!(close(shelf.b[1], -2.691_696_189_406_38));
    assert!(close(shelf.b[2], 1.198_392_810_852_85));
    assert!(close(shelf.a[0], -1.690_659_293_182_41));
    assert!(close(shelf.a[1], 0.732_480_774_215_85));
    assert!(close(hp.a[0], -1.990_047_454_833_98));
    assert!(close(hp.a[1], 0.990_072_250_366_21));
}

#[test]
fn sine_calibration_in_both_conventions() {
    for sr in [16_000, 48_000] {
        let tone = sine_at(sr, 1000.0, -20.0, 5.0);
        let dual = lufs(&tone, sr, ChannelWeighting::DualMono).unwrap();
        let single = lufs(&tone, sr, ChannelWeighting::SingleChannel).unwrap();
        assert!((dual - -20.0).abs() < 0.1, "{sr} Hz dual mono: {dual}");
        assert!((single - -23.01).abs() < 0.1, "{sr} Hz single: {single}");
    }
}

#[test]
fn silence_and_short_input_have_no_loudness() {
    let q = measure(&[0.0; 32_000], 16_000, ChannelWeighting::default());
    assert_eq!(q.integrated_lufs, None);
    assert_eq!(q.true_peak_dbtp, None);
    assert_eq!(q.snr_db, None);
    assert_eq!(q.warnings(), vec![QualityWarning::Silent]);
    let short = sine_at(16_000, 1000.0, -20.0, 0.3);
    assert_eq!(lufs(&short, 16_000, ChannelWeighting::default()), None);
    assert_eq!(
        measure(&[], 16_000, ChannelWeighting::default()).duration_s,
        0.0
    );
}

#[test]
fn gates_drop_silence_and_much_quieter_parts() {
    let w = ChannelWeighting::default();
    let mut sig = sine_at(16_000, 1000.0, -20.0, 10.0);
    sig.extend(vec![0.0; 160_000]);
    let with_silence = lufs(&sig, 16_000, w).unwrap();
    assert!((with_silence - -19.95).abs() < 0.1, "{with_silence}");
    let mut quiet_tail = sine_at(16_000, 1000.0, -20.0, 10.0);
    quiet_tail.extend(sine_at(16_000, 1000.0, -40.0, 10.0));
    let gated = lufs(&quiet_tail, 16_000, w).unwrap();
    assert!(
        (gated - -19.95).abs() < 0.15,
        "relative gate missed: {gated}"
    );
    // 6 dB apart: both halves pass the relative gate, so the result sits between them.
    let mut near = sine_at(16_000, 1000.0, -20.0, 10.0);
    near.extend(sine_at(16_000, 1000.0, -26.0, 10.0));
    let both = lufs(&near, 16_000, w).unwrap();
    assert!(both < -20.5 && both > -25.0, "{both}");
}

#[test]
fn gain_shifts_loudness_by_the_same_amount() {
    let w = ChannelWeighting::default();
    let mut sig = noise(0.05, 48_000, 11);
    let before = lufs(&sig, 16_000, w).unwrap();
    apply_gain(&mut sig, 6.0);
    let after = lufs(&sig, 16_000, w).unwrap();
    assert!((after - before - 6.0).abs() < 0.01);
}

#[test]
fn true_peak_sees_intersample_overs() {
    let tone = sine_at(16_000, 4000.0, 0.0, 1.0)
        .iter()
        .enumerate()
        .map(|(i, _)| {
            (2.0 * std::f64::consts::PI * i as f64 / 4.0 + std::f64::consts::FRAC_PI_4).sin() as f32
        })
        .collect::<Vec<_>>();
    let q = measure(&tone, 16_000, ChannelWeighting::default());
    assert!((q.sample_peak_dbfs.unwrap() - -3.01).abs() < 0.05);
    assert!(
        q.true_peak_dbtp.unwrap().abs() < 0.3,
        "{:?}",
        q.true_peak_dbtp
    );
}

#[test]
fn true_peak_adds_no_overshoot_in_band_and_reads_silence_as_none() {
    // Well inside the band the interpolator must not add overshoot (a step would, rightly).
    let slow = sine_at(16_000, 100.0, 20.0 * 0.25f64.log10(), 1.0);
    let q = measure(&slow, 16_000, ChannelWeighting::default());
    let peak = 10f64.powf(q.true_peak_dbtp.unwrap() / 20.0);
    assert!((peak - 0.25).abs() < 1e-3, "{peak}");
    let silent = measure(&[0.0; 500], 16_000, ChannelWeighting::default());
    assert_eq!(silent.true_peak_dbtp, None);
}

#[test]
fn true_peak_is_never_below_sample_peak() {
    let mut sig = vec![0.0f32; 1600];
    sig[800] = -0.9;
    let q = measure(&sig, 16_000, ChannelWeighting::default());
    assert!(q.true_peak_dbtp.unwrap() >= q.sample_peak_dbfs.unwrap() - 1e-9);
}

#[test]
fn clipping_and_dc_are_reported() {
    let clipped: Vec<f32> = sine_at(16_000, 440.0, 6.0, 2.0)
        .iter()
        .map(|x| x.clamp(-1.0, 1.0) + 0.0)
        .collect();
    let q = measure(&clipped, 16_000, ChannelWeighting::default());
    assert!(q.clipping_share > 0.3, "{}", q.clipping_share);
    assert!(q.warnings().contains(&QualityWarning::Clipped));
    let clean = measure(
        &sine_at(16_000, 440.0, -6.0, 2.0),
        16_000,
        ChannelWeighting::default(),
    );
    assert_eq!(clean.clipping_share, 0.0);
    assert!(clean.dc_offset.abs() < 1e-3);
    let offset: Vec<f32> = sine_at(16_000, 440.0, -20.0, 2.0)
        .iter()
        .map(|x| x + 0.1)
        .collect();
    let q = measure(&offset, 16_000, ChannelWeighting::default());
    assert!((q.dc_offset - 0.1).abs() < 1e-4);
}

#[test]
fn snr_tracks_speech_over_noise_floor() {
    for (tone_db, expected) in [(-20.0, 37.0), (-40.0, 17.0)] {
        // Noise: uniform ±0.003 → power 3e-6 (−55.2 dB); tone bursts on half the time.
        let mut sig = noise(0.003, 16_000 * 20, 5);
        let tone = sine_at(16_000, 300.0, tone_db, 20.0);
        for (i, (s, t)) in sig.iter_mut().zip(&tone).enumerate() {
            if (i / 16_000) % 2 == 0 {
                *s += t;
            }
        }
        // Tone power: −20 dBFS sine → −23 dB; minus −55.2 dB noise ≈ 32 dB... computed exactly:
        let tone_power = 10f64.powf(tone_db / 10.0) / 2.0;
        let exact = 10.0 * (tone_power / 3e-6).log10();
        let snr = measure(&sig, 16_000, ChannelWeighting::default())
            .snr_db
            .unwrap();
        assert!(
            (snr - exact).abs() < 1.5,
            "tone {tone_db}: snr {snr} vs {exact} (~{expected})"
        );
    }
    let noisy = measure(
        &noise(0.1, 16_000 * 5, 9),
        16_000,
        ChannelWeighting::default(),
    );
    assert!(noisy.snr_db.unwrap() < 3.0);
    assert!(noisy.warnings().contains(&QualityWarning::Noisy));
}

#[test]
fn analysis_gain_reaches_target_unless_peak_forbids() {
    let w = ChannelWeighting::default();
    let policy = GainPolicy::default();
    let mut quiet = sine_at(16_000, 1000.0, -40.0, 5.0);
    let q = measure(&quiet, 16_000, w);
    let g = analysis_gain_db(&q, &policy);
    assert!((g - (-23.0 - q.integrated_lufs.unwrap())).abs() < 1e-9);
    apply_gain(&mut quiet, g);
    let after = measure(&quiet, 16_000, w);
    assert!((after.integrated_lufs.unwrap() - -23.0).abs() < 0.05);

    // Sparse clicks: loudness is low but the peak is near full scale, so gain is capped.
    let mut peaky = sine_at(16_000, 1000.0, -45.0, 5.0);
    for i in (0..peaky.len()).step_by(8000) {
        peaky[i] = 0.5;
    }
    let q = measure(&peaky, 16_000, w);
    let g = analysis_gain_db(&q, &policy);
    assert!(g < -23.0 - q.integrated_lufs.unwrap());
    assert!((q.true_peak_dbtp.unwrap() + g - policy.ceiling_dbtp).abs() < 1e-9);
    apply_gain(&mut peaky, g);
    assert!(peaky.iter().all(|x| x.abs() < 0.9));

    let silent = measure(&[0.0; 16_000], 16_000, w);
    assert_eq!(analysis_gain_db(&silent, &policy), 0.0);
    let faint = measure(&sine_at(16_000, 1000.0, -90.0 + 25.0, 5.0), 16_000, w);
    assert_eq!(analysis_gain_db(&faint, &policy), policy.max_gain_db);
}

#[test]
fn streaming_equals_one_shot() {
    let sig = noise(0.2, 50_000, 21);
    let whole = measure(&sig, 16_000, ChannelWeighting::default());
    let mut m = QualityMeter::new(16_000, ChannelWeighting::default());
    sig.chunks(1234).for_each(|c| m.push(c));
    assert_eq!(m.finish(true_peak(&sig, 16_000)), whole);
}

/// The `ebur128` crate fed every sample in one call: what the block search must reproduce.
fn crate_true_peak(samples: &[f32], sr: u32) -> f64 {
    let mut meter = EbuR128::new(1, sr, Mode::TRUE_PEAK).unwrap();
    meter.add_frames_f32(samples).unwrap();
    meter.true_peak(0).unwrap()
}

/// Full-scale sine at a quarter of the sample rate, 45° off the samples: they sit at
/// ±0.707 while the waveform between them reaches 1 (the classic +3 dB inter-sample over).
fn quarter_rate_sine(len: usize, amp: f64) -> Vec<f32> {
    (0..len)
        .map(|i| {
            let phase = std::f64::consts::FRAC_PI_2 * i as f64 + std::f64::consts::FRAC_PI_4;
            (amp * phase.sin()) as f32
        })
        .collect()
}

/// Noise bursts of 50–300 ms with levels spread over 40 dB, separated by quiet gaps.
fn speech_like(len: usize, seed: u64) -> Vec<f32> {
    let mut sig = noise(0.002, len, seed);
    let carrier = noise(1.0, len, seed + 1);
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005) | 1;
    let mut next = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as f64 / (1u64 << 31) as f64
    };
    let mut at = 0;
    while at < len {
        let burst = (800.0 + 4000.0 * next()) as usize;
        let level = 10f64.powf(-2.0 * next()) as f32;
        for i in at..(at + burst).min(len) {
            let envelope = (std::f32::consts::PI * (i - at) as f32 / burst as f32).sin();
            sig[i] += level * envelope * carrier[i];
        }
        at += burst + (1600.0 * next()) as usize;
    }
    sig
}

#[test]
fn true_peak_search_equals_the_crate_fed_everything() {
    let block = TRUE_PEAK_BLOCK;
    let mut cases: Vec<(&str, Vec<f32>)> = vec![
        ("speech-like", speech_like(40 * block, 7)),
        ("quarter-rate sine", quarter_rate_sine(5 * block + 77, 1.0)),
        ("silence", vec![0.0; 3 * block]),
        ("shorter than a block", speech_like(block / 3, 8)),
        ("empty", Vec::new()),
    ];
    let mut first = noise(0.05, 4 * block, 9);
    first[0] = 0.95;
    cases.push(("peak in the first sample", first));
    let mut last = noise(0.05, 4 * block + 5, 10);
    *last.last_mut().unwrap() = -0.97;
    cases.push(("peak in the last sample", last));
    // The true peak hides in a block whose sample peak (0.71) is below another's (0.9),
    // and its over needs the inputs before the block boundary it straddles.
    let mut hidden = noise(0.05, 8 * block, 11);
    hidden[block + 100] = 0.9;
    let over = quarter_rate_sine(8, 1.0);
    hidden[5 * block - 4..5 * block + 4].copy_from_slice(&over);
    cases.push(("inter-sample over behind a higher sample", hidden));
    for (name, sig) in &cases {
        for sr in [16_000, 48_000, 100_000, 200_000] {
            let expected = crate_true_peak(sig, sr);
            let got = true_peak(sig, sr).unwrap();
            assert_eq!(
                got.to_bits(),
                expected.to_bits(),
                "{name} at {sr} Hz: {got} vs {expected}"
            );
        }
    }
    let sine = crate_true_peak(&cases[1].1, 16_000);
    assert!(
        sine > 0.99,
        "no inter-sample over in the test signal: {sine}"
    );
    assert_eq!(true_peak(&[0.5; 10], 8), None, "the crate rejects 8 Hz");
}

#[test]
fn interpolator_gain_is_reached_by_the_crate() {
    // Inputs with the signs of the strongest phase's coefficients drive that phase's output
    // to the gain: the crate then reads it, so our design matches its coefficients.
    for (sr, factor) in [(16_000, 4), (100_000, 2)] {
        let (gain, context) = interpolator(sr);
        assert_eq!(context, 48 / factor - 1);
        let coefficients = interpolator_coefficients(factor);
        let phase = (0..factor)
            .max_by(|&a, &b| {
                let sum = |p: usize| -> f64 {
                    coefficients
                        .iter()
                        .skip(p)
                        .step_by(factor)
                        .map(|c| f64::from(c.abs()))
                        .sum()
                };
                sum(a).total_cmp(&sum(b))
            })
            .unwrap();
        // Tap j weighs the input j / factor samples back: the newest input comes last.
        let worst: Vec<f32> = coefficients
            .iter()
            .skip(phase)
            .step_by(factor)
            .rev()
            .map(|c| c.signum())
            .collect();
        let read = crate_true_peak(&worst, sr);
        assert!(
            (read - gain).abs() < 1e-6 * gain,
            "{sr} Hz: crate {read}, gain {gain}"
        );
    }
    assert!((interpolator(16_000).0 - 1.864).abs() < 1e-3);
}
