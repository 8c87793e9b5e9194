//! Typed clients, one per external API. The LLM clients share one trait
//! ([`llm::LlmProvider`]) so the assessment stage never knows which vendor answered.

pub mod gemini;
pub mod llm;
pub mod openai_chat;
pub mod openai_stt;
