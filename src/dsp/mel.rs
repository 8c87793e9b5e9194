//! Log-mel spectrogram and per-frame energy, computed incrementally with a reused realfft plan.
//!
//! # API (stable; the diarization stage links this module)
//! - [`MelConfig`]: `sample_rate` 16 000, `win_length` 400 (25 ms Hann), `hop_length` 160
//!   (10 ms), `n_fft` 512, `n_mels` 64, `f_min` 50 Hz, `f_max` 7600 Hz by default.
//! - [`MelExtractor::new(config)`](MelExtractor::new) plans the FFT;
//!   [`MelExtractor::with_fft`] takes a plan shared as `Arc` between workers.
//! - [`MelExtractor::push(&mut self, samples, &mut MelFrames)`](MelExtractor::push) appends
//!   every frame that is complete; call it with blocks of any size.
//!   [`MelExtractor::finish`] zero-pads the tail so that there are exactly
//!   `ceil(total_samples / hop)` frames, then resets for the next signal.
//!   [`MelExtractor::compute`] does push + finish on a whole signal.
//! - [`MelFrames`]: `data` is row-major `n_frames × n_mels` natural-log mel power
//!   (`ln(max(E, 1e-10))`, power of the unnormalised FFT of the Hann-windowed frame);
//!   `energy_db` is the frame's mean-square level in dB relative to digital full scale
//!   (a full-scale square wave is 0 dB, a full-scale sine −3 dB), floored at −100 dB.
//! - Frame `i` covers samples `[i·hop, i·hop + win)`; [`MelFrames::frame_time`] gives its
//!   start in seconds and [`MelFrames::frame_center`] its centre;
//!   [`MelConfig::band_centres_hz`] gives each band's centre frequency.
//!
//! The frame mean is removed before windowing and before the energy, so a DC offset in the
//! recording neither leaks into the low mel bands nor looks like signal energy to the VAD.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};
use thiserror::Error;

use crate::domain::ANALYSIS_RATE;

/// Floor applied before the logarithm, so silence gives a finite value.
const MEL_FLOOR: f32 = 1e-10;
/// Lowest reported frame energy: digital silence maps here rather than to −∞.
pub const ENERGY_FLOOR_DB: f32 = -100.0;

/// Framing and filterbank parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct MelConfig {
    pub sample_rate: u32,
    pub win_length: usize,
    pub hop_length: usize,
    pub n_fft: usize,
    pub n_mels: usize,
    pub f_min: f32,
    pub f_max: f32,
}

impl MelConfig {
    /// Centre frequency (Hz) of each mel band, lowest first.
    pub fn band_centres_hz(&self) -> Vec<f64> {
        let (lo, hi) = (
            hz_to_mel(f64::from(self.f_min)),
            hz_to_mel(f64::from(self.f_max)),
        );
        (1..=self.n_mels)
            .map(|i| mel_to_hz(lo + (hi - lo) * i as f64 / (self.n_mels + 1) as f64))
            .collect()
    }
}

impl Default for MelConfig {
    fn default() -> Self {
        Self {
            sample_rate: ANALYSIS_RATE,
            win_length: 400,
            hop_length: 160,
            n_fft: 512,
            n_mels: 64,
            f_min: 50.0,
            f_max: 7600.0,
        }
    }
}

/// A configuration the extractor cannot work with.
#[derive(Debug, Error, PartialEq)]
pub enum MelError {
    #[error("invalid mel configuration: {0}")]
    InvalidConfig(&'static str),
}

/// Frames produced so far. Append-only; clear it yourself between signals if you reuse it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MelFrames {
    pub n_mels: usize,
    /// Seconds between frame starts (the hop).
    pub hop_seconds: f64,
    /// Seconds covered by one frame (the window).
    pub win_seconds: f64,
    /// Row-major log-mel values, `n_mels` per frame.
    pub data: Vec<f32>,
    /// Per-frame level in dBFS (see module doc).
    pub energy_db: Vec<f32>,
}

impl MelFrames {
    pub fn len(&self) -> usize {
        self.energy_db.len()
    }
    pub fn is_empty(&self) -> bool {
        self.energy_db.is_empty()
    }
    /// The log-mel row of frame `i`. Panics when `i >= len()`.
    pub fn frame(&self, i: usize) -> &[f32] {
        &self.data[i * self.n_mels..(i + 1) * self.n_mels]
    }
    /// Start time of frame `i` in seconds.
    pub fn frame_time(&self, i: usize) -> f64 {
        i as f64 * self.hop_seconds
    }
    /// Centre time of frame `i` in seconds.
    pub fn frame_center(&self, i: usize) -> f64 {
        self.frame_time(i) + 0.5 * self.win_seconds
    }
    pub fn clear(&mut self) {
        self.data.clear();
        self.energy_db.clear();
    }
}

