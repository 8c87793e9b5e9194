//! Storage for the analysis signal. The pipeline keeps the whole 16 kHz signal until the
//! transcription chunks are cut from it, 230 MB per hour as f32 (three times that for a
//! stereo file, whose channels are kept for the dual-channel diarization). Short recordings
//! stay in memory; past [`SPILL_AFTER`] samples the signal goes to an unlinked temporary file
//! (in `$TMPDIR`) that is memory-mapped, so its pages belong to the page cache, which the kernel
//! writes back and evicts under pressure, and the worker's own memory stays bounded
//! whatever the recording's length.

use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::ops::{Deref, DerefMut};

use memmap2::MmapMut;

/// Samples held in memory before spilling: ten minutes at 16 kHz, 38 MB.
pub const SPILL_AFTER: usize = 16_000 * 600;

/// A signal, in memory or in a mapped temporary file; used as a slice.
pub struct Samples(Store);

enum Store {
    Memory(Vec<f32>),
    Mapped { map: MmapMut, len: usize },
}

impl Samples {
    /// Whether the samples live in a mapped file rather than in memory.
    pub fn is_mapped(&self) -> bool {
        matches!(self.0, Store::Mapped { .. })
    }
}

impl Default for Samples {
    fn default() -> Self {
        Self(Store::Memory(Vec::new()))
    }
}

impl From<Vec<f32>> for Samples {
    fn from(v: Vec<f32>) -> Self {
        Self(Store::Memory(v))
    }
}

impl Deref for Samples {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        match &self.0 {
            Store::Memory(v) => v,
            Store::Mapped { map, len } => &bytemuck::cast_slice(&map[..])[..*len],
        }
    }
}

impl DerefMut for Samples {
    fn deref_mut(&mut self) -> &mut [f32] {
        match &mut self.0 {
            Store::Memory(v) => v,
            Store::Mapped { map, len } => &mut bytemuck::cast_slice_mut(&mut map[..])[..*len],
        }
    }
}

impl fmt::Debug for Samples {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let place = if self.is_mapped() { "mapped" } else { "memory" };
        write!(f, "Samples({} in {place})", self.len())
    }
}

/// Appends samples, spilling to a temporary file past `spill_after` of them.
pub struct SamplesWriter {
    spill_after: usize,
    memory: Vec<f32>,
    file: Option<(BufWriter<File>, usize)>,
}

impl Default for SamplesWriter {
    fn default() -> Self {
        Self::new(SPILL_AFTER)
    }
}

impl SamplesWriter {
    pub fn new(spill_after: usize) -> Self {
        Self {
            spill_after,
            memory: Vec::new(),
            file: None,
        }
    }

    /// # Errors
    /// The temporary file cannot be created or written.
    pub fn push(&mut self, block: &[f32]) -> io::Result<()> {
        if let Some((out, len)) = &mut self.file {
            out.write_all(bytemuck::cast_slice(block))?;
            *len += block.len();
            return Ok(());
        }
        self.memory.extend_from_slice(block);
        if self.memory.len() > self.spill_after {
            let mut out = BufWriter::with_capacity(1 << 20, tempfile::tempfile()?);
            out.write_all(bytemuck::cast_slice(&self.memory))?;
            self.file = Some((out, self.memory.len()));
            self.memory = Vec::new();
        }
        Ok(())
    }

    /// # Errors
    /// The temporary file cannot be flushed or mapped.
    pub fn finish(self) -> io::Result<Samples> {
        let Some((out, len)) = self.file else {
            return Ok(Samples::from(self.memory));
        };
        let file = out.into_inner().map_err(io::IntoInnerError::into_error)?;
        // SAFETY: the file is unlinked and private to this process, so nothing else can
        // truncate or modify it while it is mapped.
        let map = unsafe { MmapMut::map_mut(&file)? };
        Ok(Samples(Store::Mapped { map, len }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(spill_after: usize, blocks: &[&[f32]]) -> Samples {
        let mut w = SamplesWriter::new(spill_after);
        for b in blocks {
            w.push(b).unwrap();
        }
        w.finish().unwrap()
    }

    #[test]
    fn short_signals_stay_in_memory() {
        let s = written(10, &[&[1.0, 2.0], &[3.0]]);
        assert!(!s.is_mapped());
        assert_eq!(&s[..], &[1.0, 2.0, 3.0]);
    }

    #[test]
    fn long_signals_spill_to_a_mapped_file_and_read_and_write_the_same() {
        let a: Vec<f32> = (0..7).map(|i| i as f32).collect();
        let b: Vec<f32> = (7..20).map(|i| i as f32).collect();
        let mut s = written(5, &[&a, &b, &[]]);
        assert!(s.is_mapped());
        assert_eq!(s.len(), 20);
        assert!(s.iter().enumerate().all(|(i, &x)| x == i as f32));
        s.iter_mut().for_each(|x| *x *= 2.0);
        assert_eq!(s[19], 38.0);
        assert_eq!(format!("{s:?}"), "Samples(20 in mapped)");
    }

    #[test]
    fn nothing_written_is_an_empty_signal() {
        assert!(written(0, &[]).is_empty());
    }
}
