//! Word and character error rates, and a crude energy VAD for real recordings.

use vibeinsight::domain::Span;

use super::audio::RATE;

/// Levenshtein distance between token sequences.
pub fn edit_distance<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, x) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, y) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(x != y))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

pub fn en_tokens(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| c.is_whitespace() || (c.is_ascii_punctuation() && c != '\''))
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// WER of `hyp` against `reference` (English, case and punctuation ignored).
pub fn wer(reference: &str, hyp: &str) -> f64 {
    let (r, h) = (en_tokens(reference), en_tokens(hyp));
    edit_distance(&r, &h) as f64 / r.len().max(1) as f64
}

/// CER (Japanese: punctuation and spaces ignored).
pub fn cer(reference: &str, hyp: &str) -> f64 {
    let chars = |s: &str| {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .collect::<Vec<char>>()
    };
    let (r, h) = (chars(reference), chars(hyp));
    edit_distance(&r, &h) as f64 / r.len().max(1) as f64
}

/// Frames of 30 ms louder than 40 dB below the loudest frame, joined across gaps under
/// 0.5 s and kept when longer than 0.2 s. Good enough for clean test recordings only.
pub fn energy_vad(x: &[f32]) -> Vec<Span> {
    let frame = (0.03 * RATE) as usize;
    let db: Vec<f32> = x
        .chunks(frame)
        .map(|c| 10.0 * (c.iter().map(|v| v * v).sum::<f32>() / c.len() as f32 + 1e-12).log10())
        .collect();
    let top = db.iter().copied().fold(f32::MIN, f32::max);
    let mut spans: Vec<Span> = Vec::new();
    for (i, d) in db.iter().enumerate() {
        if *d < top - 40.0 || *d < -60.0 {
            continue;
        }
        let s = Span {
            start: i as f64 * 0.03,
            end: (i + 1) as f64 * 0.03,
        };
        match spans.last_mut() {
            Some(l) if s.start - l.end < 0.5 => l.end = s.end,
            _ => spans.push(s),
        }
    }
    spans.retain(|s| s.duration() >= 0.2);
    spans
}