/// One triangular filter, stored sparsely from its first non-zero FFT bin.
#[derive(Clone, Debug)]
struct MelFilter {
    first_bin: usize,
    weights: Vec<f32>,
}

/// Streaming log-mel extractor. Owns its scratch buffers; share only the FFT plan.
pub struct MelExtractor {
    config: MelConfig,
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    filters: Vec<MelFilter>,
    /// Samples not yet consumed by a frame; `pending[read..]` is live.
    pending: Vec<f32>,
    read: usize,
    /// Samples pushed since the last reset.
    total: u64,
    /// Frames emitted since the last reset.
    emitted: u64,
    frame_buf: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
    power: Vec<f32>,
}

impl MelExtractor {
    /// Plans the FFT and builds window and filterbank.
    ///
    /// # Errors
    /// [`MelError::InvalidConfig`] when sizes are zero, the window exceeds the FFT size, or
    /// the band edges are not `0 ≤ f_min < f_max ≤ Nyquist`.
    pub fn new(config: MelConfig) -> Result<Self, MelError> {
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(config.n_fft);
        Self::with_fft(config, fft)
    }

    /// Like [`MelExtractor::new`] but reuses a plan (e.g. one per process, shared by jobs).
    ///
    /// # Errors
    /// As [`MelExtractor::new`], plus a plan whose length is not `config.n_fft`.
    pub fn with_fft(config: MelConfig, fft: Arc<dyn RealToComplex<f32>>) -> Result<Self, MelError> {
        validate(&config)?;
        if fft.len() != config.n_fft {
            return Err(MelError::InvalidConfig(
                "FFT plan length differs from n_fft",
            ));
        }
        let window = hann(config.win_length);
        let filters = mel_filterbank(&config);
        Ok(Self {
            frame_buf: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            power: vec![0.0; config.n_fft / 2 + 1],
            pending: Vec::with_capacity(config.win_length * 4),
            read: 0,
            total: 0,
            emitted: 0,
            config,
            fft,
            window,
            filters,
        })
    }

    pub fn config(&self) -> &MelConfig {
        &self.config
    }

    /// An empty [`MelFrames`] with this extractor's shape filled in.
    pub fn new_frames(&self) -> MelFrames {
        MelFrames {
            n_mels: self.config.n_mels,
            hop_seconds: self.config.hop_length as f64 / f64::from(self.config.sample_rate),
            win_seconds: self.config.win_length as f64 / f64::from(self.config.sample_rate),
            ..MelFrames::default()
        }
    }

    /// Consumes `samples`, appending every frame that is now complete to `out`.
    pub fn push(&mut self, samples: &[f32], out: &mut MelFrames) {
        self.total += samples.len() as u64;
        self.pending.extend_from_slice(samples);
        self.drain_frames(out);
    }

    /// Emits the remaining frames (zero-padded) so that frame starts cover every pushed
    /// sample, then resets the extractor for a new signal.
    pub fn finish(&mut self, out: &mut MelFrames) {
        let hop = self.config.hop_length as u64;
        let wanted = self.total.div_ceil(hop);
        while self.emitted < wanted {
            let live = self.pending.len() - self.read;
            let missing = self.config.win_length.saturating_sub(live);
            self.pending.extend(std::iter::repeat_n(0.0, missing));
            self.drain_frames(out);
        }
        self.reset();
    }

    /// Whole-signal convenience: a fresh [`MelFrames`] for `samples`.
    pub fn compute(&mut self, samples: &[f32]) -> MelFrames {
        self.reset();
        let mut out = self.new_frames();
        self.push(samples, &mut out);
        self.finish(&mut out);
        out
    }

    /// Forgets buffered samples; the next push starts a new signal at time 0.
    pub fn reset(&mut self) {
        self.pending.clear();
        self.read = 0;
        self.total = 0;
        self.emitted = 0;
    }

    fn drain_frames(&mut self, out: &mut MelFrames) {
        let (win, hop) = (self.config.win_length, self.config.hop_length);
        while self.pending.len() - self.read >= win {
            self.process_frame(out);
            self.read += hop;
            self.emitted += 1;
        }
        // Compact rarely so the buffer stays small without a memmove per frame.
        if self.read > 8 * win {
            self.pending.drain(..self.read);
            self.read = 0;
        }
    }

