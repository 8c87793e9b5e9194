//! Decoding any supported recording into analysis audio, as a stream.
//!
//! Packets are decoded one at a time, downmixed and resampled to 16 kHz as they come, so the
//! original-rate signal is never held whole. Following symphonia-play's loop: packets of other
//! tracks are skipped, a bad packet is skipped and counted, `ResetRequired` rebuilds the
//! decoder, and running out of data ends the stream (a truncated file yields what it holds and
//! says so).

use std::fs::File;
use std::path::Path;

use serde::Serialize;
use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{CODEC_TYPE_NULL, Decoder, DecoderOptions};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::{FormatOptions, FormatReader, Track};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use crate::pipeline::resample::StreamResampler;
use crate::pipeline::types::{ANALYSIS_RATE, AnalysisAudio, Language};

/// Consecutive undecodable packets after which the file counts as corrupt, not merely damaged.
const MAX_CONSECUTIVE_BAD_PACKETS: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("the file is empty")]
    Empty,
    #[error("unsupported format or codec: {0}")]
    Unsupported(String),
    #[error("the file has no audio track")]
    NoAudioTrack,
    #[error("the audio is corrupt: {0}")]
    Corrupt(String),
    #[error("the file is truncated before any audio")]
    Truncated,
    #[error("the recording is {secs:.0} s long, more than the {max_secs} s allowed")]
    TooLong { secs: f64, max_secs: u64 },
    #[error("cannot read the file: {0}")]
    Io(String),
}

impl AudioError {
    pub fn summary(&self, language: Language) -> String {
        let ja = language == Language::Ja;
        let pick = |j: &str, e: &str| if ja { j } else { e }.to_owned();
        match self {
            AudioError::Empty => pick("音声ファイルが空です", "The audio file is empty"),
            AudioError::Unsupported(_) => pick(
                "対応していない音声形式です",
                "This audio format is not supported",
            ),
            AudioError::NoAudioTrack => {
                pick("音声トラックがありません", "The file has no audio track")
            }
            AudioError::Corrupt(_) => {
                pick("音声ファイルが破損しています", "The audio file is corrupt")
            }
            AudioError::Truncated => pick(
                "音声ファイルが途中で切れています",
                "The audio file is truncated",
            ),
            AudioError::TooLong { .. } => pick("録音が長すぎます", "The recording is too long"),
            AudioError::Io(_) => pick(
                "音声ファイルを読み込めません",
                "The audio file cannot be read",
            ),
        }
    }
}

/// What decoding measured about the source.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct AudioInfo {
    pub codec: String,
    pub sample_rate: u32,
    pub channels: usize,
    pub duration_secs: f64,
    pub source_frames: u64,
    /// The stream ended before the length its header announced.
    pub truncated: bool,
    pub skipped_packets: usize,
}

#[derive(Clone, Copy, Debug)]
pub struct DecodeLimits {
    pub max_duration_secs: u64,
}

/// 16 kHz output of one decoded packet.
#[derive(Debug, Default)]
pub struct Block {
    pub mono: Vec<f32>,
    pub stereo: Option<[Vec<f32>; 2]>,
}

/// An open recording that yields 16 kHz blocks packet by packet.
pub struct AudioStream {
    format: Box<dyn FormatReader>,
    decoder: Box<dyn Decoder>,
    track: Track,
    resampler: StreamResampler,
    sample_buf: Option<SampleBuffer<f32>>,
    info: AudioInfo,
    expected_frames: Option<u64>,
    max_frames: u64,
    consecutive_bad: usize,
    finished: bool,
}

