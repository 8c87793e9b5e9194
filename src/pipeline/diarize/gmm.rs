//! Diagonal-covariance Gaussian mixtures: the per-speaker frame models of the
//! resegmentation pass. Trained by a few EM iterations from evenly spread seeds, which is
//! deterministic (no RNG) so a session always diarizes the same way.
//!
//! The parameters are stored dimension-major (`N_CEPS` rows of one value per component):
//! scoring a frame then runs its inner loop over the components, independent lanes the
//! compiler vectorises, where a sum over the dimensions would be one serial chain. Scoring
//! and training are most of a long recording's resegmentation (an hour: two passes of
//! three rounds over ~330 000 speech frames).

use super::features::N_CEPS;

const VAR_FLOOR: f32 = 1e-3;
/// A posterior below this adds nothing worth its statistics to a component (EM).
const MIN_POSTERIOR: f32 = 1e-4;
/// Terms this far (nats) below the largest add less than f32's resolution to a log-sum-exp.
const NEGLIGIBLE_NATS: f32 = -20.0;
/// Most components a model holds ([`Gmm::fit`] is asked for 16).
const MAX_COMPONENTS: usize = 64;

pub struct Gmm {
    components: usize,
    weights_log: Vec<f32>,
    /// `N_CEPS × components`, dimension-major.
    means: Vec<f32>,
    /// Half the inverse variances, same layout.
    half_inv_var: Vec<f32>,
    /// log weight − ½ Σ log(2π σ²), per component.
    consts: Vec<f32>,
}

impl Gmm {
    /// Fits `components` Gaussians (fewer if there are few frames) to `frames`.
    pub fn fit(frames: &[&[f32]], components: usize, iterations: usize) -> Gmm {
        let c = components.min(frames.len() / 20).clamp(1, MAX_COMPONENTS);
        let step = frames.len().max(1) / c;
        let mut means = vec![0.0; N_CEPS * c];
        for j in 0..c {
            if let Some(seed) = frames.get(j * step + step / 2) {
                for k in 0..N_CEPS {
                    means[k * c + j] = seed[k];
                }
            }
        }
        let mut gmm = Gmm {
            components: c,
            weights_log: vec![-(c as f32).ln(); c],
            means,
            half_inv_var: vec![0.5; N_CEPS * c],
            consts: vec![0.0; c],
        };
        gmm.set_global_variance(frames);
        for _ in 0..iterations {
            gmm.em_step(frames);
        }
        gmm
    }

    fn set_global_variance(&mut self, frames: &[&[f32]]) {
        let n = frames.len().max(1) as f32;
        let mut mean = [0.0f32; N_CEPS];
        let mut sq = [0.0f32; N_CEPS];
        for f in frames {
            for k in 0..N_CEPS {
                mean[k] += f[k];
                sq[k] += f[k] * f[k];
            }
        }
        let c = self.components;
        for k in 0..N_CEPS {
            let var = (sq[k] / n - (mean[k] / n).powi(2)).max(VAR_FLOOR);
            self.half_inv_var[k * c..(k + 1) * c].fill(0.5 / var);
        }
        self.update_consts();
    }

    fn update_consts(&mut self) {
        let ln2pi = (2.0 * std::f32::consts::PI).ln();
        let c = self.components;
        for j in 0..c {
            let logdet: f32 = (0..N_CEPS)
                .map(|k| ln2pi - (2.0 * self.half_inv_var[k * c + j]).ln())
                .sum();
            self.consts[j] = self.weights_log[j] - 0.5 * logdet;
        }
    }

    /// Each component's log-likelihood of `x` (weight included), into `out[..components]`.
    fn component_ll(&self, x: &[f32], out: &mut [f32]) {
        let c = self.components;
        let out = &mut out[..c];
        out.copy_from_slice(&self.consts);
        let rows = self
            .means
            .chunks_exact(c)
            .zip(self.half_inv_var.chunks_exact(c));
        for (&xk, (means, half_iv)) in x[..N_CEPS].iter().zip(rows) {
            for ((o, m), h) in out.iter_mut().zip(means).zip(half_iv) {
                let d = xk - m;
                *o -= d * d * h;
            }
        }
    }

    /// Log-likelihood of one frame.
    pub fn log_likelihood(&self, x: &[f32]) -> f32 {
        let mut buf = [0.0f32; MAX_COMPONENTS];
        let comp = &mut buf[..self.components];
        self.component_ll(x, comp);
        log_sum_exp(comp)
    }

    fn em_step(&mut self, frames: &[&[f32]]) {
        let c = self.components;
        let mut occ = vec![0.0f64; c];
        let mut first = vec![[0.0f64; N_CEPS]; c];
        let mut second = vec![[0.0f64; N_CEPS]; c];
        let mut post = vec![0.0f32; c];
        let least = MIN_POSTERIOR.ln();
        for x in frames {
            self.component_ll(x, &mut post);
            let total = log_sum_exp(&post);
            for (j, p) in post.iter().enumerate() {
                // Compared in the log domain: most components are far below the bound, and
                // their exp() would be most of the step's time.
                if p - total < least {
                    continue;
                }
                let g = f64::from((p - total).exp());
                occ[j] += g;
                for k in 0..N_CEPS {
                    let v = f64::from(x[k]);
                    first[j][k] += g * v;
                    second[j][k] += g * v * v;
                }
            }
        }
        let n: f64 = occ.iter().sum::<f64>().max(1e-9);
        for j in 0..c {
            if occ[j] < 1.0 {
                continue;
            }
            self.weights_log[j] = ((occ[j] / n) as f32).ln();
            for k in 0..N_CEPS {
                let m = first[j][k] / occ[j];
                self.means[k * c + j] = m as f32;
                let var = ((second[j][k] / occ[j] - m * m) as f32).max(VAR_FLOOR);
                self.half_inv_var[k * c + j] = 0.5 / var;
            }
        }
        self.update_consts();
    }
}

pub fn log_sum_exp(v: &[f32]) -> f32 {
    let m = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if m == f32::NEG_INFINITY {
        return m;
    }
    m + v
        .iter()
        .map(|x| x - m)
        .filter(|&d| d > NEGLIGIBLE_NATS)
        .map(f32::exp)
        .sum::<f32>()
        .ln()
}
