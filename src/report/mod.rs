//! The report: `report.json` ([`json`]) and a self-contained `report.html` ([`html`]).
//!
//! The HTML has no external assets (inline CSS and SVG), escapes every piece of user or
//! model text, and says plainly when the judgement sections were not produced.

pub mod escape;
pub mod html;
pub mod i18n;
pub mod json;
mod judged;
mod measured_html;
pub mod page;
pub mod palette;
pub mod row;
pub mod stored;
pub mod summary;
pub mod timeline;

use std::path::{Path, PathBuf};

use anyhow::Context as _;

pub use json::{Report, ReportInput};

/// Builds the report and writes it into `dir` (see [`write_built`]).
///
/// # Errors
/// As [`write_built`].
pub fn write(dir: &Path, input: &ReportInput<'_>) -> anyhow::Result<Report> {
    let report = json::build(input);
    write_built(dir, &report)?;
    Ok(report)
}

/// Writes `report.json`, and `report.html` when there are per-speaker measurements to draw,
/// into `dir` (created if missing). Returns the page's path, if one was written.
///
/// # Errors
/// When the directory or a file cannot be written, or the page cannot be drawn from
/// measurements that are present.
pub fn write_built(dir: &Path, report: &Report) -> anyhow::Result<Option<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("Failed to create {}", dir.display()))?;
    let text = serde_json::to_string_pretty(report).context("Failed to serialise report.json")?;
    let json = dir.join("report.json");
    std::fs::write(&json, text).with_context(|| format!("Failed to write {}", json.display()))?;
    if report.speaker_analysis.is_none() {
        return Ok(None);
    }
    let page = dir.join("report.html");
    std::fs::write(&page, html::render(report)?)
        .with_context(|| format!("Failed to write {}", page.display()))?;
    Ok(Some(page))
}
