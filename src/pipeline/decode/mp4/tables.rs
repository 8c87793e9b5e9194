//! The sample tables symphonia's MP4 reader sizes allocations from, checked against the boxes
//! that hold them and against the file.
//!
//! Each table is a count followed by fixed-size entries, and symphonia reserves `count`
//! entries up front (`Vec::with_capacity`), so the count must fit in the box. Sample sizes
//! become one allocation per packet (`read_boxed_slice_exact`), so no sample may be larger
//! than the file: a 4 GB sample in a 1 MB file is a lie, not a large sample.

use std::io::{Read, Seek};

use super::{Mp4Box, Walker, corrupt};
use crate::pipeline::decode::AudioError;

/// Table entries are read this many bytes at a time when each must be looked at.
const READ_CHUNK: usize = 64 * 1024;

/// Checks `b` if it is a table symphonia reads; other boxes pass.
pub(super) fn check<R: Read + Seek>(
    walker: &mut Walker<'_, R>,
    b: Mp4Box,
) -> Result<(), AudioError> {
    match &b.kind {
        b"stts" | b"ctts" => counted(walker, b, 8),
        b"stsc" => counted(walker, b, 12),
        b"stco" | b"stss" => counted(walker, b, 4),
        b"co64" => counted(walker, b, 8),
        b"stsz" => sample_sizes(walker, b),
        b"trun" => track_run(walker, b),
        b"tfhd" => fragment_defaults(walker, b),
        // `trex`: version and flags, track id, sample description index, duration, size.
        b"trex" if b.body + 24 <= b.end => {
            let size = walker.u32_at(b.body + 16)?;
            sample_fits(walker, u64::from(size))
        }
        _ => Ok(()),
    }
}

/// Whether `count` entries of `entry` bytes, after `offset` bytes of the body, fit in `b`.
///
/// # Errors
/// `Truncated` when the box is cut off by the end of the file, `Corrupt` otherwise.
pub(super) fn entries_fit(
    b: Mp4Box,
    offset: u64,
    count: u32,
    entry: u64,
) -> Result<(), AudioError> {
    let needed = offset + u64::from(count) * entry;
    if needed <= b.body_len() {
        return Ok(());
    }
    if b.cut {
        return Err(AudioError::Truncated);
    }
    Err(corrupt(format!(
        "the `{}` table claims {count} entries, more than its {} bytes hold",
        b.name(),
        b.body_len()
    )))
}

/// A full box with an entry count, then the entries.
fn counted<R: Read + Seek>(
    walker: &mut Walker<'_, R>,
    b: Mp4Box,
    entry: u64,
) -> Result<(), AudioError> {
    let count = count_at(walker, b, 4)?;
    entries_fit(b, 8, count, entry)
}

/// The count at `offset` in the body; a box too short to hold it is corrupt.
fn count_at<R: Read + Seek>(
    walker: &mut Walker<'_, R>,
    b: Mp4Box,
    offset: u64,
) -> Result<u32, AudioError> {
    entries_fit(b, offset, 1, 4)?;
    walker.u32_at(b.body + offset)
}

/// `stsz`: one size for every sample, or a table of them.
fn sample_sizes<R: Read + Seek>(walker: &mut Walker<'_, R>, b: Mp4Box) -> Result<(), AudioError> {
    let constant = count_at(walker, b, 4)?;
    let count = count_at(walker, b, 8)?;
    if constant != 0 {
        return sample_fits(walker, u64::from(constant));
    }
    entries_fit(b, 12, count, 4)?;
    each_entry(walker, b.body + 12, count, 4, |walker, entry| {
        sample_fits(
            walker,
            u64::from(u32::from_be_bytes([entry[0], entry[1], entry[2], entry[3]])),
        )
    })
}

/// `trun`: a fragment's samples, each with the optional fields its flags announce.
fn track_run<R: Read + Seek>(walker: &mut Walker<'_, R>, b: Mp4Box) -> Result<(), AudioError> {
    let flags = count_at(walker, b, 0)? & 0x00ff_ffff;
    let count = count_at(walker, b, 4)?;
    let optional = |bit: u32| if flags & bit != 0 { 4 } else { 0 };
    // Data offset and first sample's flags come before the table.
    let offset = 8 + optional(0x1) + optional(0x4);
    let fields = [0x100, 0x200, 0x400, 0x800].map(optional);
    let entry: u64 = fields.iter().sum();
    // symphonia reads a run entry by entry without reserving, so a run cut by the end of the
    // file (a recording cut mid-fragment) is fine as far as it goes.
    let count = if b.cut && entry > 0 {
        let present = b.body_len().saturating_sub(offset) / entry;
        count.min(u32::try_from(present).unwrap_or(u32::MAX))
    } else {
        count
    };
    entries_fit(b, offset, count, entry)?;
    if fields[1] == 0 {
        return Ok(());
    }
    // The sample size follows the duration when both are present.
    let at = fields[0] as usize;
    each_entry(walker, b.body + offset, count, entry, |walker, e| {
        let size = u32::from_be_bytes([e[at], e[at + 1], e[at + 2], e[at + 3]]);
        sample_fits(walker, u64::from(size))
    })
}

/// `tfhd`: the fragment's default sample size, when its flags say one is there.
fn fragment_defaults<R: Read + Seek>(
    walker: &mut Walker<'_, R>,
    b: Mp4Box,
) -> Result<(), AudioError> {
    let flags = count_at(walker, b, 0)? & 0x00ff_ffff;
    if flags & 0x10 == 0 {
        return Ok(());
    }
    let optional = |bit: u32, len: u64| if flags & bit != 0 { len } else { 0 };
    // Track id, then base data offset, description index and duration as present.
    let at = 8 + optional(0x1, 8) + optional(0x2, 4) + optional(0x8, 4);
    let size = count_at(walker, b, at)?;
    sample_fits(walker, u64::from(size))
}

fn sample_fits<R: Read + Seek>(walker: &Walker<'_, R>, size: u64) -> Result<(), AudioError> {
    if size <= walker.file_len {
        return Ok(());
    }
    Err(corrupt(format!(
        "a sample of {size} bytes in a file of {} bytes",
        walker.file_len
    )))
}

/// Calls `each` with every `entry`-byte record of a table of `count` starting at `pos`.
fn each_entry<R: Read + Seek>(
    walker: &mut Walker<'_, R>,
    pos: u64,
    count: u32,
    entry: u64,
    mut each: impl FnMut(&Walker<'_, R>, &[u8]) -> Result<(), AudioError>,
) -> Result<(), AudioError> {
    let entry = entry as usize;
    let per_read = (READ_CHUNK / entry).max(1);
    let mut buf = vec![0u8; per_read * entry];
    let mut left = count as usize;
    let mut at = pos;
    while left > 0 {
        let n = left.min(per_read);
        let chunk = &mut buf[..n * entry];
        walker.read_at(at, chunk)?;
        for record in chunk.chunks_exact(entry) {
            each(walker, record)?;
        }
        at += chunk.len() as u64;
        left -= n;
    }
    Ok(())
}
