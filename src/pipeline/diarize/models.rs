//! The two ONNX models of the neural path (pyannote segmentation-3.0 and 3D-Speaker CAM++),
//! run with ONNX Runtime loaded at run time (`ort`, load-dynamic), one intra-op thread each.
//!
//! Where the files are found (first hit wins):
//! - runtime library: `ORT_DYLIB_PATH` (ort's own variable), else `libonnxruntime.so` in the
//!   model directory, else the system loader's search path (`libonnxruntime.so`);
//! - model directory: `VIBEINSIGHT_DIARIZATION_MODELS`, else `models/diarization`,
//!   `../shared/models/diarization` (relative to the working directory).
//!
//! Both are loaded once per process and shared; each session sits behind a mutex because a
//! run needs `&mut Session`. Absence is not an error of the stage: the caller falls back to
//! the classical path and says so in the result.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use ort::session::Session;
use ort::value::Tensor;
use thiserror::Error;

pub const SEGMENTATION_FILE: &str = "segmentation-3.0.onnx";
pub const EMBEDDING_FILE: &str = "3dspeaker_speech_campplus_sv_zh_en_16k-common_advanced.onnx";
pub const MODELS_ENV: &str = "VIBEINSIGHT_DIARIZATION_MODELS";
pub const DYLIB_ENV: &str = "ORT_DYLIB_PATH";

#[derive(Clone, Debug, Error)]
pub enum ModelError {
    #[error("diarization models not found (set {MODELS_ENV}; looked in {0})")]
    NotFound(String),
    #[error("ONNX Runtime could not be loaded from {path}: {reason}")]
    Runtime { path: String, reason: String },
    #[error("model {file}: {reason}")]
    Session { file: String, reason: String },
    #[error("inference failed: {0}")]
    Inference(String),
}

pub struct Models {
    segmentation: Mutex<Session>,
    embedding: Mutex<Session>,
    pub dir: PathBuf,
}

static MODELS: OnceLock<Result<Models, ModelError>> = OnceLock::new();

/// The process-wide models, loading them on first use.
///
/// # Errors
/// Missing files or runtime; the same error is returned on every later call.
pub fn shared() -> Result<&'static Models, ModelError> {
    MODELS.get_or_init(load).as_ref().map_err(Clone::clone)
}

