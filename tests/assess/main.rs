//! Assessment and report: the Gemini and OpenAI-compatible chat clients against a local
//! server replaying scripted answers, the validation and repair of the LLM's judgement,
//! and the report (JSON against its schema, HTML rendered in headless Chromium).

mod common;
mod gemini;
mod openai_chat;
#[path = "../support/prereq.rs"]
mod prereq;
mod report;
