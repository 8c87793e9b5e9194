//! An open recording that yields 16 kHz blocks: decoding on one thread, resampling on the
//! caller's.
//!
//! Decoding (demuxing, the codec, the downmix) and resampling each take a large share of the
//! time and depend only on the previous packet, so they run as a two-stage pipeline: a decode
//! thread hands packets through a short bounded channel to the caller's thread, which
//! resamples them. On two cores the wall time is the slower stage instead of the sum; memory
//! stays bounded by the channel's few packets. Planes travel back to the decode thread for
//! reuse, so the steady state allocates only the output blocks.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use super::packets::{Chunk, Packets};
use super::{AudioError, AudioInfo, Block, guarded};
use crate::domain::ANALYSIS_RATE;
use crate::pipeline::resample::StreamResampler;

/// Batches in flight between the threads: enough to ride out a slow packet on either side.
const IN_FLIGHT: usize = 4;
/// Source frames per batch. Handing over every packet (20 ms of Opus) cost ~10 % of the
/// time in thread wake-ups; 8192 frames (under 200 ms at 44.1 kHz and up) make that
/// negligible, and four of them in flight are at most ~260 KB of stereo f32.
const BATCH_FRAMES: usize = 8192;

/// What the decode thread sends.
enum Message {
    Chunk(Chunk),
    /// The recording ended; the info is final.
    End(AudioInfo),
    Failed(AudioError),
}

pub struct AudioStream {
    chunks: Receiver<Message>,
    /// Planes back to the decode thread; a full channel just drops them.
    spare: SyncSender<Vec<Vec<f32>>>,
    info: AudioInfo,
    /// Built from the first packet, whose rate and kept channels are the truth.
    resampler: Option<StreamResampler>,
    finished: bool,
}

impl AudioStream {
    /// Starts the decode thread on `packets`.
    ///
    /// # Errors
    /// `Io` when the thread cannot be started.
    pub(super) fn start(packets: Packets) -> Result<AudioStream, AudioError> {
        let (chunk_tx, chunks) = sync_channel(IN_FLIGHT);
        let (spare, spare_rx) = sync_channel(IN_FLIGHT);
        let info = packets.info().clone();
        // The thread keeps the caller's span, so its warnings carry the job's fields.
        let span = tracing::Span::current();
        std::thread::Builder::new()
            .name("decode".into())
            .spawn(move || {
                let _entered = span.enter();
                decode_all(packets, &chunk_tx, &spare_rx);
            })
            .map_err(|err| AudioError::Io(format!("cannot start the decode thread: {err}")))?;
        Ok(AudioStream {
            chunks,
            spare,
            info,
            resampler: None,
            finished: false,
        })
    }

    /// The header's view until the stream ends, then what decoding measured.
    pub fn info(&self) -> &AudioInfo {
        &self.info
    }

    /// The next 16 kHz block, or `None` after the last (which carries the resampler's tail).
    ///
    /// # Errors
    /// Corrupt data that cannot be skipped, or a recording longer than the limit. The stream
    /// is finished after an error.
    pub fn next_block(&mut self) -> Result<Option<Block>, AudioError> {
        if self.finished {
            return Ok(None);
        }
        let result = self.receive();
        if !matches!(result, Ok(Some(_))) {
            self.finished = true;
        }
        result
    }

    fn receive(&mut self) -> Result<Option<Block>, AudioError> {
        let message = self.chunks.recv().map_err(|_| {
            AudioError::Corrupt("the decode thread stopped without a result".into())
        })?;
        match message {
            Message::Chunk(chunk) => self.resample(chunk).map(Some),
            Message::End(info) => {
                self.info = info;
                self.finished = true;
                self.flush()
            }
            Message::Failed(err) => Err(err),
        }
    }

    fn resample(&mut self, chunk: Chunk) -> Result<Block, AudioError> {
        let resampler = match self.resampler.as_mut() {
            Some(resampler) => resampler,
            None => self.resampler.insert(
                StreamResampler::new(chunk.rate, ANALYSIS_RATE, chunk.planes.len())
                    .map_err(|err| AudioError::Unsupported(err.to_string()))?,
            ),
        };
        let mut out = vec![Vec::new(); chunk.planes.len()];
        let planes = &chunk.planes;
        guarded("resampler", || resampler.push(planes, &mut out))?
            .map_err(|err| AudioError::Corrupt(err.to_string()))?;
        // A full channel, or a decode thread that is done, just lets the planes go.
        let _ = self.spare.try_send(chunk.planes);
        Ok(block_from(out))
    }

    /// The resampler's tail, as the last block.
    fn flush(&mut self) -> Result<Option<Block>, AudioError> {
        let Some(resampler) = self.resampler.as_mut() else {
            return Ok(Some(Block::default()));
        };
        let mut out = vec![Vec::new(); resampler.channels()];
        guarded("resampler", || resampler.flush(&mut out))?
            .map_err(|err| AudioError::Corrupt(err.to_string()))?;
        Ok(Some(block_from(out)))
    }
}

/// The decode thread: packets into the channel until the end, an error, or a consumer that
/// went away (its receiver dropped, so a send fails).
fn decode_all(mut packets: Packets, chunks: &SyncSender<Message>, spare: &Receiver<Vec<Vec<f32>>>) {
    loop {
        let (batch, last) = next_batch(&mut packets, spare);
        if let Some(batch) = batch
            && chunks.send(Message::Chunk(batch)).is_err()
        {
            return;
        }
        if let Some(last) = last {
            // The consumer may be gone already; there is no one else to tell.
            let _ = chunks.send(last);
            return;
        }
    }
}

/// Packets joined up to [`BATCH_FRAMES`], and the final message if the stream ended (after
/// the batch, which holds the audio decoded before an error).
fn next_batch(
    packets: &mut Packets,
    spare: &Receiver<Vec<Vec<f32>>>,
) -> (Option<Chunk>, Option<Message>) {
    let mut batch: Option<Chunk> = None;
    // A packet appended to the batch lends its planes to the next packet.
    let mut reuse = Vec::new();
    while batch.as_ref().map_or(0, Chunk::frames) < BATCH_FRAMES {
        let planes = if reuse.is_empty() {
            spare.try_recv().unwrap_or_default()
        } else {
            std::mem::take(&mut reuse)
        };
        match packets.next(planes) {
            Ok(Some(chunk)) => match batch.as_mut() {
                Some(joined) => {
                    joined.append(&chunk);
                    reuse = chunk.planes;
                }
                None => batch = Some(chunk),
            },
            Ok(None) => return (batch, Some(Message::End(packets.info().clone()))),
            Err(err) => return (batch, Some(Message::Failed(err))),
        }
    }
    (batch, None)
}

/// One or two resampled planes as a block; mono is formed from both channels after
/// resampling, so a stereo source is resampled twice, not three times.
fn block_from(mut planes: Vec<Vec<f32>>) -> Block {
    if let [left, right] = planes.as_slice() {
        let mono = left.iter().zip(right).map(|(l, r)| 0.5 * (l + r)).collect();
        let right = planes.pop().unwrap_or_default();
        let left = planes.pop().unwrap_or_default();
        return Block {
            mono,
            stereo: Some([left, right]),
        };
    }
    Block {
        mono: planes.pop().unwrap_or_default(),
        stereo: None,
    }
}
