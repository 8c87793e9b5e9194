//! Opus through libopus, packaged as a symphonia [`Decoder`].
//!
//! symphonia 0.5 demuxes Ogg and Matroska/WebM Opus (what browsers' MediaRecorder writes) but
//! has no Opus decoder, so this one is registered next to symphonia's own in the registry that
//! [`super::codecs`] builds. Every stream goes through libopus' multistream decoder: mapping
//! family 0 (mono, stereo) is the one-stream case of it, so one path serves every layout.
//!
//! libopus decodes straight to the analysis rate (16 kHz): SILK, the speech layer, runs at
//! 16 kHz or below anyway, and CELT's own decimation replaces decoding at 48 kHz and then
//! resampling with rubato. On the 1 h WebM bench, one core, that cut decode + resample from
//! 1.16× ffmpeg's time to below it (see `just bench`).
//!
//! RFC 7845 makes the decoder responsible for the start: the first `pre_skip` samples of the
//! stream are encoder priming and are dropped here. The end is trimmed by the container: Ogg's
//! last granule position arrives as the packet's `trim_end`; symphonia's Matroska reader does
//! not expose `DiscardPadding`, so there the segment's declared duration bounds the output.
//! Both count at 48 kHz, so they are scaled to the decoded rate.

mod cpu;

use std::sync::Mutex;

use symphonia::core::audio::SignalSpec;
use symphonia::core::audio::{AsAudioBufferRef, AudioBuffer, AudioBufferRef, Channels, Signal};
use symphonia::core::codecs::{
    CODEC_TYPE_OPUS, CodecDescriptor, CodecParameters, Decoder, DecoderOptions, FinalizeResult,
};
use symphonia::core::errors::{Error, Result, decode_error, unsupported_error};
use symphonia::core::formats::Packet;
use symphonia::core::support_codec;

/// Opus' clock: pre-skip, granule positions and trims count at 48 kHz whatever the
/// stream's "input sample rate" (only informational) says.
const OPUS_RATE: u32 = 48_000;
/// The rate libopus decodes to (one it supports natively: 8, 12, 16, 24 or 48 kHz).
const DECODE_RATE: u32 = crate::domain::ANALYSIS_RATE;
/// 48 kHz samples per decoded sample.
const RATIO: u64 = (OPUS_RATE / DECODE_RATE) as u64;
/// The longest Opus packet: 120 ms at the decoded rate.
const MAX_PACKET_FRAMES: usize = 5_760 / RATIO as usize;
/// symphonia's `Channels` bitmask names at most this many positions we can map to.
const MAX_CHANNELS: usize = 8;

/// The fields of the `OpusHead` identification header (RFC 7845 §5.1) that decoding needs.
#[derive(Clone, Debug, PartialEq)]
pub struct OpusHead {
    pub channels: usize,
    pub pre_skip: u32,
    /// Output gain in Q7.8 dB, to be applied to every sample.
    pub gain_q8: i16,
    pub streams: u8,
    pub coupled: u8,
    pub mapping: Vec<u8>,
}

impl OpusHead {
    /// Parses the header; every length is checked because it comes from the uploaded file.
    ///
    /// # Errors
    /// A malformed or truncated header, zero channels, or a reserved mapping.
    pub fn parse(buf: &[u8]) -> Result<OpusHead> {
        let field = |at: usize, len: usize| {
            buf.get(at..at + len)
                .ok_or(Error::DecodeError("opus: header too short"))
        };
        if field(0, 8)? != b"OpusHead" {
            return decode_error("opus: missing OpusHead");
        }
        let channels = usize::from(field(9, 1)?[0]);
        let pre_skip = u16::from_le_bytes([field(10, 2)?[0], field(10, 2)?[1]]);
        let gain_q8 = i16::from_le_bytes([field(16, 2)?[0], field(16, 2)?[1]]);
        let family = field(18, 1)?[0];
        if channels == 0 || channels > MAX_CHANNELS {
            return unsupported_error("opus: channel count");
        }
        let (streams, coupled, mapping) = match family {
            0 if channels <= 2 => (1, (channels - 1) as u8, (0..channels as u8).collect()),
            0 => return decode_error("opus: family 0 allows at most two channels"),
            _ => {
                let counts = field(19, 2)?;
                (counts[0], counts[1], field(21, channels)?.to_vec())
            }
        };
        if streams == 0 || coupled > streams {
            return decode_error("opus: bad stream counts");
        }
        Ok(OpusHead {
            channels,
            pre_skip: u32::from(pre_skip),
            gain_q8,
            streams,
            coupled,
            mapping,
        })
    }
}

pub struct OpusDecoder {
    params: CodecParameters,
    /// libopus' decoder is `Send` but not `Sync`, as symphonia's trait requires; the lock is
    /// uncontended (one decoder per stream) and costs nothing next to decoding a packet.
    decoder: Mutex<opus::MSDecoder>,
    channels: usize,
    gain: Option<f32>,
    interleaved: Vec<f32>,
    buf: AudioBuffer<f32>,
    /// Priming samples still to drop.
    skip_left: u64,
    /// Samples already produced, and how many the container says there are (Matroska only).
    produced: u64,
    end_limit: Option<u64>,
}

impl OpusDecoder {
    fn decode_inner(&mut self, packet: &Packet) -> Result<()> {
        let frames = {
            let mut decoder = self
                .decoder
                .lock()
                .map_err(|_| Error::DecodeError("opus: decoder poisoned"))?;
            decoder
                .decode_float(packet.buf(), &mut self.interleaved, false)
                .map_err(|_| Error::DecodeError("opus: invalid packet"))?
        };
        let frames = frames.min(MAX_PACKET_FRAMES);
        self.buf.clear();
        self.buf.render_reserved(Some(frames));
        let gain = self.gain.unwrap_or(1.0);
        for ch in 0..self.channels {
            let src = self.interleaved.iter().skip(ch).step_by(self.channels);
            for (dst, &sample) in self.buf.chan_mut(ch).iter_mut().zip(src) {
                *dst = sample * gain;
            }
        }
        self.trim(packet, frames as u64);
        Ok(())
    }

