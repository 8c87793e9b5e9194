//! Pure, synchronous signal math: log-mel features, loudness, VAD frame decisions.

pub mod loudness;
pub mod mel;
pub mod true_peak;
pub mod vad;

#[cfg(test)]
pub(crate) mod test_signals;
