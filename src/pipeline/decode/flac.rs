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
            // A file cut inside the block is checked as far as it goes, against the length
            // the block claims: symphonia sizes its buffers from the fields it can read.
            let mut block = vec![0u8; len];
            let present = read_some(src, pos + 4, &mut block)?;
            let fields = Fields {
                data: &block[..present],
                declared: len,
            };
            let fits = if kind == VORBIS_COMMENT {
                fields.comment_fits()
            } else {
                fields.picture_fits()
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

/// A metadata block as read: the bytes present, and the length its header claims.
struct Fields<'a> {
    data: &'a [u8],
    declared: usize,
}

impl Fields<'_> {
    /// Vendor string, comment count, then that many length-prefixed comments
    /// (little-endian). A length the data ends before is not read by symphonia either.
    fn comment_fits(&self) -> bool {
        let mut at = 0;
        let Some(vendor) = self.u32_at(&mut at, u32::from_le_bytes) else {
            return true;
        };
        if !self.take(&mut at, vendor) {
            return false;
        }
        let Some(count) = self.u32_at(&mut at, u32::from_le_bytes) else {
            return true;
        };
        for _ in 0..count {
            let Some(len) = self.u32_at(&mut at, u32::from_le_bytes) else {
                return true;
            };
            if !self.take(&mut at, len) {
                return false;
            }
        }
        true
    }

    /// Type, then MIME type and description (each length-prefixed, big-endian), four sizes,
    /// then the length-prefixed picture data.
    fn picture_fits(&self) -> bool {
        let mut at = 4;
        for skip_after in [0, 16, 0] {
            let Some(len) = self.u32_at(&mut at, u32::from_be_bytes) else {
                return true;
            };
            if !self.take(&mut at, len) {
                return false;
            }
            at += skip_after;
        }
        true
    }

    /// Moves past a field of `len` bytes; false if the block cannot hold it.
    fn take(&self, at: &mut usize, len: usize) -> bool {
        *at = at.saturating_add(len);
        *at <= self.declared
    }

    fn u32_at(&self, at: &mut usize, decode: fn([u8; 4]) -> u32) -> Option<usize> {
        let bytes = self.data.get(*at..at.checked_add(4)?)?;
        *at += 4;
        Some(decode([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize)
    }
}

/// Reads what the file holds of `buf`'s length at `pos`; returns how many bytes that was.
fn read_some<R: Read + Seek>(src: &mut R, pos: u64, buf: &mut [u8]) -> Result<usize, AudioError> {
    let io_error =
        |err: std::io::Error| AudioError::Io(format!("reading the FLAC metadata: {err}"));
    src.seek(SeekFrom::Start(pos)).map_err(io_error)?;
    let mut filled = 0;
    while filled < buf.len() {
        match src.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => return Err(io_error(err)),
        }
    }
    Ok(filled)
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