fn model_dir() -> Result<PathBuf, ModelError> {
    let candidates: Vec<PathBuf> = std::env::var_os(MODELS_ENV)
        .map(PathBuf::from)
        .into_iter()
        .chain(["models/diarization", "../shared/models/diarization"].map(PathBuf::from))
        .collect();
    candidates
        .iter()
        .find(|d| d.join(SEGMENTATION_FILE).is_file() && d.join(EMBEDDING_FILE).is_file())
        .cloned()
        .ok_or_else(|| {
            ModelError::NotFound(
                candidates
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        })
}

fn dylib(dir: &Path) -> PathBuf {
    if let Some(p) = std::env::var_os(DYLIB_ENV) {
        return PathBuf::from(p);
    }
    let local = dir.join("libonnxruntime.so");
    if local.is_file() {
        return local;
    }
    PathBuf::from("libonnxruntime.so")
}

fn load() -> Result<Models, ModelError> {
    let dir = model_dir()?;
    let lib = dylib(&dir);
    let runtime_err = |reason: String| ModelError::Runtime {
        path: lib.display().to_string(),
        reason,
    };
    let env = ort::init_from(&lib)
        .map_err(|e| runtime_err(e.to_string()))?
        .with_name("vibeinsight-diarize")
        .build()
        .map_err(|e| runtime_err(e.to_string()))?;
    let open = |file: &str| -> Result<Session, ModelError> {
        let err = |e: &dyn std::fmt::Display| ModelError::Session {
            file: file.to_owned(),
            reason: e.to_string(),
        };
        Session::builder(&env)
            .map_err(|e| err(&e))?
            .with_intra_threads(1)
            .map_err(|e| err(&e))?
            .with_inter_threads(1)
            .map_err(|e| err(&e))?
            .commit_from_file(dir.join(file))
            .map_err(|e| err(&e))
    };
    Ok(Models {
        segmentation: Mutex::new(open(SEGMENTATION_FILE)?),
        embedding: Mutex::new(open(EMBEDDING_FILE)?),
        dir,
    })
}

fn infer(e: impl std::fmt::Display) -> ModelError {
    ModelError::Inference(e.to_string())
}

/// Frames the segmentation model emits per 10 s window and their geometry (samples).
pub const SEG_FRAMES: usize = 589;
pub const SEG_WINDOW: usize = 160_000;
/// Windows per segmentation run (see [`Models::segment`]). One hour on one core (long path,
/// 360 windows), wall s / peak anonymous MiB: batch 1: 27.0–30.5 / 111, 2: 24.6 / 133,
/// 4: 22.5–24.4 / 180 (ONNX Runtime's arena grows with the batch).
pub const SEG_BATCH: usize = 2;
pub const SEG_STEP: usize = 270;
pub const SEG_FIELD: usize = 991;
/// Powerset classes: local speakers active in each (3 speakers, at most 2 at once).
pub const POWERSET: [[bool; 3]; 7] = [
    [false, false, false],
    [true, false, false],
    [false, true, false],
    [false, false, true],
    [true, true, false],
    [true, false, true],
    [false, true, true],
];

impl Models {
    /// Powerset log-probabilities `[SEG_FRAMES × 7]` of each 10 s window (zero-padded), in
    /// one run: a batch of [`SEG_BATCH`] costs less per window than one at a time.
    ///
    /// # Errors
    /// An inference failure inside ONNX Runtime.
    pub fn segment(&self, windows: &[&[f32]]) -> Result<Vec<Vec<f32>>, ModelError> {
        let mut x = vec![0.0f32; windows.len() * SEG_WINDOW];
        for (row, w) in x.chunks_exact_mut(SEG_WINDOW).zip(windows) {
            let n = w.len().min(SEG_WINDOW);
            row[..n].copy_from_slice(&w[..n]);
        }
        let t = Tensor::from_array(([windows.len(), 1, SEG_WINDOW], x)).map_err(infer)?;
        let mut s = self.segmentation.lock().map_err(infer)?;
        let out = s.run(ort::inputs!["x" => t]).map_err(infer)?;
        let (_, y) = out["y"].try_extract_tensor::<f32>().map_err(infer)?;
        let per_window = y.len() / windows.len().max(1);
        Ok(y.chunks_exact(per_window.max(1))
            .map(<[f32]>::to_vec)
            .collect())
    }

    /// 192-d speaker embedding of `frames × 80` filterbank rows (mean-normalised here).
    ///
    /// # Errors
    /// An inference failure inside ONNX Runtime.
    pub fn embed(&self, fbank: &[f32]) -> Result<Vec<f32>, ModelError> {
        let bins = super::fbank::N_BINS;
        let n = fbank.len() / bins;
        let mut mean = vec![0.0f32; bins];
        for row in fbank.chunks_exact(bins) {
            mean.iter_mut().zip(row).for_each(|(m, v)| *m += v);
        }
        mean.iter_mut().for_each(|m| *m /= n.max(1) as f32);
        let x: Vec<f32> = fbank
            .chunks_exact(bins)
            .flat_map(|row| row.iter().zip(&mean).map(|(v, m)| v - m))
            .collect();
        let t = Tensor::from_array(([1usize, n, bins], x)).map_err(infer)?;
        let mut s = self.embedding.lock().map_err(infer)?;
        let out = s.run(ort::inputs!["x" => t]).map_err(infer)?;
        let (_, y) = out["embedding"]
            .try_extract_tensor::<f32>()
            .map_err(infer)?;
        Ok(y.to_vec())
    }
}
