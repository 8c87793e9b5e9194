//! WAV (RIFF) chunk sizes, checked against the file before symphonia's reader sees it.
//!
//! symphonia 0.5 checks each chunk against the length in the RIFF header, not against the
//! file, and reads a `LIST`/`INFO` entry whole into a buffer of the size it claims. Streaming
//! writers put 0xFFFFFFFF in that header, so a few hundred bytes that announce a 3 GB `INFO`
//! entry get a 3 GB allocation. Every chunk before `data` must therefore end inside the file;
//! `data` itself may run past the end (a cut recording, or one written as a stream).

use std::io::{Read, Seek, SeekFrom};

use super::AudioError;

/// The RIFF header: `RIFF`, its length, `WAVE`.
const RIFF_HEADER: u64 = 12;

/// Checks the chunks of the WAV that starts (at its `RIFF` marker) at `start`.
///
/// # Errors
/// `Corrupt` when a chunk before `data` claims more bytes than the file holds; `Truncated`
/// when the file is shorter than its own header says and breaks off inside such a chunk.
pub fn scan<R: Read + Seek>(src: &mut R, start: u64, file_len: u64) -> Result<(), AudioError> {
    let riff_len = u64::from(le_u32_at(src, start + 4)?);
    let riff_end = start + 8 + riff_len;
    // A writer that did not know the length wrote the maximum; otherwise a file shorter than
    // its header says was cut.
    let cut = riff_len != u64::from(u32::MAX) && riff_end > file_len;
    let mut pos = start + RIFF_HEADER;
    while pos + 8 <= file_len {
        let mut tag = [0u8; 4];
        read_at(src, pos, &mut tag)?;
        if &tag == b"data" {
            break;
        }
        let len = u64::from(le_u32_at(src, pos + 4)?);
        let end = pos + 8 + len;
        if end > file_len {
            if cut && end <= riff_end {
                return Err(AudioError::Truncated);
            }
            return Err(AudioError::Corrupt(format!(
                "wav: the `{}` chunk claims {len} bytes, past the end of the file",
                String::from_utf8_lossy(&tag)
            )));
        }
        // Chunks are padded to an even length.
        pos = end + (len & 1);
    }
    Ok(())
}

fn read_at<R: Read + Seek>(src: &mut R, pos: u64, buf: &mut [u8]) -> Result<(), AudioError> {
    src.seek(SeekFrom::Start(pos))
        .and_then(|_| src.read_exact(buf))
        .map_err(|err| match err.kind() {
            std::io::ErrorKind::UnexpectedEof => AudioError::Truncated,
            _ => AudioError::Io(format!("reading the WAV chunks: {err}")),
        })
}

fn le_u32_at<R: Read + Seek>(src: &mut R, pos: u64) -> Result<u32, AudioError> {
    let mut buf = [0u8; 4];
    read_at(src, pos, &mut buf)?;
    Ok(u32::from_le_bytes(buf))
}
