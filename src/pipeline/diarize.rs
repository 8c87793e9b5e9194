//! Speaker diarization of 16 kHz audio on a CPU, classical and deterministic.
//!
//! Mono: log-mel → cepstra (c1..c19, mean-normalised) → 1.0 s windows every 0.5 s inside the
//! speech mask → mean+std embeddings, z-scored → average-linkage clustering cut at the known
//! (or estimated) number of substantial clusters → per-speaker GMMs and a smoothed Viterbi
//! resegmentation at 10 ms. Dual-channel recordings (one person per channel) are detected
//! from the channel levels and diarized per channel instead.
//!
//! Confidence: the share of speech frames whose smoothed per-frame log-likelihood margin
//! between the chosen speaker and the runner-up is decisive, scaled down when the
//! clusters' centroids are close (likely one voice split in two, or two similar voices).

mod activity;
mod cluster;
mod fbank;
mod features;
mod gmm;
pub mod models;
mod neural;
mod reseg;
mod stereo;

use serde::Serialize;
use thiserror::Error;

use crate::dsp::mel::{MelConfig, MelExtractor};
use crate::pipeline::types::{ANALYSIS_RATE, AnalysisAudio, Span, SpeakerTurn};
use crate::pipeline::vad::{VadConfig, detect_speech};
use features::{Cepstra, cepstra, embed, standardize, windows};
pub use models::ModelError;
pub use neural::NeuralParams;
use reseg::{NONE, ResegParams, resegment};

#[derive(Clone, Debug)]
pub struct DiarizeOptions {
    /// Known number of speakers (`sessions.num_speakers`); `None` estimates it.
    pub num_speakers: Option<usize>,
    pub max_speakers: usize,
    /// Cosine distance below which windows are one speaker when the count is estimated.
    pub threshold: f32,
    /// Try the dual-channel path when the audio has two channels.
    pub use_stereo: bool,
    /// Whether to use the neural models (see [`Neural`]).
    pub neural: Neural,
    /// Recordings longer than this (s) take the classical path in [`Neural::Auto`]: the
    /// neural path costs 0.05–0.2 s of CPU per second of audio, the classical one ~0.005.
    pub neural_max_s: f64,
    pub neural_params: NeuralParams,
}

/// Use of the ONNX models.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Neural {
    /// Classical path only.
    Off,
    /// Neural path when the models load and the recording is short enough, else classical.
    Auto,
    /// Neural path or an error.
    Required,
}

