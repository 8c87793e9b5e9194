//! What the container says about the track we decode: which track, its decoder, and the
//! length it announces.

use symphonia::core::codecs::{
    CODEC_TYPE_NULL, CODEC_TYPE_VORBIS, CodecParameters, CodecType, Decoder, DecoderOptions,
};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::Track;

use super::{AudioError, codecs, guarded};

/// The first audio track we can decode.
///
/// # Errors
/// `Unsupported` when the audio is in a codec we lack; `NoAudioTrack` when there is none.
pub fn pick(tracks: &[Track]) -> Result<Track, AudioError> {
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

/// # Errors
/// `Unsupported` for a codec variant the decoder refuses, `Corrupt` for a bad setup.
pub fn make_decoder(track: &Track) -> Result<Box<dyn Decoder>, AudioError> {
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
pub fn announced_frames(params: &CodecParameters, rate: u32) -> Option<u64> {
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
pub fn exact_end(params: &CodecParameters, rate: u32, expected: Option<u64>) -> Option<u64> {
    let sample_clock = params
        .time_base
        .is_some_and(|tb| tb.numer == 1 && tb.denom == rate);
    (params.codec == CODEC_TYPE_VORBIS && sample_clock)
        .then_some(expected)
        .flatten()
}

pub fn codec_name(codec: CodecType) -> String {
    codecs().get_codec(codec).map_or_else(
        || format!("{codec}"),
        |descriptor| descriptor.short_name.to_owned(),
    )
}
