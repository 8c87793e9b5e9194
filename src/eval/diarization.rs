//! Diarization evaluation: runs the product's VAD and diarizer on annotated recordings and
//! scores them in both DER conventions (see [`crate::eval::der`]), with the talk-ratio
//! error, the wall time and the mode; plus the RTTM writer the `diarize` command uses.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use anyhow::Context;

use crate::domain::{ANALYSIS_RATE, SpeakerTurn};
use crate::eval::dataset::{EvalItem, read_analysis_audio};
use crate::eval::der::{Convention, DerReport, score, talk_ratio_error};
use crate::eval::reference::{RefTurn, parse_rttm};
use crate::pipeline::diarize::{Diarization, DiarizeOptions, Mode, diarize};
use crate::pipeline::types::AnalysisAudio;

/// Which speaker count the diarizer is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpeakerCount {
    /// The reference's count, as `sessions.num_speakers` would give it.
    Reference,
    Fixed(usize),
    /// Estimated by the diarizer.
    Estimate,
}

/// One scored recording.
#[derive(Clone, Debug)]
pub struct FileScore {
    pub name: String,
    pub duration_s: f64,
    pub ref_speakers: usize,
    pub diarization: Diarization,
    pub full: DerReport,
    pub nist: DerReport,
    /// Scored as `shared/data/PEERS.md` scores the peers (see [`Convention::Peers`]).
    pub peers: DerReport,
    /// Percentage points, see [`talk_ratio_error`].
    pub talk_ratio_error: f64,
    /// Decode excluded: VAD + diarization only.
    pub wall_s: f64,
    /// What produced the turns: our mode (see [`mode_name`]) or `rttm` for a peer's file.
    pub system: &'static str,
}

/// A diarization with its wall time.
pub struct Timed {
    pub diarization: Diarization,
    pub wall_s: f64,
}

/// VAD then diarization, as the daemon's stages run them.
///
/// # Errors
/// The mel front end rejects its configuration, or the diarizer fails.
pub fn run(audio: &AnalysisAudio, opts: &DiarizeOptions) -> anyhow::Result<Timed> {
    let t0 = Instant::now();
    let diarization = diarize(audio, None, opts).context("diarization")?;
    Ok(Timed {
        diarization,
        wall_s: t0.elapsed().as_secs_f64(),
    })
}

/// Number of distinct speaker labels in a reference.
pub fn reference_speakers(turns: &[RefTurn]) -> usize {
    turns
        .iter()
        .map(|t| t.speaker.as_str())
        .collect::<BTreeSet<_>>()
        .len()
}

/// Decodes, diarizes and scores one item.
///
/// # Errors
/// Undecodable audio or a diarizer failure.
pub fn evaluate(
    item: &EvalItem,
    count: SpeakerCount,
    base: &DiarizeOptions,
) -> anyhow::Result<FileScore> {
    let audio = read_analysis_audio(&item.audio_path)?;
    let ref_speakers = reference_speakers(&item.turns);
    let opts = DiarizeOptions {
        num_speakers: match count {
            SpeakerCount::Reference => Some(ref_speakers.max(1)),
            SpeakerCount::Fixed(n) => Some(n),
            SpeakerCount::Estimate => None,
        },
        ..base.clone()
    };
    let timed = run(&audio, &opts).with_context(|| item.name.clone())?;
    Ok(score_item(item, &audio, timed))
}

/// Scores a finished diarization of `item`.
pub fn score_item(item: &EvalItem, audio: &AnalysisAudio, timed: Timed) -> FileScore {
    let uem = item.uem.as_deref();
    let turns = &timed.diarization.turns;
    FileScore {
        name: item.name.clone(),
        duration_s: audio.mono.len() as f64 / f64::from(ANALYSIS_RATE),
        ref_speakers: reference_speakers(&item.turns),
        full: score(&item.turns, turns, uem, Convention::Full),
        nist: score(&item.turns, turns, uem, Convention::Nist),
        peers: score(&item.turns, turns, uem, Convention::Peers),
        talk_ratio_error: talk_ratio_error(&item.turns, turns, uem),
        wall_s: timed.wall_s,
        system: mode_name(timed.diarization.mode),
        diarization: timed.diarization,
    }
}

