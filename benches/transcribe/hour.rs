//! Wall time of the transcription stage (plan, FLAC-encode, send, stitch) on one hour of
//! two-speaker audio with 1 and N chunks in flight.
//!
//! The hour is en_dev_3min (two LibriSpeech readers, known turns) looped 20 times, levelled
//! and cut by our VAD as the daemon does. Against the real server (CPU Whisper on this
//! machine) the figure says what the server's CPU allows; against the latency stub (the
//! test stub, protocol-exact, answering after `per_request + per_audio_second × audio`,
//! requests overlapping as at a hosted API) it says what N in flight buys from a remote
//! provider. `BENCH_IN_FLIGHT` (default 4) sets N, `BENCH_LATENCY` (default "1.0,0.06")
//! the stub's seconds per request and per audio second. `BENCH_REAL_SECONDS` (default
//! 3600) and `BENCH_REAL_CHUNK` (default 600) cut the real-server runs to the first part of
//! the hour in shorter chunks, for when the shared CPU makes a whole hour take too long;
//! `BENCH_SKIP_STUB=1` / `BENCH_SKIP_REAL=1` skip either set of runs.

use std::time::{Duration, Instant};

use vibeinsight::domain::{ANALYSIS_RATE, Language, Span};
use vibeinsight::pipeline::checkpoint::Kept;
use vibeinsight::pipeline::transcribe::{ChunkingConfig, PriceTable, SttCall, transcribe_chunked};

use crate::recording::load;
use crate::stub::{KEY, Latency, Stub};

const LOOPS: usize = 20;

/// # Errors
/// Decoding, or a transcription request failing.
pub async fn run(url: Option<&str>) -> anyhow::Result<()> {
    let stem = "conversations/simulated/en_dev_3min";
    let Some(rec) = load(&format!("{stem}.wav"), &format!("{stem}.rttm"))? else {
        return Ok(());
    };
    let hour: Vec<f32> = rec.samples.repeat(LOOPS);
    let period = rec.seconds();
    // The VAD of one loop, repeated: the same regions a VAD over the hour finds, without
    // spending a minute of the shared CPU to find them again.
    let speech: Vec<Span> = (0..LOOPS)
        .flat_map(|i| {
            rec.speech.iter().map(move |s| Span {
                start: s.start + i as f64 * period,
                end: s.end + i as f64 * period,
            })
        })
        .collect();
    let n: usize = env_or("BENCH_IN_FLIGHT", 4);
    eprintln!(
        "one hour: {:.0} s of audio, {:.0} s of it speech in {} regions",
        hour.len() as f64 / f64::from(ANALYSIS_RATE),
        speech.iter().map(Span::duration).sum::<f64>(),
        speech.len()
    );
    println!(
        "{:<34} {:>6} {:>9} {:>9} {:>8} {:>10} {:>12}",
        "server", "chunk", "in flight", "requests", "wall s", "audio s", "machine busy"
    );
    if std::env::var_os("BENCH_SKIP_STUB").is_none() {
        stub_runs(&hour, &speech, n).await?;
    }
    match url {
        Some(url) if std::env::var_os("BENCH_SKIP_REAL").is_none() => {
            let seconds: f64 = env_or("BENCH_REAL_SECONDS", 3600.0);
            let chunk: f64 = env_or("BENCH_REAL_CHUNK", 600.0);
            let part = &hour[..((seconds * f64::from(ANALYSIS_RATE)) as usize).min(hour.len())];
            let part_speech: Vec<Span> = speech
                .iter()
                .copied()
                .filter(|s| s.end <= seconds)
                .collect();
            let client = crate::client(url, &crate::api_key(), &crate::model(), Language::En)?;
            let name = format!("real server, first {seconds:.0} s");
            for in_flight in [1, n] {
                measure(&name, &client, part, &part_speech, chunk, in_flight).await?;
            }
        }
        _ => eprintln!("hour: real server skipped (no URL, or BENCH_SKIP_REAL set)"),
    }
    Ok(())
}

async fn stub_runs(hour: &[f32], speech: &[Span], n: usize) -> anyhow::Result<()> {
    let latency = parse_latency()?;
    let stub = Stub::with_latency(latency).await;
    let name = format!(
        "stub {:.2} s + {:.3} s/audio s",
        latency.per_request.as_secs_f64(),
        latency.per_audio_second.as_secs_f64()
    );
    let client = crate::client(&stub.base_url, KEY, "whisper-1", Language::En)?;
    for max_s in [600.0, 120.0] {
        for in_flight in [1, n] {
            measure(&name, &client, hour, speech, max_s, in_flight).await?;
        }
    }
    Ok(())
}

async fn measure(
    server: &str,
    client: &vibeinsight::clients::openai_stt::SttClient,
    samples: &[f32],
    speech: &[Span],
    max_duration_s: f64,
    in_flight: usize,
) -> anyhow::Result<()> {
    let cfg = ChunkingConfig {
        max_duration_s,
        in_flight,
        ..ChunkingConfig::default()
    };
    let cpu = CpuSample::now();
    let started = Instant::now();
    let out = transcribe_chunked(
        SttCall {
            provider: client,
            language: client.language(),
        },
        samples,
        speech,
        &cfg,
        &PriceTable::default(),
        &|_, _| {},
        Kept::none(),
    )
    .await?;
    let wall = started.elapsed().as_secs_f64();
    println!(
        "{server:<34} {max_duration_s:>5.0}s {in_flight:>9} {:>9} {wall:>8.1} {:>10.0} {:>11.0}% load {}",
        out.pieces.len(),
        out.usage.total_audio_seconds(),
        cpu.busy_since() * 100.0,
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    Ok(())
}

fn parse_latency() -> anyhow::Result<Latency> {
    let spec = std::env::var("BENCH_LATENCY").unwrap_or_else(|_| "1.0,0.06".into());
    let parts: Vec<f64> = spec
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("BENCH_LATENCY={spec:?}: {e}"))?;
    let [per_request, per_audio_second] = parts[..] else {
        anyhow::bail!(
            "BENCH_LATENCY={spec:?}: want \"seconds per request,seconds per audio second\""
        );
    };
    Ok(Latency {
        per_request: Duration::from_secs_f64(per_request),
        per_audio_second: Duration::from_secs_f64(per_audio_second),
    })
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Whole-machine CPU counters from /proc/stat, to say how busy the machine was during a run
/// (the server's CPU and everyone else's builds included).
struct CpuSample {
    busy: u64,
    total: u64,
}

impl CpuSample {
    fn now() -> Self {
        let line = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let fields: Vec<u64> = line
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .skip(1)
            .filter_map(|v| v.parse().ok())
            .collect();
        let total: u64 = fields.iter().sum();
        // idle + iowait
        let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
        Self {
            busy: total - idle,
            total,
        }
    }

    fn busy_since(&self) -> f64 {
        let now = Self::now();
        (now.busy - self.busy) as f64 / (now.total - self.total).max(1) as f64
    }
}
