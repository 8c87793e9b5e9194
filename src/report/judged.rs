//! The judgement sections of the page: style, skills, emotions, prescriptions. When the
//! judgement was not produced each section says so instead of showing anything, and the
//! first one says why (no provider, an invalid answer with its problems, or an outage).

use std::fmt::Write as _;

use super::escape::esc;
use super::html::display_label;
use super::i18n::{METRIC_DOCS, SESSION_METRIC_NAMES, Texts};
use super::json::Report;
use crate::domain::Language;

use crate::pipeline::assess::model::{Example, Skill};
use crate::pipeline::assess::prompt::clock;

pub fn render(out: &mut String, report: &Report, t: &Texts, lang: Language) {
    diagnosis(out, report, t);
    skills(out, report, t, lang);
    emotions(out, report, t, lang);
    prescriptions(out, report, t, lang);
}

fn not_produced(out: &mut String, id: &str, title: &str, t: &Texts) {
    let _ = write!(
        out,
        "<section id=\"{id}\" class=\"card\"><h2>{}</h2><p class=\"not-produced\">{}</p></section>",
        esc(title),
        esc(t.not_produced)
    );
}

/// Where the diagnosis would be: why there is no judgement, with the details.
fn why_not_produced(out: &mut String, report: &Report, t: &Texts) {
    let judgement = &report.judgement;
    let headline = match judgement.status.as_str() {
        "invalid" => t.judgement_invalid,
        "unavailable" => t.judgement_unavailable,
        _ => t.not_produced,
    };
    let _ = write!(
        out,
        "<section id=\"diagnosis\" class=\"card\"><h2>{}</h2><div class=\"not-produced\" data-status=\"{}\"><p>{}</p>",
        esc(t.diagnosis),
        esc(&judgement.status),
        esc(headline)
    );
    if let Some(reason) = &judgement.reason {
        let _ = write!(out, "<p class=\"why\">{}</p>", esc(reason));
    }
    if !judgement.reasons.is_empty() {
        out.push_str("<ul class=\"why\">");
        for reason in &judgement.reasons {
            let _ = write!(out, "<li>{}</li>", esc(reason));
        }
        out.push_str("</ul>");
    }
    out.push_str("</div></section>");
}

fn diagnosis(out: &mut String, report: &Report, t: &Texts) {
    let Some(d) = &report.diagnosis else {
        return why_not_produced(out, report, t);
    };
    let _ = write!(
        out,
        "<section id=\"diagnosis\" class=\"card hero\"><div class=\"icon\">{}</div><div><h2>{}</h2>\
         <p class=\"style-name\">{} <span class=\"alt\">{}</span></p><p>{}</p><p class=\"why\"><b>{}:</b> {}</p></div></section>",
        esc(&d.icon),
        esc(t.diagnosis),
        esc(&d.name),
        esc(other_name(d)),
        esc(&d.description),
        esc(t.why),
        esc(&d.reason)
    );
}

/// The style's name in the other language, shown small beside the main one.
fn other_name(d: &super::json::DiagnosisOut) -> &str {
    if d.name == d.name_ja {
        &d.name_en
    } else {
        &d.name_ja
    }
}

fn skills(out: &mut String, report: &Report, t: &Texts, lang: Language) {
    let Some(skills) = &report.coaching_skills else {
        return not_produced(out, "skills", t.skills, t);
    };
    let _ = write!(
        out,
        "<section id=\"skills\" class=\"card\"><h2>{}</h2><div class=\"skills\">",
        esc(t.skills)
    );
    for ((_, skill), name) in skills.by_name().iter().zip(t.skill_names) {
        skill_card(out, name, skill, report, lang);
    }
    out.push_str("</div></section>");
}

fn skill_card(out: &mut String, name: &str, skill: &Skill, report: &Report, lang: Language) {
    let dots: String = (1..=5)
        .map(|i| {
            if i <= skill.score {
                "<i class=\"on\"></i>"
            } else {
                "<i></i>"
            }
        })
        .collect();
    let _ = write!(
        out,
        "<article class=\"skill\"><header><h3>{}</h3><span class=\"score\" aria-label=\"{}/5\">{dots}<b>{}</b>/5</span></header><p>{}</p><ul class=\"examples\">",
        esc(name),
        skill.score,
        skill.score,
        esc(&skill.summary)
    );
    for ex in &skill.examples {
        example(out, ex, report, lang);
    }
    out.push_str("</ul></article>");
}

