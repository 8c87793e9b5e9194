//! The diarizer on the shared dev recordings, scored as `vibeinsight eval diarization` scores
//! them, with bounds just above the measured figures so a regression fails. The 30 s files
//! and the dual-channel one only (the 3-minute files run in `just eval`). Skips, saying why,
//! without the shared data; the neural files also without the ONNX models or runtime.

use crate::prereq;
use vibeinsight::eval::dataset::{EvalItem, default_root, discover, read_analysis_audio};
use vibeinsight::eval::diarization::{FileScore, SpeakerCount, evaluate};
use vibeinsight::pipeline::diarize::{DiarizeOptions, Mode, models};
use vibeinsight::pipeline::types::AnalysisAudio;

fn item(name: &str) -> Option<EvalItem> {
    let Some(root) = default_root() else {
        prereq::missing("the shared evaluation data (../shared/data) is absent");
        return None;
    };
    let items = discover(&root).expect("the shared references parse");
    let found = items.into_iter().find(|i| i.name == name);
    if found.is_none() {
        prereq::missing(format!("{name} is not in {}", root.display()));
    }
    found
}

fn scored(name: &str) -> Option<FileScore> {
    let it = item(name)?;
    Some(evaluate(&it, SpeakerCount::Reference, &DiarizeOptions::default()).expect("diarizes"))
}

fn neural_ready() -> bool {
    match models::shared() {
        Ok(_) => true,
        Err(e) => {
            prereq::missing(format!("neural diarization models: {e}"));
            false
        }
    }
}

fn check(s: &FileScore, full_max: f64, nist_max: f64, tre_max: f64) {
    let (full, nist) = (100.0 * s.full.der(), 100.0 * s.nist.der());
    println!(
        "{}: full {full:.2} % nist {nist:.2} % TRE {:.2} pp confidence {:.2}",
        s.name, s.talk_ratio_error, s.diarization.confidence
    );
    assert!(
        full <= full_max,
        "{}: DER full {full:.2} % > {full_max}",
        s.name
    );
    assert!(
        nist <= nist_max,
        "{}: DER nist {nist:.2} % > {nist_max}",
        s.name
    );
    assert!(
        s.talk_ratio_error <= tre_max,
        "{}: talk-ratio error {:.2} pp > {tre_max}",
        s.name,
        s.talk_ratio_error
    );
}

#[test]
fn dual_channel_file_is_near_exact() {
    let Some(s) = scored("simulated/ja_dev_2min_stereo") else {
        return;
    };
    assert_eq!(s.diarization.mode, Mode::DualChannel);
    check(&s, 7.5, 0.2, 0.5);
}

#[test]
fn telephone_sample_beats_the_best_peer() {
    if !neural_ready() {
        return;
    }
    let Some(s) = scored("pyannote_sample/sample") else {
        return;
    };
    // Measured 5.85 / 0.00 / 0.30; sherpa-onnx: 6.30 / 1.31.
    check(&s, 6.3, 0.6, 0.5);
    assert!(s.diarization.confidence >= 0.5);
}

#[test]
fn ami_two_speaker_excerpts_stay_under_the_floor() {
    if !neural_ready() {
        return;
    }
    // Measured (full / nist / TRE): dev00 19.80 / 9.87 / 1.25 (the segmentation hears one
    // local speaker per window; 1.5 s pieces split the voices), dev01 24.93 / 7.38 / 0.93
    // (the neural pass finds one voice; the pieces, embedded without the overlapped frames,
    // split it; 30.57 / 12.98 / 6.54 with them), trn03 0.49 / 0.00 / 0.48 (one
    // voice for 29 s: the pieces' split is refused as one voice cut in two).
    for (name, full, nist, tre) in [
        ("ami_debug/dev00", 21.5, 11.0, 2.0),
        ("ami_debug/dev01", 26.5, 9.0, 2.0),
        ("ami_debug/trn03", 1.5, 0.5, 1.0),
    ] {
        let Some(s) = scored(name) else { return };
        assert_eq!(s.diarization.num_speakers, 2, "{name}");
        check(&s, full, nist, tre);
    }
}

/// Four people, two women talking over each other for most of the 18 s of speech: the
/// segmentation hears them apart in every window, the window embeddings do not (one cluster),
/// so the short pieces must re-cluster it. Measured with the count estimated (full / nist /
/// TRE) 42.82 / 14.31 / 14.81, DER 19.93 % as PEERS.md scores it; 53.49 / 73.72 / 39.90 and
/// 77.58 % with the window clustering; sherpa-onnx, estimating too: 28.52 %.
#[test]
fn overlapping_voices_the_windows_cluster_as_one_are_split() {
    if !neural_ready() {
        return;
    }
    let Some(it) = item("ami_debug/trn08") else {
        return;
    };
    let s = evaluate(&it, SpeakerCount::Estimate, &DiarizeOptions::default()).expect("diarizes");
    check(&s, 44.5, 16.0, 16.5);
    let peers = 100.0 * s.peers.der();
    assert!(peers <= 22.0, "DER (peers) {peers:.2} % > 22");
}

