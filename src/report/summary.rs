//! A few lines a person reads on the terminal after a run: how long, who spoke how much,
//! the main events, and whether a judgement was produced. The full report is in the files;
//! this is English like the rest of the command line's messages.

use std::fmt::Write as _;

use super::json::Report;
use crate::domain::Language;
use crate::pipeline::assess::measured::ConversationEvent;
use crate::pipeline::assess::prompt::clock;
use crate::pipeline::assess::roles::display_label;

/// Events listed by name; the rest are counted.
const MAIN_EVENTS: usize = 3;

/// The summary of `report`, several lines without a trailing newline.
pub fn text(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Recording: {}", duration(report));
    speakers(&mut out, report);
    events(&mut out, &report.conversation_events);
    judgement(&mut out, report);
    out.trim_end().to_owned()
}

fn duration(report: &Report) -> String {
    let seconds = report.metrics["audio"]["duration_secs"].as_f64();
    seconds.map_or_else(|| "unknown length".to_owned(), clock)
}

fn speakers(out: &mut String, report: &Report) {
    let Some(analysis) = &report.speaker_analysis else {
        let _ = writeln!(
            out,
            "Speakers: not measured (the measurements were withheld)"
        );
        return;
    };
    let roles = if analysis.roles_certain {
        "roles certain"
    } else {
        "roles uncertain"
    };
    let _ = writeln!(
        out,
        "Speakers: {} ({roles}, confidence {:.0}%; Gini {:.2})",
        analysis.speakers.len(),
        analysis.role_confidence * 100.0,
        analysis.gini_coefficient
    );
    for s in &analysis.speakers {
        let _ = writeln!(
            out,
            "  {:<12} {:>3.0}%  {:>6.1} s  {} turns",
            display_label(Language::En, &s.label),
            s.speaking_ratio * 100.0,
            s.speaking_time_s,
            s.turns
        );
    }
}

fn events(out: &mut String, events: &[ConversationEvent]) {
    let count = |kind: &str| events.iter().filter(|e| e.kind == kind).count();
    let _ = writeln!(
        out,
        "Events: {} interruptions, {} backchannels, {} long silences",
        count("overlap"),
        count("backchannel"),
        count("silence")
    );
    let mut longest: Vec<&ConversationEvent> = events.iter().collect();
    longest.sort_by(|a, b| b.duration.total_cmp(&a.duration));
    for e in longest.into_iter().take(MAIN_EVENTS) {
        let who = e
            .speaker
            .as_deref()
            .map(|s| format!(" by {}", display_label(Language::En, s)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {} {}{who}, {:.1} s",
            clock(e.time),
            event_name(&e.kind),
            e.duration
        );
    }
}

fn event_name(kind: &str) -> &str {
    match kind {
        "overlap" => "interruption",
        "silence" => "long silence",
        other => other,
    }
}

fn judgement(out: &mut String, report: &Report) {
    let j = &report.judgement;
    match (&report.diagnosis, &report.coaching_skills) {
        (Some(d), Some(skills)) => {
            let scores: Vec<String> = skills
                .by_name()
                .iter()
                .map(|(name, s)| format!("{name} {}", s.score))
                .collect();
            let _ = writeln!(
                out,
                "Judgement: {} (style {}; {})",
                j.status,
                d.name_en,
                scores.join(", ")
            );
        }
        _ => {
            let reason = j.reason.as_deref().unwrap_or("no reason recorded");
            let _ = writeln!(out, "Judgement: {} ({reason})", j.status);
        }
    }
}
