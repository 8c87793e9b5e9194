//! The measured sections of the page: timeline, metrics with explanations, events and the
//! transcript coloured by speaker (each line an anchor the examples link to).

use std::fmt::Write as _;

use super::escape::esc;
use super::html::display_label;
use super::i18n::{METRIC_DOCS, Texts};
use super::json::{Report, ReportInput};
use super::palette::{colour, tint};
use super::timeline;
use crate::domain::Language;
use crate::pipeline::assess::inputs::SpeakerMetrics;
use crate::pipeline::assess::prompt::clock;

pub fn render(out: &mut String, input: &ReportInput<'_>, report: &Report, t: &Texts) {
    timeline_section(out, input, t);
    metrics(out, input, report, t);
    events(out, report, t);
    transcript(out, input, t);
}

fn name_of(input: &ReportInput<'_>, speaker: usize) -> String {
    display_label(input.language, &input.assessment.roles.label(speaker))
}

fn lane_of(input: &ReportInput<'_>, speaker: usize) -> usize {
    input
        .assessment
        .roles
        .speakers
        .iter()
        .position(|s| *s == speaker)
        .unwrap_or(speaker)
}

fn timeline_section(out: &mut String, input: &ReportInput<'_>, t: &Texts) {
    let a = input.assessment;
    let labels = |s: usize| name_of(input, s);
    let svg = timeline::svg(input.segments, &a.metrics, &a.roles, &labels);
    let _ = write!(
        out,
        "<section id=\"timeline\" class=\"card\"><h2>{}</h2>{svg}<p class=\"legend\"><span class=\"key interrupt\"></span>{} \
         <span class=\"key backchannel\"></span>{} <span class=\"key silence\"></span>{}</p></section>",
        esc(t.timeline),
        esc(t.legend_overlap),
        esc(t.legend_backchannel),
        esc(t.legend_silence)
    );
}

fn metrics(out: &mut String, input: &ReportInput<'_>, report: &Report, t: &Texts) {
    let a = input.assessment;
    let idx = usize::from(input.language != Language::Ja);
    let _ = write!(
        out,
        "<section id=\"metrics\" class=\"card\"><h2>{}</h2><table class=\"metrics\"><thead><tr><th></th>",
        esc(t.metrics)
    );
    for s in &a.metrics.speakers {
        let _ = write!(
            out,
            "<th><span class=\"dot\" style=\"background:{}\"></span>{}</th>",
            colour(lane_of(input, s.speaker)),
            esc(name_of(input, s.speaker))
        );
    }
    out.push_str("<th class=\"explain\"></th></tr></thead><tbody>");
    for doc in METRIC_DOCS {
        let _ = write!(out, "<tr><th>{}</th>", esc(doc.name[idx]));
        for s in &a.metrics.speakers {
            let _ = write!(out, "<td>{}</td>", esc(value(doc.key, s, report)));
        }
        let _ = write!(
            out,
            "<td class=\"explain\">{}</td></tr>",
            esc(doc.explain[idx])
        );
    }
    out.push_str("</tbody></table>");
    let (gini, inter) = if idx == 0 {
        (
            "ジニ係数（発話時間の偏り。0＝均等、1＝一人だけ）",
            "やり取りの活発さ（1分あたりの話者交代）",
        )
    } else {
        (
            "Gini coefficient (imbalance of speaking time: 0 = equal, 1 = one person only)",
            "Interactivity (speaker switches per minute)",
        )
    };
    let _ = write!(
        out,
        "<p class=\"kpis\"><span><b>{:.2}</b> {}</span><span><b>{:.1}</b> {}</span></p></section>",
        a.metrics.gini_coefficient,
        esc(gini),
        a.metrics.interactivity_per_min,
        esc(inter)
    );
}

fn value(key: &str, s: &SpeakerMetrics, report: &Report) -> String {
    let secs = |v: f64| format!("{v:.1} s");
    let entry = report
        .speaker_analysis
        .speakers
        .iter()
        .find(|e| e.speaker == s.speaker);
    match key {
        "talk_ratio" => format!("{:.0}%", s.talk_ratio * 100.0),
        "talk_time_s" => secs(s.talk_time_s),
        "turns" => s.turns.to_string(),
        "mean_turn_s" => secs(s.mean_turn_s),
        "longest_monologue_s" => secs(s.longest_monologue_s),
        "mean_response_latency_s" => s
            .mean_response_latency_s
            .map_or_else(|| "—".to_owned(), |v| format!("{v:.2} s")),
        "questions_open" => s
            .questions
            .map_or_else(|| "—".to_owned(), |q| q.open.to_string()),
        "questions_closed" => s
            .questions
            .map_or_else(|| "—".to_owned(), |q| q.closed.to_string()),
        "backchannels" => entry.map_or_else(String::new, |e| e.backchannels.to_string()),
        "interruptions" => entry.map_or_else(String::new, |e| e.interruptions.to_string()),
        _ => String::new(),
    }
}

fn events(out: &mut String, report: &Report, t: &Texts) {
    let _ = write!(
        out,
        "<section id=\"events\" class=\"card\"><h2>{}</h2>",
        esc(t.events)
    );
    if report.conversation_events.is_empty() {
        let _ = write!(out, "<p>{}</p></section>", esc(t.no_events));
        return;
    }
    out.push_str("<ul class=\"events\">");
    for e in &report.conversation_events {
        let _ = write!(
            out,
            "<li class=\"ev-{}\"><span class=\"time\">{}</span>{}</li>",
            esc(&e.kind),
            esc(clock(e.time)),
            esc(&e.description)
        );
    }
    out.push_str("</ul></section>");
}

fn transcript(out: &mut String, input: &ReportInput<'_>, t: &Texts) {
    let _ = write!(
        out,
        "<section id=\"transcript\" class=\"card\"><h2>{}</h2><ol class=\"transcript\">",
        esc(t.transcript)
    );
    for (i, seg) in input.segments.iter().enumerate() {
        let (who, fg, bg) = match seg.speaker {
            Some(s) => (
                name_of(input, s),
                colour(lane_of(input, s)),
                tint(lane_of(input, s)),
            ),
            None => (t.unknown.to_owned(), "#777", "#f4f4f4"),
        };
        let _ = write!(
            out,
            "<li id=\"seg-{n}\" style=\"background:{bg};border-left-color:{fg}\"><a class=\"num\" href=\"#seg-{n}\">#{n}</a>\
             <span class=\"time\">{}</span><span class=\"who\" style=\"color:{fg}\">{}</span><span class=\"text\">{}</span></li>",
            esc(clock(seg.span.start)),
            esc(who),
            esc(&seg.text),
            n = i + 1
        );
    }
    out.push_str("</ol></section>");
}
