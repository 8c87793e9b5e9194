//! The decoded signal passed between the pipeline's stages (the conversation's vocabulary
//! lives in [`crate::domain`]).

pub use crate::pipeline::samples::Samples;

/// Decoded, resampled audio ready for analysis; long signals live in mapped scratch files
/// (see [`Samples`]).
#[derive(Debug, Default)]
pub struct AnalysisAudio {
    /// Mono downmix at [`crate::domain::ANALYSIS_RATE`].
    pub mono: Samples,
    /// The two original channels at [`crate::domain::ANALYSIS_RATE`], kept only when the source had exactly two.
    pub stereo: Option<[Samples; 2]>,
}
