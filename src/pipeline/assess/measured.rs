//! `speaker_analysis` and `conversation_events`: built from the measurements alone, so the
//! LLM cannot override them.

use serde::{Deserialize, Serialize};

use super::inputs::{MeasuredMetrics, OverlapKind, SpeakerMetrics};
use super::roles::{RoleAssignment, display_label};
use crate::domain::Language;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpeakerAnalysis {
    /// `None` when roles are uncertain: a ratio for a guessed coach would mislead.
    pub coach_speaking_ratio: Option<f64>,
    pub client_speaking_ratio: Option<f64>,
    pub gini_coefficient: f64,
    pub roles_certain: bool,
    pub role_confidence: f64,
    pub speakers: Vec<SpeakerEntry>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpeakerEntry {
    pub speaker: usize,
    pub label: String,
    pub speaking_ratio: f64,
    pub speaking_time_s: f64,
    pub turns: u32,
    pub mean_turn_s: f64,
    pub longest_monologue_s: f64,
    pub questions_open: Option<u32>,
    pub questions_closed: Option<u32>,
    pub mean_response_latency_s: Option<f64>,
    pub backchannels: usize,
    pub interruptions: usize,
}

/// Builds `speaker_analysis`.
pub fn speaker_analysis(m: &MeasuredMetrics, roles: &RoleAssignment) -> SpeakerAnalysis {
    let ratio = |who: Option<usize>| who.and_then(|w| m.speaker(w)).map(|s| s.talk_ratio);
    SpeakerAnalysis {
        coach_speaking_ratio: ratio(roles.coach),
        client_speaking_ratio: ratio(roles.client()),
        gini_coefficient: m.gini_coefficient,
        roles_certain: roles.is_certain(),
        role_confidence: roles.confidence,
        speakers: m.speakers.iter().map(|s| entry(m, roles, s)).collect(),
    }
}

fn entry(m: &MeasuredMetrics, roles: &RoleAssignment, s: &SpeakerMetrics) -> SpeakerEntry {
    let (backchannels, interruptions) = m.overlap_counts(s.speaker);
    SpeakerEntry {
        speaker: s.speaker,
        label: roles.label(s.speaker),
        speaking_ratio: s.talk_ratio,
        speaking_time_s: s.talk_time_s,
        turns: s.turns,
        mean_turn_s: s.mean_turn_s,
        longest_monologue_s: s.longest_monologue_s,
        questions_open: s.questions.map(|q| q.open),
        questions_closed: s.questions.map(|q| q.closed),
        mean_response_latency_s: s.mean_response_latency_s,
        backchannels,
        interruptions,
    }
}

/// One entry of `conversation_events`, in time order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConversationEvent {
    /// `overlap` (an interruption), `backchannel` (aizuchi over the other) or `silence`.
    #[serde(rename = "type")]
    pub kind: String,
    pub time: f64,
    pub duration: f64,
    /// Role label of who came in; `None` for silences.
    pub speaker: Option<String>,
    pub description: String,
}

/// Builds `conversation_events` with descriptions in the session language.
pub fn conversation_events(
    m: &MeasuredMetrics,
    roles: &RoleAssignment,
    lang: Language,
) -> Vec<ConversationEvent> {
    let ja = lang == Language::Ja;
    let mut out: Vec<ConversationEvent> = m
        .overlaps
        .iter()
        .map(|o| {
            let who = roles.label(o.speaker);
            let name = display_label(lang, &who);
            let d = o.end - o.start;
            let (kind, description) = match (o.kind, ja) {
                (OverlapKind::Backchannel, true) => {
                    ("backchannel", format!("{name}の相づち（{d:.1}秒）"))
                }
                (OverlapKind::Backchannel, false) => {
                    ("backchannel", format!("{name}: backchannel ({d:.1} s)"))
                }
                (OverlapKind::Interruption, true) => {
                    ("overlap", format!("{name}が割り込み（{d:.1}秒の重なり）"))
                }
                (OverlapKind::Interruption, false) => {
                    ("overlap", format!("{name} interrupted ({d:.1} s overlap)"))
                }
            };
            ConversationEvent {
                kind: kind.to_owned(),
                time: o.start,
                duration: d,
                speaker: Some(who),
                description,
            }
        })
        .collect();
    out.extend(m.silences.iter().map(|s| {
        let d = s.end - s.start;
        let description = if ja {
            format!("{d:.1}秒の沈黙")
        } else {
            format!("{d:.1} s of silence")
        };
        ConversationEvent {
            kind: "silence".to_owned(),
            time: s.start,
            duration: d,
            speaker: None,
            description,
        }
    }));
    out.sort_by(|a, b| a.time.total_cmp(&b.time));
    out
}
