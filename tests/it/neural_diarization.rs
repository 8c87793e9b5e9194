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
