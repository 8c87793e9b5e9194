//! The dev references under `shared/data/conversations`: discovery and WAV loading.
//!
//! Each sub-directory holds WAV files plus `.rttm` (and optionally `.uem`) files naming
//! them by stem. A WAV without a reference is skipped. Audio is read with symphonia and
//! downmixed to mono; evaluation needs nothing else.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::frame_error::{FrameError, vad_frame_error};
use super::reference::{RefTurn, lookup, parse_rttm, parse_uem, speech_union};
use crate::domain::{ANALYSIS_RATE, Span};
use crate::dsp::mel::MelConfig;
use crate::pipeline::decode::{DecodeLimits, decode_file};
use crate::pipeline::types::AnalysisAudio;
use crate::pipeline::vad::{VadConfig, detect_speech};

/// One annotated recording.
#[derive(Clone, Debug)]
pub struct EvalItem {
    /// `<dir>/<stem>`, e.g. `ami_debug/trñ00`.
    pub name: String,
    pub audio_path: PathBuf,
    pub turns: Vec<RefTurn>,
    /// Scoring regions; `None` means the whole file.
    pub uem: Option<Vec<Span>>,
}

/// Finds every WAV under `root/*/` that has a reference, sorted by name.
///
/// # Errors
/// Unreadable directories or annotation files, or annotations that do not parse.
pub fn discover(root: &Path) -> anyhow::Result<Vec<EvalItem>> {
    let mut items = Vec::new();
    for dir in sorted_entries(root)? {
        if !dir.is_dir() {
            continue;
        }
        let files = sorted_entries(&dir)?;
        let (mut rttm, mut uem) = (Default::default(), Default::default());
        for f in &files {
            match f.extension().and_then(|e| e.to_str()) {
                Some("rttm") => merge_into(
                    &mut rttm,
                    parse_rttm(&read(f)?).with_context(|| f.display().to_string())?,
                ),
                Some("uem") => merge_into(
                    &mut uem,
                    parse_uem(&read(f)?).with_context(|| f.display().to_string())?,
                ),
                _ => {}
            }
        }
        for wav in files
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == "wav"))
        {
            let stem = wav.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
            let Some(turns) = lookup(&rttm, stem) else {
                continue;
            };
            let dir_name = dir.file_name().and_then(|s| s.to_str()).unwrap_or_default();
            items.push(EvalItem {
                name: format!("{dir_name}/{stem}"),
                audio_path: wav.clone(),
                turns: turns.clone(),
                uem: lookup(&uem, stem).cloned(),
            });
        }
    }
    Ok(items)
}

fn merge_into<V>(
    into: &mut std::collections::BTreeMap<String, Vec<V>>,
    from: std::collections::BTreeMap<String, Vec<V>>,
) {
    for (k, mut v) in from {
        into.entry(k).or_default().append(&mut v);
    }
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

fn sorted_entries(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    out.sort();
    Ok(out)
}

/// Decodes an evaluation recording to 16 kHz mono with the product's own decoder, so the
/// figures measure what the worker would see.
///
/// # Errors
/// The file cannot be decoded.
pub fn read_analysis_audio(path: &Path) -> anyhow::Result<AnalysisAudio> {
    let extension = path.extension().and_then(|e| e.to_str());
    let limits = DecodeLimits {
        max_duration_secs: u64::MAX / 192_000,
    };
    let (audio, _) = decode_file(path, extension, limits)
        .with_context(|| format!("decoding {}", path.display()))?;
    Ok(audio)
}

/// Where the dev data lives: `$VIBEINSIGHT_DATA`, else `shared/data/conversations` next to
/// the crate (product layout) or one level further up (scratch layout). `None` when absent.
pub fn default_root() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("VIBEINSIGHT_DATA") {
        return Some(PathBuf::from(dir)).filter(|p| p.is_dir());
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    [
        "../shared/data/conversations",
        "../../shared/data/conversations",
    ]
    .iter()
    .map(|rel| manifest.join(rel))
    .find(|p| p.is_dir())
}

/// Runs the VAD on one item and scores it at 10 ms frames (inside the UEM when present).
///
/// # Errors
/// Unreadable audio, or audio not at the mel configuration's rate.
pub fn score_vad(item: &EvalItem, mel: &MelConfig, cfg: &VadConfig) -> anyhow::Result<FrameError> {
    let audio = read_analysis_audio(&item.audio_path)?.mono;
    if mel.sample_rate != ANALYSIS_RATE {
        bail!(
            "{}: the VAD runs at {ANALYSIS_RATE} Hz, not {} Hz",
            item.name,
            mel.sample_rate
        );
    }
    let hyp = detect_speech(&audio, mel, cfg)?;
    let whole = [Span {
        start: 0.0,
        end: audio.len() as f64 / f64::from(ANALYSIS_RATE),
    }];
    let scored = item.uem.as_deref().unwrap_or(&whole);
    Ok(vad_frame_error(
        &hyp,
        &speech_union(&item.turns),
        scored,
        0.01,
    ))
}
