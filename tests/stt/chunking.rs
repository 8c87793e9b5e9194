//! Several chunks give the same words at the same times (±50 ms) as one whole-file request;
//! text-only models are sent per speaker turn and keep speaker and time.

use std::sync::Mutex;

use crate::common::audio::{Tone, speech_from_turns, speech_of, synth};
use crate::common::stub::{KEY, Stub, word_for};
use crate::common::{fast_client, real_client, real_server};
use vibeinsight::clients::openai_stt::SttClient;
use vibeinsight::domain::{Language, Span, SpeakerTurn, Word};
use vibeinsight::pipeline::align::align;
use vibeinsight::pipeline::checkpoint::Kept;
use vibeinsight::pipeline::transcribe::{
    ChunkingConfig, PriceTable, RawTranscript, SttCall, transcribe, transcribe_chunked,
};

/// 90 s of "speech": phrases of three words separated by pauses of varying length.
fn long_take() -> (Vec<Tone>, f64) {
    let mut tones = Vec::new();
    let mut t = 0.7;
    for i in 0..24 {
        for k in 0..3 {
            tones.push(Tone {
                start: t,
                dur: 0.25 + 0.05 * k as f64,
                freq: 200.0 + 100.0 * ((i * 3 + k) % 9) as f64,
            });
            t += 0.45;
        }
        t += 0.8 + (i % 4) as f64 * 0.7;
    }
    (tones, t + 1.0)
}

async fn run(
    client: &SttClient,
    x: &[f32],
    speech: &[Span],
    max_s: f64,
) -> (RawTranscript, Vec<(usize, usize)>) {
    let calls = Mutex::new(Vec::new());
    let progress = |d, t| calls.lock().unwrap().push((d, t));
    let cfg = ChunkingConfig {
        max_duration_s: max_s,
        in_flight: 3,
        ..Default::default()
    };
    let stt = SttCall {
        provider: client,
        language: Language::Auto,
    };
    let out = transcribe_chunked(
        stt,
        x,
        speech,
        &cfg,
        &PriceTable::default(),
        &progress,
        Kept::none(),
    )
    .await
    .unwrap();
    (out, calls.into_inner().unwrap())
}

fn words(t: &RawTranscript) -> Vec<Word> {
    t.segments.iter().flat_map(|s| s.words.clone()).collect()
}

#[tokio::test]
async fn chunked_equals_whole_file_against_the_stub() {
    let stub = Stub::start().await;
    let client = fast_client(&stub.base_url, KEY, "whisper-1");
    let (tones, total) = long_take();
    let x = synth(&tones, total);
    let speech = speech_of(&tones);
    let (whole, _) = run(&client, &x, &speech, 600.0).await;
    let (chunked, calls) = run(&client, &x, &speech, 12.0).await;
    assert_eq!(whole.pieces.len(), 1);
    assert!(chunked.pieces.len() >= 6, "{} chunks", chunked.pieces.len());
    assert_eq!(calls.len(), chunked.pieces.len());
    assert_eq!(
        calls.last(),
        Some(&(chunked.pieces.len(), chunked.pieces.len()))
    );
    let (w, c) = (words(&whole), words(&chunked));
    assert_eq!(w.len(), tones.len());
    assert_eq!(c.len(), w.len());
    for ((a, b), tone) in w.iter().zip(&c).zip(&tones) {
        assert_eq!(
            (&a.text, &b.text),
            (&word_for(tone.freq), &word_for(tone.freq))
        );
        assert!(
            (a.span.start - b.span.start).abs() <= 0.05 && (a.span.end - b.span.end).abs() <= 0.05,
            "{a:?} vs {b:?}"
        );
        assert!(
            (b.span.start - tone.start).abs() <= 0.05,
            "chunk offset not applied: {b:?} vs {tone:?}"
        );
    }
    let sent = chunked.usage.models["whisper-1"].audio_seconds;
    assert!(
        sent < total,
        "non-speech between chunks is not sent: {sent} of {total}"
    );
    assert_eq!(
        chunked.usage.models["whisper-1"].requests as usize,
        chunked.pieces.len()
    );
}

