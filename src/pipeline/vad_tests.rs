//! VAD tests on generated signals: voiced-like bursts over noise, level and floor changes.

use super::*;
use crate::dsp::test_signals::noise;

const SR: usize = 16_000;

/// A vowel-like harmonic complex (fundamental `f0`, 12 harmonics with falling amplitude).
fn voiced(seconds: f64, f0: f64, amp: f32) -> Vec<f32> {
    let n = (seconds * SR as f64) as usize;
    (0..n)
        .map(|i| {
            let t = i as f64 / SR as f64;
            let s: f64 = (1..=12)
                .map(|h| (2.0 * std::f64::consts::PI * f0 * h as f64 * t).sin() / h as f64)
                .sum();
            amp * (s / 2.0) as f32
        })
        .collect()
}

/// Lays `bursts` (start s, duration s, amplitude) over noise of `noise_amp`.
fn scene(total_s: f64, noise_amp: f32, bursts: &[(f64, f64, f32)]) -> Vec<f32> {
    let mut sig = noise(noise_amp, (total_s * SR as f64) as usize, 42);
    for &(start, dur, amp) in bursts {
        let v = voiced(dur, 140.0, amp);
        let at = (start * SR as f64) as usize;
        for (s, x) in sig[at..].iter_mut().zip(v) {
            *s += x;
        }
    }
    sig
}

fn vad(sig: &[f32]) -> Vec<Span> {
    detect_speech(sig, &MelConfig::default(), &VadConfig::default()).unwrap()
}

fn covered(spans: &[Span], region: Span) -> f64 {
    spans.iter().map(|s| s.overlap(&region)).sum::<f64>() / region.duration()
}

fn total(spans: &[Span]) -> f64 {
    spans.iter().map(Span::duration).sum()
}

#[test]
fn silence_and_empty_input_have_no_speech() {
    assert!(vad(&vec![0.0; SR * 5]).is_empty());
    assert!(vad(&[]).is_empty());
}

#[test]
fn stationary_noise_alone_is_not_speech() {
    let spans = vad(&noise(0.05, SR * 20, 3));
    assert!(total(&spans) < 1.0, "{spans:?}");
}

#[test]
fn bursts_are_found_with_their_boundaries() {
    let bursts: Vec<(f64, f64, f32)> = (0..5).map(|k| (1.0 + 3.0 * k as f64, 1.5, 0.2)).collect();
    let spans = vad(&scene(16.0, 0.003, &bursts));
    assert_eq!(spans.len(), 5, "{spans:?}");
    for (s, &(start, dur, _)) in spans.iter().zip(&bursts) {
        assert!(
            (s.start - start).abs() < 0.3 && (s.end - (start + dur)).abs() < 0.3,
            "{s:?}"
        );
    }
}

#[test]
fn quiet_speaker_is_kept_next_to_a_loud_one() {
    // 26 dB between the speakers, the quiet one still 20 dB above the noise.
    let bursts = [
        (1.0, 2.0, 0.4),
        (4.0, 2.0, 0.02),
        (7.0, 2.0, 0.4),
        (10.0, 2.0, 0.02),
    ];
    let spans = vad(&scene(13.0, 0.001, &bursts));
    for &(start, dur, amp) in &bursts {
        let c = covered(
            &spans,
            Span {
                start,
                end: start + dur,
            },
        );
        assert!(
            c > 0.9,
            "burst at {start} (amp {amp}) covered {c:.2}: {spans:?}"
        );
    }
    assert!(total(&spans) < 8.0 + 4.0 * 0.5, "{spans:?}");
}

#[test]
fn noise_floor_adapts_to_a_louder_background() {
    // The second half has 20 dB more noise; bursts sit 20 dB above their local floor.
    let mut sig = scene(30.0, 0.001, &[(3.0, 1.5, 0.05), (9.0, 1.5, 0.05)]);
    let loud = scene(30.0, 0.01, &[(3.0, 1.5, 0.5), (9.0, 1.5, 0.5)]);
    sig.extend(loud);
    let spans = vad(&sig);
    for start in [3.0, 9.0, 33.0, 39.0] {
        let c = covered(
            &spans,
            Span {
                start,
                end: start + 1.5,
            },
        );
        assert!(c > 0.9, "burst at {start} covered {c:.2}: {spans:?}");
    }
    // The centred 10 s floor window needs up to half its length to settle after the jump.
    let settle = VadConfig::default().floor_window_s / 2.0;
    let allowed = 4.0 * 1.5 + 4.0 * 0.6 + settle;
    assert!(total(&spans) < allowed, "noise taken for speech: {spans:?}");
    let after = Span {
        start: 30.0 + settle + 0.5,
        end: 60.0,
    };
    let late: f64 = spans.iter().map(|s| s.overlap(&after)).sum();
    assert!(
        late < 1.5 + 2.0 * 0.6,
        "background still taken for speech: {spans:?}"
    );
}

#[test]
fn spans_are_sorted_disjoint_and_inside_the_file() {
    let sig = scene(
        6.0,
        0.003,
        &[(0.0, 1.0, 0.3), (1.2, 1.0, 0.3), (5.5, 0.5, 0.3)],
    );
    let spans = vad(&sig);
    assert!(spans.first().unwrap().start >= 0.0 && spans.last().unwrap().end <= 6.0);
    assert!(spans.windows(2).all(|w| w[0].end < w[1].start));
    assert_eq!(spans.len(), 2, "a 0.2 s gap is bridged: {spans:?}");
}
