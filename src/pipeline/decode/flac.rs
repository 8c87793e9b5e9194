//! FLAC metadata lengths, checked before symphonia's reader sees the file.
//!
//! symphonia 0.5 reads a `VORBIS_COMMENT` or `PICTURE` block's fields into buffers of the
//! lengths the fields claim (`vec![0; len]` with a 32-bit `len`) before it notices that the
//! block, at most 16 MB, cannot hold them: the fuzzer found 4 GB allocations from 20 kB files.
//! Every such length must fit in what is left of its block.

use std::io::{Read, Seek, SeekFrom};

use super::AudioError;

const VORBIS_COMMENT: u8 = 4;
const PICTURE: u8 = 6;

/// Checks the metadata blocks of the FLAC stream whose `fLaC` marker is at `start`.
///
/// # Errors
/// `Corrupt` when a length inside a comment or picture block exceeds the block; `Io` when the
/// source fails. A file that ends inside the metadata is left to symphonia (`Truncated`).
pub fn scan<R: Read + Seek>(src: &mut R, start: u64) -> Result<(), AudioError> {
    let mut pos = start + 4;
    loop {
        let mut header = [0u8; 4];
        if read_at(src, pos, &mut header)?.is_none() {
            return Ok(());
        }
        let kind = header[0] & 0x7f;
        let len = u32::from_be_bytes([0, header[1], header[2], header[3]]) as usize;
        if kind == VORBIS_COMMENT || kind == PICTURE {
            let mut block = vec![0u8; len];
            if read_at(src, pos + 4, &mut block)?.is_none() {
                return Ok(());
            }
            let fits = if kind == VORBIS_COMMENT {
                comment_fits(&block)
            } else {
                picture_fits(&block)
            };
            if !fits {
                return Err(AudioError::Corrupt(
                    "flac: a metadata field claims more bytes than its block holds".into(),
                ));
            }
        }
        if header[0] & 0x80 != 0 {
            return Ok(());
        }
        pos += 4 + len as u64;
    }
}

/// Vendor string, comment count, then that many length-prefixed comments (little-endian).
fn comment_fits(block: &[u8]) -> bool {
    let mut at = 0;
    let Some(vendor) = le_u32(block, &mut at) else {
        return false;
    };
    at += vendor;
    let Some(count) = le_u32(block, &mut at) else {
        return false;
    };
    (0..count).all(|_| le_u32(block, &mut at).is_some_and(|len| take(block, &mut at, len)))
}

/// Type, then MIME type and description (each length-prefixed, big-endian), four sizes,
/// then the length-prefixed picture data.
fn picture_fits(block: &[u8]) -> bool {
    let mut at = 4;
    let mut field = |skip_after: usize| {
        let fits = be_u32(block, &mut at).is_some_and(|len| take(block, &mut at, len));
        at += skip_after;
        fits
    };
    field(0) && field(16) && field(0)
}

fn take(block: &[u8], at: &mut usize, len: usize) -> bool {
    *at = at.saturating_add(len);
    *at <= block.len()
}

fn le_u32(block: &[u8], at: &mut usize) -> Option<usize> {
    let bytes = block.get(*at..*at + 4)?;
    *at += 4;
    Some(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize)
}

fn be_u32(block: &[u8], at: &mut usize) -> Option<usize> {
    let bytes = block.get(*at..*at + 4)?;
    *at += 4;
    Some(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize)
}

/// `None` when the file ends first.
fn read_at<R: Read + Seek>(
    src: &mut R,
    pos: u64,
    buf: &mut [u8],
) -> Result<Option<()>, AudioError> {
    src.seek(SeekFrom::Start(pos))
        .map_err(|err| AudioError::Io(format!("reading the FLAC metadata: {err}")))?;
    match src.read_exact(buf) {
        Ok(()) => Ok(Some(())),
        Err(err) if err.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
        Err(err) => Err(AudioError::Io(format!("reading the FLAC metadata: {err}"))),
    }
}
