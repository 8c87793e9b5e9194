//! The source-rate side of decoding: packets of our track, decoded, trimmed to the recording
//! and mixed down to the planar f32 channels analysis keeps.
//!
//! Following symphonia-play's loop: packets of other tracks (an MP4's video) are skipped, a
//! bad packet is skipped and counted, `ResetRequired` rebuilds the decoder, and running out of
//! data ends the stream (a truncated file yields what it holds and says so).

use symphonia::core::codecs::Decoder;
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::{FormatReader, Packet, Track};
use symphonia::core::io::MediaSource;

use super::{AudioError, AudioInfo, DecodeLimits, KeepChannels, guarded, mix, mp4, probe, track};

/// The highest rate recorders write. The resampler's FFT lengths grow with the input rate
/// (a multiple of `rate / gcd(rate, 16 kHz)`): the fuzzer's WAV claiming 1.18 GHz took 2 GB.
const MAX_SAMPLE_RATE: u32 = 384_000;
/// Consecutive undecodable packets after which the file counts as corrupt, not merely damaged.
const MAX_CONSECUTIVE_BAD_PACKETS: usize = 64;

/// One decoded packet at the source rate: one plane per kept channel (1, or 2 for stereo).
pub struct Chunk {
    pub rate: u32,
    pub planes: Vec<Vec<f32>>,
}

impl Chunk {
    pub fn frames(&self) -> usize {
        self.planes.first().map_or(0, Vec::len)
    }

    /// Appends the next packet (same rate and layout: [`Packets`] refuses a change).
    pub fn append(&mut self, next: &Chunk) {
        for (plane, more) in self.planes.iter_mut().zip(&next.planes) {
            plane.extend_from_slice(more);
        }
    }
}

pub struct Packets {
    format: Box<dyn FormatReader>,
    decoder: Box<dyn Decoder>,
    track: Track,
    keep: KeepChannels,
    /// Channels kept, known from the first decoded packet (its format is the truth when
    /// headers disagree: an HE-AAC header, say, may announce twice the rate decoded).
    kept: Option<usize>,
    /// This packet's samples; a spare set is swapped in when it is handed on.
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
}

impl Packets {
    /// Probes the source and prepares the decoder of its first decodable audio track.
    ///
    /// # Errors
    /// Empty, unknown or corrupt files, no audio track, an announced length over the limit.
    pub fn open(
        source: Box<dyn MediaSource>,
        extension: Option<&str>,
        limits: DecodeLimits,
        keep: KeepChannels,
    ) -> Result<Packets, AudioError> {
        if source.byte_len() == Some(0) {
            return Err(AudioError::Empty);
        }
        let probed = probe::open(source, extension)?;
        let track = track::pick(probed.format.tracks())?;
        let decoder = track::make_decoder(&track)?;
        let params = &track.codec_params;
        // The decoder's rate, not the container's: Opus decodes straight to 16 kHz.
        let sample_rate = decoder
            .codec_params()
            .sample_rate
            .or(params.sample_rate)
            .filter(|&rate| rate > 0)
            .ok_or(AudioError::Corrupt("no sample rate".into()))?;
        let expected_frames = track::announced_frames(params, sample_rate);
        if let Some(frames) = expected_frames {
            check_length(frames, sample_rate, limits.max_duration_secs)?;
        }
        let info = AudioInfo {
            codec: track::codec_name(params.codec),
            sample_rate,
            channels: params.channels.map_or(1, |c| c.count()).max(1),
            duration_secs: 0.0,
            source_frames: 0,
            truncated: false,
            skipped_packets: 0,
        };
        let edit = probed
            .edits
            .into_iter()
            .find(|e| usize::try_from(track.id).is_ok_and(|id| id == e.track_index));
        Ok(Packets {
            end_frame: track::exact_end(params, sample_rate, expected_frames),
            skip_left: 0,
            edit,
            expected_frames,
            format: probed.format,
            decoder,
            track,
            keep,
            kept: None,
            planes: Vec::new(),
            info,
            max_duration_secs: limits.max_duration_secs,
            consecutive_bad: 0,
        })
    }