fn example(out: &mut String, ex: &Example, report: &Report, lang: Language) {
    let who = ex
        .speaker
        .map(|s| display_label(lang, &label_of(report, s)))
        .unwrap_or_default();
    let _ = write!(
        out,
        "<li><a class=\"moment\" href=\"#seg-{}\">#{} {} {}</a><q>{}</q><span class=\"comment\">{}</span></li>",
        ex.segment,
        ex.segment,
        esc(clock(ex.start)),
        esc(who),
        esc(&ex.quote),
        esc(&ex.comment)
    );
}

fn label_of(report: &Report, speaker: usize) -> String {
    let found = report
        .speaker_analysis
        .iter()
        .flat_map(|a| &a.speakers)
        .find(|s| s.speaker == speaker);
    found.map_or_else(
        || crate::domain::speaker_label(speaker),
        |s| s.label.clone(),
    )
}

fn emotions(out: &mut String, report: &Report, t: &Texts, lang: Language) {
    let Some(map) = &report.emotion_analysis else {
        return not_produced(out, "emotions", t.emotions, t);
    };
    let _ = write!(
        out,
        "<section id=\"emotions\" class=\"card\"><h2>{}</h2>",
        esc(t.emotions)
    );
    for (label, e) in map {
        let parts = [(e.positive, "pos"), (e.neutral, "neu"), (e.negative, "neg")];
        let _ = write!(
            out,
            "<div class=\"emo-row\"><span class=\"emo-who\">{}</span><div class=\"stack\">",
            esc(display_label(lang, label))
        );
        for ((value, class), name) in parts.iter().zip(t.emotion_names) {
            if *value > 0 {
                let _ = write!(
                    out,
                    "<span class=\"{class}\" style=\"width:{value}%\" title=\"{} {value}%\">{value}%</span>",
                    esc(name)
                );
            }
        }
        out.push_str("</div></div>");
    }
    let legend: Vec<String> = ["pos", "neu", "neg"]
        .iter()
        .zip(t.emotion_names)
        .map(|(c, n)| format!("<span class=\"key {c}\"></span>{}", esc(n)))
        .collect();
    let _ = write!(
        out,
        "<p class=\"legend\">{}</p></section>",
        legend.join(" ")
    );
}

fn prescriptions(out: &mut String, report: &Report, t: &Texts, lang: Language) {
    let Some(list) = &report.prescriptions else {
        return not_produced(out, "prescriptions", t.prescriptions, t);
    };
    let _ = write!(
        out,
        "<section id=\"prescriptions\" class=\"card\"><h2>{}</h2><ol class=\"rx\">",
        esc(t.prescriptions)
    );
    for p in list {
        let _ = write!(
            out,
            "<li><p class=\"action\">{}</p><p class=\"chips\"><span class=\"chip\">{} · {}: {}</span><span class=\"chip target\">{}: {}</span></p></li>",
            esc(&p.action),
            esc(t.measured),
            esc(metric_name(&p.metric, report, lang)),
            esc(fmt_num(p.measured_value)),
            esc(t.target),
            esc(&p.target)
        );
    }
    out.push_str("</ol></section>");
}

/// `speaker_1.mean_response_latency_s` → `Coach · Response pause`.
pub fn metric_name(key: &str, report: &Report, lang: Language) -> String {
    let idx = usize::from(lang != Language::Ja);
    let (who, field) = match key.split_once('.') {
        Some((who, field)) => (Some(who), field),
        None => (None, key),
    };
    let per_speaker = METRIC_DOCS
        .iter()
        .find(|d| d.key == field)
        .map(|d| d.name[idx]);
    let session = SESSION_METRIC_NAMES
        .iter()
        .find(|(k, _)| *k == field)
        .map(|(_, n)| n[idx]);
    let name = per_speaker.or(session).unwrap_or(field);
    match who
        .and_then(|w| w.strip_prefix("speaker_"))
        .and_then(|n| n.parse::<usize>().ok())
    {
        Some(s) => format!("{} · {name}", display_label(lang, &label_of(report, s))),
        None => name.to_owned(),
    }
}

pub fn fmt_num(v: f64) -> String {
    if v.fract().abs() < 1e-9 {
        format!("{v:.0}")
    } else if v.abs() < 10.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.1}")
    }
}
