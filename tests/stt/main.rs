//! Transcription: the OpenAI-compatible client against a local stub (errors, retries,
//! response modes), chunking and stitching, hallucination filtering, alignment, lexical
//! metrics, FLAC encoding, and the whole path against a real Whisper server when
//! `VIBEINSIGHT_TEST_STT_URL` names one (`just stt` starts it; `just test` sets it).

mod chunking;
mod client;
mod common;
mod encode;
mod hallucination;
mod lexical;
#[path = "../support/prereq.rs"]
mod prereq;
mod real_server;
