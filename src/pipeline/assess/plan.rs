//! Fitting long sessions into the model's context without silent truncation.
//!
//! Strategy: if the numbered transcript is estimated under the token budget, the model sees
//! it whole. Otherwise it is cut at segment boundaries into consecutive parts that each fit
//! the budget; every part is summarised by its own call (summary plus up to 12 key moments
//! citing segments), and the final assessment sees the part summaries and the key moments'
//! real segment lines (taken from the transcript, not from the model's quote). Examples in
//! the final answer are still verified against the full transcript. A 2 h Japanese session
//! (~60k characters) fits Gemini Flash whole; the split matters for small local models.

use std::ops::Range;

use serde::Deserialize;

use super::call::{AssessError, ask_validated};
use super::prompt::{estimate_tokens, part_summary, segment_line, system};
use super::quote::check_quote;
use super::schema::part_summary_schema;
use super::usage::Usage;
use crate::clients::llm::{LlmProvider, LlmRequest, Written};
use crate::domain::{Language, TranscriptSegment};

/// How the transcript reaches the model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContextPlan {
    Full,
    /// 0-based segment index ranges, consecutive and covering every segment.
    Parts(Vec<Range<usize>>),
}

/// Decides the plan for a transcript and a token budget for the transcript text.
pub fn plan(segments: &[TranscriptSegment], budget_tokens: usize) -> ContextPlan {
    let costs: Vec<usize> = segments
        .iter()
        .enumerate()
        .map(|(i, s)| estimate_tokens(&segment_line(i + 1, s)) + 1)
        .collect();
    if costs.iter().sum::<usize>() <= budget_tokens {
        return ContextPlan::Full;
    }
    let mut parts = Vec::new();
    let (mut start, mut used) = (0, 0);
    for (i, cost) in costs.iter().enumerate() {
        // A single segment over budget still gets its own part rather than being cut.
        if used + cost > budget_tokens && i > start {
            parts.push(start..i);
            (start, used) = (i, 0);
        }
        used += cost;
    }
    parts.push(start..segments.len());
    ContextPlan::Parts(parts)
}

/// One summarised part; `first`/`last`/`moments` are 1-based segment numbers.
#[derive(Clone, Debug, PartialEq)]
pub struct PartSummary {
    pub first: usize,
    pub last: usize,
    pub summary: String,
    pub moments: Vec<usize>,
}

#[derive(Deserialize)]
struct RawPart {
    summary: String,
    key_moments: Vec<RawMoment>,
}

#[derive(Deserialize)]
struct RawMoment {
    segment: i64,
    quote: String,
}

/// Summarises each part in turn.
///
/// # Errors
/// As [`ask_validated`]: provider errors, or a part whose answer is not valid JSON twice.
pub async fn summarise_parts(
    provider: &dyn LlmProvider,
    segments: &[TranscriptSegment],
    parts: &[Range<usize>],
    lang: Language,
    usage: &mut Usage,
    written: Written<'_>,
) -> Result<Vec<PartSummary>, AssessError> {
    let mut out = Vec::with_capacity(parts.len());
    for (i, range) in parts.iter().enumerate() {
        let numbered: Vec<(usize, &TranscriptSegment)> =
            range.clone().map(|j| (j + 1, &segments[j])).collect();
        let request = LlmRequest {
            system: system(lang),
            user: part_summary(lang, &numbered, i + 1, parts.len()),
            schema_name: "part_summary".to_owned(),
            schema: part_summary_schema(range.start + 1..=range.end),
            temperature: super::call::TEMPERATURE,
        };
        let validate = |text: &str| parse_part(text, range, segments);
        out.push(ask_validated(provider, &request, usage, validate, written).await?);
    }
    Ok(out)
}

/// Moments that do not verify are dropped: they are only pointers, and the final prompt
/// shows the real segment text for those that survive.
fn parse_part(
    text: &str,
    range: &Range<usize>,
    segments: &[TranscriptSegment],
) -> Result<PartSummary, Vec<String>> {
    let raw: RawPart = serde_json::from_str(text.trim())
        .map_err(|e| vec![format!("not valid JSON for the schema: {e}")])?;
    let in_part = |n: usize| (range.start + 1..=range.end).contains(&n);
    let mut moments: Vec<usize> = raw
        .key_moments
        .iter()
        .filter_map(|m| {
            usize::try_from(m.segment)
                .ok()
                .filter(|n| in_part(*n))
                .map(|n| (n, m))
        })
        .filter(|(n, m)| check_quote(&m.quote, &segments[n - 1].text).is_ok())
        .map(|(n, _)| n)
        .collect();
    moments.sort_unstable();
    moments.dedup();
    if raw.summary.trim().is_empty() {
        return Err(vec!["summary is empty".to_owned()]);
    }
    Ok(PartSummary {
        first: range.start + 1,
        last: range.end,
        summary: raw.summary,
        moments,
    })
}
