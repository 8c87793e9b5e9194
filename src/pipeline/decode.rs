//! Decoding any supported recording into analysis audio, as a stream.
//!
//! Packets are decoded one at a time, downmixed and resampled to 16 kHz as they come, so the
//! original-rate signal is never held whole. Following symphonia-play's loop: packets of other
//! tracks (an MP4's video) are skipped, a bad packet is skipped and counted, `ResetRequired`
//! rebuilds the decoder, and running out of data ends the stream (a truncated file yields what
//! it holds and says so). Opus, which symphonia 0.5 demuxes but cannot decode, goes through
//! libopus ([`opus`]). Before a container's reader parses it, the sizes that reader would
//! allocate from are checked against the file ([`probe`]): a lying header is `Corrupt`, not an
//! aborted process.
//!
//! Every call into the demuxers, decoders and the resampler runs under `catch_unwind`: they
//! process hostile bytes, and a panic there must become [`AudioError::Corrupt`] (a permanent
//! failure), not a dead blocking task that the worker would retry as if it were an outage.

mod error;
mod mix;
mod mp4;
pub mod opus;
mod probe;
mod wav;

use std::fs::File;
use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::OnceLock;

use serde::Serialize;
use symphonia::core::codecs::DecoderOptions;
use symphonia::core::codecs::{
    CODEC_TYPE_NULL, CODEC_TYPE_VORBIS, CodecParameters, CodecRegistry, Decoder,
};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::{FormatReader, Packet, Track};
use symphonia::core::io::MediaSource;

pub use self::error::AudioError;
use crate::pipeline::resample::StreamResampler;
use crate::pipeline::types::{ANALYSIS_RATE, AnalysisAudio};

/// Consecutive undecodable packets after which the file counts as corrupt, not merely damaged.
const MAX_CONSECUTIVE_BAD_PACKETS: usize = 64;

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

/// An open recording that yields 16 kHz blocks packet by packet.
pub struct AudioStream {
    format: Box<dyn FormatReader>,
    decoder: Box<dyn Decoder>,
    track: Track,
    keep: KeepChannels,
    /// Built from the first decoded packet, whose format is the truth when headers disagree.
    resampler: Option<StreamResampler>,
    /// This packet's samples, one plane per kept channel; reused across packets.
    planes: Vec<Vec<f32>>,
    info: AudioInfo,
    expected_frames: Option<u64>,
    /// Frames past which output is dropped: the container's exact length where symphonia's
    /// own trimming falls short (Ogg Vorbis' last granule position, an MP4 edit list).
    end_frame: Option<u64>,
    /// Leading frames still to drop (an MP4 edit list's encoder priming).
    skip_left: u64,
    /// The MP4 edit of our track, applied once the first packet tells the real rate.
    edit: Option<mp4::Edit>,
    max_duration_secs: u64,
    consecutive_bad: usize,
    finished: bool,
}

impl AudioStream {
    /// Opens a file and prepares the decoder of its first decodable audio track.
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

