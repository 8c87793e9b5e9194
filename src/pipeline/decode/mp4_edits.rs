//! MP4 edit lists: which part of an AAC track is the recording.
//!
//! AAC encoders prime the stream (1024 samples for ffmpeg's, 2112 for Apple's) and pad the
//! last frame; an MP4 says which samples are real in the track's edit list (`moov/trak/edts/
//! elst`). symphonia 0.5 parses that box but neither exposes nor applies it, so without this
//! every timestamp of an iPhone memo or a Zoom export would sit 20–50 ms late. Only box
//! headers and the few small boxes needed are read; `mdat` is skipped by seeking.

use std::io::{self, Read, Seek, SeekFrom};

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

/// Boxes nest a few levels; a file that claims more is hostile.
const MAX_DEPTH: usize = 6;

/// Reads the single-segment edit of each track, if the source is an MP4.
///
/// # Errors
/// I/O errors of the source; malformed boxes just yield no edits.
pub fn read_edits<R: Read + Seek>(src: &mut R) -> io::Result<Vec<Edit>> {
    let end = src.seek(SeekFrom::End(0))?;
    src.seek(SeekFrom::Start(0))?;
    let mut edits = Vec::new();
    let mut movie_timescale = 0;
    let mut tracks = 0;
    let mut pos = 0;
    while let Some((kind, body, next)) = next_box(src, pos, end)? {
        if &kind == b"moov" {
            walk_moov(
                src,
                body,
                next,
                &mut movie_timescale,
                &mut tracks,
                &mut edits,
            )?;
            break;
        }
        pos = next;
    }
    src.seek(SeekFrom::Start(0))?;
    Ok(edits)
}

fn walk_moov<R: Read + Seek>(
    src: &mut R,
    mut pos: u64,
    end: u64,
    movie_timescale: &mut u32,
    tracks: &mut usize,
    edits: &mut Vec<Edit>,
) -> io::Result<()> {
    while let Some((kind, body, next)) = next_box(src, pos, end)? {
        match &kind {
            b"mvhd" => *movie_timescale = read_timescale(src, body)?,
            b"trak" => {
                let mut trak = TrakInfo::default();
                walk_trak(src, body, next, &mut trak, 0)?;
                if let Some(edit) = trak.edit(*tracks, *movie_timescale) {
                    edits.push(edit);
                }
                *tracks += 1;
            }
            _ => {}
        }
        pos = next;
    }
    Ok(())
}

#[derive(Default)]
struct TrakInfo {
    media_timescale: u32,
    /// (segment duration in movie time, media time) of the first edit; `None` if several.
    segment: Option<(u64, i64)>,
}

impl TrakInfo {
    fn edit(&self, track_index: usize, movie_timescale: u32) -> Option<Edit> {
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

fn walk_trak<R: Read + Seek>(
    src: &mut R,
    mut pos: u64,
    end: u64,
    trak: &mut TrakInfo,
    depth: usize,
) -> io::Result<()> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    while let Some((kind, body, next)) = next_box(src, pos, end)? {
        match &kind {
            b"edts" | b"mdia" => walk_trak(src, body, next, trak, depth + 1)?,
            b"mdhd" => trak.media_timescale = read_timescale(src, body)?,
            b"elst" => trak.segment = read_single_edit(src, body)?,
            _ => {}
        }
        pos = next;
    }
    Ok(())
}

/// The box at `pos`: its type, where its body starts and where the next box starts.
fn next_box<R: Read + Seek>(
    src: &mut R,
    pos: u64,
    end: u64,
) -> io::Result<Option<([u8; 4], u64, u64)>> {
    if pos.saturating_add(8) > end {
        return Ok(None);
    }
    src.seek(SeekFrom::Start(pos))?;
    let mut header = [0u8; 8];
    src.read_exact(&mut header)?;
    let size32 = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
    let kind = [header[4], header[5], header[6], header[7]];
    let (size, body) = match size32 {
        0 => (end - pos, pos + 8),
        1 => (read_u64(src)?, pos + 16),
        n => (u64::from(n), pos + 8),
    };
    let next = pos.saturating_add(size);
    if size < body - pos || next > end {
        return Ok(None);
    }
    Ok(Some((kind, body, next)))
}

/// `mvhd` and `mdhd` share their start: version, flags, two times, then the timescale.
fn read_timescale<R: Read + Seek>(src: &mut R, body: u64) -> io::Result<u32> {
    src.seek(SeekFrom::Start(body))?;
    let version = read_u32(src)? >> 24;
    let times = if version == 1 { 16 } else { 8 };
    src.seek(SeekFrom::Current(times))?;
    read_u32(src)
}

/// The edit list's only entry; lists of several edits (rare in audio) are left alone.
fn read_single_edit<R: Read + Seek>(src: &mut R, body: u64) -> io::Result<Option<(u64, i64)>> {
    src.seek(SeekFrom::Start(body))?;
    let version = read_u32(src)? >> 24;
    if read_u32(src)? != 1 {
        return Ok(None);
    }
    Ok(Some(if version == 1 {
        (read_u64(src)?, read_u64(src)? as i64)
    } else {
        (u64::from(read_u32(src)?), i64::from(read_u32(src)? as i32))
    }))
}

fn read_u32<R: Read>(src: &mut R) -> io::Result<u32> {
    let mut buf = [0u8; 4];
    src.read_exact(&mut buf)?;
    Ok(u32::from_be_bytes(buf))
}

fn read_u64<R: Read>(src: &mut R) -> io::Result<u64> {
    let mut buf = [0u8; 8];
    src.read_exact(&mut buf)?;
    Ok(u64::from_be_bytes(buf))
}