impl Default for DiarizeOptions {
    fn default() -> Self {
        Self {
            num_speakers: Some(2),
            max_speakers: 8,
            threshold: 0.9,
            use_stereo: true,
            neural: Neural::Auto,
            neural_max_s: 600.0,
            neural_params: NeuralParams::default(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Mode {
    /// Classical features and clustering on the mono mix.
    Mono,
    /// Segmentation-3.0 + CAM++ on the mono mix.
    Neural,
    DualChannel,
}

#[derive(Clone, Debug, Serialize)]
pub struct Diarization {
    /// Turns sorted by start; speakers are `0..num_speakers`.
    pub turns: Vec<SpeakerTurn>,
    /// Regions where two or more speakers talk at once.
    pub overlaps: Vec<Span>,
    pub num_speakers: usize,
    /// 0..1, see the module doc.
    pub confidence: f32,
    pub mode: Mode,
}

#[derive(Debug, Error)]
pub enum DiarizeError {
    #[error("feature extraction failed: {0}")]
    Features(String),
    #[error(transparent)]
    Models(#[from] ModelError),
}

/// Diarizes `audio`. `speech` are the VAD's regions for the classical path; `None` runs the
/// VAD here. The neural path finds speech itself.
///
/// # Errors
/// The mel front end rejects its configuration, or [`Neural::Required`] and the models
/// cannot be loaded or run.
pub fn diarize(
    audio: &AnalysisAudio,
    speech: Option<&[Span]>,
    opts: &DiarizeOptions,
) -> Result<Diarization, DiarizeError> {
    if opts.use_stereo
        && let Some(levels) = audio.stereo.as_ref().and_then(stereo::detect)
    {
        let (turns, overlaps) = stereo::diarize_channels(&levels);
        let num_speakers = turns.iter().map(|t| t.speaker + 1).max().unwrap_or(0);
        return Ok(Diarization {
            turns,
            overlaps,
            num_speakers,
            confidence: 0.95,
            mode: Mode::DualChannel,
        });
    }
    let duration = audio.mono.len() as f64 / f64::from(ANALYSIS_RATE);
    let try_neural = match opts.neural {
        Neural::Off => false,
        Neural::Auto => duration <= opts.neural_max_s,
        Neural::Required => true,
    };
    if try_neural {
        match models::shared() {
            Ok(m) => return diarize_neural(m, &audio.mono, opts),
            Err(e) if opts.neural == Neural::Required => return Err(e.into()),
            Err(_) => {}
        }
    }
    diarize_classical(&audio.mono, speech, opts)
}

fn diarize_neural(
    m: &models::Models,
    mono: &[f32],
    opts: &DiarizeOptions,
) -> Result<Diarization, DiarizeError> {
    let p = &opts.neural_params;
    let out = neural::diarize(m, mono, opts.num_speakers, opts.max_speakers, p)?;
    let turns = if p.refine && out.num_speakers >= 2 {
        refine(mono, &out.turns, out.num_speakers)?
    } else {
        out.turns
    };
    let num_speakers = turns.iter().map(|t| t.speaker + 1).max().unwrap_or(0);
    // Fewer voices than the session declares: the count itself is doubtful.
    let short = opts.num_speakers.is_some_and(|k| num_speakers < k);
    Ok(Diarization {
        turns,
        overlaps: out.overlaps,
        num_speakers,
        confidence: if short { 0.0 } else { out.margin },
        mode: Mode::Neural,
    })
}

/// Frame-level GMM resegmentation seeded with the neural single-speaker frames: the neural
/// labels decide who is who, the per-file cepstral models sharpen the boundaries and catch
/// turns the 10 s windows blurred. Overlapped frames keep the neural second speaker.
fn refine(mono: &[f32], turns: &[SpeakerTurn], k: usize) -> Result<Vec<SpeakerTurn>, DiarizeError> {
    let mut mel = MelExtractor::new(MelConfig::default())
        .map_err(|e| DiarizeError::Features(e.to_string()))?;
    let ceps = cepstra(&mel.compute(mono));
    let n = ceps.len();
    let mut count = vec![0u8; n];
    let mut init = vec![NONE; n];
    let frame = |t: f64| {
        ((t - ceps.centre_offset) / ceps.hop_seconds)
            .ceil()
            .max(0.0) as usize
    };
    for t in turns {
        for i in frame(t.span.start)..frame(t.span.end).min(n) {
            count[i] += 1;
            init[i] = t.speaker;
        }
    }
    // Overlapped frames are speech but train no model.
    let seeds: Vec<usize> = init
        .iter()
        .zip(&count)
        .map(|(&l, &c)| {
            if c == 1 {
                l
            } else if c > 1 {
                k
            } else {
                NONE
            }
        })
        .collect();
    let r = resegment(&ceps, &seeds, k, &reseg_params());
    let mut out = to_turns(&ceps, &r.labels);
    let overlapped: Vec<SpeakerTurn> = turns
        .iter()
        .flat_map(|t| {
            let others = turns.iter().filter(move |o| o.speaker != t.speaker);
            others.filter_map(move |o| {
                let span = Span {
                    start: t.span.start.max(o.span.start),
                    end: t.span.end.min(o.span.end),
                };
                (span.duration() > 0.0).then_some(SpeakerTurn {
                    speaker: t.speaker,
                    span,
                })
            })
        })
        .collect();
    out.extend(overlapped);
    out.sort_by(|a, b| a.span.start.total_cmp(&b.span.start));
    Ok(out)
}

fn reseg_params() -> ResegParams {
    ResegParams {
        components: 16,
        em_iterations: 5,
        passes: 3,
        smooth: 10,
        switch_penalty: 8.0,
    }
}

fn diarize_classical(
    mono: &[f32],
    speech: Option<&[Span]>,
    opts: &DiarizeOptions,
) -> Result<Diarization, DiarizeError> {
    let mel_cfg = MelConfig::default();
    let mut mel =
        MelExtractor::new(mel_cfg.clone()).map_err(|e| DiarizeError::Features(e.to_string()))?;
    let ceps = cepstra(&mel.compute(mono));
    let owned;
    let spans = match speech {
        Some(s) => s,
        None => {
            owned = detect_speech(mono, &mel_cfg, &VadConfig::default())
                .map_err(|e| DiarizeError::Features(e.to_string()))?;
            &owned
        }
    };
    let mask = activity::mask_from_spans(spans, ceps.len(), ceps.hop_seconds, ceps.centre_offset);
    Ok(diarize_mono(&ceps, &mask, opts))
}

const WIN_FRAMES: usize = 100;
const WIN_HOP: usize = 50;
/// Above this many windows, cluster an even subsample and assign the rest to centroids;
/// keeps the O(n²) clustering at a fixed cost for long recordings.
const MAX_CLUSTER_WINDOWS: usize = 1500;

fn diarize_mono(ceps: &Cepstra, mask: &[bool], opts: &DiarizeOptions) -> Diarization {
    let wins = windows(mask, WIN_FRAMES, WIN_HOP);
    let mut emb: Vec<Vec<f32>> = wins.iter().map(|&w| embed(ceps, w)).collect();
    standardize(&mut emb);
    let step = emb.len().div_ceil(MAX_CLUSTER_WINDOWS).max(1);
    let sample: Vec<Vec<f32>> = emb.iter().step_by(step).cloned().collect();
    // A speaker needs about 5 % of the windows (at least 3) to count.
    let min_size = (sample.len() / 20).max(3).min(sample.len().max(1));
    let c = cluster::cluster(
        &sample,
        opts.num_speakers,
        opts.max_speakers,
        opts.threshold,
        min_size,
    );
    let k = c.centroids.len().max(1);
    let mut init = vec![NONE; ceps.len()];
    for (i, m) in mask.iter().enumerate() {
        if *m {
            init[i] = 0;
        }
    }
    for (w, v) in wins.iter().zip(&emb) {
        let s = cluster::nearest(&c.centroids, v);
        init[w.0..w.1].iter_mut().for_each(|l| *l = s);
    }
    let r = resegment(ceps, &init, k, &reseg_params());
    let turns = to_turns(ceps, &r.labels);
    let confidence = confidence(&r.margin, &r.labels, &c.centroids);
    let num_speakers = turns.iter().map(|t| t.speaker + 1).max().unwrap_or(0);
    Diarization {
        turns,
        overlaps: Vec::new(),
        num_speakers,
        confidence,
        mode: Mode::Mono,
    }
}

fn to_turns(ceps: &Cepstra, labels: &[usize]) -> Vec<SpeakerTurn> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < labels.len() {
        let l = labels[i];
        let s = i;
        while i < labels.len() && labels[i] == l {
            i += 1;
        }
        if l != NONE {
            out.push(SpeakerTurn {
                speaker: l,
                span: Span {
                    start: ceps.boundary(s).max(0.0),
                    end: ceps.boundary(i),
                },
            });
        }
    }
    out
}

/// Margin (nats/frame, smoothed) above which a frame's speaker is considered settled.
const DECISIVE_MARGIN: f32 = 0.5;

fn confidence(margin: &[f32], labels: &[usize], centroids: &[Vec<f32>]) -> f32 {
    let speech = labels.iter().filter(|&&l| l != NONE).count();
    if centroids.len() < 2 || speech == 0 {
        return if speech == 0 { 0.0 } else { 0.5 };
    }
    let decisive = margin
        .iter()
        .zip(labels)
        .filter(|(m, l)| **l != NONE && **m >= DECISIVE_MARGIN)
        .count();
    let closest = centroids
        .iter()
        .enumerate()
        .flat_map(|(i, a)| {
            centroids[i + 1..]
                .iter()
                .map(move |b| 1.0 - a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>())
        })
        .fold(f32::INFINITY, f32::min);
    // Centroid cosine distance ≥ 0.6 is a clear pair of voices; closer ones scale down.
    let separation = (closest / 0.6).clamp(0.0, 1.0);
    decisive as f32 / speech as f32 * separation
}
