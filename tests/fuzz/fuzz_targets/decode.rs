//! Fuzzes the decode entry point: arbitrary bytes, with each extension hint the worker may
//! pass, through probing, demuxing, decoding, downmixing and resampling to 16 kHz.
//!
//! The property: every input ends in blocks or a typed `AudioError`, never a panic, a hang or
//! unbounded memory (libFuzzer's -timeout and -rss_limit_mb catch the last two).
#![no_main]

use std::collections::HashSet;
use std::sync::{Mutex, Once};

use libfuzzer_sys::fuzz_target;
use vibeinsight::pipeline::decode::{AudioStream, DecodeLimits, KeepChannels};

const HINTS: [Option<&str>; 10] = [
    None,
    Some("wav"),
    Some("flac"),
    Some("mp3"),
    Some("m4a"),
    Some("ogg"),
    Some("webm"),
    Some("opus"),
    Some("mp4"),
    Some("mka"),
];

/// libfuzzer-sys aborts on any panic, even one the decoder catches and turns into
/// `AudioError::Corrupt` (its guard around symphonia). The property under test is that no
/// panic escapes the API, so caught ones are only listed, once per location, and a panic that
/// escapes still aborts: libfuzzer-sys' own `catch_unwind` around this closure sees it.
fn list_caught_panics() {
    static ONCE: Once = Once::new();
    static SEEN: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let at = info
                .location()
                .map_or_else(|| "?".to_owned(), |l| format!("{}:{}", l.file(), l.line()));
            let mut seen = SEEN.lock().unwrap_or_else(|p| p.into_inner());
            if seen.get_or_insert_with(HashSet::new).insert(at.clone()) {
                eprintln!("caught panic at {at}: {info}");
            }
        }));
    });
}

fuzz_target!(|data: &[u8]| {
    list_caught_panics();
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let hint = HINTS[usize::from(selector) % HINTS.len()];
    let keep = if selector & 0x80 == 0 {
        KeepChannels::Analysis
    } else {
        KeepChannels::MonoOnly
    };
    // A short cap keeps each run fast; the length check is part of what is fuzzed.
    let limits = DecodeLimits {
        max_duration_secs: 600,
    };
    let Ok(mut stream) = AudioStream::from_bytes(bytes.to_vec(), hint, limits, keep) else {
        return;
    };
    while let Ok(Some(_)) = stream.next_block() {}
});
