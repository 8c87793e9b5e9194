//! Neural path (the pyannote 3.x recipe, on a CPU budget): segmentation-3.0 finds up to three
//! local speakers (and their overlaps) in 10 s windows; CAM++ embeds each local speaker from
//! the frames where it speaks alone; the embeddings are clustered into the global speakers;
//! each window's local speakers are mapped to distinct global ones; the windows' activities
//! are averaged on the model's 16.9 ms frame grid, where the locally counted number of
//! speakers picks the most active global speakers per frame.

//!
//! `windows` cuts the recording and reads each window's local speakers, `clustering` turns
//! their embeddings into global speakers, `frames` puts the windows back on one frame grid.

mod clustering;
mod frames;
mod windows;

pub(super) use clustering::normalize;

use self::clustering::{assign, cluster, conflated_share};
use self::frames::{OverlapMean, fill_gaps, frame_spans, reconstruct, to_output};
use self::windows::{
    Embedding, Local, decode, heard_speakers, separated_share, speaker_fbank, spread, window_starts,
};
use super::count::CountEstimate;
use super::fbank::Fbank;
use super::models::{ModelError, Models, SEG_BATCH, SEG_STEP, SEG_WINDOW};
use crate::domain::{Span, SpeakerTurn};

/// The models' sample rate (Hz).
const SAMPLE_RATE: f64 = 16_000.0;

/// Seconds between two model frames.
const HOP_S: f64 = SEG_STEP as f64 / SAMPLE_RATE;

#[derive(Clone, Debug)]
pub struct NeuralParams {
    /// Shortest window step in seconds (windows are 10 s long); longer recordings use a
    /// longer step so that about `max_windows` windows cover them (never above
    /// `max_step_s`).
    pub step_s: f64,
    pub max_windows: usize,
    pub max_step_s: f64,
    /// Least clean speech (s) a local speaker needs for its own embedding.
    pub min_embed_s: f64,
    /// Most speech (s) fed to one embedding; bounds the cost per window.
    pub max_embed_s: f64,
    /// Cosine distance beyond which a small cluster is kept as a separate speaker.
    pub distinct: f32,
    /// A speaker's silent pauses shorter than this (s) are bridged: annotators (and coaches)
    /// count a breath inside a sentence as speech. 1.5 s measured best (en_dev_3min nist
    /// 2.07 → 1.65 % against 1.0 s; the pyannote sample and AMI unchanged).
    pub fill_gap_s: f64,
    /// Sharpen the neural turns with the classical GMM resegmentation.
    pub refine: bool,
    /// Read (segment and embed) at most this many windows, spread over the recording (see
    /// [`windows::spread`]); the audio between them gets no turns here (see
    /// [`NeuralOutput::read`]). Long recordings: the voices are learnt from a bounded budget
    /// of windows and the frame models label the rest, so the segmentation (3.2 ms of CPU per
    /// second of audio, 11.6 s of an hour's 20 s when it read every window) stays bounded
    /// too. `None` reads every window.
    pub read_budget: Option<usize>,
}

impl Default for NeuralParams {
    fn default() -> Self {
        Self {
            step_s: 1.0,
            max_windows: 60,
            max_step_s: 5.0,
            min_embed_s: 0.4,
            max_embed_s: 3.0,
            distinct: 0.7,
            fill_gap_s: 1.5,
            refine: true,
            read_budget: None,
        }
    }
}

pub struct NeuralOutput {
    pub turns: Vec<SpeakerTurn>,
    pub num_speakers: usize,
    /// Where the read windows heard speech (unbridged).
    pub speech: Vec<Span>,
    /// The stretches of the recording the read windows cover.
    pub read: Vec<Span>,
    /// Share of the windows in which the segmentation heard two or more local speakers, each
    /// for at least [`SEPARATED_LOCAL_S`]: low when one person holds the floor, or when the
    /// model hears every voice as one local speaker (far-field AMI dev00: 3 of 22 windows,
    /// while the reference has both speakers in 18 of them).
    pub separated_windows: f64,
    /// Share of the windows in which the clustering took two local speakers, each heard
    /// alone, for one voice (see [`clustering::conflated_share`]): high when the window
    /// embeddings do not tell apart voices the segmentation separates (AMI trn08: two women
    /// talking over each other, 1.00; 0–0.57 on the other dev files with two or more global
    /// speakers; always 1 with one).
    pub conflated_windows: f64,
    /// Per model frame ([`frame_time`]), the probability that two speakers talk at once,
    /// averaged over the windows that cover it (0 outside them).
    pub overlap_probability: Vec<f32>,
    /// How the count was estimated; `None` when it was given.
    pub count: Option<CountEstimate>,
}

