//! The page skeleton of `report.html`: header, notices, and the sections in reading order
//! (style, skills, emotions, prescriptions, timeline, metrics, events, transcript).

use std::fmt::Write as _;

use super::escape::esc;
use super::i18n::{Texts, texts};
use super::json::{Report, ReportInput};
use super::{judged, measured_html};
use crate::pipeline::assess::prompt::clock;

const CSS: &str = include_str!("style.css");

/// Renders the page.
pub fn render(input: &ReportInput<'_>, report: &Report) -> String {
    let t = texts(input.language);
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{}</title><style>{CSS}</style></head><body><main>",
        t.lang,
        esc(t.title)
    );
    header(&mut out, input, report, t);
    judged::render(&mut out, input, report, t);
    measured_html::render(&mut out, input, report, t);
    provenance(&mut out, report, t);
    out.push_str("</main></body></html>\n");
    out
}

pub use crate::pipeline::assess::roles::display_label;

fn header(out: &mut String, input: &ReportInput<'_>, report: &Report, t: &Texts) {
    let a = input.assessment;
    let model = report
        .provenance
        .llm_model
        .clone()
        .unwrap_or_else(|| "—".to_owned());
    let _ = write!(
        out,
        "<header class=\"top\"><div class=\"brand\">VibeInsight</div><h1>{}</h1><dl class=\"meta\">\
         <div><dt>{}</dt><dd>{}</dd></div><div><dt>{}</dt><dd>{}</dd></div><div><dt>{}</dt><dd>{}</dd></div></dl></header>",
        esc(t.title),
        esc(t.duration),
        esc(clock(a.metrics.duration_s)),
        esc(t.generated),
        esc(&report.provenance.generated_at),
        esc(t.model),
        esc(model)
    );
    let sa = &report.speaker_analysis;
    if sa.roles_certain {
        let _ = write!(
            out,
            "<p class=\"note ok\">{}: {:.0}%</p>",
            esc(t.roles_certain),
            sa.role_confidence * 100.0
        );
    } else {
        let _ = write!(
            out,
            "<p class=\"note warn\" id=\"roles-uncertain\">⚠ {} ({:.0}%)</p>",
            esc(t.roles_uncertain),
            sa.role_confidence * 100.0
        );
    }
    speaker_count(out, input, t);
}

/// Says when the number of speakers was estimated rather than declared, and how sure.
fn speaker_count(out: &mut String, input: &ReportInput<'_>, t: &Texts) {
    let d = &input.metrics["diarization"];
    let count = &d["speaker_count"];
    if count["estimated"] != serde_json::Value::Bool(true) {
        return;
    }
    let speakers = d["num_speakers"].as_u64().unwrap_or(0);
    let sure = count["certainty"].as_f64().unwrap_or(0.0);
    let class = if sure >= SURE_ESTIMATE { "ok" } else { "warn" };
    let _ = write!(
        out,
        "<p class=\"note {class}\" id=\"speaker-count\">{}: {speakers} ({} {:.0}%)</p>",
        esc(t.count_estimated),
        esc(t.count_sure),
        sure * 100.0
    );
}

/// Certainty from which an estimated count is shown as settled rather than as a warning:
/// half the margin `diarize::count` calls sure.
const SURE_ESTIMATE: f64 = 0.5;

fn provenance(out: &mut String, report: &Report, t: &Texts) {
    let p = &report.provenance;
    let usage = p.usage.as_ref().map_or_else(
        || "—".to_owned(),
        |u| {
            let cost = u
                .cost_usd
                .map_or_else(|| "n/a".to_owned(), |c| format!("${c:.4}"));
            format!(
                "{} calls · {} in / {} out tokens · {cost}",
                u.calls, u.input_tokens, u.output_tokens
            )
        },
    );
    let _ = write!(
        out,
        "<footer><h2>{}</h2><p>pipeline {} · prompt {} · {} · context {} · {}</p></footer>",
        esc(t.provenance),
        esc(&p.pipeline_version),
        esc(&p.prompt_version),
        esc(p.llm_provider.as_deref().unwrap_or("none")),
        esc(&p.context_plan),
        esc(usage)
    );
}
