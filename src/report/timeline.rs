//! The speaker timeline as inline SVG: one lane per speaker with a bar per diarization turn
//! (so who spoke when shows with or without a transcript, and overlapping speech shows as
//! bars on two lanes at once), interruptions, backchannels and long silences marked. With a
//! transcript, each bar carries the text spoken in it on hover and links to its first line.

use std::fmt::Write as _;

use super::escape::esc;
use super::json::TranscriptLine;
use super::page::{Page, Turn};
use super::palette::colour;
use crate::pipeline::assess::inputs::OverlapKind;
use crate::pipeline::assess::prompt::clock;

const WIDTH: f64 = 1000.0;
const LEFT: f64 = 96.0;
const LANE: f64 = 30.0;
const TOP: f64 = 26.0;
/// Characters of transcript shown on hover per turn: enough to recognise the moment.
const HOVER_CHARS: usize = 120;

/// Maps seconds to x and lanes to y on one drawing.
struct Frame {
    duration: f64,
    lanes: f64,
}

impl Frame {
    fn x(&self, t: f64) -> f64 {
        LEFT + (t / self.duration).clamp(0.0, 1.0) * (WIDTH - LEFT - 8.0)
    }
    fn width(&self, start: f64, end: f64, min: f64) -> f64 {
        (self.x(end) - self.x(start)).max(min)
    }
    fn height(&self) -> f64 {
        TOP + self.lanes * LANE + 24.0
    }
}

/// Renders the timeline of `page`.
pub fn svg(page: &Page<'_>) -> String {
    let lines = &page.report.transcript;
    let duration = page
        .duration_s()
        .max(page.turns.iter().map(|t| t.end).fold(0.0, f64::max))
        .max(lines.last().map_or(0.0, |s| s.end))
        .max(1.0);
    let frame = Frame {
        duration,
        lanes: page.roles.speakers.len().max(1) as f64,
    };
    let mut out = format!(
        r#"<svg class="timeline" viewBox="0 0 {WIDTH} {:.1}" role="img" aria-label="speaker timeline" xmlns="http://www.w3.org/2000/svg">"#,
        frame.height()
    );
    axis(&mut out, &frame);
    lanes(&mut out, page);
    silences(&mut out, page, &frame);
    for turn in &page.turns {
        turn_bar(&mut out, page, &frame, turn);
    }
    overlaps(&mut out, page, &frame);
    out.push_str("</svg>");
    out
}

fn lanes(out: &mut String, page: &Page<'_>) {
    for (i, s) in page.roles.speakers.iter().enumerate() {
        let y = TOP + i as f64 * LANE;
        let _ = write!(
            out,
            r#"<text x="0" y="{:.1}" class="lane-label">{}</text><rect x="{LEFT}" y="{:.1}" width="{:.1}" height="{:.1}" class="lane"/>"#,
            y + LANE * 0.62,
            esc(page.name_of(*s)),
            y + 3.0,
            WIDTH - LEFT - 8.0,
            LANE - 6.0
        );
    }
}

fn silences(out: &mut String, page: &Page<'_>, frame: &Frame) {
    for sil in &page.conversation.silences {
        let _ = write!(
            out,
            r#"<rect x="{:.1}" y="{TOP}" width="{:.1}" height="{:.1}" class="silence"><title>{} – {}</title></rect>"#,
            frame.x(sil.start),
            frame.width(sil.start, sil.end, 1.5),
            frame.lanes * LANE,
            clock(sil.start),
            clock(sil.end)
        );
    }
}

/// One turn on its speaker's lane; turns of a speaker the roles do not know are left out.
fn turn_bar(out: &mut String, page: &Page<'_>, frame: &Frame, turn: &Turn) {
    let Some(speaker) = page.speaker_of(&turn.speaker) else {
        return;
    };
    let Some(lane) = page.roles.speakers.iter().position(|s| *s == speaker) else {
        return;
    };
    let spoken: Vec<&TranscriptLine> = page
        .report
        .transcript
        .iter()
        .filter(|l| l.start < turn.end && l.end > turn.start)
        .filter(|l| l.speaker.as_deref().and_then(|s| page.speaker_of(s)) == Some(speaker))
        .collect();
    let text: Vec<&str> = spoken.iter().map(|l| l.text.as_str()).collect();
    let hover = format!(
        "{} {}–{} {}",
        page.name_of(speaker),
        clock(turn.start),
        clock(turn.end),
        short(&text.join(" "))
    );
    let rect = format!(
        r#"<rect class="turn" data-speaker="{}" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" rx="2" fill="{}"><title>{}</title></rect>"#,
        esc(&turn.speaker),
        frame.x(turn.start),
        TOP + lane as f64 * LANE + 5.0,
        frame.width(turn.start, turn.end, 1.0),
        LANE - 10.0,
        colour(lane),
        esc(hover.trim_end())
    );
    match spoken.first() {
        Some(line) => {
            let _ = write!(out, r##"<a href="#seg-{}">{rect}</a>"##, line.segment);
        }
        None => out.push_str(&rect),
    }
}

fn overlaps(out: &mut String, page: &Page<'_>, frame: &Frame) {
    for o in &page.conversation.overlaps {
        let class = if o.kind == OverlapKind::Interruption {
            "interrupt"
        } else {
            "backchannel"
        };
        let _ = write!(
            out,
            r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" class="{class}"><title>{} {}</title></rect>"#,
            frame.x(o.start),
            TOP - 6.0,
            frame.width(o.start, o.end, 2.0),
            frame.lanes * LANE + 8.0,
            clock(o.start),
            class
        );
    }
}

fn axis(out: &mut String, frame: &Frame) {
    let (duration, height) = (frame.duration, frame.height());
    let step = [
        5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0,
    ]
    .into_iter()
    .find(|s| duration / s <= 10.0)
    .unwrap_or(3600.0);
    let mut t = 0.0;
    while t <= duration + 1e-6 {
        let xp = frame.x(t);
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
    let mut out: String = text.chars().take(HOVER_CHARS).collect();
    if text.chars().count() > HOVER_CHARS {
        out.push('…');
    }
    out
}
