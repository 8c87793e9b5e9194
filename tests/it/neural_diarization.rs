//! Neural path on the real telephone sample: needs the ONNX models and runtime (see
//! `pipeline::diarize::models`) and the shared evaluation data (see `prereq`).

use crate::prereq;
use vibeinsight::eval::dataset::{default_root, read_analysis_audio};
use vibeinsight::eval::der::{Convention, score};
use vibeinsight::eval::reference::{lookup, parse_rttm};
use vibeinsight::pipeline::diarize::{DiarizeOptions, Mode, Neural, diarize, models};

#[test]
fn neural_path_diarizes_the_telephone_sample() {
    let Some(sample) = default_root().map(|root| root.join("pyannote_sample")) else {
        prereq::missing("the shared evaluation data (../shared/data) is absent");
        return;
    };
    if let Err(e) = models::shared() {
        prereq::missing(format!("neural diarization models: {e}"));
        return;
    }
    let audio = read_analysis_audio(&sample.join("sample.wav")).expect("sample decodes");
    let opts = DiarizeOptions {
        neural: Neural::Required,
        ..DiarizeOptions::default()
    };
    let d = diarize(&audio, None, &opts).expect("neural diarization");
    assert_eq!(d.mode, Mode::Neural);
    assert_eq!(d.num_speakers, 2);
    assert!(!d.overlaps.is_empty(), "the sample has 1.9 s of overlap");
    // The RTTM a standard scorer reads: one speaker's turns never overlap each other (two
    // overlapping lines of one label count as two voices in pyannote.metrics).
    for pair in d.turns.windows(2) {
        assert!(
            pair[0].span.start <= pair[1].span.start,
            "turns sorted by start"
        );
    }
    for (i, a) in d.turns.iter().enumerate() {
        let same = d.turns[i + 1..].iter().filter(|b| b.speaker == a.speaker);
        for b in same {
            assert!(b.span.start >= a.span.end, "{a:?} overlaps {b:?}");
        }
    }
    let refs = parse_rttm(&std::fs::read_to_string(sample.join("sample.rttm")).unwrap()).unwrap();
    let reference = lookup(&refs, "sample").expect("sample in rttm");
    let nist = score(reference, &d.turns, None, Convention::Nist);
    assert!(nist.der() < 0.03, "DER nist {:.3}", nist.der());
}

/// `vibeinsight diarize` on the telephone sample from an empty directory, with no variable
/// but `PATH` and `HOME`: stdout and stderr.
fn diarize_elsewhere(home: &std::path::Path) -> Option<(String, String)> {
    let sample = default_root()?.join("pyannote_sample/sample.wav");
    let cwd = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vibeinsight"))
        .args(["diarize", sample.to_str().unwrap(), "--speakers", "2"])
        .current_dir(cwd.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    Some((
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

fn skip(reason: &str) {
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{reason}");
    println!("SKIPPED: {reason}");
}

#[test]
fn diarize_finds_the_per_user_models_from_any_directory() {
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let installed = models::user_dir().is_some_and(|d| d.join(models::SEGMENTATION_FILE).is_file());
    let (Some(home), true) = (home, installed) else {
        return skip("no models in the per-user directory (run `just models`)");
    };
    if std::env::var_os("XDG_DATA_HOME").is_some() {
        return skip("XDG_DATA_HOME is set; this test passes HOME only");
    }
    let Some((stdout, stderr)) = diarize_elsewhere(&home) else {
        return skip("the shared evaluation data is absent");
    };
    assert!(stdout.contains("mode neural"), "{stdout}\n{stderr}");
    assert!(!stderr.contains("degraded"), "{stderr}");
}

#[test]
fn a_classical_fallback_is_said_on_stderr() {
    let empty_home = tempfile::tempdir().unwrap();
    let Some((stdout, stderr)) = diarize_elsewhere(empty_home.path()) else {
        return skip("the shared evaluation data is absent");
    };
    assert!(stdout.contains("mode classical"), "{stdout}");
    assert!(
        stderr.contains("diarization ran in degraded mode: diarization models not found"),
        "{stderr}"
    );
}
