//! The page skeleton of `report.html`: header, notices, and the sections in reading order
//! (style, skills, emotions, prescriptions, timeline, metrics, events, transcript).
//!
//! Markup is pushed into a `String` with [`esc`] on every interpolated value (about 70 sites
//! across the report modules) rather than a template crate. Measured on probes (cold debug
//! build on one core of a loaded machine): `maud` 0.27 adds 13 crates and 9.7 s and escapes by
//! construction; `askama` 0.14 adds 22 crates and 23.5 s and moves the markup into template
//! files away from the typed helpers. `maud` would serve the page better; porting it was
//! left out of this step, and `tests/assess/report.rs` puts hostile text in every user and
//! model text slot so a missed `esc` fails a test meanwhile.

use std::fmt::Write as _;

use super::escape::esc;
use super::i18n::{Texts, texts};
use super::json::Report;
use super::page::Page;
use super::{judged, measured_html};
use crate::pipeline::assess::prompt::clock;

const CSS: &str = include_str!("style.css");

/// Renders the page from the report alone.
///
/// # Errors
/// The measurements were withheld (there is nothing per speaker to draw) or `metrics` does
/// not have the schema's shape.
pub fn render(report: &Report) -> anyhow::Result<String> {
    let page = Page::read(report)?;
    let t = texts(page.language);
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{}</title><style>{CSS}</style></head><body><main>",
        t.lang,
        esc(t.title)
    );
    header(&mut out, &page, t);
    judged::render(&mut out, report, t, page.language);
    measured_html::render(&mut out, &page, t);
    provenance(&mut out, report, t);
    out.push_str("</main></body></html>\n");
    Ok(out)
}

pub use crate::pipeline::assess::roles::display_label;

fn header(out: &mut String, page: &Page<'_>, t: &Texts) {
    let report = page.report;
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
        esc(clock(page.duration_s())),
        esc(t.generated),
        esc(&report.provenance.generated_at),
        esc(t.model),
        esc(model)
    );
    if let Some(reason) = report.metrics["diarization"]["degraded"].as_str() {
        let _ = write!(
            out,
            "<p class=\"note warn\" id=\"diarization-degraded\">⚠ {}: {}</p>",
            esc(t.diarization_degraded),
            esc(reason)
        );
    }
    let sa = page.speakers;
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
    speaker_count(out, report, t);
}

/// Says when the number of speakers was estimated rather than declared, and how sure.
fn speaker_count(out: &mut String, report: &Report, t: &Texts) {
    let d = &report.metrics["diarization"];
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
