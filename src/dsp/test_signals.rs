//! Deterministic generated signals shared by the unit tests (no RNG crate needed).

/// White noise uniform in `[-amp, amp]` from a xorshift generator.
pub(crate) fn noise(amp: f32, n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.max(1);
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            amp * ((s >> 11) as f32 / (1u64 << 53) as f32 * 2.0 - 1.0)
        })
        .collect()
}
