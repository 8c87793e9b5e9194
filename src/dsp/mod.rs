//! Pure, synchronous signal math: log-mel features, loudness, VAD frame decisions.

pub mod loudness;
pub mod mel;
pub mod vad;

#[cfg(test)]
pub(crate) mod test_signals;
