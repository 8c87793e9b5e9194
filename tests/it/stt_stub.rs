//! The transcription stub of `tests/stt` (OpenAI's protocol; tone bursts heard as words),
//! shared with the daemon tests here.
#![allow(
    dead_code,
    reason = "the daemon tests use only the stub and the tone synthesiser"
)]

#[path = "../stt/common/audio.rs"]
pub mod audio;
#[path = "../stt/common/stub.rs"]
pub mod stub;
