//! Hand-made timelines with the expected metrics worked out in comments.

use super::*;
use crate::domain::Span;

fn span(start: f64, end: f64) -> Span {
    Span { start, end }
}

fn t(speaker: usize, a: f64, b: f64) -> SpeakerTurn {
    SpeakerTurn {
        speaker,
        span: span(a, b),
    }
}
fn dia(turns: Vec<SpeakerTurn>, confidence: f32) -> Diarization {
    Diarization {
        turns,
        overlaps: vec![span(13.0, 14.0)],
        num_speakers: 2,
        confidence,
        count: None,
        mode: Mode::DualChannel,
    }
}
fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-9, "{a} != {b}");
}

/// 0: [0,4) [4.3,8)   → merged (pause 0.3 < 0.5) into one 8 s turn
/// 1: [8.5,14)        → 5.5 s, starts 0.5 s after 0 stops
/// 0: [13,15)         → overlaps 1 by 1 s (0 came in), 2 s turn
/// silence [15,19)    → 4 s, broken by 1
/// 1: [19,20.5)       → 1.5 s
fn timeline() -> Vec<SpeakerTurn> {
    vec![
        t(0, 0.0, 4.0),
        t(0, 4.3, 8.0),
        t(1, 8.5, 14.0),
        t(0, 13.0, 15.0),
        t(1, 19.0, 20.5),
    ]
}

#[test]
fn turns_talk_time_and_gini() {
    let m = measure(&dia(timeline(), 0.9), 20.5);
    let s = m.speakers.value.expect("confident");
    // Speaker 0 talks 8 + 2 = 10 s (the 0.3 s pause is merged into the turn: 3.7 + 4 + 0.3),
    // speaker 1 5.5 + 1.5 = 7 s; ratios 10/17 and 7/17.
    close(s[0].talk_time_s, 10.0);
    close(s[1].talk_time_s, 7.0);
    close(s[0].talk_ratio, 10.0 / 17.0);
    assert_eq!((s[0].turns, s[1].turns), (2, 2));
    close(s[0].mean_turn_s, 5.0);
    close(s[1].median_turn_s, 3.5);
    close(s[0].longest_monologue_s, 8.0);
    // Gini of (10, 7): |10−7|·2 / (2·2²·8.5) = 6 / 68.
    close(m.gini_coefficient.value.unwrap(), 6.0 / 68.0);
}

#[test]
fn floor_changes_overlaps_and_silences() {
    let m = measure(&dia(timeline(), 0.9), 20.5);
    // Floor changes 0→1 (gap 0.5), 1→0 (starts inside: 0), 0→1 (gap 4): 3 in 20.5 s.
    close(m.switches_per_minute.value.unwrap(), 3.0 / (20.5 / 60.0));
    let l = m.response_latency.value.unwrap();
    close(l.median_s, 0.5);
    // p90 of [0, 0.5, 4]: position 1.8 → 0.5 + 0.8·3.5 = 3.3.
    close(l.p90_s, 3.3);
    let o = m.overlaps.value.unwrap();
    assert_eq!(
        o,
        vec![OverlapEvent {
            start: 13.0,
            duration: 1.0,
            started_by: 0,
            overlapped: 1
        }]
    );
    let s = m.silences.value.unwrap();
    assert_eq!(
        s,
        vec![SilenceEvent {
            start: 15.0,
            duration: 4.0,
            broken_by: Some(1)
        }]
    );
}

#[test]
fn a_recording_without_speech_says_so() {
    let m = measure(&dia(Vec::new(), 0.0), 30.0);
    for why in [
        &m.speakers.withheld,
        &m.silences.withheld,
        &m.overlaps.withheld,
    ] {
        assert_eq!(why.as_deref(), Some("no speech found in the recording"));
    }
    assert!(m.gini_coefficient.value.is_none() && m.response_latency.value.is_none());
}

#[test]
fn low_confidence_withholds() {
    let m = measure(&dia(timeline(), 0.3), 20.5);
    assert!(m.speakers.value.is_none());
    assert!(m.speakers.withheld.as_deref().unwrap().contains("0.30"));
    assert!(m.gini_coefficient.value.is_none());
    // Too few floor changes is its own reason, whatever the confidence.
    let short = measure(&dia(vec![t(0, 0.0, 2.0), t(1, 2.5, 4.0)], 0.9), 4.0);
    assert!(short.response_latency.withheld.unwrap().contains("1 floor"));
}

#[test]
fn pause_with_other_speaker_between_is_not_merged() {
    // 1 speaks inside 0's 0.4 s pause, so 0's two segments stay two turns.
    let merged = merge_turns(&[t(0, 0.0, 2.0), t(1, 2.1, 2.3), t(0, 2.4, 4.0)]);
    assert_eq!(merged.len(), 3);
}
