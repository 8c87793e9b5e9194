//! Frame features for speaker modelling: cepstra from the shared log-mel front end, with the
//! level term (c0) dropped and the per-file mean removed, so loudness and channel colour do
//! not decide who is speaking. The same pass feeds the VAD (see [`front_end`]).

use super::DiarizeError;
use crate::domain::Span;
use crate::dsp::mel::{MelConfig, MelExtractor, MelFrames};
use crate::pipeline::samples::{SPILL_AFTER, Samples, SamplesWriter};
use crate::pipeline::vad::{VadConfig, VadFeatures, speech_regions};

/// Cepstral coefficients kept per frame (c1..=c19).
pub const N_CEPS: usize = 19;

/// Row-major `n_frames × N_CEPS` cepstra plus the frame level in dB.
pub struct Cepstra {
    /// `N_CEPS` per frame; past ten minutes in a mapped scratch file, like the signal.
    pub data: Samples,
    pub energy_db: Vec<f32>,
    pub hop_seconds: f64,
    /// Offset from a frame's index·hop to the centre of its window.
    pub centre_offset: f64,
}

#[allow(clippy::len_without_is_empty)]
impl Cepstra {
    pub fn len(&self) -> usize {
        self.energy_db.len()
    }
    pub fn frame(&self, i: usize) -> &[f32] {
        &self.data[i * N_CEPS..(i + 1) * N_CEPS]
    }
    /// Time of the boundary before frame `i` (half a hop before its centre).
    pub fn boundary(&self, i: usize) -> f64 {
        i as f64 * self.hop_seconds + self.centre_offset - 0.5 * self.hop_seconds
    }
}

/// Samples pushed through the mel front end at a time: the full-resolution log-mel of a
/// long recording is never held, only the VAD's one value and the 19 cepstra per frame.
const CHUNK: usize = 160_000;

/// The mel front end's two products from one pass over a recording: the VAD's speech
/// regions and the diarizer's cepstra. Two passes (one for each) cost an hour ~0.7 s more
/// on one core.
pub struct FrontEnd {
    pub speech: Vec<Span>,
    pub cepstra: Cepstra,
}

/// Runs the mel front end once over `mono` (16 kHz), streamed in chunks, for the VAD and the
/// cepstra (DCT-II of each log-mel frame, then cepstral mean normalisation over the file).
///
/// # Errors
/// The mel configuration is invalid, or the scratch file for a long recording cannot be
/// written.
pub fn front_end(mono: &[f32], cfg: &MelConfig, vad: &VadConfig) -> Result<FrontEnd, DiarizeError> {
    let failed =
        |what: &str, err: &dyn std::fmt::Display| DiarizeError::Features(format!("{what}: {err}"));
    let mut ex = MelExtractor::new(cfg.clone()).map_err(|e| failed("mel front end", &e))?;
    let mut mel = ex.new_frames();
    let mut vad_features = VadFeatures::new(cfg, vad);
    let (hop_seconds, centre_offset) = (mel.hop_seconds, 0.5 * mel.win_seconds);
    let basis = dct_basis(mel.n_mels);
    let mut data = SamplesWriter::new(SPILL_AFTER / cfg.hop_length * N_CEPS);
    let mut energy_db = Vec::with_capacity(mono.len().div_ceil(cfg.hop_length));
    // `None` last: the extractor's tail.
    for chunk in mono.chunks(CHUNK).map(Some).chain([None]) {
        match chunk {
            Some(chunk) => ex.push(chunk, &mut mel),
            None => ex.finish(&mut mel),
        }
        vad_features.extend_from(&mel, 0);
        data.push(&cepstra_of(&mel, &basis))
            .map_err(|e| failed("cepstra scratch file", &e))?;
        energy_db.extend_from_slice(&mel.energy_db);
        mel.clear();
    }
    let mut data = data
        .finish()
        .map_err(|e| failed("cepstra scratch file", &e))?;
    remove_mean(&mut data);
    let duration = mono.len() as f64 / f64::from(cfg.sample_rate);
    Ok(FrontEnd {
        speech: speech_regions(&vad_features, duration, vad),
        cepstra: Cepstra {
            data,
            energy_db,
            hop_seconds,
            centre_offset,
        },
    })
}

/// The DCT-II basis scaled by 2 / `m`, stored band-major (`m` rows of `N_CEPS`), so that a
/// frame's cepstra accumulate over independent coefficient lanes (vectorised) instead of one
/// serial sum per coefficient.
fn dct_basis(m: usize) -> Vec<f32> {
    (0..m)
        .flat_map(|j| {
            (1..=N_CEPS).map(move |k| {
                let angle = std::f64::consts::PI * k as f64 * (j as f64 + 0.5) / m as f64;
                (2.0 * angle.cos() / m as f64) as f32
            })
        })
        .collect()
}

/// The `N_CEPS` cepstra of every frame in `mel`, frame after frame.
fn cepstra_of(mel: &MelFrames, basis: &[f32]) -> Vec<f32> {
    let mut out = Vec::with_capacity(mel.len() * N_CEPS);
    for i in 0..mel.len() {
        let mut c = [0.0f32; N_CEPS];
        for (&x, row) in mel.frame(i).iter().zip(basis.chunks_exact(N_CEPS)) {
            for (c, b) in c.iter_mut().zip(row) {
                *c += b * x;
            }
        }
        out.extend_from_slice(&c);
    }
    out
}