impl AudioStream {
    /// Probes the container and prepares the decoder of the first decodable audio track.
    ///
    /// # Errors
    /// Empty, unknown or corrupt files, no audio track, an announced length over the limit.
    pub fn open(
        path: &Path,
        extension: Option<&str>,
        limits: DecodeLimits,
    ) -> Result<AudioStream, AudioError> {
        let file = File::open(path).map_err(|err| AudioError::Io(err.to_string()))?;
        if file
            .metadata()
            .map_err(|err| AudioError::Io(err.to_string()))?
            .len()
            == 0
        {
            return Err(AudioError::Empty);
        }
        let mut hint = Hint::new();
        if let Some(ext) = extension {
            hint.with_extension(ext);
        }
        let source = MediaSourceStream::new(Box::new(file), Default::default());
        let options = FormatOptions {
            enable_gapless: true,
            ..Default::default()
        };
        let probed = symphonia::default::get_probe()
            .format(&hint, source, &options, &MetadataOptions::default())
            .map_err(probe_error)?;
        let format = probed.format;
        let track = pick_track(format.tracks())?;
        let decoder = make_decoder(&track)?;
        let params = &track.codec_params;
        let sample_rate = params
            .sample_rate
            .ok_or(AudioError::Corrupt("no sample rate".into()))?;
        let channels = params.channels.map_or(1, |c| c.count()).max(1);
        let max_frames = limits.max_duration_secs * u64::from(sample_rate);
        if let Some(frames) = params.n_frames.filter(|&n| n > max_frames) {
            return Err(too_long(frames, sample_rate, limits));
        }
        let kept_channels = if channels == 2 { 2 } else { 1 };
        let resampler = StreamResampler::new(sample_rate, ANALYSIS_RATE, kept_channels)
            .map_err(|err| AudioError::Corrupt(err.to_string()))?;
        let info = AudioInfo {
            codec: codec_name(params.codec),
            sample_rate,
            channels,
            duration_secs: 0.0,
            source_frames: 0,
            truncated: false,
            skipped_packets: 0,
        };
        Ok(AudioStream {
            expected_frames: params.n_frames,
            format,
            decoder,
            track,
            resampler,
            sample_buf: None,
            info,
            max_frames,
            consecutive_bad: 0,
            finished: false,
        })
    }

    pub fn info(&self) -> &AudioInfo {
        &self.info
    }

    /// The next 16 kHz block, or `None` after the last (which carries the resampler's tail).
    ///
    /// # Errors
    /// Corrupt data that cannot be skipped, or a recording longer than the limit.
    pub fn next_block(&mut self) -> Result<Option<Block>, AudioError> {
        if self.finished {
            return Ok(None);
        }
        loop {
            let packet = match self.format.next_packet() {
                Ok(packet) => packet,
                Err(SymphoniaError::ResetRequired) => {
                    self.decoder = make_decoder(&self.track)?;
                    continue;
                }
                Err(SymphoniaError::IoError(_)) => return self.finish(),
                Err(SymphoniaError::DecodeError(reason)) if self.info.source_frames > 0 => {
                    tracing::warn!(
                        reason,
                        "container damaged; keeping the audio decoded so far"
                    );
                    self.info.truncated = true;
                    return self.finish();
                }
                Err(err) => return Err(AudioError::Corrupt(err.to_string())),
            };
            if packet.track_id() != self.track.id {
                continue;
            }
            match self.decoder.decode(&packet) {
                Ok(decoded) => {
                    self.consecutive_bad = 0;
                    let spec = *decoded.spec();
                    let frames = decoded.frames();
                    let buf = self
                        .sample_buf
                        .get_or_insert_with(|| SampleBuffer::new(decoded.capacity() as u64, spec));
                    if buf.capacity() < decoded.capacity() * spec.channels.count() {
                        *buf = SampleBuffer::new(decoded.capacity() as u64, spec);
                    }
                    buf.copy_interleaved_ref(decoded);
                    return self.emit(spec.channels.count(), frames).map(Some);
                }
                Err(SymphoniaError::DecodeError(reason)) => {
                    self.info.skipped_packets += 1;
                    self.consecutive_bad += 1;
                    if self.consecutive_bad > MAX_CONSECUTIVE_BAD_PACKETS {
                        return Err(AudioError::Corrupt(reason.to_owned()));
                    }
                }
                Err(SymphoniaError::IoError(_)) => return self.finish(),
                Err(SymphoniaError::ResetRequired) => self.decoder = make_decoder(&self.track)?,
                Err(err) => return Err(AudioError::Corrupt(err.to_string())),
            }
        }
    }

    /// Downmixes the interleaved packet in `sample_buf` and resamples it.
    fn emit(&mut self, channels: usize, frames: usize) -> Result<Block, AudioError> {
        self.info.source_frames += frames as u64;
        if self.info.source_frames > self.max_frames {
            let limits = DecodeLimits {
                max_duration_secs: self.max_frames / u64::from(self.info.sample_rate),
            };
            return Err(too_long(
                self.info.source_frames,
                self.info.sample_rate,
                limits,
            ));
        }
        let samples = self.sample_buf.as_ref().map_or(&[][..], |b| b.samples());
        let planar = planar_for_analysis(samples, channels, frames);
        let mut out = vec![Vec::new(); planar.len()];
        self.resampler.push(&planar, &mut out);
        Ok(block_from(out))
    }

