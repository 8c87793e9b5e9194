//! MP4 (ISO-BMFF) structure, read before symphonia's reader sees the file: the edit lists it
//! does not apply ([`edits`]) and the sample tables it sizes allocations from ([`tables`]).
//!
//! One walk over the box tree reads box headers and the few small boxes needed, and seeks past
//! `mdat`. symphonia 0.5's MP4 reader trusts what the boxes claim: a sample table that declares
//! 2³² entries makes it reserve 34 GB before it reads one, and a box larger than its parent is
//! read whole. Such an allocation aborts the process (there is no panic to catch), so the
//! worker would die on every retry of the job. Here every box must fit in its parent, every
//! table's entry count must fit in its box and every sample in the file; a file that breaks
//! one of those is [`AudioError::Corrupt`] before symphonia parses it. A box that runs past the
//! end of the file is a cut file, not a lie: it is read as far as it goes, and a table cut
//! short is [`AudioError::Truncated`].

mod edits;
mod tables;

use std::io::{Read, Seek, SeekFrom};

pub use self::edits::Edit;
use self::edits::TrakInfo;
use super::AudioError;

/// Boxes nest a few levels (`moov/trak/mdia/minf/stbl/stsd/mp4a/esds` is the deepest real
/// path); deeper nesting is not descended into, and symphonia does not look there either.
const MAX_DEPTH: usize = 10;

/// One box: its type, where its body starts and where it ends in the file.
#[derive(Clone, Copy, Debug)]
struct Mp4Box {
    kind: [u8; 4],
    body: u64,
    end: u64,
    /// The box claims to run past the end of the file: `end` is where the file stops.
    cut: bool,
}

impl Mp4Box {
    fn name(&self) -> String {
        String::from_utf8_lossy(&self.kind).into_owned()
    }

    fn body_len(&self) -> u64 {
        self.end - self.body
    }
}

/// Checks the structure of the MP4 that starts at `start` and returns its tracks' edits.
///
/// # Errors
/// `Corrupt` when a box, table or sample claims more than its container or the file holds;
/// `Truncated` when a table the reader needs is cut off; `Io` when the source fails.
pub fn scan<R: Read + Seek>(
    src: &mut R,
    start: u64,
    file_len: u64,
) -> Result<Vec<Edit>, AudioError> {
    let mut walker = Walker {
        src,
        file_len,
        movie_timescale: 0,
        tracks: 0,
        edits: Vec::new(),
    };
    let root = Mp4Box {
        kind: *b"root",
        body: start,
        end: file_len,
        cut: true,
    };
    walker.walk(root, 0, &mut None)?;
    Ok(walker.edits)
}

struct Walker<'a, R> {
    src: &'a mut R,
    file_len: u64,
    movie_timescale: u32,
    /// `trak` boxes seen so far: symphonia numbers MP4 tracks in this order.
    tracks: usize,
    edits: Vec<Edit>,
}

