//! Which speaker is the coach, from evidence, with a confidence.
//!
//! Each cue gives every speaker a share in 0..1 (shares sum to 1) and has a weight. The
//! speaker with the largest weighted share is the candidate; the confidence is that
//! speaker's fraction of the total weight present. Cues, strongest first:
//! questions asked (coaches ask), the LLM's reading of the content, talking less, opening
//! the session, closing it. Below [`CONFIDENCE_THRESHOLD`] roles stay `speaker_N`.

use serde::{Deserialize, Serialize};

use super::inputs::MeasuredMetrics;
use crate::domain::{Language, TranscriptSegment};

/// Below this the report says roles are uncertain rather than guessing.
pub const CONFIDENCE_THRESHOLD: f64 = 0.65;

const W_QUESTIONS: f64 = 0.35;
const W_LLM: f64 = 0.25;
const W_TALK: f64 = 0.15;
const W_OPENS: f64 = 0.15;
const W_CLOSES: f64 = 0.10;

/// One cue and how it split between the speakers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cue {
    pub name: String,
    pub weight: f64,
    /// Share per speaker, in the order of [`RoleAssignment::speakers`].
    pub shares: Vec<f64>,
}

/// The decision, kept in `metrics.roles`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoleAssignment {
    pub speakers: Vec<usize>,
    /// The most likely coach, whether or not the confidence suffices.
    pub candidate: Option<usize>,
    pub confidence: f64,
    pub threshold: f64,
    /// `Some` only when `confidence >= threshold`.
    pub coach: Option<usize>,
    pub cues: Vec<Cue>,
}

impl RoleAssignment {
    /// The label stored in `transcript_segments.speaker` and used in the report.
    pub fn label(&self, speaker: usize) -> String {
        match self.coach {
            Some(c) if c == speaker => "coach".to_owned(),
            Some(_) if self.speakers.len() == 2 => "client".to_owned(),
            _ => crate::domain::speaker_label(speaker),
        }
    }
    pub fn is_certain(&self) -> bool {
        self.coach.is_some()
    }
    /// The client when roles are certain and there are exactly two people.
    pub fn client(&self) -> Option<usize> {
        let coach = self.coach?;
        (self.speakers.len() == 2)
            .then(|| self.speakers.iter().copied().find(|s| *s != coach))
            .flatten()
    }
}

/// Assigns roles; `llm_coach` is the model's reading when a judgement was produced.
pub fn assign(
    metrics: &MeasuredMetrics,
    segments: &[TranscriptSegment],
    llm_coach: Option<usize>,
) -> RoleAssignment {
    let speakers: Vec<usize> = metrics.speakers.iter().map(|s| s.speaker).collect();
    let mut cues = Vec::new();
    // Without a transcript there is no question evidence; the cue is left out, not zeroed.
    let questions: Option<Vec<f64>> = metrics
        .speakers
        .iter()
        .map(|s| s.questions.map(|q| f64::from(q.total())))
        .collect();
    if let Some(questions) = questions {
        push_proportional(&mut cues, "questions_asked", W_QUESTIONS, &questions);
    }
    let quietness: Vec<f64> = metrics
        .speakers
        .iter()
        .map(|s| (1.0 - s.talk_ratio).max(0.0))
        .collect();
    push_proportional(&mut cues, "talks_less", W_TALK, &quietness);
    let first = segments.iter().find_map(|s| s.speaker);
    let last = segments.iter().rev().find_map(|s| s.speaker);
    push_one_hot(&mut cues, "opens_session", W_OPENS, &speakers, first);
    push_one_hot(&mut cues, "closes_session", W_CLOSES, &speakers, last);
    push_one_hot(&mut cues, "llm_reading", W_LLM, &speakers, llm_coach);
    decide(speakers, cues)
}

fn push_proportional(cues: &mut Vec<Cue>, name: &str, weight: f64, values: &[f64]) {
    let total: f64 = values.iter().sum();
    // A cue that does not discriminate (nobody asked a question) is absent, not a tie.
    if total > 0.0
        && values
            .iter()
            .any(|v| (v / total - 1.0 / values.len() as f64).abs() > 1e-9)
    {
        cues.push(Cue {
            name: name.to_owned(),
            weight,
            shares: values.iter().map(|v| v / total).collect(),
        });
    }
}

fn push_one_hot(
    cues: &mut Vec<Cue>,
    name: &str,
    weight: f64,
    speakers: &[usize],
    who: Option<usize>,
) {
    let Some(who) = who.filter(|w| speakers.contains(w)) else {
        return;
    };
    let shares = speakers
        .iter()
        .map(|s| if *s == who { 1.0 } else { 0.0 })
        .collect();
    cues.push(Cue {
        name: name.to_owned(),
        weight,
        shares,
    });
}

fn decide(speakers: Vec<usize>, cues: Vec<Cue>) -> RoleAssignment {
    let total_weight: f64 = cues.iter().map(|c| c.weight).sum();
    let scores: Vec<f64> = (0..speakers.len())
        .map(|i| cues.iter().map(|c| c.weight * c.shares[i]).sum::<f64>())
        .collect();
    let best = scores
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, s)| (i, *s));
    let (candidate, confidence) = match best {
        Some((i, score)) if total_weight > 0.0 && speakers.len() > 1 => {
            (Some(speakers[i]), score / total_weight)
        }
        _ => (None, 0.0),
    };
    let coach = candidate.filter(|_| confidence >= CONFIDENCE_THRESHOLD);
    RoleAssignment {
        speakers,
        candidate,
        confidence,
        threshold: CONFIDENCE_THRESHOLD,
        coach,
        cues,
    }
}

/// Human name for a role label (`coach`, `client`, `speaker_N`) in the session language.
pub fn display_label(lang: Language, label: &str) -> String {
    let ja = lang == Language::Ja;
    match label {
        "coach" => (if ja { "コーチ" } else { "Coach" }).to_owned(),
        "client" => (if ja { "クライアント" } else { "Client" }).to_owned(),
        other => match other
            .strip_prefix("speaker_")
            .and_then(|n| n.parse::<usize>().ok())
        {
            Some(n) if ja => format!("話者{}", n + 1),
            Some(n) => format!("Speaker {}", n + 1),
            None => other.to_owned(),
        },
    }
}
