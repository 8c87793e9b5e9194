//! The JSON schemas sent with each request.
//!
//! They are written for the strictest consumer (OpenAI `strict: true`: every property
//! required, `additionalProperties: false`) and stay inside the subset Gemini's
//! `responseJsonSchema` accepts. Enums pin what can be pinned (style ids, metric keys,
//! speaker indices); the validator re-checks everything anyway, since local servers may
//! ignore the schema.

use serde_json::{Value, json};

use super::catalogue;

/// Schema of the final assessment.
pub fn judgement_schema(speakers: &[usize], metric_keys: &[String]) -> Value {
    let skill = skill_schema();
    let styles: Vec<&str> = catalogue::styles().iter().map(|s| s.id.as_str()).collect();
    object(json!({
        "coach_speaker": {"type": "integer", "enum": speakers, "description": "speaker index of the coach"},
        "coach_reason": {"type": "string"},
        "coaching_skills": object(json!({
            "listening": skill, "questioning": skill, "empathy": skill, "feedback": skill
        })),
        "emotion_analysis": {
            "type": "array", "minItems": speakers.len(), "maxItems": speakers.len(),
            "items": object(json!({
                "speaker": {"type": "integer", "enum": speakers},
                "positive": percent(), "neutral": percent(), "negative": percent()
            }))
        },
        "diagnosis": object(json!({
            "style_id": {"type": "string", "enum": styles},
            "reason": {"type": "string"}
        })),
        "prescriptions": {
            "type": "array", "minItems": 3, "maxItems": 5,
            "items": object(json!({
                "action": {"type": "string"},
                "metric": {"type": "string", "enum": metric_keys},
                "measured_value": {"type": "number"},
                "target": {"type": "string"}
            }))
        }
    }))
}

/// Schema of one part's summary (long sessions, see `plan`).
pub fn part_summary_schema() -> Value {
    object(json!({
        "summary": {"type": "string"},
        "key_moments": {"type": "array", "maxItems": 12, "items": example_schema()}
    }))
}

fn skill_schema() -> Value {
    object(json!({
        "score": {"type": "integer", "minimum": 1, "maximum": 5},
        "summary": {"type": "string"},
        "examples": {"type": "array", "minItems": 1, "maxItems": 3, "items": example_schema()}
    }))
}

fn example_schema() -> Value {
    object(json!({
        "segment": {"type": "integer", "minimum": 1},
        "quote": {"type": "string", "description": "exact words copied from that segment"},
        "comment": {"type": "string"}
    }))
}

fn percent() -> Value {
    json!({"type": "integer", "minimum": 0, "maximum": 100})
}

/// A closed object: all listed properties required, nothing else allowed.
fn object(properties: Value) -> Value {
    let required: Vec<String> = properties
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    json!({"type": "object", "properties": properties, "required": required, "additionalProperties": false})
}