impl NeuralOutput {
    /// Regions where [`Self::overlap_probability`] reaches `threshold`.
    pub fn detected_overlaps(&self, threshold: f32) -> Vec<Span> {
        frame_spans(
            self.overlap_probability
                .iter()
                .enumerate()
                .filter(|(_, p)| **p >= threshold)
                .map(|(f, _)| f),
        )
    }
}

/// Activity (s) a local speaker needs in a window to count in [`NeuralOutput::separated_windows`].
pub const SEPARATED_LOCAL_S: f64 = 0.5;

/// # Errors
/// An ONNX Runtime failure.
pub fn diarize(
    models: &Models,
    x: &[f32],
    k: Option<usize>,
    max_k: usize,
    p: &NeuralParams,
) -> Result<NeuralOutput, ModelError> {
    let duration = x.len() as f64 / SAMPLE_RATE;
    let step_s =
        (duration / p.max_windows.max(1) as f64).clamp(p.step_s, p.step_s.max(p.max_step_s));
    let step = ((step_s / HOP_S).round() as usize).max(1);
    let total_frames = x.len().div_ceil(SEG_STEP);
    let fb = Fbank::new();
    let mut locals = Vec::new();
    let mut embs: Vec<Embedding> = Vec::new();
    let mut overlap = OverlapMean::new(total_frames);
    let mut speech = vec![false; total_frames];
    let starts = spread(window_starts(x.len(), step), p.read_budget);
    let window_at = |start: usize| {
        let a = (start * SEG_STEP).min(x.len());
        &x[a..(a + SEG_WINDOW).min(x.len())]
    };
    for batch in starts.chunks(SEG_BATCH) {
        let wins: Vec<&[f32]> = batch.iter().map(|&s| window_at(s)).collect();
        let ys = models.segment(&wins)?;
        for ((&start, win), y) in batch.iter().zip(&wins).zip(ys) {
            overlap.add(start, &y);
            let active = decode(&y);
            for (heard, a) in speech.iter_mut().skip(start).zip(&active) {
                *heard |= a.iter().any(|&v| v);
            }
            for s in 0..3 {
                if let Some((f, alone)) = speaker_fbank(&fb, win, &active, s, p) {
                    let mut vector = models.embed(&f)?;
                    normalize(&mut vector);
                    embs.push(Embedding {
                        window: locals.len(),
                        local: s,
                        alone,
                        vector,
                    });
                }
            }
            locals.push(Local {
                start_frame: start,
                active,
            });
        }
    }
    let vectors: Vec<Vec<f32>> = embs.iter().map(|e| e.vector.clone()).collect();
    let heard: Vec<usize> = locals.iter().map(heard_speakers).collect();
    let (centroids, count) = cluster(&vectors, k, max_k, &heard, p.distinct);
    let kk = centroids.len();
    let mapping = assign(&locals, &embs, &centroids);
    let mut frames = reconstruct(&locals, &mapping, kk, total_frames);
    fill_gaps(&mut frames, kk, (p.fill_gap_s / HOP_S) as usize);
    let mut out = to_output(&frames, kk);
    out.separated_windows = separated_share(&heard);
    out.conflated_windows = conflated_share(&embs, locals.len(), &centroids);
    out.count = count;
    out.overlap_probability = overlap.mean();
    out.read = crate::domain::timeline::normalize(starts.iter().map(|&start| Span {
        start: start as f64 * HOP_S,
        end: ((start * SEG_STEP + SEG_WINDOW).min(x.len())) as f64 / SAMPLE_RATE,
    }));
    out.speech = frame_spans(
        speech
            .iter()
            .enumerate()
            .filter(|(_, s)| **s)
            .map(|(f, _)| f),
    );
    Ok(out)
}