    /// Probes any seekable source.
    ///
    /// # Errors
    /// As [`AudioStream::open`].
    pub fn from_source(
        source: Box<dyn MediaSource>,
        extension: Option<&str>,
        limits: DecodeLimits,
        keep: KeepChannels,
    ) -> Result<AudioStream, AudioError> {
        if source.byte_len() == Some(0) {
            return Err(AudioError::Empty);
        }
        let probed = probe::open(source, extension)?;
        let edits = probed.edits;
        let format = probed.format;
        let track = pick_track(format.tracks())?;
        let decoder = make_decoder(&track)?;
        let params = &track.codec_params;
        let sample_rate = params
            .sample_rate
            .filter(|&rate| rate > 0)
            .ok_or(AudioError::Corrupt("no sample rate".into()))?;
        let expected_frames = announced_frames(params, sample_rate);
        if let Some(frames) = expected_frames {
            check_length(frames, sample_rate, limits.max_duration_secs)?;
        }
        let info = AudioInfo {
            codec: codec_name(params.codec),
            sample_rate,
            channels: params.channels.map_or(1, |c| c.count()).max(1),
            duration_secs: 0.0,
            source_frames: 0,
            truncated: false,
            skipped_packets: 0,
        };
        let edit = edits
            .into_iter()
            .find(|e| usize::try_from(track.id).is_ok_and(|id| id == e.track_index));
        Ok(AudioStream {
            end_frame: exact_end(params, sample_rate, expected_frames),
            skip_left: 0,
            edit,
            expected_frames,
            format,
            decoder,
            track,
            keep,
            resampler: None,
            planes: Vec::new(),
            info,
            max_duration_secs: limits.max_duration_secs,
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
    /// Corrupt data that cannot be skipped, or a recording longer than the limit. The stream
    /// is finished after an error.
    pub fn next_block(&mut self) -> Result<Option<Block>, AudioError> {
        if self.finished {
            return Ok(None);
        }
        let result = self.decode_next();
        if result.is_err() {
            self.finished = true;
        }
        result
    }

    fn decode_next(&mut self) -> Result<Option<Block>, AudioError> {
        loop {
            let Some(packet) = self.next_packet()? else {
                return self.finish();
            };
            let decoder = &mut self.decoder;
            match guarded("decoder", move || decoder.decode(&packet))? {
                Ok(decoded) => {
                    self.consecutive_bad = 0;
                    let (rate, frames) = (decoded.spec().rate, decoded.frames());
                    let channels = decoded.spec().channels.count();
                    if self.resampler.is_none() {
                        let started = Started::new(&mut self.info, rate, channels, self.keep)?;
                        if started.rate_differs {
                            self.expected_frames = None;
                            self.end_frame = None;
                        }
                        self.planes = started.planes;
                        self.resampler = Some(started.resampler);
                    }
                    mix::mix_into(&decoded, &mut self.planes);
                    return self.emit(rate, frames).map(Some);
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

    /// The next packet of our track; `None` when the data ends.
    fn next_packet(&mut self) -> Result<Option<Packet>, AudioError> {
        loop {
            let format = &mut self.format;
            match guarded("demuxer", move || format.next_packet())? {
                Ok(packet) if packet.track_id() == self.track.id => return Ok(Some(packet)),
                Ok(_) => {}
                Err(SymphoniaError::ResetRequired) => self.decoder = make_decoder(&self.track)?,
                Err(SymphoniaError::IoError(_)) => return Ok(None),
                Err(SymphoniaError::DecodeError(reason)) if self.info.source_frames > 0 => {
                    tracing::warn!(
                        reason,
                        "container damaged; keeping the audio decoded so far"
                    );
                    self.info.truncated = true;
                    return Ok(None);
                }
                Err(err) => return Err(AudioError::Corrupt(err.to_string())),
            }
        }
    }

    /// Resamples the packet in `planes`.
    fn emit(&mut self, rate: u32, frames: usize) -> Result<Block, AudioError> {
        if rate != self.info.sample_rate {
            return Err(AudioError::Unsupported(
                "the sample rate changes in the middle of the recording".into(),
            ));
        }
        if let Some(edit) = self.edit.take() {
            self.apply_edit(edit, rate);
        }
        let frames = self.cut_at_end(frames);
        self.info.source_frames += frames as u64;
        check_length(self.info.source_frames, rate, self.max_duration_secs)?;
        let mut out = vec![Vec::new(); self.planes.len()];
        if let Some(resampler) = self.resampler.as_mut() {
            let planes = &self.planes;
            guarded("resampler", || resampler.push(planes, &mut out))?
                .map_err(|err| AudioError::Corrupt(err.to_string()))?;
        }
        Ok(block_from(out))
    }

    /// Turns the MP4 edit into frames at the decoded rate.
    fn apply_edit(&mut self, edit: mp4::Edit, rate: u32) {
        let at_rate = |t: u64| {
            let frames = u128::from(t) * u128::from(rate) / u128::from(edit.media_timescale);
            u64::try_from(frames).unwrap_or(u64::MAX)
        };
        self.skip_left = at_rate(edit.skip);
        self.end_frame = Some(at_rate(edit.duration));
        self.expected_frames = self.end_frame;
    }

    /// Drops leading priming and what lies past [`AudioStream::end_frame`]; returns the
    /// frames kept.
    fn cut_at_end(&mut self, frames: usize) -> usize {
        let skip = usize::try_from(self.skip_left)
            .unwrap_or(usize::MAX)
            .min(frames);
        if skip > 0 {
            self.skip_left -= skip as u64;
            for plane in &mut self.planes {
                plane.drain(..skip.min(plane.len()));
            }
        }
        let frames = frames - skip;
        let Some(end) = self.end_frame else {
            return frames;
        };
        let room = end.saturating_sub(self.info.source_frames);
        let kept = frames.min(usize::try_from(room).unwrap_or(usize::MAX));
        for plane in &mut self.planes {
            plane.truncate(kept);
        }
        kept
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
        let mut out = vec![Vec::new(); self.planes.len()];
        if let Some(resampler) = self.resampler.as_mut() {
            guarded("resampler", || resampler.flush(&mut out))?
                .map_err(|err| AudioError::Corrupt(err.to_string()))?;
        }
        Ok(Some(block_from(out)))
    }
}

/// Resampling set up from what the first packet really holds (an HE-AAC header, say, may
/// announce twice the rate the decoder produces). A plain function of the fields it needs,
/// because the decoded packet still borrows the decoder when it runs.
struct Started {
    planes: Vec<Vec<f32>>,
    resampler: StreamResampler,
    rate_differs: bool,
}

impl Started {
    fn new(
        info: &mut AudioInfo,
        rate: u32,
        channels: usize,
        keep: KeepChannels,
    ) -> Result<Started, AudioError> {
        if rate == 0 {
            return Err(AudioError::Corrupt(
                "the decoder reported a zero sample rate".into(),
            ));
        }
        let rate_differs = rate != info.sample_rate;
        if rate_differs {
            tracing::warn!(
                header = info.sample_rate,
                decoded = rate,
                "sample rate differs"
            );
        }
        info.sample_rate = rate;
        info.channels = channels.max(1);
        let kept = if channels == 2 && keep == KeepChannels::Analysis {
            2
        } else {
            1
        };
        let resampler = StreamResampler::new(rate, ANALYSIS_RATE, kept)
            .map_err(|err| AudioError::Unsupported(err.to_string()))?;
        Ok(Started {
            planes: vec![Vec::new(); kept],
            resampler,
            rate_differs,
        })
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

/// Runs third-party parsing code, turning a panic into a typed error.
fn guarded<T>(what: &str, work: impl FnOnce() -> T) -> Result<T, AudioError> {
    catch_unwind(AssertUnwindSafe(work)).map_err(|_| {
        tracing::warn!(what, "symphonia panicked on malformed input");
        AudioError::Corrupt(format!("the {what} failed on malformed data"))
    })
}

fn block_from(mut planes: Vec<Vec<f32>>) -> Block {
    if let [left, right] = planes.as_slice() {
        let mono = left.iter().zip(right).map(|(l, r)| 0.5 * (l + r)).collect();
        let right = planes.pop().unwrap_or_default();
        let left = planes.pop().unwrap_or_default();
        return Block {
            mono,
            stereo: Some([left, right]),
        };
    }
    Block {
        mono: planes.pop().unwrap_or_default(),
        stereo: None,
    }
}

fn pick_track(tracks: &[Track]) -> Result<Track, AudioError> {
    // Audio tracks are those with a sample rate; video and subtitles have none. An audio
    // track whose codec symphonia does not even name (AC-3 in Matroska) is unsupported.
    let audio: Vec<&Track> = tracks
        .iter()
        .filter(|t| t.codec_params.sample_rate.is_some())
        .collect();
    let decodable = audio.iter().find(|t| {
        t.codec_params.codec != CODEC_TYPE_NULL
            && codecs().get_codec(t.codec_params.codec).is_some()
    });
    match (decodable, audio.first()) {
        (Some(track), _) => Ok((*track).clone()),
        (None, Some(track)) => Err(AudioError::Unsupported(codec_name(
            track.codec_params.codec,
        ))),
        (None, None) => Err(AudioError::NoAudioTrack),
    }
}

fn make_decoder(track: &Track) -> Result<Box<dyn Decoder>, AudioError> {
    guarded("decoder", || {
        codecs().make(&track.codec_params, &DecoderOptions::default())
    })?
    .map_err(|err| match err {
        SymphoniaError::Unsupported(what) => AudioError::Unsupported(what.to_owned()),
        other => AudioError::Corrupt(other.to_string()),
    })
}

/// The length the container announces, in frames at `rate`. Matroska counts in its own
/// timestamp scale (usually milliseconds), the others in frames.
fn announced_frames(params: &CodecParameters, rate: u32) -> Option<u64> {
    let n_frames = params.n_frames?;
    match params.time_base {
        Some(tb) if tb.denom != 0 && !(tb.numer == 1 && tb.denom == rate) => {
            let secs = n_frames as f64 * f64::from(tb.numer) / f64::from(tb.denom);
            Some((secs * f64::from(rate)).round() as u64)
        }
        _ => Some(n_frames),
    }
}

/// Ogg's granule positions are sample-exact by specification, but symphonia 0.5's Vorbis
/// end trim leaves up to a short block of padding; the announced length bounds the output.
fn exact_end(params: &CodecParameters, rate: u32, expected: Option<u64>) -> Option<u64> {
    let sample_clock = params
        .time_base
        .is_some_and(|tb| tb.numer == 1 && tb.denom == rate);
    (params.codec == CODEC_TYPE_VORBIS && sample_clock)
        .then_some(expected)
        .flatten()
}

fn check_length(frames: u64, rate: u32, max_secs: u64) -> Result<(), AudioError> {
    if frames > max_secs.saturating_mul(u64::from(rate)) {
        return Err(AudioError::TooLong {
            secs: frames as f64 / f64::from(rate),
            max_secs,
        });
    }
    Ok(())
}

fn codec_name(codec: symphonia::core::codecs::CodecType) -> String {
    codecs().get_codec(codec).map_or_else(
        || format!("{codec}"),
        |descriptor| descriptor.short_name.to_owned(),
    )
}
