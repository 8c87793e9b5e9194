//! `just bench`: decode → 16 kHz mono, ours against ffmpeg, on an hour of real speech.
//!
//! The hour is built from the voices in `../shared/data/voices` (each converted once to
//! 48 kHz, then looped), encoded as people upload it: AAC/M4A, MP3, Opus/WebM, 48 kHz stereo
//! WAV, plus a three-hour M4A. Inputs are cached in `target/bench-audio`. For each input the
//! same run times `ffmpeg -threads 1 -i IN -ac 1 -ar 16000 -f f32le -` (to /dev/null) and this
//! binary's own `decode` mode, a separate process that streams blocks into a sink and never
//! holds the output, both pinned to core 0 (`taskset -c 0`): our decode thread and resampling
//! thread share that core, so neither side gets a second one. Peak RSS is the child's VmHWM,
//! polled from /proc while it runs.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use vibeinsight::pipeline::decode::{AudioStream, DecodeLimits, KeepChannels};

const HOUR: u64 = 3600;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(pos) = args.iter().position(|a| a == "decode") {
        return decode_to_sink(Path::new(&args[pos + 1]));
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let voices = root.join("../shared/data/voices");
    if !voices.is_dir() {
        println!("bench: {} is absent; skipping", voices.display());
        return Ok(());
    }
    let dir = root.join("target/bench-audio");
    std::fs::create_dir_all(&dir)?;
    let inputs = build_inputs(&voices, &dir)?;
    println!(
        "{:<22} {:>9} {:>9} {:>7} {:>10} {:>10}",
        "input", "ours s", "ffmpeg s", "ratio", "ours MB", "ffmpeg MB"
    );
    let me = std::env::current_exe()?;
    for input in &inputs {
        let ours = measure(pinned().arg(&me).arg("decode").arg(input))?;
        let theirs = measure(
            pinned()
                .args(["ffmpeg", "-nostdin", "-v", "error", "-threads", "1", "-i"])
                .arg(input)
                .args(["-ac", "1", "-ar", "16000", "-f", "f32le", "-"]),
        )?;
        println!(
            "{:<22} {:>9.2} {:>9.2} {:>6.2}x {:>10.1} {:>10.1}",
            input.file_name().and_then(|n| n.to_str()).unwrap_or("?"),
            ours.0.as_secs_f64(),
            theirs.0.as_secs_f64(),
            ours.0.as_secs_f64() / theirs.0.as_secs_f64(),
            ours.1 as f64 / 1048576.0,
            theirs.1 as f64 / 1048576.0,
        );
    }
    Ok(())
}

/// A command pinned to core 0.
fn pinned() -> Command {
    let mut cmd = Command::new("taskset");
    cmd.args(["-c", "0"]);
    cmd
}

/// The measured side: decode, resample and downmix, counting samples into a sink.
fn decode_to_sink(path: &Path) -> anyhow::Result<()> {
    let limits = DecodeLimits {
        max_duration_secs: 4 * HOUR,
    };
    let ext = path.extension().and_then(|e| e.to_str());
    let file = std::fs::File::open(path)?;
    let mut stream = AudioStream::from_source(Box::new(file), ext, limits, KeepChannels::MonoOnly)?;
    let (mut samples, mut energy) = (0u64, 0f64);
    while let Some(block) = stream.next_block()? {
        samples += block.mono.len() as u64;
        energy += block.mono.iter().map(|s| f64::from(s * s)).sum::<f64>();
    }
    eprintln!("{} samples, energy {energy:.1}", samples);
    Ok(())
}

/// Wall time and peak RSS of a child writing to /dev/null.
fn measure(cmd: &mut Command) -> anyhow::Result<(Duration, u64)> {
    let start = Instant::now();
    let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn()?;
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        if let Some(hwm) = std::fs::read_to_string(&status_path)
            .ok()
            .and_then(|s| vm_hwm(&s))
        {
            peak = peak.max(hwm);
        }
        if let Some(status) = child.try_wait()? {
            anyhow::ensure!(status.success(), "{cmd:?} failed: {status}");
            return Ok((start.elapsed(), peak));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn vm_hwm(status: &str) -> Option<u64> {
    let kb = status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?;
    kb.trim()
        .trim_end_matches("kB")
        .trim()
        .parse::<u64>()
        .ok()
        .map(|kb| kb * 1024)
}

fn ffmpeg(args: &[&str]) -> anyhow::Result<()> {
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y"])
        .args(args)
        .status()?;
    anyhow::ensure!(status.success(), "ffmpeg {args:?} failed");
    Ok(())
}

/// One hour of speech as 48 kHz mono s16 PCM, then each encoding; cached between runs.
fn build_inputs(voices: &Path, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let raw = dir.join("speech_1h_48k.s16");
    if !raw.exists() {
        let mut clips = Vec::new();
        for entry in walk(voices)? {
            let ext = entry.extension().and_then(|e| e.to_str()).unwrap_or("");
            if ["wav", "flac", "ogg"].contains(&ext) {
                let out = dir.join(format!("clip{}.s16", clips.len()));
                let (inp, outp) = (entry.to_string_lossy(), out.to_string_lossy());
                ffmpeg(&["-i", &inp, "-ac", "1", "-ar", "48000", "-f", "s16le", &outp])?;
                clips.push(std::fs::read(&out)?);
            }
        }
        anyhow::ensure!(!clips.is_empty(), "no voices found");
        let want = (HOUR * 48_000 * 2) as usize;
        let mut hour = Vec::with_capacity(want);
        while hour.len() < want {
            for clip in &clips {
                hour.extend_from_slice(clip);
            }
        }
        hour.truncate(want);
        std::fs::write(&raw, hour)?;
    }
    let raw = raw.to_string_lossy().into_owned();
    let pcm = ["-f", "s16le", "-ar", "48000", "-ac", "1"];
    let specs: [(&str, &[&str], u32); 5] = [
        (
            "speech_1h.m4a",
            &["-ac", "2", "-c:a", "aac", "-b:a", "128k"],
            1,
        ),
        (
            "speech_1h.mp3",
            &[
                "-ac",
                "2",
                "-ar",
                "44100",
                "-c:a",
                "libmp3lame",
                "-b:a",
                "128k",
            ],
            1,
        ),
        (
            "speech_1h.webm",
            &["-ac", "2", "-c:a", "libopus", "-b:a", "64k"],
            1,
        ),
        (
            "speech_1h_48k_stereo.wav",
            &["-ac", "2", "-c:a", "pcm_s16le"],
            1,
        ),
        (
            "speech_3h.m4a",
            &["-ac", "1", "-c:a", "aac", "-b:a", "64k"],
            3,
        ),
    ];
    let mut inputs = Vec::new();
    // `BENCH_ONLY=webm` (a part of the name) encodes and times only those inputs.
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    for (name, codec, loops) in specs.into_iter().filter(|s| s.0.contains(only.as_str())) {
        let out = dir.join(name);
        if !out.exists() {
            println!("bench: encoding {name} (once)");
            let loops = (loops - 1).to_string();
            let mut args: Vec<&str> = vec!["-stream_loop", &loops];
            args.extend_from_slice(&pcm);
            args.extend_from_slice(&["-i", &raw]);
            args.extend_from_slice(codec);
            let out_s = out.to_string_lossy().into_owned();
            args.push(&out_s);
            ffmpeg(&args)?;
        }
        inputs.push(out);
    }
    Ok(inputs)
}

fn walk(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            files.extend(walk(&path)?);
        } else {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}
