//! Evaluation helpers: reference annotation parsers, the dev-set loader and VAD scoring.
//! Only this module (and tests) touches files; everything under `dsp` and `pipeline` is pure.

pub mod commands;
pub mod dataset;
pub mod der;
pub mod diarization;
pub mod frame_error;
pub mod reference;
