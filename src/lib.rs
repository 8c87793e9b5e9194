//! VibeInsight's audio worker: recorded coaching sessions in, diarized transcripts and
//! coaching reports out, through a pgmq queue on PostgreSQL.
//!
//! # Layout, in data-flow order
//! - [`config`]: layered settings, validated at boot.
//! - [`worker`]: the queue side — poll + LISTEN, leases and heartbeats, retries, dead letters.
//! - [`storage`]: fetching recordings from a local directory or S3, with key validation.
//! - [`pipeline`]: the stages, fetch → decode/resample → …, reporting to a progress sink.
//! - [`store`]: our tables; the one transaction that saves results and acknowledges the job.
//! - [`app`], [`cli`], [`shutdown`], [`telemetry`]: wiring, commands, signals, logs.

pub mod app;
pub mod cli;
pub mod config;
pub mod error;
pub mod pipeline;
pub mod shutdown;
pub mod storage;
pub mod store;
pub mod telemetry;
pub mod worker;
