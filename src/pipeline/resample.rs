//! Streaming resampling to the analysis rate with rubato.
//!
//! `FftFixedIn`: the rates are fixed for a whole file, and the FFT resampler is both fast and
//! properly band-limited (its filter removes content above the new Nyquist before decimating,
//! so 48 kHz speech does not alias into the 0–8 kHz band ASR and diarization look at). Its
//! group delay is trimmed from the start, and the tail flushed, so the output is exactly
//! `ceil(input × out / in)` frames long and aligned with the input: timestamps never move.

use rubato::{FftFixedIn, Resampler};

/// Input frames per FFT sub-chunk, at most: small enough for a low latency and memory, large
/// enough to amortise the FFTs.
const MAX_SUB_CHUNK: usize = 1024;
/// Rubato splits each input chunk into this many FFTs.
const SUB_CHUNKS: usize = 2;

/// The input chunk whose FFT sizes factor well. Rubato's FFT lengths are multiples of
/// `in_rate / gcd` (3 for 48 kHz → 16 kHz); a fixed 1024-frame chunk gave 513 = 3³·19 and
/// spent most of the resampling time in a radix-19 butterfly. A power-of-two multiple keeps
/// the FFTs at 2ⁿ·3 (48 kHz: 768 in, 256 out per sub-chunk).
fn chunk_frames(in_rate: u32, out_rate: u32) -> usize {
    let gcd = gcd(in_rate, out_rate).max(1);
    let min_in = (in_rate / gcd) as usize;
    let mut fft_chunks = 1;
    while min_in * fft_chunks * 2 <= MAX_SUB_CHUNK {
        fft_chunks *= 2;
    }
    SUB_CHUNKS * min_in * fft_chunks
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

pub struct StreamResampler {
    /// `None` when the input is already at the output rate.
    inner: Option<FftFixedIn<f32>>,
    pending: Vec<Vec<f32>>,
    scratch_out: Vec<Vec<f32>>,
    delay_left: usize,
    in_rate: u64,
    out_rate: u64,
    frames_in: u64,
    frames_out: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot resample from {from} Hz to {to} Hz: {reason}")]
pub struct ResampleError {
    from: u32,
    to: u32,
    reason: String,
}

impl StreamResampler {
    /// # Errors
    /// Rubato refused the rates (e.g. zero).
    pub fn new(in_rate: u32, out_rate: u32, channels: usize) -> Result<Self, ResampleError> {
        let inner = if in_rate == out_rate {
            None
        } else {
            let resampler = FftFixedIn::new(
                in_rate as usize,
                out_rate as usize,
                chunk_frames(in_rate, out_rate),
                SUB_CHUNKS,
                channels,
            )
            .map_err(|err| ResampleError {
                from: in_rate,
                to: out_rate,
                reason: err.to_string(),
            })?;
            Some(resampler)
        };
        let delay_left = inner.as_ref().map_or(0, |r| r.output_delay());
        let scratch_out = inner
            .as_ref()
            .map_or_else(Vec::new, |r| r.output_buffer_allocate(true));
        Ok(StreamResampler {
            inner,
            pending: vec![Vec::new(); channels],
            scratch_out,
            delay_left,
            in_rate: in_rate.into(),
            out_rate: out_rate.into(),
            frames_in: 0,
            frames_out: 0,
        })
    }

    pub fn channels(&self) -> usize {
        self.pending.len()
    }

    /// Feeds planar input; appends whatever output is ready to `out` (one Vec per channel).
    ///
    /// # Errors
    /// Only if rubato rejects buffers sized by its own figures, which would be a bug here.
    pub fn push(&mut self, input: &[Vec<f32>], out: &mut [Vec<f32>]) -> Result<(), ResampleError> {
        self.frames_in += input.first().map_or(0, |c| c.len() as u64);
        let Some(resampler) = self.inner.as_mut() else {
            for (dst, src) in out.iter_mut().zip(input) {
                dst.extend_from_slice(src);
            }
            self.frames_out = self.frames_in;
            return Ok(());
        };
        for (pending, src) in self.pending.iter_mut().zip(input) {
            pending.extend_from_slice(src);
        }
        // Input is consumed from an offset and the remainder moved down once at the end:
        // draining after every chunk moved the rest of a large input each time.
        let mut consumed = 0;
        loop {
            let needed = resampler.input_frames_next();
            if self
                .pending
                .first()
                .is_none_or(|p| p.len() - consumed < needed)
            {
                break;
            }
            let rest: Vec<&[f32]> = self.pending.iter().map(|p| &p[consumed..]).collect();
            let (used, produced) = resampler
                .process_into_buffer(&rest, &mut self.scratch_out, None)
                .map_err(|err| resample_error(self.in_rate, self.out_rate, err))?;
            consumed += used;
            Self::emit(
                &self.scratch_out,
                produced,
                &mut self.delay_left,
                &mut self.frames_out,
                out,
            );
        }
        for pending in &mut self.pending {
            pending.drain(..consumed);
        }
        Ok(())
    }

    /// Flushes the tail: pads with silence until every input frame has its output.
    ///
    /// # Errors
    /// As [`StreamResampler::push`].
    pub fn flush(&mut self, out: &mut [Vec<f32>]) -> Result<(), ResampleError> {
        let Some(resampler) = self.inner.as_mut() else {
            return Ok(());
        };
        let expected = (self.frames_in * self.out_rate).div_ceil(self.in_rate);
        while self.frames_out < expected {
            // Padding by hand rather than rubato's `process_partial_*`, which reads an empty
            // channel as an inactive one and fails.
            let needed = resampler.input_frames_next();
            for pending in &mut self.pending {
                pending.resize(needed.max(pending.len()), 0.0);
            }
            let (used, produced) = resampler
                .process_into_buffer(&self.pending, &mut self.scratch_out, None)
                .map_err(|err| resample_error(self.in_rate, self.out_rate, err))?;
            for pending in &mut self.pending {
                pending.drain(..used);
            }
            let wanted = (expected - self.frames_out) as usize;
            Self::emit(
                &self.scratch_out,
                produced.min(wanted + self.delay_left),
                &mut self.delay_left,
                &mut self.frames_out,
                out,
            );
        }
        for pending in &mut self.pending {
            pending.clear();
        }
        Ok(())
    }

    fn emit(
        scratch: &[Vec<f32>],
        produced: usize,
        delay_left: &mut usize,
        frames_out: &mut u64,
        out: &mut [Vec<f32>],
    ) {
        let skip = (*delay_left).min(produced);
        *delay_left -= skip;
        for (dst, src) in out.iter_mut().zip(scratch) {
            dst.extend_from_slice(&src[skip..produced]);
        }
        *frames_out += (produced - skip) as u64;
    }
}

fn resample_error(from: u64, to: u64, err: rubato::ResampleError) -> ResampleError {
    ResampleError {
        from: from as u32,
        to: to as u32,
        reason: err.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f64, rate: u32, secs: f64) -> Vec<f32> {
        let n = (secs * rate as f64) as usize;
        (0..n)
            .map(|i| {
                (2.0 * std::f64::consts::PI * freq * i as f64 / rate as f64).sin() as f32 * 0.5
            })
            .collect()
    }

    fn resample_all(input: &[f32], from: u32, to: u32, block: usize) -> Vec<f32> {
        let mut resampler = StreamResampler::new(from, to, 1).unwrap();
        let mut out = vec![Vec::new()];
        for chunk in input.chunks(block) {
            resampler.push(&[chunk.to_vec()], &mut out).unwrap();
        }
        resampler.flush(&mut out).unwrap();
        out.pop().unwrap()
    }

    /// Zero crossings per second / 2 = frequency, robust enough for a clean tone.
    fn estimated_frequency(samples: &[f32], rate: u32) -> f64 {
        let crossings = samples
            .windows(2)
            .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
            .count();
        crossings as f64 / 2.0 / (samples.len() as f64 / rate as f64)
    }

    #[test]
    fn length_and_frequency_survive_48k_to_16k() {
        let input = tone(1000.0, 48_000, 2.0);
        let output = resample_all(&input, 48_000, 16_000, 4096);
        assert_eq!(output.len(), 32_000);
        let freq = estimated_frequency(&output[1000..31_000], 16_000);
        assert!((freq - 1000.0).abs() < 5.0, "{freq}");
    }

    #[test]
    fn delay_is_compensated() {
        // An impulse at 0.5 s must come out at 0.5 s, not shifted by the filter's delay.
        let mut input = vec![0.0f32; 44_100];
        input[22_050] = 1.0;
        let output = resample_all(&input, 44_100, 16_000, 1000);
        let peak = output
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
            .map(|(i, _)| i)
            .unwrap();
        assert!((peak as i64 - 8000).abs() <= 1, "peak at {peak}");
    }

    #[test]
    fn content_above_the_new_nyquist_is_removed() {
        // 12 kHz cannot be represented at 16 kHz; without anti-aliasing it would fold to 4 kHz.
        let input = tone(12_000.0, 48_000, 1.0);
        let output = resample_all(&input, 48_000, 16_000, 4096);
        let rms = (output.iter().map(|x| x * x).sum::<f32>() / output.len() as f32).sqrt();
        assert!(rms < 0.01, "aliased energy {rms}");
    }

    #[test]
    fn chunks_factor_into_small_primes() {
        assert_eq!(chunk_frames(48_000, 16_000), 1536);
        assert_eq!(chunk_frames(8_000, 16_000), 2048);
        assert_eq!(chunk_frames(44_100, 16_000), 1764);
        assert_eq!(chunk_frames(96_000, 16_000), 1536);
    }

    #[test]
    fn same_rate_passes_through() {
        let input = tone(440.0, 16_000, 0.5);
        assert_eq!(resample_all(&input, 16_000, 16_000, 333), input);
    }
}
