//! The prompt: diarized transcript with segment numbers and times, the measured metrics,
//! the language to answer in, and the role candidates. Bump [`PROMPT_VERSION`] whenever the
//! wording or schema changes, so stored results say which prompt produced them.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::catalogue;
use super::plan::PartSummary;
use super::roles::RoleAssignment;
use crate::domain::{Language, TranscriptSegment};

pub const PROMPT_VERSION: &str = "assess-2026.12";

/// Formats seconds as `mm:ss.s` (or `h:mm:ss` past an hour) for the transcript lines.
pub fn clock(seconds: f64) -> String {
    let s = seconds.max(0.0);
    let h = (s / 3600.0).floor();
    let m = ((s - h * 3600.0) / 60.0).floor();
    let rest = s - h * 3600.0 - m * 60.0;
    if h > 0.0 {
        format!("{h:.0}:{m:02.0}:{rest:04.1}")
    } else {
        format!("{m:02.0}:{rest:04.1}")
    }
}

fn language_instruction(lang: Language) -> &'static str {
    match lang {
        Language::Ja => {
            "Write every free-text field (summaries, comments, reasons, actions, targets) in Japanese."
        }
        Language::En => {
            "Write every free-text field (summaries, comments, reasons, actions, targets) in English."
        }
        Language::Auto => {
            "Write every free-text field in the language most of the transcript is spoken in."
        }
    }
}

/// The system instruction shared by every call.
pub fn system(lang: Language) -> String {
    format!(
        "You are an experienced coaching supervisor reviewing a recorded one-on-one coaching session. \
         Judge only what the transcript shows. Every example must cite a segment number and copy words \
         from that segment exactly (no paraphrase, no ellipsis). Every prescription must cite one of the \
         listed metric keys with its measured value; never invent numbers. Answer with JSON only, \
         following the schema. {}",
        language_instruction(lang)
    )
}

/// One transcript line: `[#12 01:02.5-01:07.0 speaker_1] text`.
pub fn segment_line(number: usize, seg: &TranscriptSegment) -> String {
    let who = seg
        .speaker
        .map_or_else(|| "unknown".to_owned(), crate::domain::speaker_label);
    let text = seg.text.replace(['\n', '\r'], " ");
    format!(
        "[#{number} {}-{} {who}] {text}",
        clock(seg.span.start),
        clock(seg.span.end)
    )
}

/// Context shared by the final prompt in both plans.
pub struct PromptContext<'a> {
    pub language: Language,
    pub duration_s: f64,
    pub roles: &'a RoleAssignment,
    pub citable: &'a BTreeMap<String, f64>,
}

/// The final assessment prompt with the whole transcript.
pub fn assessment_full(ctx: &PromptContext<'_>, segments: &[TranscriptSegment]) -> String {
    let mut out = header(ctx);
    out.push_str("\n## Transcript (segment number, start-end, speaker)\n");
    for (i, seg) in segments.iter().enumerate() {
        let _ = writeln!(out, "{}", segment_line(i + 1, seg));
    }
    out.push_str(TASK);
    out
}

/// The final prompt for a long session: part summaries and verified key moments.
pub fn assessment_from_parts(
    ctx: &PromptContext<'_>,
    parts: &[PartSummary],
    segments: &[TranscriptSegment],
) -> String {
    let mut out = header(ctx);
    out.push_str(
        "\n## The session in parts\nThe session is too long to show whole. Each part was summarised \
         separately; its key moments are shown verbatim. Cite only segments shown below.\n",
    );
    for (i, p) in parts.iter().enumerate() {
        let _ = writeln!(
            out,
            "\n### Part {} (segments #{}-#{})\n{}",
            i + 1,
            p.first,
            p.last,
            p.summary
        );
        for n in &p.moments {
            let _ = writeln!(out, "{}", segment_line(*n, &segments[*n - 1]));
        }
    }
    out.push_str(TASK);
    out
}

/// The prompt summarising one part of a long session.
pub fn part_summary(
    lang: Language,
    numbered: &[(usize, &TranscriptSegment)],
    part: usize,
    parts: usize,
) -> String {
    let mut out = format!(
        "This is part {part} of {parts} of a long coaching session. Summarise what happens in it \
         (topics, how the coach listens, asks, empathises and gives feedback, the client's mood) and \
         pick up to 12 key moments that show the coach's skills, good or bad, each citing its segment \
         number with an exact quote. {}\n\n## Transcript part\n",
        language_instruction(lang)
    );
    for (n, seg) in numbered {
        let _ = writeln!(out, "{}", segment_line(*n, seg));
    }
    out
}

fn header(ctx: &PromptContext<'_>) -> String {
    let mut out = format!("## Session\nDuration: {}\n", clock(ctx.duration_s));
    out.push_str(&role_candidates(ctx.roles));
    out.push_str("\n## Measured metrics (cite these keys in prescriptions)\n");
    for (key, value) in ctx.citable {
        let _ = writeln!(out, "- {key} = {}", round3(*value));
    }
    out.push_str("\n## Coaching styles (diagnosis.style_id)\n");
    for s in catalogue::styles() {
        let _ = writeln!(
            out,
            "- {}: {} / {} — {}",
            s.id, s.name_en, s.name_ja, s.description_en
        );
    }
    out
}

fn role_candidates(roles: &RoleAssignment) -> String {
    let speakers: Vec<String> = roles
        .speakers
        .iter()
        .map(|&s| crate::domain::speaker_label(s))
        .collect();
    let mut out = format!("Speakers: {}\n", speakers.join(", "));
    if let Some(c) = roles.candidate {
        let cues: Vec<&str> = roles.cues.iter().map(|c| c.name.as_str()).collect();
        let _ = writeln!(
            out,
            "Role candidates from measurements: speaker_{c} is probably the coach (confidence {:.2}; cues: {}). \
             Confirm or correct this in coach_speaker from what is said.",
            roles.confidence,
            cues.join(", ")
        );
    } else {
        out.push_str("Role candidates from measurements: undecided. Decide coach_speaker from what is said.\n");
    }
    out
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

const TASK: &str = "\n## Task\nAssess the coach on listening, questioning, empathy and feedback \
    (integer 1-5 each, 3 = competent, with 1-3 examples each citing a segment and quoting it exactly), \
    estimate each speaker's emotional tone as positive/neutral/negative integer percentages summing to 100, \
    choose the one coaching style from the list that fits best, and give 3 to 5 concrete prescriptions, \
    each tied to one measured metric key and its value, with a target for next time.\n";

/// Crude token estimate used only to decide the plan: CJK characters cost about one token,
/// other text about four characters per token. Overestimating is the safe side.
pub fn estimate_tokens(text: &str) -> usize {
    let (cjk, other) = text.chars().fold((0usize, 0usize), |(c, o), ch| {
        if (ch as u32) >= 0x2E80 {
            (c + 1, o)
        } else {
            (c, o + 1)
        }
    });
    cjk + other.div_ceil(4)
}