#[tokio::test]
async fn text_only_models_transcribe_per_speaker_turn() {
    let stub = Stub::start().await;
    let client = fast_client(&stub.base_url, KEY, "gpt-4o-mini-transcribe");
    let (tones, total) = long_take();
    let x = synth(&tones, total);
    // Phrase i belongs to speaker i % 2.
    let turns: Vec<SpeakerTurn> = tones
        .chunks(3)
        .enumerate()
        .map(|(i, p)| SpeakerTurn {
            speaker: i % 2,
            span: Span {
                start: p[0].start - 0.1,
                end: p[2].start + p[2].dur + 0.1,
            },
        })
        .collect();
    let stt = SttCall {
        provider: &client,
        language: Language::Auto,
    };
    let out = transcribe(
        stt,
        &x,
        &speech_of(&tones),
        &turns,
        &ChunkingConfig::default(),
        &PriceTable::default(),
        &|_, _| {},
        Kept::none(),
    )
    .await
    .unwrap();
    assert_eq!(out.pieces.len(), turns.len());
    let aligned = align(&out.segments, &turns);
    assert_eq!(aligned.len(), turns.len());
    for ((seg, turn), phrase) in aligned.iter().zip(&turns).zip(tones.chunks(3)) {
        let expect: Vec<String> = phrase.iter().map(|t| word_for(t.freq)).collect();
        assert_eq!(seg.speaker, Some(turn.speaker));
        // Padding to the minimum turn length may pull in a neighbour's word; ours must be there.
        assert!(
            seg.text.contains(&expect.join(" ")),
            "{} vs {expect:?}",
            seg.text
        );
    }
    assert!(
        (out.usage.total_cost_usd() - out.usage.total_audio_seconds() / 60.0 * 0.003).abs() < 1e-9
    );
}

#[tokio::test]
async fn chunked_matches_whole_file_on_the_real_server() {
    let Some((url, model)) = real_server("chunked_matches_whole_file_on_the_real_server") else {
        return;
    };
    let (Some(x), Some(turns)) = (
        crate::common::audio::load_16k("conversations/pyannote_sample/sample.wav"),
        crate::common::audio::read_rttm("conversations/pyannote_sample/sample.rttm"),
    ) else {
        return;
    };
    let client = real_client(&url, &model, Language::En);
    let speech = speech_from_turns(&turns);
    let (whole, _) = run(&client, &x, &speech, 600.0).await;
    let (chunked, _) = run(&client, &x, &speech, 8.0).await;
    let (w, c) = (words(&whole), words(&chunked));
    let diffs = match_words(&w, &c);
    let matched = diffs.len();
    let within = diffs
        .iter()
        .filter(|(s, e)| s.abs() <= 0.05 && e.abs() <= 0.05)
        .count();
    let mut starts: Vec<f64> = diffs.iter().map(|d| d.0.abs()).collect();
    starts.sort_by(f64::total_cmp);
    let median = starts.get(starts.len() / 2).copied().unwrap_or(f64::NAN);
    eprintln!(
        "real server: {} chunks, whole {} words, chunked {} words, {matched} matched, {within} within ±50 ms, median |Δstart| {:.0} ms",
        chunked.pieces.len(),
        w.len(),
        c.len(),
        median * 1000.0
    );
    assert!(chunked.pieces.len() >= 3);
    // Whisper decodes each chunk with different context, so a few words differ; the
    // words that agree must sit at the same place in the original timeline. Whisper moves
    // the first word of a segment by up to ~0.3 s between contexts (measured), so the ±50 ms
    // bar is held for most words and the median, which an offset bug would break.
    assert!(
        matched as f64 >= 0.8 * w.len() as f64,
        "{matched} of {}",
        w.len()
    );
    assert!(
        within as f64 >= 0.7 * matched as f64,
        "{within} of {matched} within 50 ms"
    );
    assert!(median <= 0.02, "median start difference {median}");
}

/// Words equal in text, matched in order (LCS); (Δstart, Δend) of each matched pair.
pub fn match_words(a: &[Word], b: &[Word]) -> Vec<(f64, f64)> {
    let norm = |w: &Word| {
        w.text
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric())
            .collect::<String>()
    };
    let (na, nb): (Vec<String>, Vec<String>) =
        (a.iter().map(norm).collect(), b.iter().map(norm).collect());
    let mut dp = vec![vec![0usize; nb.len() + 1]; na.len() + 1];
    for i in (0..na.len()).rev() {
        for j in (0..nb.len()).rev() {
            dp[i][j] = if na[i] == nb[j] {
                dp[i + 1][j + 1] + 1
            } else {
                dp[i + 1][j].max(dp[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut diffs) = (0, 0, Vec::new());
    while i < na.len() && j < nb.len() {
        if na[i] == nb[j] {
            diffs.push((
                b[j].span.start - a[i].span.start,
                b[j].span.end - a[i].span.end,
            ));
            i += 1;
            j += 1;
        } else if dp[i + 1][j] >= dp[i][j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    diffs
}
