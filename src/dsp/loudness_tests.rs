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
    assert_eq!(m.finish(), whole);
}