fn remove_mean(data: &mut [f32]) {
    let n = data.len() / N_CEPS;
    let mut mean = [0.0f64; N_CEPS];
    for row in data.chunks_exact(N_CEPS) {
        for (a, &x) in mean.iter_mut().zip(row) {
            *a += f64::from(x);
        }
    }
    let denom = n.max(1) as f64;
    for row in data.chunks_exact_mut(N_CEPS) {
        for (x, a) in row.iter_mut().zip(&mean) {
            *x -= (a / denom) as f32;
        }
    }
}

/// Speech windows: `[start, end)` frame ranges inside the speech mask, `len` long, `hop`
/// apart; a region shorter than `len` but at least `len / 3` becomes one shorter window.
pub fn windows(speech: &[bool], len: usize, hop: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < speech.len() {
        if !speech[i] {
            i += 1;
            continue;
        }
        let start = i;
        while i < speech.len() && speech[i] {
            i += 1;
        }
        let region = i - start;
        if region < len {
            if region >= len / 3 {
                out.push((start, i));
            }
            continue;
        }
        let mut s = start;
        while s + len <= i {
            out.push((s, s + len));
            s += hop;
        }
        if s < i && i - s > hop / 2 {
            out.push((i - len, i));
        }
    }
    out
}

/// Window embedding: mean and standard deviation of the cepstra over the window.
pub fn embed(ceps: &Cepstra, (a, b): (usize, usize)) -> Vec<f32> {
    let n = (b - a).max(1) as f32;
    let mut mean = [0.0f32; N_CEPS];
    let mut sq = [0.0f32; N_CEPS];
    for i in a..b {
        for (k, &x) in ceps.frame(i).iter().enumerate() {
            mean[k] += x;
            sq[k] += x * x;
        }
    }
    let mut out = Vec::with_capacity(2 * N_CEPS);
    out.extend(mean.iter().map(|m| m / n));
    out.extend(
        mean.iter()
            .zip(&sq)
            .map(|(m, s)| (s / n - (m / n).powi(2)).max(0.0).sqrt()),
    );
    out
}

/// Z-scores every dimension across the set, then scales each vector to unit length so that a
/// dot product is a cosine similarity.
pub fn standardize(vectors: &mut [Vec<f32>]) {
    let Some(dim) = vectors.first().map(Vec::len) else {
        return;
    };
    let n = vectors.len() as f32;
    for d in 0..dim {
        let mean = vectors.iter().map(|v| v[d]).sum::<f32>() / n;
        let var = vectors.iter().map(|v| (v[d] - mean).powi(2)).sum::<f32>() / n;
        let sd = var.sqrt().max(1e-6);
        vectors.iter_mut().for_each(|v| v[d] = (v[d] - mean) / sd);
    }
    for v in vectors.iter_mut() {
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::vad::detect_speech;

    #[test]
    fn one_pass_matches_the_whole_signal_cepstra_and_the_vad_alone() {
        // Chirp bursts longer than two chunks, so chunk seams are crossed.
        let x: Vec<f32> = (0..2 * CHUNK + 12_345)
            .map(|i| {
                let t = i as f32 / 16_000.0;
                let level = if t % 2.0 < 1.2 { 0.3 } else { 0.003 };
                (2.0 * std::f32::consts::PI * (200.0 + 100.0 * t) * t).sin() * level
            })
            .collect();
        let cfg = MelConfig::default();
        let vad = VadConfig::default();
        let front = front_end(&x, &cfg, &vad).unwrap();
        assert!(front.speech.len() >= 5, "{:?}", front.speech);
        assert_eq!(front.speech, detect_speech(&x, &cfg, &vad).unwrap());
        let streamed = front.cepstra;
        let whole = MelExtractor::new(cfg.clone()).unwrap().compute(&x);
        assert_eq!(streamed.len(), whole.len());
        let mut reference = cepstra_of(&whole, &dct_basis(whole.n_mels));
        remove_mean(&mut reference);
        assert_eq!(streamed.data.len(), reference.len());
        let worst = streamed
            .data
            .iter()
            .zip(&reference)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-3, "largest difference {worst}");
    }

    #[test]
    fn cepstra_are_the_scaled_dct_ii_of_each_log_mel_frame() {
        let x: Vec<f32> = (0..16_000)
            .map(|i| ((i * 7919 % 1000) as f32 / 1000.0 - 0.5) * 0.2)
            .collect();
        let mel = MelExtractor::new(MelConfig::default()).unwrap().compute(&x);
        let m = mel.n_mels;
        let ceps = cepstra_of(&mel, &dct_basis(m));
        for i in [0, mel.len() / 2, mel.len() - 1] {
            for k in 1..=N_CEPS {
                let direct: f64 = mel
                    .frame(i)
                    .iter()
                    .enumerate()
                    .map(|(j, &v)| {
                        let angle = std::f64::consts::PI * k as f64 * (j as f64 + 0.5) / m as f64;
                        f64::from(v) * angle.cos()
                    })
                    .sum::<f64>()
                    * 2.0
                    / m as f64;
                let ours = f64::from(ceps[i * N_CEPS + k - 1]);
                assert!(
                    (ours - direct).abs() < 1e-4,
                    "frame {i} c{k}: {ours} vs {direct}"
                );
            }
        }
    }
}
