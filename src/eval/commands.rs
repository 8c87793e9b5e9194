//! The local commands behind `vibeinsight diarize` and `vibeinsight eval diarization`: the
//! product's decoder, VAD and diarizer on files, without the queue or the database.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::domain::ANALYSIS_RATE;
use crate::eval::dataset::{EvalItem, default_root, discover, read_analysis_audio};
use crate::eval::diarization::{self, FileScore, SpeakerCount, mode_name, rttm, table};
use crate::eval::reference::{lookup, parse_rttm, parse_uem};
use crate::pipeline::diarize::{DiarizeOptions, Neural, models};

#[derive(Debug, clap::Args)]
pub struct DiarizeArgs {
    /// Any recording the worker accepts.
    pub file: PathBuf,
    /// Known number of speakers (at most 8); `0` estimates it.
    #[arg(long, default_value_t = 2, value_parser = crate::pipeline::diarize::parse_speaker_count)]
    pub speakers: u8,
    /// Write the turns as RTTM here (the file stem is the recording id).
    #[arg(long)]
    pub rttm: Option<PathBuf>,
    /// Classical path only (no ONNX models).
    #[arg(long)]
    pub classical: bool,
}

#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    #[command(subcommand)]
    pub what: EvalWhat,
}

#[derive(Debug, clap::Subcommand)]
pub enum EvalWhat {
    /// DER (full and nist), miss / false alarm / confusion and talk-ratio error.
    Diarization(EvalDiarizationArgs),
}

#[derive(Debug, clap::Args)]
pub struct EvalDiarizationArgs {
    /// One recording (needs --ref).
    #[arg(long, conflicts_with = "dir")]
    pub audio: Option<PathBuf>,
    /// Its reference RTTM.
    #[arg(long = "ref", requires = "audio")]
    pub reference: Option<PathBuf>,
    /// Its scoring regions.
    #[arg(long, requires = "audio")]
    pub uem: Option<PathBuf>,
    /// Every annotated WAV under DIR/*/ (default: the shared conversations, when present).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Speaker count given to the diarizer: the reference's (default), a number, or `auto`.
    #[arg(long, default_value = "ref")]
    pub speakers: String,
    /// Classical path only (no ONNX models).
    #[arg(long)]
    pub classical: bool,
    /// Score a peer's answers instead of running the diarizer: `DIR/<stem>.rttm` per
    /// recording (e.g. written by `.ci/sherpa-diarize.py`, see `just eval-peer`).
    #[arg(long, value_name = "DIR")]
    pub hyp: Option<PathBuf>,
}

fn options(classical: bool) -> DiarizeOptions {
    DiarizeOptions {
        neural: if classical { Neural::Off } else { Neural::Auto },
        ..DiarizeOptions::default()
    }
}

/// `vibeinsight diarize`: prints the timeline and optionally writes RTTM.
///
/// # Errors
/// Undecodable input, a diarizer failure, or an unwritable RTTM path.
pub fn diarize(args: DiarizeArgs) -> anyhow::Result<()> {
    let audio = read_analysis_audio(&args.file)?;
    let opts = DiarizeOptions {
        num_speakers: (args.speakers > 0).then_some(usize::from(args.speakers)),
        ..options(args.classical)
    };
    let timed = diarization::run(&audio, &opts)?;
    let d = &timed.diarization;
    if let Some(reason) = models::fallback_reason(opts.neural, d.mode) {
        eprintln!("warning: diarization ran in degraded mode: {reason}");
    }
    let duration = audio.mono.len() as f64 / f64::from(ANALYSIS_RATE);
    println!(
        "{}: {duration:.1} s, {} speakers, {} turns, mode {}, confidence {:.2}, {:.2} s",
        args.file.display(),
        d.num_speakers,
        d.turns.len(),
        mode_name(d.mode),
        d.confidence,
        timed.wall_s
    );
    for t in &d.turns {
        println!(
            "{:>9.2} {:>9.2}  speaker_{}",
            t.span.start, t.span.end, t.speaker
        );
    }
    if let Some(out) = args.rttm {
        let id = stem(&args.file);
        std::fs::write(&out, rttm(&id, &d.turns))
            .with_context(|| format!("writing {}", out.display()))?;
        println!("wrote {}", out.display());
    }
    Ok(())
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `vibeinsight eval …`.
///
/// # Errors
/// See [`eval_diarization`].
pub fn eval(args: EvalArgs) -> anyhow::Result<()> {
    match args.what {
        EvalWhat::Diarization(a) => eval_diarization(a),
    }
}

/// Scores one file or a directory and prints the table; a missing default directory is a
/// skip (said on stdout), not an error.
///
/// # Errors
/// Unreadable inputs or references, or a diarizer failure.
pub fn eval_diarization(args: EvalDiarizationArgs) -> anyhow::Result<()> {
    let count = parse_count(&args.speakers)?;
    let items = match (&args.audio, &args.dir) {
        (Some(audio), _) => vec![single_item(
            audio,
            args.reference.as_deref(),
            args.uem.as_deref(),
        )?],
        (None, Some(dir)) => discover(dir)?,
        (None, None) => {
            let Some(root) = default_root() else {
                println!("skipping: ../shared/data/conversations not found (set VIBEINSIGHT_DATA)");
                return Ok(());
            };
            discover(&root)?
        }
    };
    if items.is_empty() {
        bail!("no annotated recordings found");
    }
    let base = options(args.classical);
    let mut rows: Vec<FileScore> = Vec::new();
    for item in &items {
        let row = match &args.hyp {
            Some(dir) => diarization::score_hypothesis(item, dir)?,
            None => diarization::evaluate(item, count, &base)?,
        };
        // Progress on stderr so a long batch shows life; the table goes to stdout at the end.
        eprintln!("{}: DER nist {:.2} %", row.name, 100.0 * row.nist.der());
        rows.push(row);
    }
    print!("{}", table(&rows));
    Ok(())
}

fn parse_count(s: &str) -> anyhow::Result<SpeakerCount> {
    Ok(match s {
        "ref" => SpeakerCount::Reference,
        "auto" | "0" => SpeakerCount::Estimate,
        n => SpeakerCount::Fixed(n.parse().context("--speakers: ref, auto or a number")?),
    })
}

fn single_item(
    audio: &Path,
    reference: Option<&Path>,
    uem: Option<&Path>,
) -> anyhow::Result<EvalItem> {
    let reference = reference.context("--audio needs --ref")?;
    let read =
        |p: &Path| std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()));
    let refs = parse_rttm(&read(reference)?).with_context(|| reference.display().to_string())?;
    let id = stem(audio);
    // A reference for exactly one recording applies whatever its id; otherwise match the stem.
    let turns = match lookup(&refs, &id) {
        Some(t) => t.clone(),
        None if refs.len() == 1 => refs.into_values().next().unwrap_or_default(),
        None => bail!("{} has no turns for recording {id}", reference.display()),
    };
    let uem = match uem {
        Some(p) => {
            let all = parse_uem(&read(p)?).with_context(|| p.display().to_string())?;
            Some(
                lookup(&all, &id)
                    .cloned()
                    .context(format!("{} has no region for {id}", p.display()))?,
            )
        }
        None => None,
    };
    Ok(EvalItem {
        name: id,
        audio_path: audio.to_path_buf(),
        turns,
        uem,
    })
}