    /// Drops priming at the start, the container's trims, and anything past its duration.
    fn trim(&mut self, packet: &Packet, frames: u64) {
        let skip = self.skip_left.min(frames);
        self.skip_left -= skip;
        let start = (skip + u64::from(packet.trim_start()) / RATIO).min(frames);
        let mut end = (u64::from(packet.trim_end()) / RATIO).min(frames - start);
        if let Some(limit) = self.end_limit {
            let kept = frames - start - end;
            let room = limit.saturating_sub(self.produced);
            end += kept.saturating_sub(room);
        }
        self.produced += frames - start - end;
        self.buf.trim(start as usize, end as usize);
    }
}

impl Decoder for OpusDecoder {
    fn try_new(params: &CodecParameters, _options: &DecoderOptions) -> Result<Self> {
        let Some(extra) = params.extra_data.as_deref() else {
            return unsupported_error("opus: no OpusHead in the container");
        };
        let head = OpusHead::parse(extra)?;
        let decoder = opus::MSDecoder::new(DECODE_RATE, head.streams, head.coupled, &head.mapping)
            .map_err(|_| Error::Unsupported("opus: libopus refused the stream layout"))?;
        let channels = Channels::from_bits_truncate((1u32 << head.channels) - 1);
        let spec = SignalSpec::new(DECODE_RATE, channels);
        let gain =
            (head.gain_q8 != 0).then(|| 10f32.powf(f32::from(head.gain_q8) / (20.0 * 256.0)));
        let mut params = params.clone();
        params.with_sample_rate(DECODE_RATE).with_channels(channels);
        Ok(OpusDecoder {
            end_limit: matroska_duration_limit(&params),
            params,
            decoder: Mutex::new(decoder),
            channels: head.channels,
            gain,
            interleaved: vec![0.0; MAX_PACKET_FRAMES * head.channels],
            buf: AudioBuffer::new(MAX_PACKET_FRAMES as u64, spec),
            skip_left: u64::from(head.pre_skip).div_ceil(RATIO),
            produced: 0,
        })
    }

    fn supported_codecs() -> &'static [CodecDescriptor] {
        &[support_codec!(CODEC_TYPE_OPUS, "opus", "Opus (libopus)")]
    }

    fn reset(&mut self) {
        if let Ok(mut decoder) = self.decoder.lock() {
            // A failed reset leaves the old state; the next packets still decode, slightly off.
            let _ = decoder.reset_state();
        }
    }

    fn codec_params(&self) -> &CodecParameters {
        &self.params
    }

    fn decode(&mut self, packet: &Packet) -> Result<AudioBufferRef<'_>> {
        if let Err(err) = self.decode_inner(packet) {
            self.buf.clear();
            return Err(err);
        }
        Ok(self.buf.as_audio_buffer_ref())
    }

    fn finalize(&mut self) -> FinalizeResult {
        FinalizeResult::default()
    }

    fn last_decoded(&self) -> AudioBufferRef<'_> {
        self.buf.as_audio_buffer_ref()
    }
}

/// Ogg counts in samples at 48 kHz and trims the end itself; Matroska counts in its timestamp
/// scale (usually milliseconds) and leaves the end padding in, so there the declared duration
/// is the only bound on it.
fn matroska_duration_limit(params: &CodecParameters) -> Option<u64> {
    let time_base = params.time_base?;
    if time_base.denom == OPUS_RATE && time_base.numer == 1 {
        return None;
    }
    let time = time_base.calc_time(params.n_frames?);
    let secs = time.seconds as f64 + time.frac;
    Some((secs * f64::from(DECODE_RATE)).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(channels: u8, family: u8, tail: &[u8]) -> Vec<u8> {
        let mut buf = b"OpusHead".to_vec();
        buf.extend_from_slice(&[1, channels]);
        buf.extend_from_slice(&312u16.to_le_bytes());
        buf.extend_from_slice(&48_000u32.to_le_bytes());
        buf.extend_from_slice(&0i16.to_le_bytes());
        buf.push(family);
        buf.extend_from_slice(tail);
        buf
    }

    #[test]
    fn stereo_family_zero_is_one_coupled_stream() {
        let parsed = OpusHead::parse(&head(2, 0, &[])).unwrap();
        assert_eq!((parsed.streams, parsed.coupled), (1, 1));
        assert_eq!(parsed.mapping, vec![0, 1]);
        assert_eq!(parsed.pre_skip, 312);
    }

    #[test]
    fn surround_reads_the_mapping_table() {
        let parsed = OpusHead::parse(&head(6, 1, &[4, 2, 0, 4, 1, 2, 3, 5])).unwrap();
        assert_eq!((parsed.streams, parsed.coupled), (4, 2));
        assert_eq!(parsed.mapping, vec![0, 4, 1, 2, 3, 5]);
    }

    #[test]
    fn hostile_headers_are_errors_not_panics() {
        for len in 0..30 {
            let full = head(6, 1, &[4, 2, 0, 4, 1, 2, 3, 5]);
            let _ = OpusHead::parse(&full[..len.min(full.len())]);
        }
        assert!(OpusHead::parse(&head(0, 0, &[])).is_err());
        assert!(OpusHead::parse(&head(3, 0, &[])).is_err());
        assert!(OpusHead::parse(&head(2, 1, &[0, 1, 0, 1])).is_err());
        assert!(OpusHead::parse(&head(40, 1, &[])).is_err());
    }
}
