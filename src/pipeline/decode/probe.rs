//! Finding the container, and vetting its structure before symphonia's reader parses it.
//!
//! symphonia 0.5's readers size allocations from what headers claim (see [`super::mp4`] and
//! [`super::wav`]), and an allocation that fails aborts the process: no panic, nothing for
//! the guard to catch. So this runs symphonia's own probe (`Probe::next` finds the container
//! marker exactly as `Probe::format` does, after any ID3 tag and junk), and between finding
//! the container and handing the stream to its reader, checks the sizes that reader would
//! trust against the file. Hints are not used: symphonia 0.5 recognises formats by their
//! markers only.

use std::io::{Read, Seek, SeekFrom};

use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::{MediaSource, MediaSourceStream, ReadBytes as _};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Instantiate;

use super::{AudioError, guarded, mp4};

/// An opened container and what the pre-scan read from it.
pub struct Probed {
    pub format: Box<dyn FormatReader>,
    /// The MP4 edit of each track (none for other containers).
    pub edits: Vec<mp4::Edit>,
}

/// Finds the container in `source`, vets it and opens its reader.
///
/// # Errors
/// `Unsupported` when no known container is found; `Corrupt` or `Truncated` when its
/// structure claims more than the file holds or its reader fails; `Io` for the source.
pub fn open(source: Box<dyn MediaSource>, extension: Option<&str>) -> Result<Probed, AudioError> {
    let file_len = source
        .byte_len()
        .ok_or_else(|| AudioError::Io("the length of the source is unknown".into()))?;
    let mut mss = MediaSourceStream::new(source, Default::default());
    let probe = symphonia::default::get_probe();
    let options = FormatOptions {
        enable_gapless: true,
        ..Default::default()
    };
    loop {
        let found =
            guarded("probe", || probe.next(&mut mss))?.map_err(|err| not_found(err, extension))?;
        match found {
            Instantiate::Metadata(make) => {
                let mut reader = make(&MetadataOptions::default());
                guarded("probe", || reader.read_all(&mut mss))?.map_err(probe_error)?;
            }
            Instantiate::Format(make) => {
                let edits = vet(&mut mss, file_len)?;
                let format = guarded("probe", || make(mss, &options))?.map_err(probe_error)?;
                return Ok(Probed { format, edits });
            }
        }
    }
}

/// Checks the container whose marker the stream is at, then puts the stream back there with
/// the bytes before the marker buffered (the MP4 reader steps back over its box size).
fn vet(mss: &mut MediaSourceStream, file_len: u64) -> Result<Vec<mp4::Edit>, AudioError> {
    let io_error = |err: std::io::Error| AudioError::Io(err.to_string());
    let at = mss.pos();
    let mut marker = [0u8; 4];
    let read = mss.read_exact(&mut marker);
    let edits = match (&read, &marker) {
        (Ok(()), b"ftyp") => mp4::scan(mss, at.saturating_sub(4), file_len)?,
        (Ok(()), b"RIFF") => {
            super::wav::scan(mss, at, file_len)?;
            Vec::new()
        }
        (Ok(()), b"fLaC") => {
            super::flac::scan(mss, at)?;
            Vec::new()
        }
        _ => Vec::new(),
    };
    let behind = at.min(16);
    mss.seek(SeekFrom::Start(at - behind)).map_err(io_error)?;
    let mut skipped = [0u8; 16];
    mss.read_exact(&mut skipped[..behind as usize])
        .map_err(io_error)?;
    Ok(edits)
}

/// No container found: the probe read to its limit or to the end of the data.
fn not_found(err: SymphoniaError, extension: Option<&str>) -> AudioError {
    match err {
        SymphoniaError::Unsupported(_) => AudioError::Unsupported(match extension {
            Some(ext) => format!("no known audio container in this .{ext} file"),
            None => "no known audio container in this file".into(),
        }),
        other => probe_error(other),
    }
}

fn probe_error(err: SymphoniaError) -> AudioError {
    match err {
        SymphoniaError::Unsupported(what) => AudioError::Unsupported(what.to_owned()),
        SymphoniaError::IoError(_) => AudioError::Truncated,
        other => AudioError::Corrupt(other.to_string()),
    }
}
