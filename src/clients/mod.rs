//! Typed clients, one per external API. The LLM clients share one trait
//! ([`llm::LlmProvider`]), the transcription clients another ([`stt::SpeechToText`]), so the
//! stages never know which vendor answered.

pub mod gemini;
pub mod llm;
pub mod openai_chat;
pub mod openai_stt;
pub mod stt;
