//! Validation of the LLM's answer before anything is stored.
//!
//! Returns either a [`Judgement`] or the full list of problems, phrased so they can be sent
//! back to the model verbatim in the repair attempt.

use std::collections::BTreeMap;

use super::catalogue;
use super::model::{
    CoachingSkills, Diagnosis, Example, Judgement, Prescription, RawExample, RawJudgement,
    RawPrescription, RawSkill, Skill, SpeakerEmotion,
};
use super::quote::{QuoteProblem, check_quote};
use crate::domain::TranscriptSegment;

/// What the answer is checked against.
pub struct Evidence<'a> {
    pub segments: &'a [TranscriptSegment],
    pub speakers: &'a [usize],
    pub citable: &'a BTreeMap<String, f64>,
}

/// Parses and validates the model's JSON text.
///
/// # Errors
/// Every problem found, one sentence each.
pub fn validate(text: &str, ev: &Evidence<'_>) -> Result<Judgement, Vec<String>> {
    let raw: RawJudgement = serde_json::from_str(strip_fence(text))
        .map_err(|e| vec![format!("the answer is not valid JSON for the schema: {e}")])?;
    let mut errs = Vec::new();
    let coaching_skills = skills(&raw, ev, &mut errs);
    let emotions = emotions(&raw, ev, &mut errs);
    let diagnosis = diagnosis(&raw, &mut errs);
    let prescriptions = prescriptions(&raw.prescriptions, ev, &mut errs);
    let coach = speaker_index(raw.coach_speaker, ev, "coach_speaker", &mut errs);
    match (errs.is_empty(), coaching_skills, coach) {
        (true, Some(coaching_skills), Some(llm_coach_speaker)) => Ok(Judgement {
            llm_coach_speaker,
            coach_reason: raw.coach_reason,
            coaching_skills,
            emotions,
            diagnosis,
            prescriptions,
        }),
        _ => Err(errs),
    }
}

/// Some local servers wrap JSON in a Markdown fence despite the schema.
fn strip_fence(text: &str) -> &str {
    let t = text.trim();
    let Some(inner) = t.strip_prefix("```") else {
        return t;
    };
    let inner = inner.strip_prefix("json").unwrap_or(inner);
    inner.strip_suffix("```").unwrap_or(inner).trim()
}

fn speaker_index(raw: i64, ev: &Evidence<'_>, what: &str, errs: &mut Vec<String>) -> Option<usize> {
    let idx = usize::try_from(raw)
        .ok()
        .filter(|i| ev.speakers.contains(i));
    if idx.is_none() {
        errs.push(format!(
            "{what} = {raw} is not one of the speakers {:?}",
            ev.speakers
        ));
    }
    idx
}

fn skills(raw: &RawJudgement, ev: &Evidence<'_>, errs: &mut Vec<String>) -> Option<CoachingSkills> {
    let [l, q, e, f] = raw
        .coaching_skills
        .by_name()
        .map(|(name, s)| skill(name, s, ev, errs));
    Some(CoachingSkills {
        listening: l?,
        questioning: q?,
        empathy: e?,
        feedback: f?,
    })
}

fn skill(name: &str, raw: &RawSkill, ev: &Evidence<'_>, errs: &mut Vec<String>) -> Option<Skill> {
    let before = errs.len();
    if !(1..=5).contains(&raw.score) {
        errs.push(format!(
            "coaching_skills.{name}.score = {} is outside 1..5",
            raw.score
        ));
    }
    if raw.examples.is_empty() {
        errs.push(format!(
            "coaching_skills.{name} has no examples; give at least one quoted segment"
        ));
    }
    let examples: Vec<Example> = raw
        .examples
        .iter()
        .enumerate()
        .filter_map(|(i, x)| example(&format!("{name}.examples[{i}]"), x, ev, errs))
        .collect();
    let score = u8::try_from(raw.score).ok()?;
    (errs.len() == before).then(|| Skill {
        score,
        summary: raw.summary.clone(),
        examples,
    })
}

fn example(
    at: &str,
    raw: &RawExample,
    ev: &Evidence<'_>,
    errs: &mut Vec<String>,
) -> Option<Example> {
    let Some(seg) = usize::try_from(raw.segment)
        .ok()
        .filter(|n| *n >= 1)
        .and_then(|n| ev.segments.get(n - 1))
    else {
        errs.push(format!(
            "{at}: segment #{} does not exist (1..={})",
            raw.segment,
            ev.segments.len()
        ));
        return None;
    };
    match check_quote(&raw.quote, &seg.text) {
        Ok(()) => Some(Example {
            segment: raw.segment as usize,
            quote: raw.quote.trim().to_owned(),
            comment: raw.comment.clone(),
            start: seg.span.start,
            end: seg.span.end,
            speaker: seg.speaker,
        }),
        Err(QuoteProblem::TooShort) => {
            errs.push(format!(
                "{at}: quote {:?} is too short to identify a moment",
                raw.quote
            ));
            None
        }
        Err(QuoteProblem::NotInSegment) => {
            errs.push(format!(
                "{at}: quote {:?} does not occur in segment #{} (which says {:?}); copy words exactly",
                raw.quote, raw.segment, seg.text
            ));
            None
        }
    }
}

