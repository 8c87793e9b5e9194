//! A dev recording as the pipeline sees it before transcription: decoded to 16 kHz mono,
//! levelled, with the VAD's speech regions and our diarization, plus the reference turns.

use std::path::Path;

use anyhow::Context;
use vibeinsight::domain::{ANALYSIS_RATE, Span, SpeakerTurn};
use vibeinsight::pipeline::decode::{DecodeLimits, decode_file};
use vibeinsight::pipeline::diarize::{DiarizeOptions, diarize};
use vibeinsight::pipeline::quality::preprocess;
use vibeinsight::pipeline::types::Samples;

use crate::audio::{read_rttm, shared_file};

pub struct Recording {
    pub name: String,
    pub samples: Samples,
    /// Speech regions from our VAD (what the daemon chunks and filters by).
    pub speech: Vec<Span>,
    /// Who spoke when, by our diarization (what the daemon aligns to).
    pub turns: Vec<SpeakerTurn>,
    /// Who spoke when, by the reference RTTM.
    pub reference_turns: Vec<SpeakerTurn>,
}

impl Recording {
    pub fn seconds(&self) -> f64 {
        self.samples.len() as f64 / f64::from(ANALYSIS_RATE)
    }
}

/// `None` (with the reason printed) when the shared data is absent.
///
/// # Errors
/// When the file cannot be decoded or analysed.
pub fn load(audio: &str, rttm: &str) -> anyhow::Result<Option<Recording>> {
    let (Some(path), Some(reference_turns)) = (shared_file(audio), read_rttm(rttm)) else {
        return Ok(None);
    };
    let name = Path::new(audio)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or(audio)
        .to_owned();
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_owned);
    let limits = DecodeLimits {
        max_duration_secs: 4 * 3600,
    };
    let (mut decoded, _) = decode_file(&path, ext.as_deref(), limits)
        .with_context(|| format!("decoding {}", path.display()))?;
    let (pre, front) = preprocess(&mut decoded).with_context(|| format!("VAD on {name}"))?;
    let diarization = diarize(&decoded, Some(&front), &DiarizeOptions::default())
        .with_context(|| format!("diarizing {name}"))?;
    eprintln!(
        "{name}: {:.1} s, VAD speech {:.1} s in {} regions, diarization {:?} with {} turns",
        decoded.mono.len() as f64 / f64::from(ANALYSIS_RATE),
        pre.speech_seconds,
        pre.speech_regions,
        diarization.mode,
        diarization.turns.len()
    );
    Ok(Some(Recording {
        name,
        samples: decoded.mono,
        speech: front.speech,
        turns: diarization.turns,
        reference_turns,
    }))
}
