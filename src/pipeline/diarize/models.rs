//! The two ONNX models of the neural path (pyannote segmentation-3.0 and 3D-Speaker CAM++),
//! run with ONNX Runtime loaded at run time (`ort`, load-dynamic), one intra-op thread each.
//!
//! Where the files are found (first hit wins):
//! - runtime library: `ORT_DYLIB_PATH` (ort's own variable), else `libonnxruntime.so` in the
//!   model directory, else the system loader's search path (`libonnxruntime.so`);
//! - model directory: `VIBEINSIGHT_DIARIZATION_MODELS`, else the per-user directory that
//!   `just models` fills (`$XDG_DATA_HOME/vibeinsight/models`, else
//!   `~/.local/share/vibeinsight/models`), else `models/diarization`,
//!   `../shared/models/diarization` (relative to the working directory).
//!
//! The runtime and the first session of each model are loaded once per process. A run needs
//! `&mut Session`, so each model keeps a pool of idle sessions: a caller takes one (opening
//! a new one when all are busy) and puts it back, so concurrent jobs run inference side by
//! side, one core each, instead of taking turns. The pool never holds more sessions than
//! there were concurrent callers (the job slots). Absence is not an error of the stage: the
//! caller falls back to the classical path and says so (see `diarize::fallback_reason`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use ort::environment::Environment;
use ort::session::Session;
use ort::value::Tensor;
use thiserror::Error;

use super::{Mode, Neural};

pub const SEGMENTATION_FILE: &str = "segmentation-3.0.onnx";
pub const EMBEDDING_FILE: &str = "3dspeaker_speech_campplus_sv_zh_en_16k-common_advanced.onnx";
pub const MODELS_ENV: &str = "VIBEINSIGHT_DIARIZATION_MODELS";
pub const DYLIB_ENV: &str = "ORT_DYLIB_PATH";

#[derive(Clone, Debug, Error)]
pub enum ModelError {
    #[error("diarization models not found (run `just models` or set {MODELS_ENV}; looked in {0})")]
    NotFound(String),
    #[error("ONNX Runtime could not be loaded from {path}: {reason}")]
    Runtime { path: String, reason: String },
    #[error("model {file}: {reason}")]
    Session { file: String, reason: String },
    #[error("inference failed: {0}")]
    Inference(String),
}

pub struct Models {
    segmentation: Pool,
    embedding: Pool,
    pub dir: PathBuf,
}

/// Idle sessions of one model; see the module doc.
struct Pool {
    env: Environment,
    path: PathBuf,
    idle: Mutex<Vec<Session>>,
}

impl Pool {
    fn new(env: &Environment, path: PathBuf) -> Result<Self, ModelError> {
        let first = open(env, &path)?;
        Ok(Self {
            env: env.clone(),
            path,
            idle: Mutex::new(vec![first]),
        })
    }

    /// Runs `f` on an idle session (a new one when every session is busy); the lock is held
    /// only to take and return it, never during inference.
    fn with<T>(
        &self,
        f: impl FnOnce(&mut Session) -> Result<T, ModelError>,
    ) -> Result<T, ModelError> {
        let taken = self.idle.lock().map_err(infer)?.pop();
        let mut session = match taken {
            Some(s) => s,
            None => open(&self.env, &self.path)?,
        };
        let out = f(&mut session);
        self.idle.lock().map_err(infer)?.push(session);
        out
    }
}

/// One session on one intra-op thread: a job slot is one core, so two concurrent jobs use
/// two cores instead of oversubscribing them.
fn open(env: &Environment, path: &Path) -> Result<Session, ModelError> {
    let err = |e: &dyn std::fmt::Display| ModelError::Session {
        file: path.display().to_string(),
        reason: e.to_string(),
    };
    Session::builder(env)
        .map_err(|e| err(&e))?
        .with_intra_threads(1)
        .map_err(|e| err(&e))?
        .with_inter_threads(1)
        .map_err(|e| err(&e))?
        .commit_from_file(path)
        .map_err(|e| err(&e))
}

static MODELS: OnceLock<Result<Models, ModelError>> = OnceLock::new();

/// The process-wide models, loading them on first use.
///
/// # Errors
/// Missing files or runtime; the same error is returned on every later call.
pub fn shared() -> Result<&'static Models, ModelError> {
    MODELS.get_or_init(load).as_ref().map_err(Clone::clone)
}

/// The per-user model directory `just models` fills: `$XDG_DATA_HOME/vibeinsight/models`,
/// else `$HOME/.local/share/vibeinsight/models` (the XDG default); `None` without either.
pub fn user_dir() -> Option<PathBuf> {
    user_dir_from(|name| std::env::var_os(name))
}

fn user_dir_from(var: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let set = |name: &str| var(name).filter(|v| !v.is_empty());
    let data = set("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| set("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
    Some(data.join("vibeinsight/models"))
}

/// Why a diarization that wanted the neural path (`neural` is `Auto`) came out classical
/// because the models or the runtime could not be loaded; `None` when the neural path ran or
/// chose the classical answer itself. The loud side of the fallback (stderr, progress,
/// report, metric) reads this.
pub fn fallback_reason(neural: Neural, mode: Mode) -> Option<String> {
    if neural != Neural::Auto || mode != Mode::Mono {
        return None;
    }
    shared().err().map(|e| e.to_string())
}

fn model_dir() -> Result<PathBuf, ModelError> {
    let candidates: Vec<PathBuf> = std::env::var_os(MODELS_ENV)
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .into_iter()
        .chain(user_dir())
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
    if let Some(p) = std::env::var_os(DYLIB_ENV).filter(|p| !p.is_empty()) {
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
    Ok(Models {
        segmentation: Pool::new(&env, dir.join(SEGMENTATION_FILE))?,
        embedding: Pool::new(&env, dir.join(EMBEDDING_FILE))?,
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
        self.segmentation.with(|s| {
            let out = s.run(ort::inputs!["x" => t]).map_err(infer)?;
            let (_, y) = out["y"].try_extract_tensor::<f32>().map_err(infer)?;
            let per_window = y.len() / windows.len().max(1);
            Ok(y.chunks_exact(per_window.max(1))
                .map(<[f32]>::to_vec)
                .collect())
        })
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
        self.embedding.with(|s| {
            let out = s.run(ort::inputs!["x" => t]).map_err(infer)?;
            let (_, y) = out["embedding"]
                .try_extract_tensor::<f32>()
                .map_err(infer)?;
            Ok(y.to_vec())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn the_user_dir_follows_xdg_then_home() {
        let xdg = vars(&[("XDG_DATA_HOME", "/x"), ("HOME", "/h")]);
        assert_eq!(
            user_dir_from(xdg),
            Some(PathBuf::from("/x/vibeinsight/models"))
        );
        let home = vars(&[("XDG_DATA_HOME", ""), ("HOME", "/h")]);
        assert_eq!(
            user_dir_from(home),
            Some(PathBuf::from("/h/.local/share/vibeinsight/models"))
        );
        assert_eq!(user_dir_from(vars(&[])), None);
    }

    #[test]
    fn only_a_wanted_neural_path_that_came_out_classical_is_degraded() {
        assert_eq!(fallback_reason(Neural::Off, Mode::Mono), None);
        assert_eq!(fallback_reason(Neural::Auto, Mode::Neural), None);
        assert_eq!(fallback_reason(Neural::Auto, Mode::DualChannel), None);
    }
}