    /// What is known so far; final once [`Packets::next`] has returned `None`.
    pub fn info(&self) -> &AudioInfo {
        &self.info
    }

    /// The next decoded packet, or `None` when the recording ends. `spare` (planes handed
    /// back by the consumer, or empty) becomes the next packet's buffer.
    ///
    /// # Errors
    /// Corrupt data that cannot be skipped, or a recording longer than the limit.
    pub fn next(&mut self, spare: Vec<Vec<f32>>) -> Result<Option<Chunk>, AudioError> {
        loop {
            let Some(packet) = self.next_packet()? else {
                return self.finish().map(|()| None);
            };
            let decoder = &mut self.decoder;
            match guarded("decoder", move || decoder.decode(&packet))? {
                Ok(decoded) => {
                    self.consecutive_bad = 0;
                    let (rate, frames) = (decoded.spec().rate, decoded.frames());
                    let channels = decoded.spec().channels.count();
                    if self.kept.is_none() {
                        let header_rate = self.info.sample_rate;
                        let kept = start(&mut self.info, self.keep, rate, channels)?;
                        if rate != header_rate {
                            self.expected_frames = None;
                            self.end_frame = None;
                        }
                        self.kept = Some(kept);
                        self.planes = vec![Vec::new(); kept];
                    }
                    mix::mix_into(&decoded, &mut self.planes);
                    return self.chunk(rate, frames, spare).map(Some);
                }
                Err(SymphoniaError::DecodeError(reason)) => {
                    self.info.skipped_packets += 1;
                    self.consecutive_bad += 1;
                    if self.consecutive_bad > MAX_CONSECUTIVE_BAD_PACKETS {
                        return Err(AudioError::Corrupt(reason.to_owned()));
                    }
                }
                Err(SymphoniaError::IoError(_)) => return self.finish().map(|()| None),
                Err(SymphoniaError::ResetRequired) => {
                    self.decoder = track::make_decoder(&self.track)?;
                }
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
                Err(SymphoniaError::ResetRequired) => {
                    self.decoder = track::make_decoder(&self.track)?;
                }
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

    /// Trims the packet in `planes`, counts it and hands it on.
    fn chunk(
        &mut self,
        rate: u32,
        frames: usize,
        mut spare: Vec<Vec<f32>>,
    ) -> Result<Chunk, AudioError> {
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
        spare.resize_with(self.planes.len(), Vec::new);
        let planes = std::mem::replace(&mut self.planes, spare);
        Ok(Chunk { rate, planes })
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

    /// Drops leading priming and what lies past [`Packets::end_frame`]; returns the frames
    /// kept.
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

    /// Completes the info at the end of the data.
    fn finish(&mut self) -> Result<(), AudioError> {
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
        Ok(())
    }
}

/// Takes the rate and layout from what the first packet really holds; returns the number of
/// channels kept. A plain function of the fields it needs, because the decoded packet still
/// borrows the decoder when it runs.
fn start(
    info: &mut AudioInfo,
    keep: KeepChannels,
    rate: u32,
    channels: usize,
) -> Result<usize, AudioError> {
    if rate == 0 {
        return Err(AudioError::Corrupt(
            "the decoder reported a zero sample rate".into(),
        ));
    }
    if rate > MAX_SAMPLE_RATE {
        return Err(AudioError::Unsupported(format!(
            "a sample rate of {rate} Hz"
        )));
    }
    if rate != info.sample_rate {
        tracing::warn!(
            header = info.sample_rate,
            decoded = rate,
            "sample rate differs"
        );
    }
    info.sample_rate = rate;
    info.channels = channels.max(1);
    Ok(if channels == 2 && keep == KeepChannels::Analysis {
        2
    } else {
        1
    })
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
