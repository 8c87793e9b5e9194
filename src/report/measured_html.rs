//! The measured sections of the page: timeline, metrics with explanations, events and the
//! transcript coloured by speaker (each line an anchor the examples link to).

use std::fmt::Write as _;

use super::escape::esc;
use super::i18n::{METRIC_DOCS, Texts};
use super::json::Report;
use super::page::Page;
use super::palette::{colour, tint};
use super::timeline;
use crate::domain::Language;
use crate::pipeline::assess::inputs::SpeakerMetrics;
use crate::pipeline::assess::prompt::clock;

pub fn render(out: &mut String, page: &Page<'_>, t: &Texts) {
    timeline_section(out, page, t);
    metrics(out, page, t);
    events(out, page.report, t);
    transcript(out, page, t);
}

fn timeline_section(out: &mut String, page: &Page<'_>, t: &Texts) {
    let svg = timeline::svg(page);
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

fn metrics(out: &mut String, page: &Page<'_>, t: &Texts) {
    let m = &page.conversation;
    let idx = usize::from(page.language != Language::Ja);
    let _ = write!(
        out,
        "<section id=\"metrics\" class=\"card\"><h2>{}</h2><table class=\"metrics\"><thead><tr><th></th>",
        esc(t.metrics)
    );
    for s in &m.speakers {
        let _ = write!(
            out,
            "<th><span class=\"dot\" style=\"background:{}\"></span>{}</th>",
            colour(page.lane_of(s.speaker)),
            esc(page.name_of(s.speaker))
        );
    }
    out.push_str("<th class=\"explain\"></th></tr></thead><tbody>");
    for doc in METRIC_DOCS {
        let _ = write!(out, "<tr><th>{}</th>", esc(doc.name[idx]));
        for s in &m.speakers {
            let _ = write!(out, "<td>{}</td>", esc(value(doc.key, s, page)));
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
        m.gini_coefficient,
        esc(gini),
        m.interactivity_per_min,
        esc(inter)
    );
}

fn value(key: &str, s: &SpeakerMetrics, page: &Page<'_>) -> String {
    let secs = |v: f64| format!("{v:.1} s");
    let entry = page
        .speakers
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

fn transcript(out: &mut String, page: &Page<'_>, t: &Texts) {
    let _ = write!(
        out,
        "<section id=\"transcript\" class=\"card\"><h2>{}</h2><ol class=\"transcript\">",
        esc(t.transcript)
    );
    for line in &page.report.transcript {
        let speaker = line.speaker.as_deref().and_then(|l| page.speaker_of(l));
        let (who, fg, bg) = match speaker {
            Some(s) => (
                page.name_of(s),
                colour(page.lane_of(s)),
                tint(page.lane_of(s)),
            ),
            None => (t.unknown.to_owned(), "#777", "#f4f4f4"),
        };
        let _ = write!(
            out,
            "<li id=\"seg-{n}\" style=\"background:{bg};border-left-color:{fg}\"><a class=\"num\" href=\"#seg-{n}\">#{n}</a>\
             <span class=\"time\">{}</span><span class=\"who\" style=\"color:{fg}\">{}</span><span class=\"text\">{}</span></li>",
            esc(clock(line.start)),
            esc(who),
            esc(&line.text),
            n = line.segment
        );
    }
    out.push_str("</ol></section>");
}