    fn process_frame(&mut self, out: &mut MelFrames) {
        let win = self.config.win_length;
        let frame = &self.pending[self.read..self.read + win];
        let mean = (lane_sum(frame, f64::from) / win as f64) as f32;
        let energy = lane_sum(frame, |x| f64::from(x - mean).powi(2));
        for ((out, &x), &w) in self.frame_buf.iter_mut().zip(frame).zip(&self.window) {
            *out = (x - mean) * w;
        }
        self.frame_buf[win..].fill(0.0);
        let db = 10.0 * (energy / win as f64).max(1e-30).log10();
        out.energy_db.push((db as f32).max(ENERGY_FLOOR_DB));

        self.fft
            .process_with_scratch(&mut self.frame_buf, &mut self.spectrum, &mut self.scratch)
            .expect("buffers come from the plan, so their lengths always match");
        for (p, c) in self.power.iter_mut().zip(&self.spectrum) {
            *p = c.norm_sqr();
        }
        for filter in &self.filters {
            let bins = &self.power[filter.first_bin..filter.first_bin + filter.weights.len()];
            let e: f32 = bins.iter().zip(&filter.weights).map(|(p, w)| p * w).sum();
            out.data.push(e.max(MEL_FLOOR).ln());
        }
    }
}

/// Σ `f(x)` over `xs` in eight independent lanes: one running sum is a serial chain of adds
/// (two per sample of every frame, ~0.3 s of an hour on one core), eight let the compiler
/// vectorise it.
fn lane_sum(xs: &[f32], f: impl Fn(f32) -> f64) -> f64 {
    let mut lanes = [0.0f64; 8];
    let chunks = xs.chunks_exact(8);
    let rest: f64 = chunks.remainder().iter().map(|&x| f(x)).sum();
    for chunk in chunks {
        for (lane, &x) in lanes.iter_mut().zip(chunk) {
            *lane += f(x);
        }
    }
    lanes.iter().sum::<f64>() + rest
}

fn validate(c: &MelConfig) -> Result<(), MelError> {
    let nyquist = c.sample_rate as f32 / 2.0;
    let checks = [
        (c.sample_rate == 0, "sample_rate is zero"),
        (
            c.win_length == 0 || c.hop_length == 0,
            "window or hop is zero",
        ),
        (c.win_length > c.n_fft, "window longer than n_fft"),
        (c.n_mels == 0, "n_mels is zero"),
        (
            !(c.f_min >= 0.0 && c.f_min < c.f_max && c.f_max <= nyquist),
            "need 0 <= f_min < f_max <= sample_rate / 2",
        ),
    ];
    match checks.iter().find(|(bad, _)| *bad) {
        Some((_, why)) => Err(MelError::InvalidConfig(why)),
        None => Ok(()),
    }
}

/// Periodic Hann window: the usual choice for spectral analysis with overlapping frames.
pub fn hann(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let phase = 2.0 * std::f64::consts::PI * i as f64 / n as f64;
            (0.5 - 0.5 * phase.cos()) as f32
        })
        .collect()
}

/// HTK mel scale.
pub fn hz_to_mel(hz: f64) -> f64 {
    2595.0 * (1.0 + hz / 700.0).log10()
}

/// Inverse of [`hz_to_mel`].
pub fn mel_to_hz(mel: f64) -> f64 {
    700.0 * (10f64.powf(mel / 2595.0) - 1.0)
}

/// Triangular filters with edges equally spaced in mel, evaluated at each FFT bin's centre
/// frequency (not snapped to bins, so narrow low bands do not collapse to zero width).
fn mel_filterbank(c: &MelConfig) -> Vec<MelFilter> {
    let n_bins = c.n_fft / 2 + 1;
    let bin_hz = f64::from(c.sample_rate) / c.n_fft as f64;
    let (lo, hi) = (hz_to_mel(f64::from(c.f_min)), hz_to_mel(f64::from(c.f_max)));
    let edges: Vec<f64> = (0..c.n_mels + 2)
        .map(|i| mel_to_hz(lo + (hi - lo) * i as f64 / (c.n_mels + 1) as f64))
        .collect();
    edges
        .windows(3)
        .map(|e| {
            let (left, centre, right) = (e[0], e[1], e[2]);
            let weight = |k: usize| {
                let f = k as f64 * bin_hz;
                let w = if f <= centre {
                    (f - left) / (centre - left)
                } else {
                    (right - f) / (right - centre)
                };
                w.max(0.0) as f32
            };
            let first = ((left / bin_hz).floor() as usize).min(n_bins - 1);
            let last = ((right / bin_hz).ceil() as usize).min(n_bins - 1);
            let mut weights: Vec<f32> = (first..=last).map(weight).collect();
            // Guarantee a non-empty band even when it falls between two bins.
            if weights.iter().all(|&w| w == 0.0) {
                let last_idx = weights.len() - 1;
                let nearest = (centre / bin_hz).round() as usize - first;
                weights[nearest.min(last_idx)] = 1.0;
            }
            MelFilter {
                first_bin: first,
                weights,
            }
        })
        .collect()
}

#[cfg(test)]
#[path = "mel_tests.rs"]
mod tests;
