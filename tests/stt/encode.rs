//! FLAC chunks decode back (with symphonia, as a server would) to the samples we sent.

use crate::common::audio::{RATE, decode};
use vibeinsight::pipeline::encode::{encode_flac, max_flac_bytes};

#[test]
fn flac_round_trips_through_symphonia() {
    let n = (RATE * 3.3) as usize;
    let x: Vec<f32> = (0..n)
        .map(|i| 0.4 * (i as f32 * 0.031).sin() + 0.1 * (i as f32 * 0.27).cos())
        .collect();
    let flac = encode_flac(&x).unwrap();
    assert!(flac.len() <= max_flac_bytes(3.3));
    let (y, rate) = decode(flac.clone(), "flac").unwrap();
    assert_eq!((rate, y.len()), (16_000, n));
    let max_err = x
        .iter()
        .zip(&y)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(
        max_err <= 1.0 / 32767.0,
        "16-bit quantisation error only, got {max_err}"
    );
    assert!(
        flac.len() < n * 2,
        "tonal audio should compress below raw PCM: {} bytes",
        flac.len()
    );
}