fn emotions(raw: &RawJudgement, ev: &Evidence<'_>, errs: &mut Vec<String>) -> Vec<SpeakerEmotion> {
    let mut out: Vec<SpeakerEmotion> = Vec::new();
    for (key, e) in &raw.emotion_analysis {
        let Some(speaker) = key
            .strip_prefix("speaker_")
            .and_then(|n| n.parse::<i64>().ok())
            .and_then(|n| speaker_index(n, ev, "emotion_analysis key", errs))
        else {
            if !key.starts_with("speaker_") {
                errs.push(format!("emotion_analysis key {key:?} is not speaker_N"));
            }
            continue;
        };
        let parts = [e.positive, e.neutral, e.negative];
        if parts.iter().any(|p| !(0..=100).contains(p)) || parts.iter().sum::<i64>() != 100 {
            errs.push(format!(
                "emotion_analysis.{key}: {parts:?} must be integers 0..100 summing to 100"
            ));
            continue;
        }
        let [positive, neutral, negative] = parts.map(|p| p as u8);
        out.push(SpeakerEmotion {
            speaker,
            positive,
            neutral,
            negative,
        });
    }
    for s in ev.speakers {
        if !raw
            .emotion_analysis
            .contains_key(&crate::domain::speaker_label(*s))
        {
            errs.push(format!("emotion_analysis is missing speaker_{s}"));
        }
    }
    out
}

fn diagnosis(raw: &RawJudgement, errs: &mut Vec<String>) -> Diagnosis {
    if catalogue::find(&raw.diagnosis.style_id).is_none() {
        let ids: Vec<&str> = catalogue::styles().iter().map(|s| s.id.as_str()).collect();
        errs.push(format!(
            "diagnosis.style_id {:?} is not in the catalogue {ids:?}",
            raw.diagnosis.style_id
        ));
    }
    Diagnosis {
        style_id: raw.diagnosis.style_id.clone(),
        reason: raw.diagnosis.reason.clone(),
    }
}

fn prescriptions(
    raw: &[RawPrescription],
    ev: &Evidence<'_>,
    errs: &mut Vec<String>,
) -> Vec<Prescription> {
    if !(3..=5).contains(&raw.len()) {
        errs.push(format!(
            "prescriptions: {} given, 3 to 5 required",
            raw.len()
        ));
    }
    let checked = raw
        .iter()
        .enumerate()
        .filter_map(|(i, p)| prescription(i, p, ev, errs));
    checked.collect()
}

fn prescription(
    i: usize,
    p: &RawPrescription,
    ev: &Evidence<'_>,
    errs: &mut Vec<String>,
) -> Option<Prescription> {
    if p.action.trim().is_empty() {
        errs.push(format!("prescriptions[{i}].action is empty"));
        return None;
    }
    let Some(&measured) = ev.citable.get(&p.metric) else {
        errs.push(format!(
            "prescriptions[{i}].metric {:?} is not a measured number",
            p.metric
        ));
        return None;
    };
    if !close_enough(p.measured_value, measured) {
        errs.push(format!(
            "prescriptions[{i}]: {} was measured as {measured}, not {}",
            p.metric, p.measured_value
        ));
        return None;
    }
    Some(Prescription {
        action: p.action.clone(),
        metric: p.metric.clone(),
        measured_value: measured,
        target: p.target.clone(),
    })
}

/// The model may round (0.43 → 0.4) or give a ratio as a percentage (0.43 → 43).
fn close_enough(claimed: f64, measured: f64) -> bool {
    let near = |a: f64, b: f64| (a - b).abs() <= 0.051_f64.max(b.abs() * 0.03);
    near(claimed, measured)
        || (measured.abs() <= 1.0 && near(claimed, measured * 100.0) && claimed.abs() > 1.0)
}

#[cfg(test)]
mod tests {
    use super::close_enough;

    #[test]
    fn rounding_is_tolerated_but_invented_numbers_are_not() {
        assert!(close_enough(0.4, 0.43));
        assert!(close_enough(43.0, 0.43));
        assert!(close_enough(120.0, 121.7));
        assert!(!close_enough(3.0, 0.4));
        assert!(!close_enough(100.0, 121.7));
    }
}
