//! Hand-computed DER cases; each test spells out the arithmetic it checks.

use super::*;

fn r(spk: &str, a: f64, b: f64) -> RefTurn {
    RefTurn {
        speaker: spk.to_owned(),
        span: Span { start: a, end: b },
    }
}
fn h(spk: usize, a: f64, b: f64) -> SpeakerTurn {
    SpeakerTurn {
        speaker: spk,
        span: Span { start: a, end: b },
    }
}
fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-9, "{a} != {b}");
}

#[test]
fn late_switch_is_confusion() {
    // ref A [0,10) B [10,20); hyp 0 [0,12) 1 [12,20). Mapping A→0 (10 s), B→1 (8 s).
    let reference = [r("A", 0.0, 10.0), r("B", 10.0, 20.0)];
    let hyp = [h(0, 0.0, 12.0), h(1, 12.0, 20.0)];
    // full: [10,12) is B labelled 0 → confusion 2 of total 20 → 10 %.
    let full = score(&reference, &hyp, None, Convention::Full);
    close(full.total, 20.0);
    close(full.confusion, 2.0);
    close(full.miss + full.false_alarm, 0.0);
    close(full.der(), 0.10);
    assert_eq!(full.mapping["A"], Some(0));
    // nist: collars [−.25,.25] [9.75,10.25] [19.75,20.25] leave 9.5 + 9.5 = 19 s;
    // confusion shrinks to [10.25,12) = 1.75 s → 1.75 / 19.
    let nist = score(&reference, &hyp, None, Convention::Nist);
    close(nist.total, 19.0);
    close(nist.confusion, 1.75);
    close(nist.der(), 1.75 / 19.0);
    // peers (pyannote collar=0.25): 0.125 s each side leaves 9.75 + 9.75 = 19.5 s;
    // confusion [10.125,12) = 1.875 s.
    let peers = score(&reference, &hyp, None, Convention::Peers);
    close(peers.total, 19.5);
    close(peers.confusion, 1.875);
    close(peers.der(), 1.875 / 19.5);
}

#[test]
fn overlap_miss_and_false_alarm() {
    // ref A [0,4) B [3,6) (overlap [3,4)); hyp 0 [0,3) 1 [3,8).
    let reference = [r("A", 0.0, 4.0), r("B", 3.0, 6.0)];
    let hyp = [h(0, 0.0, 3.0), h(1, 3.0, 8.0)];
    // full: total 4 + 3 = 7; [3,4) has 2 ref vs 1 hyp (B→1 correct) → miss 1;
    // [6,8) hyp only → false alarm 2; DER 3/7.
    let full = score(&reference, &hyp, None, Convention::Full);
    close(full.total, 7.0);
    close(full.miss, 1.0);
    close(full.false_alarm, 2.0);
    close(full.confusion, 0.0);
    close(full.der(), 3.0 / 7.0);
    // nist: excluded = collars around 0, 3, 4, 6 ∪ overlap [3,4)
    // = [−.25,.25] ∪ [2.75,4.25] ∪ [5.75,6.25]; scored within [0,8]:
    // [.25,2.75] (A 2.5 s) [4.25,5.75] (B 1.5 s) [6.25,8] (false alarm 1.75 s).
    let nist = score(&reference, &hyp, None, Convention::Nist);
    close(nist.total, 4.0);
    close(nist.miss, 0.0);
    close(nist.false_alarm, 1.75);
    close(nist.der(), 1.75 / 4.0);
}

#[test]
fn uem_limits_scoring() {
    // hyp 1 talks in [10,15), outside the UEM [0,10): not counted; without UEM it is
    // a 5 s false alarm on 10 s of reference.
    let reference = [r("A", 0.0, 10.0)];
    let hyp = [h(0, 0.0, 10.0), h(1, 10.0, 15.0)];
    let uem = [Span {
        start: 0.0,
        end: 10.0,
    }];
    close(
        score(&reference, &hyp, Some(&uem), Convention::Full).der(),
        0.0,
    );
    close(score(&reference, &hyp, None, Convention::Full).der(), 0.5);
}

#[test]
fn unicode_labels_and_extra_speakers() {
    // ref É [0,4) ñ [4,8); hyp splits É into 0 [0,2) and 2 [2,4): only one of them can map,
    // so 2 s of confusion on 8 s → 25 %.
    let reference = [r("MÉO069", 0.0, 4.0), r("trñ", 4.0, 8.0)];
    let hyp = [h(0, 0.0, 2.0), h(2, 2.0, 4.0), h(1, 4.0, 8.0)];
    let full = score(&reference, &hyp, None, Convention::Full);
    close(full.confusion, 2.0);
    close(full.der(), 0.25);
    assert_eq!(full.mapping["trñ"], Some(1));
}

#[test]
fn talk_ratio_error_in_points() {
    // ref shares A 6/10 = 60 %, B 40 %; hyp 0 [0,5) 1 [5,10) = 50/50 → 10 pp.
    let reference = [r("A", 0.0, 6.0), r("B", 6.0, 10.0)];
    let hyp = [h(0, 0.0, 5.0), h(1, 5.0, 10.0)];
    close(talk_ratio_error(&reference, &hyp, None), 10.0);
    // Perfect hypothesis with swapped labels → 0 after mapping.
    let swapped = [h(1, 0.0, 6.0), h(0, 6.0, 10.0)];
    close(talk_ratio_error(&reference, &swapped, None), 0.0);
}
