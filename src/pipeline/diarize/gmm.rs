//! Diagonal-covariance Gaussian mixtures: the per-speaker frame models of the
//! resegmentation pass. Trained by a few EM iterations from evenly spread seeds, which is
//! deterministic (no RNG) so a session always diarizes the same way.

use super::features::N_CEPS;

const VAR_FLOOR: f32 = 1e-3;

pub struct Gmm {
    weights_log: Vec<f32>,
    means: Vec<[f32; N_CEPS]>,
    inv_var: Vec<[f32; N_CEPS]>,
    /// log weight − ½ Σ log(2π σ²), per component.
    consts: Vec<f32>,
}

impl Gmm {
    /// Fits `components` Gaussians (fewer if there are few frames) to `frames`.
    pub fn fit(frames: &[&[f32]], components: usize, iterations: usize) -> Gmm {
        let c = components.min(frames.len() / 20).max(1);
        let step = frames.len().max(1) / c;
        let mut gmm = Gmm {
            weights_log: vec![-(c as f32).ln(); c],
            means: (0..c)
                .map(|i| to_arr(frames.get(i * step + step / 2).copied()))
                .collect(),
            inv_var: vec![[1.0; N_CEPS]; c],
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
        let var: Vec<f32> = (0..N_CEPS)
            .map(|k| (sq[k] / n - (mean[k] / n).powi(2)).max(VAR_FLOOR))
            .collect();
        for iv in self.inv_var.iter_mut() {
            for k in 0..N_CEPS {
                iv[k] = 1.0 / var[k];
            }
        }
        self.update_consts();
    }

    fn update_consts(&mut self) {
        let ln2pi = (2.0 * std::f32::consts::PI).ln();
        for (c, iv) in self.inv_var.iter().enumerate() {
            let logdet: f32 = iv.iter().map(|v| ln2pi - v.ln()).sum();
            self.consts[c] = self.weights_log[c] - 0.5 * logdet;
        }
    }

    fn component_ll(&self, x: &[f32], out: &mut [f32]) {
        for (c, o) in out.iter_mut().enumerate() {
            let (m, iv) = (&self.means[c], &self.inv_var[c]);
            let mut q = 0.0f32;
            for k in 0..N_CEPS {
                let d = x[k] - m[k];
                q += d * d * iv[k];
            }
            *o = self.consts[c] - 0.5 * q;
        }
    }

    /// Log-likelihood of one frame.
    pub fn log_likelihood(&self, x: &[f32]) -> f32 {
        let mut buf = [0.0f32; 64];
        let comp = &mut buf[..self.means.len().min(64)];
        self.component_ll(x, comp);
        log_sum_exp(comp)
    }

    fn em_step(&mut self, frames: &[&[f32]]) {
        let c = self.means.len();
        let mut occ = vec![0.0f64; c];
        let mut first = vec![[0.0f64; N_CEPS]; c];
        let mut second = vec![[0.0f64; N_CEPS]; c];
        let mut post = vec![0.0f32; c];
        for x in frames {
            self.component_ll(x, &mut post);
            let total = log_sum_exp(&post);
            for (j, p) in post.iter().enumerate() {
                let g = f64::from((p - total).exp());
                if g < 1e-4 {
                    continue;
                }
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
                self.means[j][k] = m as f32;
                self.inv_var[j][k] = 1.0 / ((second[j][k] / occ[j] - m * m) as f32).max(VAR_FLOOR);
            }
        }
        self.update_consts();
    }
}

fn to_arr(x: Option<&[f32]>) -> [f32; N_CEPS] {
    let mut a = [0.0f32; N_CEPS];
    if let Some(x) = x {
        a.copy_from_slice(&x[..N_CEPS]);
    }
    a
}

pub fn log_sum_exp(v: &[f32]) -> f32 {
    let m = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if m == f32::NEG_INFINITY {
        return m;
    }
    m + v.iter().map(|x| (x - m).exp()).sum::<f32>().ln()
}
