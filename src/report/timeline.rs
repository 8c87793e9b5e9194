//! The speaker timeline as inline SVG: one lane per speaker, overlaps and long silences
//! marked, each segment linked to its transcript line.

use std::fmt::Write as _;

use super::escape::esc;
use super::palette::colour;
use crate::domain::TranscriptSegment;
use crate::pipeline::assess::inputs::{MeasuredMetrics, OverlapKind};
use crate::pipeline::assess::prompt::clock;
use crate::pipeline::assess::roles::RoleAssignment;

const WIDTH: f64 = 1000.0;
const LEFT: f64 = 96.0;
const LANE: f64 = 30.0;
const TOP: f64 = 26.0;

/// Renders the timeline; `labels` are the display names per speaker.
pub fn svg(
    segments: &[TranscriptSegment],
    m: &MeasuredMetrics,
    roles: &RoleAssignment,
    labels: &dyn Fn(usize) -> String,
) -> String {
    let duration = m
        .duration_s
        .max(segments.last().map_or(0.0, |s| s.span.end))
        .max(1.0);
    let x = |t: f64| LEFT + (t / duration).clamp(0.0, 1.0) * (WIDTH - LEFT - 8.0);
    let lanes = roles.speakers.len().max(1) as f64;
    let height = TOP + lanes * LANE + 24.0;
    let lane_of = |s: usize| roles.speakers.iter().position(|x| *x == s);
    let mut out = format!(
        r#"<svg class="timeline" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="speaker timeline" xmlns="http://www.w3.org/2000/svg">"#
    );
    axis(&mut out, duration, &x, height);
    for (i, s) in roles.speakers.iter().enumerate() {
        let y = TOP + i as f64 * LANE;
        let _ = write!(
            out,
            r#"<text x="0" y="{:.1}" class="lane-label">{}</text>"#,
            y + LANE * 0.62,
            esc(labels(*s))
        );
        let _ = write!(
            out,
            r#"<rect x="{LEFT}" y="{:.1}" width="{:.1}" height="{:.1}" class="lane"/>"#,
            y + 3.0,
            WIDTH - LEFT - 8.0,
            LANE - 6.0
        );
    }
    for sil in &m.silences {
        let w = (x(sil.end) - x(sil.start)).max(1.5);
        let _ = write!(
            out,
            r#"<rect x="{:.1}" y="{TOP}" width="{w:.1}" height="{:.1}" class="silence"><title>{} – {}</title></rect>"#,
            x(sil.start),
            lanes * LANE,
            clock(sil.start),
            clock(sil.end)
        );
    }
    for (n, seg) in segments.iter().enumerate() {
        let Some(lane) = seg.speaker.and_then(lane_of) else {
            continue;
        };
        let y = TOP + lane as f64 * LANE + 5.0;
        let w = (x(seg.span.end) - x(seg.span.start)).max(1.0);
        let _ = write!(
            out,
            r##"<a href="#seg-{}"><rect x="{:.1}" y="{y:.1}" width="{w:.1}" height="{:.1}" rx="2" fill="{}"><title>#{} {} {}</title></rect></a>"##,
            n + 1,
            x(seg.span.start),
            LANE - 10.0,
            colour(lane),
            n + 1,
            clock(seg.span.start),
            esc(short(&seg.text))
        );
    }
    for o in &m.overlaps {
        let class = if o.kind == OverlapKind::Interruption {
            "interrupt"
        } else {
            "backchannel"
        };
        let w = (x(o.end) - x(o.start)).max(2.0);
        let _ = write!(
            out,
            r#"<rect x="{:.1}" y="{:.1}" width="{w:.1}" height="{:.1}" class="{class}"><title>{} {}</title></rect>"#,
            x(o.start),
            TOP - 6.0,
            lanes * LANE + 8.0,
            clock(o.start),
            class
        );
    }
    out.push_str("</svg>");
    out
}

fn axis(out: &mut String, duration: f64, x: &dyn Fn(f64) -> f64, height: f64) {
    let step = [
        5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0,
    ]
    .into_iter()
    .find(|s| duration / s <= 10.0)
    .unwrap_or(3600.0);
    let mut t = 0.0;
    while t <= duration + 1e-6 {
        let xp = x(t);
        let _ = write!(
            out,
            r#"<line x1="{xp:.1}" x2="{xp:.1}" y1="{:.1}" y2="{:.1}" class="tick"/><text x="{xp:.1}" y="{:.1}" class="tick-label">{}</text>"#,
            TOP - 4.0,
            height - 18.0,
            height - 4.0,
            clock_short(t)
        );
        t += step;
    }
}

fn clock_short(t: f64) -> String {
    let s = t.round() as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

fn short(text: &str) -> String {
    let mut out: String = text.chars().take(60).collect();
    if text.chars().count() > 60 {
        out.push('…');
    }
    out
}
