//! Lexical metrics on small Japanese and English transcripts.

use vibeinsight::domain::{Language, Span, TranscriptSegment, Word};
use vibeinsight::pipeline::lexical::{
    QuestionKind, classify_question, count_fillers, is_backchannel, is_backchannel_overlap,
    lexical_metrics,
};

fn seg(speaker: usize, start: f64, end: f64, text: &str) -> TranscriptSegment {
    TranscriptSegment {
        span: Span { start, end },
        speaker: Some(speaker),
        text: text.into(),
        words: vec![],
        confidence: None,
    }
}

#[test]
fn japanese_questions_are_open_or_closed() {
    let q = |s| classify_question(s, Language::Ja);
    assert_eq!(q("最近どうですか？"), Some(QuestionKind::Open));
    assert_eq!(q("何が一番大変でしたか。"), Some(QuestionKind::Open));
    assert_eq!(
        q("それは今週できそうでしょうか。"),
        Some(QuestionKind::Closed)
    );
    assert_eq!(q("もう始めますか"), Some(QuestionKind::Closed));
    assert_eq!(q("どうしたの"), Some(QuestionKind::Open));
    assert_eq!(q("大丈夫なの？"), Some(QuestionKind::Closed));
    assert_eq!(q("昨日は会議がありました。"), None);
    assert_eq!(q("そうですか。"), None);
    assert_eq!(q("あの人の話です。"), None);
}

#[test]
fn english_questions_are_open_or_closed() {
    let q = |s| classify_question(s, Language::En);
    assert_eq!(
        q("What would success look like for you?"),
        Some(QuestionKind::Open)
    );
    assert_eq!(q("How did that feel"), Some(QuestionKind::Open));
    assert_eq!(
        q("Did you talk to your manager"),
        Some(QuestionKind::Closed)
    );
    assert_eq!(q("Is that right?"), Some(QuestionKind::Closed));
    assert_eq!(q("So you finished it?"), Some(QuestionKind::Closed));
    assert_eq!(q("I did it yesterday."), None);
    assert_eq!(q("Do it now."), None);
}

#[test]
fn backchannels_in_both_languages() {
    for s in [
        "はい",
        "はい、そうですね。",
        "うんうん",
        "なるほど",
        "へえー",
    ] {
        assert!(is_backchannel(s, Language::Ja), "{s}");
    }
    for s in [
        "はい、来週までにやります。",
        "そうですね、難しいと思います。",
    ] {
        assert!(!is_backchannel(s, Language::Ja), "{s}");
    }
    for s in ["Yeah.", "mm-hm", "Right, right.", "Oh, I see."] {
        assert!(is_backchannel(s, Language::En), "{s}");
    }
    assert!(!is_backchannel("Yeah, but I disagree.", Language::En));
}

#[test]
fn overlap_words_tell_backchannel_from_interruption() {
    let w = |s: f64, e: f64, t: &str| Word {
        span: Span { start: s, end: e },
        text: t.into(),
        probability: None,
    };
    assert!(is_backchannel_overlap(
        &[w(1.0, 1.3, "うん"), w(1.3, 1.6, "うん")],
        Language::Ja
    ));
    assert!(!is_backchannel_overlap(
        &[w(1.0, 1.3, "Wait,"), w(1.3, 1.6, "no")],
        Language::En
    ));
    assert!(!is_backchannel_overlap(&[], Language::En));
}

#[test]
fn fillers_skip_demonstratives_and_verbs() {
    assert_eq!(
        count_fillers(
            "えーと、あの、その件ですが、あの人に聞きました。",
            Language::Ja
        ),
        2
    );
    assert_eq!(
        count_fillers("Um, I was, like, not sure. I like it, uh.", Language::En),
        3
    );
}

#[test]
fn metrics_per_speaker() {
    let segs = [
        seg(
            0,
            0.0,
            30.0,
            "最近どうですか？えーと、何か困っていることはありますか。",
        ),
        seg(1, 30.0, 60.0, "はい。"),
        seg(1, 60.0, 90.0, "はい、仕事が忙しくて大変です。"),
    ];
    let m = lexical_metrics(&segs, Language::Auto);
    assert_eq!(m.language, "ja");
    let coach = &m.speakers["speaker_0"];
    assert_eq!(
        (coach.questions_open, coach.questions_closed, coach.fillers),
        (2, 0, 1)
    );
    assert!((coach.fillers_per_minute - 2.0).abs() < 1e-9);
    let chars = "最近どうですかえーと何か困っていることはありますか"
        .chars()
        .count() as f64;
    assert!(
        (coach.speech_rate - chars * 2.0).abs() < 1e-9,
        "{}",
        coach.speech_rate
    );
    assert_eq!(m.speakers["speaker_1"].backchannels, 1);
    assert!(
        serde_json::to_string(&m)
            .unwrap()
            .contains("chars_per_minute")
    );
}
