//! Decoding any supported recording into analysis audio, as a stream.
//!
//! Packets are decoded one at a time, downmixed and resampled to 16 kHz as they come, so the
//! original-rate signal is never held whole. The modules, in the order the bytes meet them:
//! [`probe`] finds the container and checks the sizes its reader would allocate from against
//! the file ([`mp4`], [`wav`], [`flac`]: a lying header is `Corrupt`, not an aborted process);
//! [`track`] picks the audio track and its decoder (Opus, which symphonia 0.5 demuxes but
//! cannot decode, through libopus: [`opus`]); [`packets`] decodes, trims and mixes down
//! ([`mix`]) at the source rate; [`stream`] runs that on a thread and resamples the packets.
//!
//! Every call into the demuxers, decoders and the resampler runs under `catch_unwind`: they
//! process hostile bytes, and a panic there must become [`AudioError::Corrupt`] (a permanent
//! failure), not a dead blocking task that the worker would retry as if it were an outage.

mod flac;
mod mix;
mod mp4;
pub mod opus;
mod packets;
mod probe;
mod stream;
mod track;
mod wav;

use std::fs::File;
use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::OnceLock;

use serde::Serialize;
use symphonia::core::codecs::CodecRegistry;
use symphonia::core::io::MediaSource;

pub use self::stream::AudioStream;
pub use crate::error::AudioError;
use crate::pipeline::samples::SamplesWriter;
use crate::pipeline::types::AnalysisAudio;

/// symphonia's codecs plus libopus, built once.
pub fn codecs() -> &'static CodecRegistry {
    static REGISTRY: OnceLock<CodecRegistry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut registry = CodecRegistry::new();
        symphonia::default::register_enabled_codecs(&mut registry);
        registry.register_all::<opus::OpusDecoder>();
        registry
    })
}

/// What decoding measured about the source.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct AudioInfo {
    pub codec: String,
    pub sample_rate: u32,
    pub channels: usize,
    pub duration_secs: f64,
    pub source_frames: u64,
    /// The stream ended before the length its header announced, or its container broke off.
    pub truncated: bool,
    pub skipped_packets: usize,
}

#[derive(Clone, Copy, Debug)]
pub struct DecodeLimits {
    pub max_duration_secs: u64,
}

/// Which 16 kHz channels a stream yields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeepChannels {
    /// Mono, plus both channels apart when the source has exactly two (diarization uses them).
    Analysis,
    /// Mono only: half the resampling work for stereo sources.
    MonoOnly,
}

/// 16 kHz output of one decoded packet.
#[derive(Debug, Default)]
pub struct Block {
    pub mono: Vec<f32>,
    pub stereo: Option<[Vec<f32>; 2]>,
}

impl AudioStream {
    /// Opens a file and starts decoding its first decodable audio track.
    ///
    /// # Errors
    /// Empty, unknown or corrupt files, no audio track, an announced length over the limit.
    pub fn open(
        path: &Path,
        extension: Option<&str>,
        limits: DecodeLimits,
    ) -> Result<AudioStream, AudioError> {
        let file = File::open(path).map_err(|err| AudioError::Io(err.to_string()))?;
        AudioStream::from_source(Box::new(file), extension, limits, KeepChannels::Analysis)
    }

    /// Like [`AudioStream::open`], over bytes already in memory.
    ///
    /// # Errors
    /// As [`AudioStream::open`].
    pub fn from_bytes(
        bytes: Vec<u8>,
        extension: Option<&str>,
        limits: DecodeLimits,
        keep: KeepChannels,
    ) -> Result<AudioStream, AudioError> {
        AudioStream::from_source(Box::new(Cursor::new(bytes)), extension, limits, keep)
    }

    /// Probes any seekable source. `extension` only words the error when no container is
    /// found: symphonia 0.5 recognises formats by their markers.
    ///
    /// # Errors
    /// As [`AudioStream::open`].
    pub fn from_source(
        source: Box<dyn MediaSource>,
        extension: Option<&str>,
        limits: DecodeLimits,
        keep: KeepChannels,
    ) -> Result<AudioStream, AudioError> {
        AudioStream::start(packets::Packets::open(source, extension, limits, keep)?)
    }
}

/// Decodes the whole file into analysis audio.
///
/// # Errors
/// See [`AudioStream::open`] and [`AudioStream::next_block`].
pub fn decode_file(
    path: &Path,
    extension: Option<&str>,
    limits: DecodeLimits,
) -> Result<(AnalysisAudio, AudioInfo), AudioError> {
    let mut stream = AudioStream::open(path, extension, limits)?;
    let scratch = |err: std::io::Error| AudioError::Scratch(err.to_string());
    let mut mono = SamplesWriter::default();
    let mut stereo: Option<[SamplesWriter; 2]> = None;
    while let Some(block) = stream.next_block()? {
        mono.push(&block.mono).map_err(scratch)?;
        if let Some([left, right]) = block.stereo {
            let pair = stereo.get_or_insert_with(Default::default);
            pair[0].push(&left).map_err(scratch)?;
            pair[1].push(&right).map_err(scratch)?;
        }
    }
    let audio = AnalysisAudio {
        mono: mono.finish().map_err(scratch)?,
        stereo: match stereo {
            Some([left, right]) => Some([
                left.finish().map_err(scratch)?,
                right.finish().map_err(scratch)?,
            ]),
            None => None,
        },
    };
    Ok((audio, stream.info().clone()))
}

/// Runs third-party parsing code, turning a panic into a typed error.
fn guarded<T>(what: &str, work: impl FnOnce() -> T) -> Result<T, AudioError> {
    catch_unwind(AssertUnwindSafe(work)).map_err(|_| {
        tracing::warn!(what, "symphonia panicked on malformed input");
        AudioError::Corrupt(format!("the {what} failed on malformed data"))
    })
}
