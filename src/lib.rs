//! VibeInsight's audio worker: recorded coaching sessions in, diarized transcripts and
//! coaching reports out, through a pgmq queue on PostgreSQL.
//!
//! # Layout, in data-flow order
//! - [`config`]: layered settings, validated at boot.
//! - [`worker`]: the queue side — poll + LISTEN, leases and heartbeats, retries, dead letters.
//! - [`storage`]: fetching recordings from a local directory or S3, with key validation.
//! - [`clients`]: typed clients for the providers behind two seams (`stt::SpeechToText`,
//!   `llm::LlmProvider`): OpenAI-compatible transcription and chat, Gemini.
//! - [`pipeline`]: the stages, fetch → decode/resample → quality/VAD → …, reporting to a progress sink.
//! - [`domain`]: the vocabulary every layer shares (spans, turns, words, language) and its algebra.
//! - [`dsp`]: pure signal math the stages use (log-mel, loudness, true peak, VAD frames).
//! - [`report`]: the assessment as `report.json` and a self-contained `report.html`.
//! - [`store`]: our tables; the one transaction that saves results and acknowledges the job.
//! - [`eval`]: reference annotations and scoring against them (VAD frame error).
//! - [`doctor`]: deployment checks with the fix for each problem.
//! - [`app`], [`cli`], [`shutdown`], [`telemetry`], [`terminal`]: wiring, commands, signals,
//!   logs, and the local `analyze FILE` run.

pub mod app;
pub mod cli;
pub mod clients;
pub mod config;
pub mod doctor;
pub mod domain;
pub mod dsp;
pub mod error;
pub mod eval;
pub mod pipeline;
pub mod report;
pub mod retry;
pub mod shutdown;
pub mod storage;
pub mod store;
pub mod telemetry;
pub mod terminal;
pub mod worker;
