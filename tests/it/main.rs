//! Integration tests against real PostgreSQL (a fresh database per test), the real pgmq SQL,
//! the real binary for signal handling, and S3 over HTTP.

mod decode;
mod decode_hostile;
mod diarization_eval;
mod economy;
mod failures;
mod helpers;
mod judgement;
mod lifecycle;
mod logs;
mod migrations;
mod neural_diarization;
mod ops;
mod owner;
#[path = "../support/prereq.rs"]
mod prereq;
mod report_output;
mod retention;
mod rls;
mod s3;
mod signals;
mod speaker_count;
mod stt_stub;
mod telemetry;
mod vad_reference;
