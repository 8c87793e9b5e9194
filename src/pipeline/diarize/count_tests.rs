use super::*;

/// `n` unit vectors around voice `v` (an axis of a 16-d space), spread by `spread` on a
/// second axis so that the voice's own embeddings are not identical.
fn voice(v: usize, n: usize, spread: f32) -> Vec<Vec<f32>> {
    (0..n)
        .map(|i| {
            let mut e = [0.0f32; 16];
            e[v] = 1.0;
            e[8 + (i % 8)] = spread * ((i % 3) as f32 - 1.0);
            let norm = e.iter().map(|x| x * x).sum::<f32>().sqrt();
            e.iter().map(|x| x / norm).collect()
        })
        .collect()
}

fn voices(counts: &[usize]) -> Vec<Vec<f32>> {
    counts
        .iter()
        .enumerate()
        .flat_map(|(v, &n)| voice(v, n, 0.2))
        .collect()
}

#[test]
fn distinct_voices_are_counted() {
    let e = estimate(&voices(&[10, 8, 6]), &[1; 24], 8);
    assert_eq!((e.count, e.by_distance), (3, 3));
    assert!(e.certainty > 0.9, "orthogonal voices are sure: {e:?}");
}

#[test]
fn one_voice_is_one_speaker() {
    let e = estimate(&voices(&[20]), &[1; 20], 8);
    assert_eq!(e.count, 1);
    let lone = estimate(&voices(&[1]), &[1], 8);
    assert_eq!(
        (lone.count, lone.certainty),
        (1, 0.0),
        "one embedding proves nothing"
    );
    // Every window heard one voice: that alone does not make the count of one sure.
    let near: Vec<Vec<f32>> = (0..10)
        .map(|i| {
            let t = (1.0 - (DISTINCT_VOICES - 0.01)).acos() * f32::from(u8::from(i >= 5));
            let mut v = vec![0.0f32; 16];
            v[0] = t.cos();
            v[1] = t.sin();
            v
        })
        .collect();
    assert!(estimate(&near, &[1; 10], 8).certainty < 0.2);
}

#[test]
fn an_outlier_is_not_a_speaker() {
    // A cough: one embedding far from everyone, under the least cluster size.
    let e = estimate(&voices(&[12, 10, 1]), &[1; 23], 8);
    assert_eq!(e.count, 2);
}

#[test]
fn two_people_heard_at_once_are_two_even_when_their_embeddings_are_close() {
    // Two voices 0.3 apart in cosine distance: one by distance; the windows heard two.
    let a = voice(0, 10, 0.1);
    let b: Vec<Vec<f32>> = voice(0, 10, 0.1)
        .into_iter()
        .map(|mut v| {
            v[1] = 0.9;
            let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.iter().map(|x| x / n).collect()
        })
        .collect();
    let all: Vec<Vec<f32>> = a.into_iter().chain(b).collect();
    let heard = [vec![1; 4], vec![2; 16]].concat();
    let e = estimate(&all, &heard, 8);
    assert_eq!((e.by_distance, e.heard_at_once, e.count), (1, 2, 2));
    assert!(
        (e.certainty - 0.8).abs() < 1e-6,
        "16 of 20 windows heard two: {e:?}"
    );
}

#[test]
fn the_count_never_exceeds_the_maximum() {
    let e = estimate(&voices(&[4, 4, 4, 4]), &[1; 16], 3);
    assert_eq!((e.by_distance, e.count), (4, 3));
}

#[test]
fn a_merge_at_the_threshold_is_unsure() {
    // Two voices whose centroids sit exactly DISTINCT_VOICES apart.
    let angle = (1.0 - DISTINCT_VOICES).acos();
    let at = |t: f32| {
        let mut v = vec![0.0f32; 16];
        v[0] = t.cos();
        v[1] = t.sin();
        v
    };
    let e: Vec<Vec<f32>> = (0..10)
        .map(|i| at(if i < 5 { 0.0 } else { angle }))
        .collect();
    // No window evidence: only the distances speak.
    assert!(estimate(&e, &[], 8).certainty < 0.05);
}