    fn finish(&mut self) -> Result<Option<Block>, AudioError> {
        self.finished = true;
        if self.info.source_frames == 0 {
            return Err(if self.expected_frames.unwrap_or(0) > 0 {
                AudioError::Truncated
            } else {
                AudioError::Empty
            });
        }
        // Gapless trimming and MP3 padding make the count differ by a few frames; a real
        // truncation loses far more than 10 ms.
        let tolerance = u64::from(self.info.sample_rate) / 100;
        if let Some(expected) = self.expected_frames {
            self.info.truncated |= self.info.source_frames + tolerance < expected;
        }
        self.info.duration_secs = self.info.source_frames as f64 / f64::from(self.info.sample_rate);
        let mut out = vec![Vec::new(); if self.info.channels == 2 { 2 } else { 1 }];
        self.resampler.flush(&mut out);
        Ok(Some(block_from(out)))
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
    let mut audio = AnalysisAudio::default();
    while let Some(block) = stream.next_block()? {
        audio.mono.extend_from_slice(&block.mono);
        if let Some([left, right]) = block.stereo {
            let pair = audio.stereo.get_or_insert_with(|| [Vec::new(), Vec::new()]);
            pair[0].extend_from_slice(&left);
            pair[1].extend_from_slice(&right);
        }
    }
    Ok((audio, stream.info().clone()))
}

/// Two channels are kept apart (each person may have their own); anything else is averaged
/// to mono before resampling, which is cheaper than resampling every channel.
fn planar_for_analysis(interleaved: &[f32], channels: usize, frames: usize) -> Vec<Vec<f32>> {
    let interleaved = &interleaved[..frames * channels];
    if channels == 2 {
        let left = interleaved.iter().step_by(2).copied().collect();
        let right = interleaved.iter().skip(1).step_by(2).copied().collect();
        return vec![left, right];
    }
    let scale = 1.0 / channels as f32;
    vec![
        interleaved
            .chunks_exact(channels)
            .map(|frame| frame.iter().sum::<f32>() * scale)
            .collect(),
    ]
}

fn block_from(mut planar: Vec<Vec<f32>>) -> Block {
    if planar.len() == 2 {
        let right = planar.pop().unwrap_or_default();
        let left = planar.pop().unwrap_or_default();
        let mono = left
            .iter()
            .zip(&right)
            .map(|(l, r)| 0.5 * (l + r))
            .collect();
        return Block {
            mono,
            stereo: Some([left, right]),
        };
    }
    Block {
        mono: planar.pop().unwrap_or_default(),
        stereo: None,
    }
}

fn pick_track(tracks: &[Track]) -> Result<Track, AudioError> {
    let audio: Vec<&Track> = tracks
        .iter()
        .filter(|t| t.codec_params.codec != CODEC_TYPE_NULL && t.codec_params.sample_rate.is_some())
        .collect();
    let registry = symphonia::default::get_codecs();
    match audio
        .iter()
        .find(|t| registry.get_codec(t.codec_params.codec).is_some())
    {
        Some(track) => Ok((*track).clone()),
        None => match audio.first() {
            Some(track) => Err(AudioError::Unsupported(codec_name(
                track.codec_params.codec,
            ))),
            None => Err(AudioError::NoAudioTrack),
        },
    }
}

fn make_decoder(track: &Track) -> Result<Box<dyn Decoder>, AudioError> {
    symphonia::default::get_codecs()
        .make(&track.codec_params, &DecoderOptions::default())
        .map_err(|err| match err {
            SymphoniaError::Unsupported(what) => AudioError::Unsupported(what.to_owned()),
            other => AudioError::Corrupt(other.to_string()),
        })
}

fn probe_error(err: SymphoniaError) -> AudioError {
    match err {
        SymphoniaError::Unsupported(what) => AudioError::Unsupported(what.to_owned()),
        SymphoniaError::IoError(_) => AudioError::Truncated,
        other => AudioError::Corrupt(other.to_string()),
    }
}

fn too_long(frames: u64, rate: u32, limits: DecodeLimits) -> AudioError {
    AudioError::TooLong {
        secs: frames as f64 / f64::from(rate),
        max_secs: limits.max_duration_secs,
    }
}

fn codec_name(codec: symphonia::core::codecs::CodecType) -> String {
    symphonia::default::get_codecs()
        .get_codec(codec)
        .map_or_else(
            || format!("{codec}"),
            |descriptor| descriptor.short_name.to_owned(),
        )
}
