//! Test audio: synthetic "words" (tone bursts), decoding with symphonia, shared data files.

use std::path::PathBuf;

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::DecoderOptions;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;
use vibeinsight::domain::{ANALYSIS_RATE, Span};

pub const RATE: f64 = ANALYSIS_RATE as f64;

/// A tone burst standing for one word: its frequency names the word (see `stub::word_for`).
#[derive(Clone, Copy, Debug)]
pub struct Tone {
    pub start: f64,
    pub dur: f64,
    pub freq: f64,
}

/// Renders bursts with 5 ms ramps into `total` seconds of otherwise silent audio.
pub fn synth(tones: &[Tone], total: f64) -> Vec<f32> {
    let mut out = vec![0.0f32; (total * RATE) as usize];
    for t in tones {
        let a = (t.start * RATE) as usize;
        let n = (t.dur * RATE) as usize;
        let ramp = (0.005 * RATE) as usize;
        for i in 0..n.min(out.len().saturating_sub(a)) {
            let env = (i.min(n - i) as f32 / ramp as f32).min(1.0);
            out[a + i] =
                0.3 * env * (2.0 * std::f64::consts::PI * t.freq * i as f64 / RATE).sin() as f32;
        }
    }
    out
}

/// What a VAD would report for the bursts: each burst, joined across short gaps.
pub fn speech_of(tones: &[Tone]) -> Vec<Span> {
    let mut out: Vec<Span> = Vec::new();
    for t in tones {
        let s = Span {
            start: t.start,
            end: t.start + t.dur,
        };
        match out.last_mut() {
            Some(l) if s.start - l.end < 0.3 => l.end = s.end,
            _ => out.push(s),
        }
    }
    out
}

/// Decodes any file symphonia knows into mono f32 and its sample rate.
pub fn decode(bytes: Vec<u8>, ext: &str) -> Result<(Vec<f32>, u32), String> {
    let mss = MediaSourceStream::new(Box::new(std::io::Cursor::new(bytes)), Default::default());
    let mut hint = Hint::new();
    hint.with_extension(ext);
    let probed = symphonia::default::get_probe()
        .format(
            &hint,
            mss,
            &FormatOptions::default(),
            &MetadataOptions::default(),
        )
        .map_err(|e| format!("probe: {e}"))?;
    let mut format = probed.format;
    let track = format.default_track().ok_or("no track")?.clone();
    let rate = track.codec_params.sample_rate.ok_or("no rate")?;
    let mut dec = symphonia::default::get_codecs()
        .make(&track.codec_params, &DecoderOptions::default())
        .map_err(|e| e.to_string())?;
    let mut mono = Vec::new();
    loop {
        let packet = match format.next_packet() {
            Ok(p) => p,
            Err(symphonia::core::errors::Error::IoError(e))
                if e.kind() == std::io::ErrorKind::UnexpectedEof =>
            {
                break;
            }
            Err(e) => return Err(format!("packet: {e:?}")),
        };
        if packet.track_id() != track.id {
            continue;
        }
        let buf = dec.decode(&packet).map_err(|e| format!("decode: {e:?}"))?;
        let ch = buf.spec().channels.count();
        let mut sb = SampleBuffer::<f32>::new(buf.capacity() as u64, *buf.spec());
        sb.copy_interleaved_ref(buf);
        mono.extend(
            sb.samples()
                .chunks(ch)
                .map(|f| f.iter().sum::<f32>() / ch as f32),
        );
    }
    Ok((mono, rate))
}

/// `../shared/data` (or `$VIBEINSIGHT_SHARED_DATA`) when present; prints why when not.
pub fn shared_file(rel: &str) -> Option<PathBuf> {
    let root = std::env::var_os("VIBEINSIGHT_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    let p = root.join(rel);
    if p.exists() {
        Some(p)
    } else {
        crate::prereq::missing(format!(
            "{} not found (shared evaluation data is not part of a clone)",
            p.display()
        ));
        None
    }
}

/// A 16 kHz file from the shared data as mono samples.
pub fn load_16k(rel: &str) -> Option<Vec<f32>> {
    let p = shared_file(rel)?;
    let ext = p
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("wav")
        .to_owned();
    let (s, rate) = decode(std::fs::read(&p).ok()?, &ext).ok()?;
    assert_eq!(rate, ANALYSIS_RATE, "{} is not 16 kHz", p.display());
    Some(s)
}

/// Speaker turns and speech regions from an RTTM file (speakers numbered by first appearance).
pub fn read_rttm(rel: &str) -> Option<Vec<vibeinsight::domain::SpeakerTurn>> {
    let text = std::fs::read_to_string(shared_file(rel)?).ok()?;
    let mut names: Vec<String> = Vec::new();
    let mut turns = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 8 || f[0] != "SPEAKER" {
            continue;
        }
        let (start, dur): (f64, f64) = (f[3].parse().ok()?, f[4].parse().ok()?);
        let speaker = names.iter().position(|n| n == f[7]).unwrap_or_else(|| {
            names.push(f[7].to_owned());
            names.len() - 1
        });
        turns.push(vibeinsight::domain::SpeakerTurn {
            speaker,
            span: Span {
                start,
                end: start + dur,
            },
        });
    }
    Some(turns)
}

/// Union of the turns: the speech regions a perfect VAD would give.
pub fn speech_from_turns(turns: &[vibeinsight::domain::SpeakerTurn]) -> Vec<Span> {
    let mut spans: Vec<Span> = turns.iter().map(|t| t.span).collect();
    spans.sort_by(|a, b| a.start.total_cmp(&b.start));
    let mut out: Vec<Span> = Vec::new();
    for s in spans {
        match out.last_mut() {
            Some(l) if s.start <= l.end => l.end = l.end.max(s.end),
            _ => out.push(s),
        }
    }
    out
}
