//! End to end through the real OpenAI-compatible server (real Whisper weights): a Japanese
//! and an English recording transcribed, filtered and aligned to speakers. Runs when
//! `VIBEINSIGHT_TEST_STT_URL` is set (scripts/stt-server.sh), says SKIPPED otherwise.

use crate::common::audio::{load_16k, read_rttm, speech_from_turns};
use crate::common::score::{cer, energy_vad, wer};
use crate::common::{real_client, real_server};
use vibeinsight::domain::{Language, Span, SpeakerTurn, TranscriptSegment};
use vibeinsight::pipeline::align::align;
use vibeinsight::pipeline::checkpoint::Kept;
use vibeinsight::pipeline::hallucination::{HallucinationConfig, filter_hallucinations};
use vibeinsight::pipeline::lexical::lexical_metrics;
use vibeinsight::pipeline::transcribe::{ChunkingConfig, PriceTable, SttCall, transcribe};

const JA_A: &str = "voices/ja/beatrice_common_voice_ja_38843402_16k.wav";
const JA_B: &str = "voices/ja/beatrice_common_voice_ja_38853932_16k.wav";
const JA_A_TEXT: &str =
    "「こりゃきっと仲間によくないことがあったにちがいない。」と小悪魔は考えました。";
const JA_B_TEXT: &str =
    "王もこのやり方は喜んでいません。それにもう一つ、これには困ることがあるのです。";

async fn pipeline(
    url: &str,
    model: &str,
    lang: Language,
    x: &[f32],
    speech: &[Span],
    turns: &[SpeakerTurn],
) -> Vec<TranscriptSegment> {
    let client = real_client(url, model, lang);
    let stt = SttCall {
        provider: &client,
        language: lang,
    };
    let raw = transcribe(
        stt,
        x,
        speech,
        turns,
        &ChunkingConfig::default(),
        &PriceTable::default(),
        &|_, _| {},
        Kept::none(),
    )
    .await
    .unwrap();
    let (kept, dropped) =
        filter_hallucinations(raw.segments, speech, &HallucinationConfig::default());
    eprintln!("dropped {:?}", dropped.by_reason);
    align(&kept, turns)
}

fn text_of(segs: &[TranscriptSegment], speaker: usize) -> String {
    segs.iter()
        .filter(|s| s.speaker == Some(speaker))
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test]
async fn japanese_two_voices_end_to_end() {
    let Some((url, model)) = real_server("japanese_two_voices_end_to_end") else {
        return;
    };
    let (Some(a), Some(b)) = (load_16k(JA_A), load_16k(JA_B)) else {
        return;
    };
    // Voice A, 2 s of silence, voice B: a two-turn "conversation" with known text.
    let gap = vec![0.0f32; 32_000];
    let x: Vec<f32> = a.iter().chain(&gap).chain(&b).copied().collect();
    let a_end = a.len() as f64 / 16_000.0;
    let b_start = a_end + 2.0;
    let turns = [
        SpeakerTurn {
            speaker: 0,
            span: Span {
                start: 0.0,
                end: a_end,
            },
        },
        SpeakerTurn {
            speaker: 1,
            span: Span {
                start: b_start,
                end: x.len() as f64 / 16_000.0,
            },
        },
    ];
    let segs = pipeline(&url, &model, Language::Ja, &x, &energy_vad(&x), &turns).await;
    let (ta, tb) = (text_of(&segs, 0), text_of(&segs, 1));
    let (ca, cb) = (cer(JA_A_TEXT, &ta), cer(JA_B_TEXT, &tb));
    eprintln!("ja speaker_0 CER {ca:.3}: {ta}\nja speaker_1 CER {cb:.3}: {tb}");
    assert!(ca < 0.35 && cb < 0.35, "CER {ca} / {cb}");
    assert!(
        segs.iter()
            .all(|s| s.words.iter().all(|w| w.span.start >= 0.0))
    );
    let m = lexical_metrics(&segs, Language::Ja);
    assert!(m.speakers["speaker_0"].speech_rate > 100.0, "{m:?}");
}

#[tokio::test]
async fn english_conversation_end_to_end() {
    let Some((url, model)) = real_server("english_conversation_end_to_end") else {
        return;
    };
    let dir = "conversations/pyannote_sample";
    let (Some(x), Some(turns)) = (
        load_16k(&format!("{dir}/sample.wav")),
        read_rttm(&format!("{dir}/sample.rttm")),
    ) else {
        return;
    };
    let Some(stm) = crate::common::audio::shared_file(&format!("{dir}/sample.stm")) else {
        return;
    };
    let stm = std::fs::read_to_string(stm).unwrap();
    let reference: String = stm
        .lines()
        .map(|l| l.split_whitespace().skip(5).collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join(" ");
    let segs = pipeline(
        &url,
        &model,
        Language::En,
        &x,
        &speech_from_turns(&turns),
        &turns,
    )
    .await;
    let hyp = segs
        .iter()
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let w = wer(&reference, &hyp);
    eprintln!("en WER {w:.3}\n{hyp}");
    assert!(w < 0.35, "WER {w}");
    // Every word carries a speaker and sits inside that speaker's turn or next to it.
    let words: Vec<_> = segs
        .iter()
        .flat_map(|s| s.words.iter().map(move |w| (s.speaker, w)))
        .collect();
    let near = words
        .iter()
        .filter(|(spk, w)| {
            turns.iter().any(|t| {
                Some(t.speaker) == *spk
                    && t.span.start - 0.5 <= w.span.start
                    && w.span.end <= t.span.end + 0.5
            })
        })
        .count();
    eprintln!(
        "{near} of {} words inside their speaker's turn (±0.5 s)",
        words.len()
    );
    assert!(near as f64 >= 0.9 * words.len() as f64);
    let speakers: std::collections::BTreeSet<_> = segs.iter().filter_map(|s| s.speaker).collect();
    assert_eq!(speakers.len(), 2);
}
