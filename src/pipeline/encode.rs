//! FLAC encoding of analysis-rate mono chunks for upload.
//!
//! FLAC is lossless and accepted by every OpenAI-compatible server; speech at 16 kHz/16 bit
//! compresses to roughly half of WAV, so more audio fits under the 25 MB upload limit.
//! Pure Rust (`flacenc`), so the worker image needs no native codec libraries.

use flacenc::component::BitRepr;
use flacenc::error::Verify;

use crate::domain::ANALYSIS_RATE;

const BITS_PER_SAMPLE: usize = 16;

/// FLAC encoding failed (only on encoder bugs or impossible input sizes).
#[derive(Debug, thiserror::Error)]
#[error("FLAC encoding failed: {0}")]
pub struct EncodeError(String);

impl EncodeError {
    /// The encoding task panicked or was cancelled.
    pub fn from_join(e: &tokio::task::JoinError) -> Self {
        Self(format!("encoder task failed: {e}"))
    }
}

/// Upper bound of the encoded size of `seconds` of audio: FLAC falls back to verbatim
/// subframes, so it never needs much more than raw 16-bit PCM plus frame headers.
pub fn max_flac_bytes(seconds: f64) -> usize {
    let raw = seconds.max(0.0) * f64::from(ANALYSIS_RATE) * (BITS_PER_SAMPLE as f64 / 8.0);
    (raw * 1.01) as usize + 8 * 1024
}

/// Encodes mono f32 samples at [`ANALYSIS_RATE`] as a 16-bit FLAC file.
///
/// # Errors
/// When the encoder rejects its configuration or the input (e.g. empty audio).
pub fn encode_flac(samples: &[f32]) -> Result<Vec<u8>, EncodeError> {
    if samples.is_empty() {
        return Err(EncodeError("no samples".into()));
    }
    let pcm: Vec<i32> = samples.iter().map(|&s| to_i16(s)).collect();
    let config = flacenc::config::Encoder::default()
        .into_verified()
        .map_err(|(_, e)| EncodeError(format!("{e:?}")))?;
    let source =
        flacenc::source::MemSource::from_samples(&pcm, 1, BITS_PER_SAMPLE, ANALYSIS_RATE as usize);
    let stream = flacenc::encode_with_fixed_block_size(&config, source, config.block_size)
        .map_err(|e| EncodeError(format!("{e:?}")))?;
    let mut sink = flacenc::bitsink::ByteSink::new();
    stream
        .write(&mut sink)
        .map_err(|e| EncodeError(format!("{e:?}")))?;
    let mut bytes = sink.into_inner();
    fix_min_block_size(&mut bytes);
    Ok(bytes)
}

/// flacenc records the short last block as STREAMINFO's minimum block size, but the FLAC
/// spec excludes the last block, and strict decoders (symphonia) then take the stream for
/// variable-blocksize and reject every frame. Every block but the last has the maximum
/// size here, so minimum = maximum is the correct value.
fn fix_min_block_size(flac: &mut [u8]) {
    // "fLaC", a 4-byte metadata block header, then STREAMINFO: min (u16 BE), max (u16 BE).
    const STREAMINFO: usize = 8;
    if flac.len() >= STREAMINFO + 4 && &flac[..4] == b"fLaC" && flac[4] & 0x7f == 0 {
        let (min, max) = flac[STREAMINFO..STREAMINFO + 4].split_at_mut(2);
        min.copy_from_slice(max);
    }
}

/// Rounds to 16-bit PCM; clipping instead of wrapping keeps an over-loud sample a click
/// rather than a full-scale jump.
fn to_i16(s: f32) -> i32 {
    let v = if s.is_finite() { s } else { 0.0 };
    (v * 32767.0).round().clamp(-32768.0, 32767.0) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_holds_for_noise() {
        // White noise barely compresses: the worst case for the size bound.
        let mut x = 12345u32;
        let noise: Vec<f32> = (0..ANALYSIS_RATE * 3)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (x >> 16) as f32 / 32768.0 - 1.0
            })
            .collect();
        let flac = encode_flac(&noise).unwrap();
        assert!(
            flac.len() <= max_flac_bytes(3.0),
            "{} > {}",
            flac.len(),
            max_flac_bytes(3.0)
        );
        assert_eq!(&flac[..4], b"fLaC");
    }

    #[test]
    fn empty_input_is_an_error() {
        assert!(encode_flac(&[]).is_err());
    }
}
