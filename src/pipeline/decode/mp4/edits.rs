//! MP4 edit lists: which part of an AAC track is the recording.
//!
//! AAC encoders prime the stream (1024 samples for ffmpeg's, 2112 for Apple's) and pad the
//! last frame; an MP4 says which samples are real in the track's edit list (`moov/trak/edts/
//! elst`). symphonia 0.5 parses that box but neither exposes nor applies it, so without this
//! every timestamp of an iPhone memo or a Zoom export would sit 20–50 ms late.

use std::io::{Read, Seek};

use super::{Mp4Box, Walker, corrupt};
use crate::pipeline::decode::AudioError;

/// The edit of one track, in that track's media timescale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edit {
    /// Position of the track among the `trak` boxes (symphonia's track id for MP4).
    pub track_index: usize,
    pub media_timescale: u32,
    /// Media time where the recording starts (the priming to drop).
    pub skip: u64,
    /// Length of the recording in media time.
    pub duration: u64,
}

#[derive(Default)]
pub(super) struct TrakInfo {
    pub(super) media_timescale: u32,
    /// (segment duration in movie time, media time) of the first edit; `None` if several.
    pub(super) segment: Option<(u64, i64)>,
}

impl TrakInfo {
    pub(super) fn edit(&self, track_index: usize, movie_timescale: u32) -> Option<Edit> {
        let (segment, media_time) = self.segment?;
        if movie_timescale == 0 || self.media_timescale == 0 || media_time < 0 {
            return None;
        }
        let duration =
            u128::from(segment) * u128::from(self.media_timescale) / u128::from(movie_timescale);
        Some(Edit {
            track_index,
            media_timescale: self.media_timescale,
            skip: media_time as u64,
            duration: u64::try_from(duration).ok()?,
        })
    }
}

/// `mvhd` and `mdhd` share their start: version, flags, two times, then the timescale.
pub(super) fn read_timescale<R: Read + Seek>(
    walker: &mut Walker<'_, R>,
    b: Mp4Box,
) -> Result<u32, AudioError> {
    let version = walker.u32_at(b.body)? >> 24;
    let at = b.body + if version == 1 { 20 } else { 12 };
    if at + 4 > b.end {
        return Err(corrupt(format!(
            "a `{}` box too short for its timescale",
            b.name()
        )));
    }
    walker.u32_at(at)
}

/// The edit list's only entry; lists of several edits (rare in audio) are left alone.
pub(super) fn read_single_edit<R: Read + Seek>(
    walker: &mut Walker<'_, R>,
    b: Mp4Box,
) -> Result<Option<(u64, i64)>, AudioError> {
    let version = walker.u32_at(b.body)? >> 24;
    let count = walker.u32_at(b.body + 4)?;
    let entry = if version == 1 { 20 } else { 12 };
    super::tables::entries_fit(b, 8, count, entry)?;
    if count != 1 {
        return Ok(None);
    }
    let at = b.body + 8;
    Ok(Some(if version == 1 {
        (walker.u64_at(at)?, walker.u64_at(at + 8)? as i64)
    } else {
        (
            u64::from(walker.u32_at(at)?),
            i64::from(walker.u32_at(at + 4)? as i32),
        )
    }))
}
