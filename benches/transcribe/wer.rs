//! WER/CER of each stage of the transcript path on the dev recordings, against the real
//! server: one whole-file request, the daemon's VAD chunks, short chunks (many
//! boundaries), each raw, after the hallucination filter and after alignment.
//!
//! References: `sample.stm` (pyannote_sample, WER over the whole text in time order); the
//! simulated Japanese conversations are cut from two Common Voice clips whose sentences are
//! known, so the turns that hold a whole clip and overlap nobody are scored (CER of the
//! words timed inside the turn). en_dev_3min has no reference text anywhere, so only its
//! chunked-vs-whole difference is given (WER of each variant against the whole-file text).

use vibeinsight::clients::openai_stt::SttClient;
use vibeinsight::clients::stt::SttSegment;
use vibeinsight::domain::{Language, Span, SpeakerTurn, TranscriptSegment, Word};
use vibeinsight::pipeline::align::align;
use vibeinsight::pipeline::checkpoint::Kept;
use vibeinsight::pipeline::hallucination::{
    DropCounts, HallucinationConfig, filter_hallucinations,
};
use vibeinsight::pipeline::transcribe::{ChunkingConfig, PriceTable, SttCall, transcribe_chunked};

use crate::audio::shared_file;
use crate::recording::{Recording, load};
use crate::score::{cer, wer};

const JA_A_TEXT: &str =
    "「こりゃきっと仲間によくないことがあったにちがいない。」と小悪魔は考えました。";
const JA_B_TEXT: &str =
    "王もこのやり方は喜んでいません。それにもう一つ、これには困ることがあるのです。";

