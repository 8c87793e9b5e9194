//! Kaldi-compatible log-mel filterbank (`compute-fbank-feats` defaults, 80 bins): the input
//! the CAM++ speaker-embedding model was trained on. It differs from the shared log-mel front
//! end on purpose (Povey window, pre-emphasis, Kaldi's mel scale, 20 Hz–Nyquist, snip edges);
//! feeding the model any other spectrum shifts its embeddings.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

pub const N_BINS: usize = 80;
const WIN: usize = 400;
const HOP: usize = 160;
const N_FFT: usize = 512;
const PREEMPH: f32 = 0.97;
const LOW_HZ: f64 = 20.0;
const RATE: f64 = 16_000.0;

/// Row-major `frames × N_BINS` natural-log filterbank energies; frame `i` covers samples
/// `[i·160, i·160 + 400)`.
pub struct Fbank {
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    /// Per bin: first FFT index and weights.
    filters: Vec<(usize, Vec<f32>)>,
}

fn kaldi_mel(hz: f64) -> f64 {
    1127.0 * (1.0 + hz / 700.0).ln()
}

impl Default for Fbank {
    fn default() -> Self {
        Self::new()
    }
}

impl Fbank {
    pub fn new() -> Self {
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(N_FFT);
        let window = (0..WIN)
            .map(|n| {
                let hann =
                    0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / (WIN - 1) as f64).cos();
                hann.powf(0.85) as f32
            })
            .collect();
        Self {
            fft,
            window,
            filters: filters(),
        }
    }

    /// Offset (s) of row `j`'s window centre from the first sample.
    pub fn centre_s(j: usize) -> f64 {
        (j * HOP + WIN / 2) as f64 / 16_000.0
    }

    /// Number of frames Kaldi produces for `n` samples (edges snipped).
    pub fn frames_for(n: usize) -> usize {
        if n < WIN { 0 } else { 1 + (n - WIN) / HOP }
    }

    /// Filterbank of `samples` (any scale; the embedding input is mean-normalised later).
    pub fn compute(&self, samples: &[f32]) -> Vec<f32> {
        let n = Self::frames_for(samples.len());
        let mut out = Vec::with_capacity(n * N_BINS);
        let mut buf = self.fft.make_input_vec();
        let mut spec: Vec<Complex<f32>> = self.fft.make_output_vec();
        let mut power = vec![0.0f32; N_FFT / 2 + 1];
        for i in 0..n {
            self.frame(&samples[i * HOP..i * HOP + WIN], &mut buf);
            // The buffer has the right length by construction; realfft only fails on a
            // length mismatch.
            if self.fft.process(&mut buf, &mut spec).is_err() {
                out.extend(std::iter::repeat_n(f32::EPSILON.ln(), N_BINS));
                continue;
            }
            for (p, c) in power.iter_mut().zip(&spec) {
                *p = c.norm_sqr();
            }
            for (start, w) in &self.filters {
                let e: f32 = w.iter().zip(&power[*start..]).map(|(a, b)| a * b).sum();
                out.push(e.max(f32::EPSILON).ln());
            }
        }
        out
    }

    /// DC removal, pre-emphasis and the Povey window, zero-padded to the FFT length.
    fn frame(&self, x: &[f32], buf: &mut [f32]) {
        let mean = x.iter().sum::<f32>() / WIN as f32;
        buf.fill(0.0);
        for (b, v) in buf.iter_mut().zip(x) {
            *b = v - mean;
        }
        for j in (1..WIN).rev() {
            buf[j] -= PREEMPH * buf[j - 1];
        }
        buf[0] -= PREEMPH * buf[0];
        for (b, w) in buf.iter_mut().zip(&self.window) {
            *b *= w;
        }
    }
}

/// Triangular filters equally spaced on Kaldi's mel scale between 20 Hz and Nyquist, over
/// the FFT bins below Nyquist.
fn filters() -> Vec<(usize, Vec<f32>)> {
    let (lo, hi) = (kaldi_mel(LOW_HZ), kaldi_mel(RATE / 2.0));
    let delta = (hi - lo) / (N_BINS + 1) as f64;
    let width = RATE / N_FFT as f64;
    (0..N_BINS)
        .map(|b| {
            let (left, centre, right) = (
                lo + b as f64 * delta,
                lo + (b + 1) as f64 * delta,
                lo + (b + 2) as f64 * delta,
            );
            let weights: Vec<(usize, f32)> = (0..N_FFT / 2)
                .filter_map(|i| {
                    let m = kaldi_mel(i as f64 * width);
                    let w = if m > left && m <= centre {
                        (m - left) / (centre - left)
                    } else if m > centre && m < right {
                        (right - m) / (right - centre)
                    } else {
                        return None;
                    };
                    Some((i, w as f32))
                })
                .collect();
            let start = weights.first().map_or(0, |w| w.0);
            (start, weights.iter().map(|w| w.1).collect())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tone_peaks_in_the_band_that_contains_it() {
        let x: Vec<f32> = (0..16_000)
            .map(|i| (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / 16_000.0).sin())
            .collect();
        let f = Fbank::new().compute(&x);
        assert_eq!(f.len(), Fbank::frames_for(16_000) * N_BINS);
        let row = &f[10 * N_BINS..11 * N_BINS];
        let peak = (0..N_BINS)
            .max_by(|&a, &b| row[a].total_cmp(&row[b]))
            .unwrap();
        let centre = |b: usize| {
            let (lo, hi) = (kaldi_mel(LOW_HZ), kaldi_mel(8000.0));
            let m = lo + (b + 1) as f64 * (hi - lo) / 81.0;
            700.0 * ((m / 1127.0).exp() - 1.0)
        };
        assert!(
            (centre(peak) - 1000.0).abs() < 60.0,
            "peak bin {peak} at {}",
            centre(peak)
        );
    }
}
