//! Silence and music-like noise produce no text after the filter, on the stub (which
//! answers silence the way Whisper does) and on the real server when it is up.

use crate::common::audio::{RATE, Tone, synth};
use crate::common::stub::{KEY, Stub};
use crate::common::{fast_client, flac_upload, real_client, real_server};
use vibeinsight::domain::{Language, Span};
use vibeinsight::pipeline::hallucination::{HallucinationConfig, filter_hallucinations};

/// 20 s of silence, then 10 s of noise, then 10 s of a chord melody (music-like).
pub fn no_speech() -> Vec<f32> {
    let mut x = vec![0.0f32; (20.0 * RATE) as usize];
    let mut seed = 7u32;
    x.extend((0..(10.0 * RATE) as usize).map(|_| {
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        ((seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * 0.2
    }));
    let notes: Vec<Tone> = (0..20)
        .flat_map(|i| {
            let base = [220.0, 247.0, 262.0, 294.0, 330.0][i % 5];
            [1.0, 1.25, 1.5].map(|r| Tone {
                start: i as f64 * 0.5,
                dur: 0.5,
                freq: base * r,
            })
        })
        .collect();
    let mut music = vec![0.0f32; (10.0 * RATE) as usize];
    for chord in notes.chunks(3) {
        for (m, v) in music.iter_mut().zip(synth(chord, 10.0)) {
            *m += v / 3.0;
        }
    }
    x.extend(music);
    x
}

#[tokio::test]
async fn silence_gives_no_text_on_the_stub() {
    let stub = Stub::start().await;
    let x = vec![0.0f32; (20.0 * RATE) as usize];
    let t = fast_client(&stub.base_url, KEY, "whisper-1")
        .transcribe(&flac_upload(&x))
        .await
        .unwrap();
    assert!(
        !t.segments.is_empty(),
        "the stub, like Whisper, invents text in silence"
    );
    // The VAD found no speech in this file.
    let (kept, counts) = filter_hallucinations(t.segments, &[], &HallucinationConfig::default());
    assert!(kept.is_empty() && counts.total() >= 1);
}

#[tokio::test]
async fn silence_noise_and_music_give_no_text_on_the_real_server() {
    let Some((url, model)) = real_server("silence_noise_and_music_give_no_text_on_the_real_server")
    else {
        return;
    };
    // Whisper invents different text per language (「ご視聴ありがとうございました」, "You"…).
    for language in [Language::Ja, Language::En] {
        let client = real_client(&url, &model, language);
        let x = no_speech();
        let t = client.transcribe(&flac_upload(&x)).await.unwrap();
        let produced: Vec<String> = t.segments.iter().map(|s| s.text.clone()).collect();
        let (kept, counts) =
            filter_hallucinations(t.segments, &[], &HallucinationConfig::default());
        eprintln!(
            "real server ({language:?}) on 40 s of silence/noise/music: {} segments {produced:?}; dropped {:?}",
            produced.len(),
            counts.by_reason
        );
        assert!(kept.is_empty(), "{language:?}");
        // If a VAD mistook the whole file for speech, only the phrase and loop rules are left:
        // what they keep is printed, not asserted ("I'm sorry, I'm sorry" is plausible speech).
        let all = [Span {
            start: 0.0,
            end: 40.0,
        }];
        let t = client.transcribe(&flac_upload(&x)).await.unwrap();
        let (kept, _) = filter_hallucinations(t.segments, &all, &HallucinationConfig::default());
        eprintln!(
            "…with the whole file marked as speech, kept {:?}",
            kept.iter().map(|s| &s.text).collect::<Vec<_>>()
        );
    }
}