enum Reference {
    /// The whole text in time order.
    Text(String),
    /// The sentence of each speaker (in RTTM order), said whole in that speaker's longest turns.
    WholeClipTurns([&'static str; 2]),
    /// None exists: score against the whole-file request.
    WholeFile,
}

/// Text pieces with the time they were said, in output order.
struct Hypothesis {
    label: String,
    pieces: Vec<(Span, String)>,
    requests: usize,
    dropped: Option<DropCounts>,
}

/// # Errors
/// Decoding or a transcription request failing.
pub async fn run(url: &str) -> anyhow::Result<()> {
    let sim = "conversations/simulated";
    let cases = [
        (
            "conversations/pyannote_sample/sample",
            Language::En,
            stm_reference("conversations/pyannote_sample/sample.stm"),
        ),
        (
            &format!("{sim}/ja_dev_3min") as &str,
            Language::Ja,
            Some(Reference::WholeClipTurns([JA_B_TEXT, JA_A_TEXT])),
        ),
        (
            &format!("{sim}/ja_dev_2min_stereo"),
            Language::Ja,
            Some(Reference::WholeClipTurns([JA_B_TEXT, JA_A_TEXT])),
        ),
        (
            &format!("{sim}/en_dev_3min"),
            Language::En,
            Some(Reference::WholeFile),
        ),
    ];
    println!(
        "{:<20} {:<34} {:>7} {:>9} {:>8} dropped",
        "file", "variant", "score", "requests", "pieces"
    );
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    for (stem, language, reference) in cases {
        if !stem.contains(&only) {
            continue;
        }
        let (Some(rec), Some(reference)) = (
            load(&format!("{stem}.wav"), &format!("{stem}.rttm"))?,
            reference,
        ) else {
            continue;
        };
        let client = crate::client(url, &crate::api_key(), &crate::model(), language)?;
        let mut hyps = variants(&client, &rec).await?;
        if let Some(path) = shared_file(&format!("{stem}.wav")) {
            let rows = crate::daemon::transcript(url, &path, language).await?;
            hyps.push(Hypothesis {
                label: "daemon path (analyze_file)".to_owned(),
                pieces: row_pieces(&rows),
                requests: 0,
                dropped: None,
            });
        }
        let whole_text = text(&hyps[0].pieces);
        for h in &hyps {
            let (metric, score) = match &reference {
                Reference::Text(r) => ("WER", wer(r, &text(&h.pieces))),
                Reference::WholeFile => ("WER~whole", wer(&whole_text, &text(&h.pieces))),
                Reference::WholeClipTurns(sentences) => {
                    ("CER", turn_cer(&rec.reference_turns, sentences, &h.pieces))
                }
            };
            println!(
                "{:<20} {:<34} {metric} {score:.3} {:>5} {:>8} {:?}",
                rec.name,
                h.label,
                h.requests,
                h.pieces.len(),
                h.dropped.as_ref().map(|d| &d.by_reason)
            );
        }
        if std::env::var_os("BENCH_SHOW_TEXT").is_some() {
            for h in &hyps {
                println!("--- {} / {}\n{}", rec.name, h.label, text(&h.pieces));
            }
        }
    }
    Ok(())
}

fn stm_reference(rel: &str) -> Option<Reference> {
    let stm = std::fs::read_to_string(shared_file(rel)?).ok()?;
    let words: Vec<String> = stm
        .lines()
        .map(|l| l.split_whitespace().skip(5).collect::<Vec<_>>().join(" "))
        .collect();
    Some(Reference::Text(words.join(" ")))
}

/// Whole file, the daemon's chunks, 30 s chunks; raw, filtered, aligned.
async fn variants(client: &SttClient, rec: &Recording) -> anyhow::Result<Vec<Hypothesis>> {
    let everything = [Span {
        start: 0.0,
        end: rec.seconds(),
    }];
    let daemon = ChunkingConfig::default();
    let short = ChunkingConfig {
        max_duration_s: 30.0,
        ..ChunkingConfig::default()
    };
    let mut out = Vec::new();
    for (name, speech, cfg) in [
        ("whole", &everything[..], &daemon),
        ("daemon chunks", &rec.speech[..], &daemon),
        ("30 s chunks", &rec.speech[..], &short),
    ] {
        let raw = transcribe_chunked(
            SttCall {
                provider: client,
                language: client.language(),
            },
            &rec.samples,
            speech,
            cfg,
            &PriceTable::default(),
            &|_, _| {},
            Kept::none(),
        )
        .await?;
        let requests = raw.pieces.len();
        let (kept, dropped) = filter_hallucinations(
            raw.segments.clone(),
            &rec.speech,
            &HallucinationConfig::default(),
        );
        let aligned = |turns: &[SpeakerTurn]| row_pieces(&align(&kept, turns));
        let label = |stage: &str| format!("{name} {stage}");
        out.push(Hypothesis {
            label: label("raw"),
            pieces: pieces(&raw.segments),
            requests,
            dropped: None,
        });
        out.push(Hypothesis {
            label: label("+filter"),
            pieces: pieces(&kept),
            requests,
            dropped: Some(dropped.clone()),
        });
        out.push(Hypothesis {
            label: label("+filter+align(ours)"),
            pieces: aligned(&rec.turns),
            requests,
            dropped: Some(dropped.clone()),
        });
        out.push(Hypothesis {
            label: label("+filter+align(ref)"),
            pieces: aligned(&rec.reference_turns),
            requests,
            dropped: Some(dropped),
        });
    }
    Ok(out)
}

/// Word-level pieces where the provider timed words, else whole segments.
fn pieces(segments: &[SttSegment]) -> Vec<(Span, String)> {
    segments
        .iter()
        .flat_map(|s| timed(s.span, &s.text, &s.words))
        .collect()
}

/// The same for aligned rows, in row order.
fn row_pieces(rows: &[TranscriptSegment]) -> Vec<(Span, String)> {
    rows.iter()
        .flat_map(|r| timed(r.span, &r.text, &r.words))
        .collect()
}

fn timed(span: Span, text: &str, words: &[Word]) -> Vec<(Span, String)> {
    if words.is_empty() {
        vec![(span, text.to_owned())]
    } else {
        words.iter().map(|w| (w.span, w.text.clone())).collect()
    }
}

fn text(pieces: &[(Span, String)]) -> String {
    let parts: Vec<&str> = pieces.iter().map(|(_, t)| t.as_str()).collect();
    parts.join(" ")
}

/// CER over the turns that hold one whole clip (the longest turns of each speaker, all of
/// equal length) and overlap no other turn; a piece belongs to the turn holding its middle.
fn turn_cer(turns: &[SpeakerTurn], sentences: &[&str; 2], pieces: &[(Span, String)]) -> f64 {
    let longest = |spk: usize| {
        turns
            .iter()
            .filter(|t| t.speaker == spk)
            .map(|t| t.span.duration())
            .fold(0.0, f64::max)
    };
    let (mut edits, mut total) = (0.0, 0.0);
    for t in turns {
        let whole = (t.span.duration() - longest(t.speaker)).abs() < 0.005;
        let alone = turns
            .iter()
            .all(|o| std::ptr::eq(o, t) || o.span.overlap(&t.span) <= 0.0);
        let Some(sentence) = sentences.get(t.speaker) else {
            continue;
        };
        if !(whole && alone) {
            continue;
        }
        let said: String = pieces
            .iter()
            .filter(|(s, _)| {
                let mid = (s.start + s.end) / 2.0;
                t.span.start <= mid && mid < t.span.end
            })
            .map(|(_, w)| w.as_str())
            .collect();
        let n = sentence.chars().filter(|c| c.is_alphanumeric()).count() as f64;
        edits += cer(sentence, &said) * n;
        total += n;
    }
    if total == 0.0 {
        f64::NAN
    } else {
        edits / total
    }
}
