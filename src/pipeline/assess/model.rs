//! The judgement's data: what the LLM must return ([`RawJudgement`], parsed leniently
//! only in the sense that serde checks types) and what survives validation ([`Judgement`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Names of the four skills, in the order the app shows them.
pub const SKILLS: [&str; 4] = ["listening", "questioning", "empathy", "feedback"];

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawJudgement {
    pub coach_speaker: i64,
    pub coach_reason: String,
    pub coaching_skills: RawSkills,
    /// `speaker_N` → split: one entry per measured speaker, which the schema enforces.
    pub emotion_analysis: BTreeMap<String, RawEmotion>,
    pub diagnosis: RawDiagnosis,
    pub prescriptions: Vec<RawPrescription>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSkills {
    pub listening: RawSkill,
    pub questioning: RawSkill,
    pub empathy: RawSkill,
    pub feedback: RawSkill,
}

impl RawSkills {
    pub fn by_name(&self) -> [(&'static str, &RawSkill); 4] {
        [
            (SKILLS[0], &self.listening),
            (SKILLS[1], &self.questioning),
            (SKILLS[2], &self.empathy),
            (SKILLS[3], &self.feedback),
        ]
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSkill {
    pub score: i64,
    pub summary: String,
    pub examples: Vec<RawExample>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExample {
    pub segment: i64,
    pub quote: String,
    pub comment: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEmotion {
    pub positive: i64,
    pub neutral: i64,
    pub negative: i64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDiagnosis {
    pub style_id: String,
    pub reason: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPrescription {
    pub action: String,
    pub metric: String,
    pub measured_value: f64,
    pub target: String,
}

/// A validated judgement: every example verified, every number cited exists.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Judgement {
    pub llm_coach_speaker: usize,
    pub coach_reason: String,
    pub coaching_skills: CoachingSkills,
    pub emotions: Vec<SpeakerEmotion>,
    pub diagnosis: Diagnosis,
    pub prescriptions: Vec<Prescription>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CoachingSkills {
    pub listening: Skill,
    pub questioning: Skill,
    pub empathy: Skill,
    pub feedback: Skill,
}

impl CoachingSkills {
    pub fn by_name(&self) -> [(&'static str, &Skill); 4] {
        [
            (SKILLS[0], &self.listening),
            (SKILLS[1], &self.questioning),
            (SKILLS[2], &self.empathy),
            (SKILLS[3], &self.feedback),
        ]
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Skill {
    pub score: u8,
    pub summary: String,
    pub examples: Vec<Example>,
}

/// A verified example; time and speaker come from the transcript, not from the LLM.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Example {
    /// 1-based segment number as shown in the prompt and the report.
    pub segment: usize,
    pub quote: String,
    pub comment: String,
    pub start: f64,
    pub end: f64,
    pub speaker: Option<usize>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpeakerEmotion {
    pub speaker: usize,
    pub positive: u8,
    pub neutral: u8,
    pub negative: u8,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Diagnosis {
    pub style_id: String,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Prescription {
    pub action: String,
    pub metric: String,
    /// The measured value (from the metrics, not the LLM's copy of it).
    pub measured_value: f64,
    pub target: String,
}
