//! The JSON schemas sent with each request, built for that request.
//!
//! They are written for the strictest consumer (OpenAI `strict: true`: every property
//! required, `additionalProperties: false`) and stay inside the subset Gemini's
//! `responseJsonSchema` accepts. Everything the session fixes is pinned, so a provider that
//! enforces the schema (OpenAI structured outputs, Gemini, llama.cpp's grammar) cannot
//! produce it wrong: segment numbers within the transcript, speakers and style ids as enums,
//! each prescription's metric together with its measured value. The validator re-checks
//! everything anyway: providers differ in what they enforce, and quotes must match their
//! segment, which no schema can say.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use serde_json::{Value, json};

use super::catalogue;

/// The segment numbers an answer may cite.
#[derive(Clone, Debug, PartialEq)]
pub enum Citable {
    /// 1-based numbers, inclusive.
    Range(RangeInclusive<usize>),
    /// Only these (the key moments shown to the model of a split session).
    Listed(Vec<usize>),
}

/// Schema of the final assessment: `speakers` as measured, `segments` citable, `metrics`
/// the measured numbers a prescription may cite.
pub fn judgement_schema(
    speakers: &[usize],
    segments: &Citable,
    metrics: &BTreeMap<String, f64>,
) -> Value {
    let skill = skill_schema(segments);
    let styles: Vec<&str> = catalogue::styles().iter().map(|s| s.id.as_str()).collect();
    object(json!({
        "coach_speaker": {"type": "integer", "enum": speakers, "description": "speaker index of the coach"},
        "coach_reason": {"type": "string"},
        "coaching_skills": object(json!({
            "listening": skill, "questioning": skill, "empathy": skill, "feedback": skill
        })),
        "emotion_analysis": object(
            speakers.iter().map(|&s| (crate::domain::speaker_label(s), emotion_split())).collect::<serde_json::Map<_, _>>()
        ),
        "diagnosis": object(json!({
            "style_id": {"type": "string", "enum": styles},
            "reason": {"type": "string"}
        })),
        "prescriptions": {
            "type": "array", "minItems": 3, "maxItems": 5,
            "items": {"anyOf": metrics.iter().map(|(key, value)| prescription_schema(key, *value)).collect::<Vec<_>>()}
        }
    }))
}

/// Schema of one part's summary (long sessions, see `plan`): moments cite the part's own
/// segments (`first..=last`, 1-based).
pub fn part_summary_schema(part: RangeInclusive<usize>) -> Value {
    object(json!({
        "summary": {"type": "string"},
        "key_moments": {"type": "array", "maxItems": 12, "items": example_schema(&Citable::Range(part))}
    }))
}

fn skill_schema(segments: &Citable) -> Value {
    object(json!({
        "score": {"type": "integer", "minimum": 1, "maximum": 5},
        "summary": {"type": "string"},
        "examples": {"type": "array", "minItems": 1, "maxItems": 3, "items": example_schema(segments)}
    }))
}

fn example_schema(segments: &Citable) -> Value {
    let segment = match segments {
        Citable::Range(range) => {
            json!({"type": "integer", "minimum": range.start(), "maximum": range.end()})
        }
        Citable::Listed(numbers) => json!({"type": "integer", "enum": numbers}),
    };
    object(json!({
        "segment": segment,
        "quote": {"type": "string", "description": "exact words copied from that segment"},
        "comment": {"type": "string"}
    }))
}

/// A prescription citing `key`: the metric and its measured value travel together, so the
/// model cannot quote a number that was not measured. Two decimals are what the prompt
/// shows and what the validator's rounding tolerance accepts.
fn prescription_schema(key: &str, value: f64) -> Value {
    let shown = (value * 100.0).round() / 100.0;
    object(json!({
        "action": {"type": "string"},
        "metric": {"type": "string", "enum": [key]},
        "measured_value": {"type": "number", "enum": [shown]},
        "target": {"type": "string"}
    }))
}

/// One speaker's tone; the sum of 100 is the validator's to check (no schema can say it).
fn emotion_split() -> Value {
    object(json!({"positive": percent(), "neutral": percent(), "negative": percent()}))
}

fn percent() -> Value {
    json!({"type": "integer", "minimum": 0, "maximum": 100})
}

/// A closed object: all listed properties required, nothing else allowed.
fn object(properties: impl Into<Value>) -> Value {
    let properties: Value = properties.into();
    let required: Vec<String> = properties
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    json!({"type": "object", "properties": properties, "required": required, "additionalProperties": false})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics() -> BTreeMap<String, f64> {
        BTreeMap::from([
            ("gini_coefficient".to_owned(), 0.123_456),
            ("speaker_1.turns".to_owned(), 7.0),
        ])
    }

    #[test]
    fn segment_numbers_are_bounded_by_the_transcript() {
        let schema = judgement_schema(&[0, 1], &Citable::Range(1..=11), &metrics());
        let segment = &schema["properties"]["coaching_skills"]["properties"]["listening"]["properties"]
            ["examples"]["items"]["properties"]["segment"];
        assert_eq!(segment["minimum"], 1);
        assert_eq!(segment["maximum"], 11);
        let listed = judgement_schema(&[0, 1], &Citable::Listed(vec![3, 9]), &metrics());
        let segment = &listed["properties"]["coaching_skills"]["properties"]["empathy"]["properties"]
            ["examples"]["items"]["properties"]["segment"];
        assert_eq!(segment["enum"], json!([3, 9]));
    }

    #[test]
    fn each_prescription_carries_its_measured_value() {
        let schema = judgement_schema(&[0, 1], &Citable::Range(1..=3), &metrics());
        let options = schema["properties"]["prescriptions"]["items"]["anyOf"]
            .as_array()
            .unwrap();
        let pinned: Vec<(Value, Value)> = options
            .iter()
            .map(|o| {
                let p = &o["properties"];
                (
                    p["metric"]["enum"][0].clone(),
                    p["measured_value"]["enum"][0].clone(),
                )
            })
            .collect();
        assert_eq!(
            pinned,
            vec![
                (json!("gini_coefficient"), json!(0.12)),
                (json!("speaker_1.turns"), json!(7.0))
            ]
        );
        assert!(options.iter().all(|o| o["additionalProperties"] == false));
    }

    #[test]
    fn every_measured_speaker_gets_exactly_one_emotion_split() {
        let schema = judgement_schema(&[0, 1, 2], &Citable::Range(1..=3), &metrics());
        let emotions = &schema["properties"]["emotion_analysis"];
        assert_eq!(
            emotions["required"],
            json!(["speaker_0", "speaker_1", "speaker_2"])
        );
        assert_eq!(emotions["additionalProperties"], false);
    }

    #[test]
    fn part_summaries_cite_their_own_part() {
        let schema = part_summary_schema(40..=80);
        let segment = &schema["properties"]["key_moments"]["items"]["properties"]["segment"];
        assert_eq!(
            (segment["minimum"].clone(), segment["maximum"].clone()),
            (json!(40), json!(80))
        );
    }
}