#[test]
fn a_split_the_windows_did_not_hear_is_withheld() {
    if !neural_ready() {
        return;
    }
    let (Some(good), Some(bad)) = (scored("pyannote_sample/sample"), scored("ami_debug/dev01"))
    else {
        return;
    };
    // dev01 (a split the window pass did not hear: it found one voice) must score below the
    // gate of `measure`, the sample (0 %) above it. The split is right now (talk ratio
    // 0.9 pp off), but the count stays in doubt; see `DOUBTFUL_COUNT_CONFIDENCE`.
    use vibeinsight::pipeline::measure::{MIN_CONFIDENCE, measure};
    assert!(bad.diarization.confidence < good.diarization.confidence);
    let m = measure(&bad.diarization, bad.duration_s);
    assert!(m.speakers.value.is_none(), "dev01 metrics must be withheld");
    assert!(good.diarization.confidence >= MIN_CONFIDENCE);
}

/// One voice declared as two: neither the windows nor the pieces hear a second voice, so the
/// answer must not pass the metrics gate (LibriSpeech 1088, whose pieces split at 0.21, passed
/// it at 0.53 before). The long-recording path (forced on the clip looped eight times) tries
/// no pieces, but the windows' doubt must hold its answer back too (it passed at 0.50–0.53 on
/// the clip looped to 12 minutes before).
#[test]
fn one_voice_declared_as_two_is_withheld() {
    if !neural_ready() {
        return;
    }
    let Some(root) = default_root() else {
        prereq::missing("the shared evaluation data (../shared/data) is absent");
        return;
    };
    let path = root.join("../voices/en/lhotse_libri-1088-134315-0000.wav");
    if !path.exists() {
        prereq::missing(format!("{} is absent", path.display()));
        return;
    }
    let audio = read_analysis_audio(&path).expect("decodes");
    let looped = AnalysisAudio {
        mono: audio.mono.repeat(8).into(),
        stereo: None,
    };
    let long = DiarizeOptions {
        neural_max_s: 60.0,
        long_budget_windows: 9,
        ..DiarizeOptions::default()
    };
    use vibeinsight::pipeline::measure::MIN_CONFIDENCE;
    for (path, audio, opts) in [
        ("short", &audio, DiarizeOptions::default()),
        ("long", &looped, long),
    ] {
        let d = vibeinsight::pipeline::diarize::diarize(audio, None, &opts).expect("diarizes");
        assert!(
            d.confidence < MIN_CONFIDENCE,
            "{path} path: confidence {}",
            d.confidence
        );
    }
}

/// The path of recordings longer than `neural_max_s` (every coaching session past ten
/// minutes), forced on the 3-minute English call: the models read 9 of its 18 windows, the
/// frame models label the rest, whose speech is the fitted VAD's less the non-speech model's.
/// Measured full / nist / TRE 5.77 / 0.85 / 1.76 (when the segmentation read every window and
/// every other one was embedded: 5.50 / 0.85 / 1.77; the neural path: 4.90 / 0.39 / 1.55).
/// On the hour of this call (`just bench-hour`, 28 of 360 windows read, 2 s embedded per
/// local speaker, two resegmentation rounds) 4.38 / 0.79 / 1.20 at 16 kHz and 4.31 / 0.87 /
/// 1.25 at 48 kHz (40 windows of 3 s, three rounds: 4.58 / 0.83 / 1.51 and 4.91 / 0.91 /
/// 1.61; reading all 360: 5.18 / 0.77 / 1.54, and at 48 kHz the classical fallback, 11.98 /
/// 6.03 / 2.96: a fixed stride read the same two windows of the looped call twenty times).
#[test]
fn long_recording_path_finds_all_speech_from_a_budget_of_voices() {
    if !neural_ready() {
        return;
    }
    let Some(it) = item("simulated/en_dev_3min") else {
        return;
    };
    let opts = DiarizeOptions {
        neural_max_s: 60.0,
        long_budget_windows: 9,
        ..DiarizeOptions::default()
    };
    let s = evaluate(&it, SpeakerCount::Reference, &opts).expect("diarizes");
    assert_eq!(s.diarization.mode, Mode::Neural);
    check(&s, 6.5, 1.5, 2.0);
}
