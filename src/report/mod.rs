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
pub mod palette;
pub mod timeline;

use std::path::Path;

use anyhow::Context as _;

pub use json::{Report, ReportInput};

/// Writes `report.json` and `report.html` into `dir` (created if missing).
///
/// # Errors
/// When the directory or a file cannot be written.
pub fn write(dir: &Path, input: &ReportInput<'_>) -> anyhow::Result<Report> {
    std::fs::create_dir_all(dir).with_context(|| format!("Failed to create {}", dir.display()))?;
    let report = json::build(input);
    let text = serde_json::to_string_pretty(&report).context("Failed to serialise report.json")?;
    std::fs::write(dir.join("report.json"), text).context("Failed to write report.json")?;
    std::fs::write(dir.join("report.html"), html::render(input, &report))
        .context("Failed to write report.html")?;
    Ok(report)
}