impl<R: Read + Seek> Walker<'_, R> {
    fn walk(
        &mut self,
        parent: Mp4Box,
        depth: usize,
        trak: &mut Option<TrakInfo>,
    ) -> Result<(), AudioError> {
        self.walk_from(parent, parent.body, depth, trak)
    }

    /// Visits the children of `parent` that start at `first`.
    fn walk_from(
        &mut self,
        parent: Mp4Box,
        first: u64,
        depth: usize,
        trak: &mut Option<TrakInfo>,
    ) -> Result<(), AudioError> {
        if depth > MAX_DEPTH {
            return Ok(());
        }
        let mut pos = first;
        while let Some(child) = self.next_box(pos, parent)? {
            self.visit(child, &parent.kind, depth, trak)?;
            pos = child.end;
        }
        Ok(())
    }

    fn visit(
        &mut self,
        b: Mp4Box,
        parent: &[u8; 4],
        depth: usize,
        trak: &mut Option<TrakInfo>,
    ) -> Result<(), AudioError> {
        match &b.kind {
            // Metadata items (`©nam`, `covr`, …) hold `data` boxes that symphonia reads whole.
            _ if parent == b"ilst" => self.walk(b, depth + 1, trak)?,
            b"moov" | b"mdia" | b"minf" | b"stbl" | b"edts" | b"dinf" | b"mvex" | b"moof"
            | b"traf" | b"udta" | b"ilst" | b"wave" => self.walk(b, depth + 1, trak)?,
            // A full box: version and flags come before the children.
            b"meta" => self.walk_from(b, b.body + 4, depth + 1, trak)?,
            b"trak" => {
                let mut info = Some(TrakInfo::default());
                self.walk(b, depth + 1, &mut info)?;
                if let Some(edit) = info.and_then(|t| t.edit(self.tracks, self.movie_timescale)) {
                    self.edits.push(edit);
                }
                self.tracks += 1;
            }
            b"stsd" => self.sample_entries(b, depth)?,
            b"mvhd" => self.movie_timescale = edits::read_timescale(self, b)?,
            b"mdhd" => {
                let timescale = edits::read_timescale(self, b)?;
                if let Some(info) = trak.as_mut() {
                    info.media_timescale = timescale;
                }
            }
            b"elst" => {
                let segment = edits::read_single_edit(self, b)?;
                if let Some(info) = trak.as_mut() {
                    info.segment = segment;
                }
            }
            _ => tables::check(self, b)?,
        }
        Ok(())
    }

    /// `stsd`: a count, then sample entries; an audio entry's fixed fields (whose length
    /// depends on its version) come before its child boxes (`esds`, `alac`, `dOps`, …).
    fn sample_entries(&mut self, stsd: Mp4Box, depth: usize) -> Result<(), AudioError> {
        let mut pos = stsd.body + 8;
        while let Some(entry) = self.next_box(pos, stsd)? {
            pos = entry.end;
            if !is_audio_entry(&entry.kind) || entry.body + 10 > entry.end {
                continue;
            }
            let fields = match self.u16_at(entry.body + 8)? {
                0 => 28,
                1 => 44,
                2 => 64,
                _ => continue,
            };
            self.walk_from(entry, entry.body + fields, depth + 1, &mut None)?;
        }
        Ok(())
    }

    /// The box at `pos` inside `parent`, or `None` where the parent (or the file) ends.
    fn next_box(&mut self, pos: u64, parent: Mp4Box) -> Result<Option<Mp4Box>, AudioError> {
        if pos.saturating_add(8) > parent.end {
            return Ok(None);
        }
        let size32 = self.u32_at(pos)?;
        let kind = self.u32_at(pos + 4)?.to_be_bytes();
        let (size, header) = match size32 {
            0 => (parent.end - pos, 8),
            1 if pos + 16 > parent.end => return Ok(None),
            1 => (self.u64_at(pos + 8)?, 16),
            n => (u64::from(n), 8),
        };
        let name = String::from_utf8_lossy(&kind);
        if size < header {
            return Err(corrupt(format!(
                "a `{name}` box is smaller than its header"
            )));
        }
        let end = pos.saturating_add(size);
        if end <= parent.end {
            return Ok(Some(Mp4Box {
                kind,
                body: pos + header,
                end,
                cut: false,
            }));
        }
        if !parent.cut {
            return Err(corrupt(format!(
                "a `{name}` box of {size} bytes overflows the `{}` box it is in",
                parent.name()
            )));
        }
        Ok(Some(Mp4Box {
            kind,
            body: pos + header,
            end: parent.end,
            cut: true,
        }))
    }

    fn read_at(&mut self, pos: u64, buf: &mut [u8]) -> Result<(), AudioError> {
        self.src
            .seek(SeekFrom::Start(pos))
            .and_then(|_| self.src.read_exact(buf))
            .map_err(|err| match err.kind() {
                std::io::ErrorKind::UnexpectedEof => AudioError::Truncated,
                _ => AudioError::Io(format!("reading the MP4 structure: {err}")),
            })
    }

    fn u16_at(&mut self, pos: u64) -> Result<u16, AudioError> {
        let mut buf = [0u8; 2];
        self.read_at(pos, &mut buf)?;
        Ok(u16::from_be_bytes(buf))
    }

    fn u32_at(&mut self, pos: u64) -> Result<u32, AudioError> {
        let mut buf = [0u8; 4];
        self.read_at(pos, &mut buf)?;
        Ok(u32::from_be_bytes(buf))
    }

    fn u64_at(&mut self, pos: u64) -> Result<u64, AudioError> {
        let mut buf = [0u8; 8];
        self.read_at(pos, &mut buf)?;
        Ok(u64::from_be_bytes(buf))
    }
}

/// The sample entries symphonia's MP4 reader parses as audio.
fn is_audio_entry(kind: &[u8; 4]) -> bool {
    [
        b"mp4a", b"alac", b"fLaC", b"Opus", b".mp3", b"lpcm", b"alaw", b"ulaw", b"raw ", b"sowt",
        b"twos", b"in24", b"in32", b"fl32", b"fl64",
    ]
    .contains(&kind)
}

fn corrupt(what: String) -> AudioError {
    AudioError::Corrupt(format!("mp4: {what}"))
}