/// Scores a peer's answer for `item`: `hyp_dir/<stem>.rttm` (a missing file is an empty
/// answer, as a peer that found nobody writes none), with the wall time the peer reported
/// unknown (0). The speakers are numbered in order of first appearance.
///
/// # Errors
/// Undecodable audio (read for its duration) or an unparsable RTTM.
pub fn score_hypothesis(item: &EvalItem, hyp_dir: &Path) -> anyhow::Result<FileScore> {
    let audio = read_analysis_audio(&item.audio_path)?;
    let stem = item
        .audio_path
        .file_stem()
        .unwrap_or_default()
        .to_string_lossy();
    let path = hyp_dir.join(format!("{stem}.rttm"));
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let parsed = parse_rttm(&text).with_context(|| path.display().to_string())?;
    let hyp: Vec<RefTurn> = parsed.into_values().flatten().collect();
    let mut names: Vec<&str> = Vec::new();
    let turns: Vec<SpeakerTurn> = hyp
        .iter()
        .map(|t| {
            let speaker = names
                .iter()
                .position(|n| *n == t.speaker)
                .unwrap_or_else(|| {
                    names.push(&t.speaker);
                    names.len() - 1
                });
            SpeakerTurn {
                speaker,
                span: t.span,
            }
        })
        .collect();
    let diarization = Diarization {
        num_speakers: names.len(),
        turns,
        overlaps: Vec::new(),
        confidence: 0.0,
        count: None,
        mode: Mode::Neural,
    };
    let mut row = score_item(
        item,
        &audio,
        Timed {
            diarization,
            wall_s: 0.0,
        },
    );
    row.system = "rttm";
    Ok(row)
}

/// The mode as the table prints it.
pub fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Neural => "neural",
        Mode::Mono => "classical",
        Mode::DualChannel => "dual-channel",
    }
}

/// Fixed-width table: DER full, nist and as PEERS.md scores, nist miss / false alarm /
/// confusion, talk-ratio error (pp), speakers found / reference, confidence, how sure an
/// estimated count is (`-` when declared), wall time, mode.
pub fn table(rows: &[FileScore]) -> String {
    let mut out = format!(
        "{:<28} {:>7} {:>7} {:>8} {:>6} {:>6} {:>6} {:>6} {:>5} {:>5} {:>5} {:>7}  mode\n",
        "file",
        "DERfull",
        "DERnist",
        "DERpeers",
        "miss",
        "FA",
        "conf",
        "TRE",
        "spk",
        "cnf",
        "sure",
        "wall_s"
    );
    for r in rows {
        let pct = |x: f64| 100.0 * x;
        let _ = writeln!(
            out,
            "{:<28} {:>7.2} {:>7.2} {:>8.2} {:>6.2} {:>6.2} {:>6.2} {:>6.2} {:>2}/{:<2} {:>5.2} {:>5} {:>7.2}  {}",
            r.name,
            pct(r.full.der()),
            pct(r.nist.der()),
            pct(r.peers.der()),
            pct(r.nist.rate(r.nist.miss)),
            pct(r.nist.rate(r.nist.false_alarm)),
            pct(r.nist.rate(r.nist.confusion)),
            r.talk_ratio_error,
            r.diarization.num_speakers,
            r.ref_speakers,
            r.diarization.confidence,
            r.diarization
                .count
                .as_ref()
                .map_or_else(|| "-".to_owned(), |c| format!("{:.2}", c.certainty)),
            r.wall_s,
            r.system,
        );
    }
    out
}

/// RTTM: one `SPEAKER` line per turn, `recording` as the file id, speakers `speaker_<n>`.
pub fn rttm(recording: &str, turns: &[SpeakerTurn]) -> String {
    // RTTM fields are space-separated; a space inside the id would shift every column.
    let id = recording.replace(char::is_whitespace, "_");
    turns
        .iter()
        .map(|t| {
            format!(
                "SPEAKER {id} 1 {:.3} {:.3} <NA> <NA> speaker_{} <NA> <NA>\n",
                t.span.start,
                t.span.duration(),
                t.speaker
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Span;
    use crate::eval::reference::parse_rttm;

    #[test]
    fn rttm_round_trips_through_the_parser() {
        let turns = vec![
            SpeakerTurn {
                speaker: 0,
                span: Span {
                    start: 0.5,
                    end: 2.25,
                },
            },
            SpeakerTurn {
                speaker: 1,
                span: Span {
                    start: 2.0,
                    end: 3.0,
                },
            },
        ];
        let text = rttm("trñ 00", &turns);
        assert_eq!(text.lines().count(), 2);
        let parsed = parse_rttm(&text).unwrap();
        let back = &parsed["trñ_00"];
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].speaker, "speaker_0");
        assert!((back[0].span.end - 2.25).abs() < 1e-9);
        assert_eq!(reference_speakers(back), 2);
    }
}
