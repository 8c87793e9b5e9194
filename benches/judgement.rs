//! `just bench-judgement`: how often a real LLM's coaching assessment passes validation.
//!
//! The judgement stage ([`assess`]) asks the model once, validates the answer
//! ([`validate::validate`]) and, when it fails, asks once more with the problems listed. This
//! bench measures, on the shared dev recordings and a real model, how often the first answer
//! is valid, how often the repair rescues it, and which validation errors occur, so that a
//! change to the prompt or the schema can be compared before and after on the same inputs.
//!
//! Two phases, so that the slow transcription runs once and the judge can be re-run on any
//! later version of the code:
//!
//! - `inputs STT_URL`: each recording through [`analyze_file`] (the real Whisper server, the
//!   recording's language, 2 speakers, no LLM); the transcript and the measured metrics are
//!   cached as JSON in `$JUDGEMENT_INPUTS` (default `../judgement-inputs`, beside the
//!   repository). A session whose measurements are withheld (low diarization confidence) is
//!   cached as withheld: production never judges it, so neither does this bench.
//! - `judge LLM_URL MODEL`: [`assess`] on each cached input `$JUDGEMENT_RUNS` times (default 1)
//!   through a provider that records every request and answer. The final assessment answers
//!   (not the part summaries of a long session) are validated again, independently of what
//!   `assess` returned, and each error is classified by its wording ([`error_kind`]). Prints
//!   a table per recording and totals, and writes the raw results, answer texts included, to
//!   `$JUDGEMENT_RESULTS/MODEL.json` (default `../judgement-results`).
//!
//! ```sh
//! export ORT_DYLIB_PATH=$(just onnx)     # neural diarization, as in production
//! cargo bench --bench judgement -- inputs "$(just stt)"
//! BASE=$(../shared/tools/llm-server/start.sh)              # LLM_MODEL=1.5b for the larger one
//! JUDGEMENT_RUNS=2 cargo bench --bench judgement -- judge "$BASE" qwen2.5-coder-0.5b-instruct
//! ```
//!
//! Other environment: `VIBEINSIGHT_SHARED_DATA` (default `../shared/data`), `JUDGEMENT_ONLY`
//! (run only the recordings whose name contains it), `JUDGEMENT_TIMEOUT_SECS` (per LLM call,
//! default 900), `LLM_API_KEY` (when the chat server wants a key), `STT_API_KEY` and
//! `VIBEINSIGHT_TEST_STT_MODEL` (as in `benches/transcribe`). Never part of `cargo test`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::FutureExt;
use futures::future::BoxFuture;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use vibeinsight::clients::llm::{LlmError, LlmProvider, LlmRequest, LlmResponse, Written};
use vibeinsight::clients::openai_chat::OpenAiChatClient;
use vibeinsight::config::Settings;
use vibeinsight::domain::{Language, TranscriptSegment};
use vibeinsight::pipeline::assess::inputs::MeasuredMetrics;
use vibeinsight::pipeline::assess::{
    AssessInput, AssessOptions, OnOutage, assess, prompt, roles, validate,
};
use vibeinsight::pipeline::outcome::Judged;
use vibeinsight::pipeline::progress::{ProgressSink, ProgressUpdate};
use vibeinsight::pipeline::{Deps, JobSpec, Outcome, Source, analyze_file};
use vibeinsight::storage::Storage;

/// `LlmRequest::schema_name` of the final assessment; other requests are part summaries.
const ASSESSMENT_SCHEMA: &str = "coaching_assessment";

/// The pseudo-kind of an answer that never came (HTTP error, timeout, truncated output).
const CALL_FAILED: &str = "call_failed";

/// Validation error kinds, recognised by the wording of `assess/validate.rs`, in the order
/// they are tried. Quote errors embed free text (the quote, the segment), so they are
/// recognised by how their message ends, before any pattern that free text could contain.
const KINDS: &[(&str, Match)] = &[
    ("json", Match::Contains("not valid JSON")),
    ("quote_mismatch", Match::EndsWith("copy words exactly")),
    (
        "quote_too_short",
        Match::EndsWith("too short to identify a moment"),
    ),
    ("segment_out_of_range", Match::Contains("does not exist")),
    (
        "unknown_metric",
        Match::Contains("is not a measured number"),
    ),
    ("wrong_measured_value", Match::Contains("was measured as")),
    ("emotion_split", Match::Contains("summing to 100")),
    ("speaker_index", Match::Contains("not one of the speakers")),
    ("style", Match::Contains("not in the catalogue")),
    (
        "prescription_count",
        Match::Contains("given, 3 to 5 required"),
    ),
    ("no_examples", Match::Contains("has no examples")),
    ("emotion_speakers", Match::Contains("lists speaker")),
    ("emotion_speakers", Match::Contains("is missing speaker")),
    ("score_range", Match::Contains("is outside 1..5")),
    ("empty_action", Match::Contains(".action is empty")),
];

#[derive(Clone, Copy)]
enum Match {
    Contains(&'static str),
    EndsWith(&'static str),
}

/// The recordings judged: the shared dev conversations.
struct Recording {
    name: &'static str,
    /// Under `$VIBEINSIGHT_SHARED_DATA/conversations`.
    file: &'static str,
    language: Language,
}

static RECORDINGS: [Recording; 6] = [
    rec(
        "pyannote_sample",
        "pyannote_sample/sample.wav",
        Language::En,
    ),
    rec("en_dev_3min", "simulated/en_dev_3min.wav", Language::En),
    rec("ja_dev_3min", "simulated/ja_dev_3min.wav", Language::Ja),
    rec(
        "ja_dev_2min_stereo",
        "simulated/ja_dev_2min_stereo.wav",
        Language::Ja,
    ),
    rec("ami_dev00", "ami_debug/dev00.wav", Language::En),
    rec("ami_dev01", "ami_debug/dev01.wav", Language::En),
];

const fn rec(name: &'static str, file: &'static str, language: Language) -> Recording {
    Recording {
        name,
        file,
        language,
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // `cargo bench` appends `--bench`; everything else is ours.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let arg = |i: usize| args.get(i).map(String::as_str).filter(|a| !a.is_empty());
    match (arg(0), arg(1), arg(2)) {
        (Some("inputs"), Some(stt_url), _) => cache_inputs(stt_url).await,
        (Some("judge"), Some(llm_url), Some(model)) => judge_all(llm_url, model).await,
        _ => anyhow::bail!("usage: judgement inputs STT_URL | judgement judge LLM_URL MODEL"),
    }
}

// ---------------------------------------------------------------------------------------
// Phase 1: inputs

/// What the assessment reads, as the pipeline produced it for one recording.
#[derive(Serialize, Deserialize)]
struct CachedInput {
    name: String,
    source: String,
    language: Language,
    stt_model: String,
    /// Why the measurements were withheld; `None` when the session is judged.
    withheld: Option<String>,
    /// `mode`, `num_speakers`, `confidence` of the diarization.
    diarization: Value,
    segments: Vec<TranscriptSegment>,
    /// `MeasuredMetrics` as JSON (what `AssessInput::metrics` takes); `null` when withheld.
    metrics: Value,
}

struct Quiet;

impl ProgressSink for Quiet {
    fn report(&self, _: ProgressUpdate) {}
}

async fn cache_inputs(stt_url: &str) -> anyhow::Result<()> {
    if std::env::var_os("ORT_DYLIB_PATH").is_none() {
        eprintln!(
            "WARNING: ORT_DYLIB_PATH is not set; diarization takes the classical path, not production's"
        );
    }
    let dir = inputs_dir();
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let deps = stt_only_deps(stt_url).await?;
    println!(
        "{:<20} {:>4} {:>8} {:>5} {:<11} {:>5}  judged?",
        "recording", "lang", "audio s", "segs", "diarization", "conf"
    );
    for rec in selected() {
        let Some(path) = shared_file(&format!("conversations/{}", rec.file)) else {
            continue;
        };
        let started = Instant::now();
        let outcome = analyze(&deps, &path, rec.language)
            .await
            .with_context(|| format!("analysing {}", path.display()))?;
        let input = CachedInput::new(rec, &path, &deps, outcome);
        let file = dir.join(format!("{}.json", rec.name));
        write_json(&file, &input)?;
        print_input(&input, started.elapsed());
    }
    println!("cached in {}", dir.display());
    Ok(())
}

/// Settings loaded as the daemon loads them, pointed at the Whisper server, with no LLM.
async fn stt_only_deps(stt_url: &str) -> anyhow::Result<Deps> {
    let mut env: HashMap<String, String> = std::env::vars().collect();
    let stt_model = env_or("VIBEINSIGHT_TEST_STT_MODEL", "openai/whisper-base");
    let stt_key = env_or("STT_API_KEY", "no-key");
    for (k, v) in [
        ("VIBEINSIGHT__STT__PROVIDER", "openai"),
        ("VIBEINSIGHT__STT__BASE_URL", stt_url),
        ("VIBEINSIGHT__STT__MODEL", &stt_model),
        ("VIBEINSIGHT__STT__API_KEY", &stt_key),
        // A local CPU server shared with other work: slow is not broken.
        ("VIBEINSIGHT__STT__TIMEOUT_SECS", "600"),
        ("VIBEINSIGHT__LLM__PROVIDER", "none"),
    ] {
        env.entry(k.to_owned()).or_insert_with(|| v.to_owned());
    }
    let settings = Settings::load_from(None, &env)?;
    Ok(Deps {
        // Measured parts only: no judgement, whatever the environment configures.
        llm: None,
        ..Deps::from_settings(Storage::from_settings(&settings.storage).await?, &settings)?
    })
}

async fn analyze(deps: &Deps, path: &Path, language: Language) -> anyhow::Result<Outcome> {
    let source = Source {
        path: path.to_path_buf(),
        extension: path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase),
        bytes: std::fs::metadata(path)?.len(),
    };
    let job = JobSpec {
        session_id: uuid::Uuid::new_v4(),
        audio_path: path.display().to_string(),
        language,
        num_speakers: Some(2),
    };
    analyze_file(&source, &job, deps, &Quiet)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
}

impl CachedInput {
    fn new(rec: &Recording, path: &Path, deps: &Deps, outcome: Outcome) -> Self {
        let d = &outcome.measured.metrics["diarization"];
        let diarization = serde_json::json!({
            "mode": d["mode"], "num_speakers": d["num_speakers"], "confidence": d["confidence"],
        });
        let (withheld, metrics) = match &outcome.assessment {
            Some(a) => (
                None,
                serde_json::to_value(&a.metrics).unwrap_or(Value::Null),
            ),
            None => {
                let reason = match outcome.judged() {
                    Judged::Withheld(reason) => reason,
                    Judged::Assessed(_) => "measurements withheld",
                };
                (Some(reason.to_owned()), Value::Null)
            }
        };
        Self {
            name: rec.name.to_owned(),
            source: path.display().to_string(),
            language: rec.language,
            stt_model: deps
                .stt
                .provider
                .as_ref()
                .map_or_else(|| "none".to_owned(), |p| p.model().to_owned()),
            withheld,
            diarization,
            segments: outcome.measured.segments,
            metrics,
        }
    }
}

fn print_input(input: &CachedInput, took: Duration) {
    let d = &input.diarization;
    let judged = input
        .withheld
        .as_deref()
        .map_or_else(|| "yes".to_owned(), |r| format!("WITHHELD: {r}"));
    println!(
        "{:<20} {:>4} {:>8.1} {:>5} {:<11} {:>5.2}  {judged}  ({:.0} s)",
        input.name,
        lang(input.language),
        input.metrics["duration_s"].as_f64().unwrap_or(f64::NAN),
        input.segments.len(),
        d["mode"].as_str().unwrap_or("?"),
        d["confidence"].as_f64().unwrap_or(f64::NAN),
        took.as_secs_f64()
    );
}

// ---------------------------------------------------------------------------------------
// Phase 2: judge

/// One LLM call as the recording provider saw it.
#[derive(Clone)]
struct Call {
    request: LlmRequest,
    seconds: f64,
    answer: Result<LlmResponse, String>,
}

/// An [`LlmProvider`] that forwards to the real client and keeps every request and answer.
struct Recorder {
    inner: OpenAiChatClient,
    calls: Mutex<Vec<Call>>,
}

impl Recorder {
    /// The calls since the last `take`.
    fn take(&self) -> Vec<Call> {
        std::mem::take(&mut *self.calls.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl LlmProvider for Recorder {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn model(&self) -> &str {
        self.inner.model()
    }
    fn generate<'a>(
        &'a self,
        req: &'a LlmRequest,
        written: Written<'a>,
    ) -> BoxFuture<'a, Result<LlmResponse, LlmError>> {
        async move {
            let started = Instant::now();
            let result = self.inner.generate(req, written).await;
            let call = Call {
                request: req.clone(),
                seconds: started.elapsed().as_secs_f64(),
                answer: match &result {
                    Ok(r) => Ok(r.clone()),
                    Err(e) => Err(e.to_string()),
                },
            };
            self.calls
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(call);
            result
        }
        .boxed()
    }
}

/// One final-assessment answer, validated again here.
#[derive(Serialize)]
struct Answer {
    valid: bool,
    /// The validator's sentences (or the call's error), one per problem.
    errors: Vec<String>,
    /// [`error_kind`] of each entry of `errors`, in the same order.
    kinds: Vec<String>,
    seconds: f64,
    input_tokens: u64,
    output_tokens: u64,
    /// `None` when the call failed.
    text: Option<String>,
}

/// One `assess` call on one recording.
#[derive(Serialize)]
struct RunResult {
    recording: String,
    language: Language,
    run: usize,
    segments: usize,
    /// Wall time of the whole `assess` call.
    wall_s: f64,
    /// `ok`, or the error `assess` returned.
    assess_result: String,
    /// Calls other than the final assessment (part summaries of a long session).
    other_calls: Vec<String>,
    input_tokens: u64,
    output_tokens: u64,
    /// The final assessment answers: the first and, when it failed, the repair.
    answers: Vec<Answer>,
}

impl RunResult {
    fn valid_first(&self) -> bool {
        self.answers.first().is_some_and(|a| a.valid)
    }
    fn valid_after_repair(&self) -> bool {
        self.answers.iter().any(|a| a.valid)
    }
    /// Whether the repair answer is the first answer again, word for word.
    fn repair_repeated(&self) -> bool {
        match (self.answers.first(), self.answers.get(1)) {
            (Some(a), Some(b)) => a.text.is_some() && a.text == b.text,
            _ => false,
        }
    }
    /// Whether our classification agrees with what `assess` returned.
    fn consistent(&self) -> bool {
        self.valid_after_repair() == (self.assess_result == "produced")
    }
}

/// The request a recording's assessment sends (first run), kept for before/after diffs.
#[derive(Serialize)]
struct Prompt {
    system: String,
    user: String,
    schema: Value,
}

#[derive(Serialize)]
struct Results {
    model: String,
    base_url: String,
    /// `git describe --always --dirty` of the code measured.
    code: Option<String>,
    prompt_version: &'static str,
    runs_per_input: usize,
    started_at: String,
    finished_at: Option<String>,
    withheld: BTreeMap<String, String>,
    prompts: BTreeMap<String, Prompt>,
    runs: Vec<RunResult>,
}

async fn judge_all(llm_url: &str, model: &str) -> anyhow::Result<()> {
    let runs = env_or("JUDGEMENT_RUNS", "1")
        .parse::<usize>()
        .context("JUDGEMENT_RUNS must be a count")?;
    let timeout = env_or("JUDGEMENT_TIMEOUT_SECS", "900")
        .parse::<u64>()
        .context("JUDGEMENT_TIMEOUT_SECS must be seconds")?;
    let key = std::env::var("LLM_API_KEY").ok().map(SecretString::from);
    let client = OpenAiChatClient::new(
        llm_url.to_owned(),
        model.to_owned(),
        key,
        Duration::from_secs(timeout),
    )?;
    let provider = Recorder {
        inner: client,
        calls: Mutex::new(Vec::new()),
    };
    let out = results_dir().join(format!("{model}.json"));
    let mut results = Results {
        model: model.to_owned(),
        base_url: llm_url.to_owned(),
        code: code_version(),
        prompt_version: prompt::PROMPT_VERSION,
        runs_per_input: runs,
        started_at: chrono::Utc::now().to_rfc3339(),
        finished_at: None,
        withheld: BTreeMap::new(),
        prompts: BTreeMap::new(),
        runs: Vec::new(),
    };
    for input in load_inputs()? {
        if let Some(reason) = &input.withheld {
            println!("{}: SKIPPED, measurements withheld ({reason})", input.name);
            results.withheld.insert(input.name.clone(), reason.clone());
            continue;
        }
        for run in 1..=runs {
            let (result, prompt) = judge_once(&provider, &input, run).await?;
            print_run(&result);
            if let Some(p) = prompt {
                results.prompts.entry(input.name.clone()).or_insert(p);
            }
            results.runs.push(result);
            write_json(&out, &results)?; // after every run: a long session survives a crash
        }
    }
    results.finished_at = Some(chrono::Utc::now().to_rfc3339());
    write_json(&out, &results)?;
    print_tables(&results);
    println!("\nraw results: {}", out.display());
    Ok(())
}

async fn judge_once(
    provider: &Recorder,
    input: &CachedInput,
    run: usize,
) -> anyhow::Result<(RunResult, Option<Prompt>)> {
    let metrics = MeasuredMetrics::from_json(&input.metrics)
        .with_context(|| format!("{}: cached metrics do not parse", input.name))?;
    let assess_input = AssessInput {
        segments: &input.segments,
        language: input.language,
        metrics: &metrics,
        on_outage: OnOutage::Settle,
        written: &|_| {},
    };
    provider.take();
    let started = Instant::now();
    let outcome = assess(Some(provider), &assess_input, &AssessOptions::default()).await;
    let wall_s = started.elapsed().as_secs_f64();
    let calls = provider.take();
    let (finals, others): (Vec<&Call>, Vec<&Call>) = calls
        .iter()
        .partition(|c| c.request.schema_name == ASSESSMENT_SCHEMA);
    let prompt = finals.first().map(|c| Prompt {
        system: c.request.system.clone(),
        user: c.request.user.clone(),
        schema: c.request.schema.clone(),
    });
    let tokens = |f: fn(&LlmResponse) -> u64| -> u64 {
        calls
            .iter()
            .filter_map(|c| c.answer.as_ref().ok())
            .map(f)
            .sum()
    };
    let result = RunResult {
        recording: input.name.clone(),
        language: input.language,
        run,
        segments: input.segments.len(),
        wall_s,
        assess_result: outcome.map_or_else(|e| e.to_string(), |a| a.judgement.name().to_owned()),
        other_calls: others
            .iter()
            .map(|c| c.request.schema_name.clone())
            .collect(),
        input_tokens: tokens(|r| r.usage.input_tokens),
        output_tokens: tokens(|r| r.usage.output_tokens),
        answers: finals
            .iter()
            .map(|c| check_answer(c, &input.segments, &metrics))
            .collect(),
    };
    Ok((result, prompt))
}

fn check_answer(call: &Call, segments: &[TranscriptSegment], metrics: &MeasuredMetrics) -> Answer {
    let (errors, kinds, text, usage) = match &call.answer {
        Ok(r) => {
            let errors = validation_errors(&r.text, segments, metrics);
            let kinds = errors.iter().map(|e| error_kind(e).to_owned()).collect();
            (errors, kinds, Some(r.text.clone()), r.usage)
        }
        Err(e) => (
            vec![e.clone()],
            vec![CALL_FAILED.to_owned()],
            None,
            Default::default(),
        ),
    };
    Answer {
        valid: errors.is_empty(),
        errors,
        kinds,
        seconds: call.seconds,
        input_tokens: usage.input_tokens,
        output_tokens: usage.output_tokens,
        text,
    }
}

/// The project's validation of the final answer, with the evidence `assess` gives it. The one
/// place that touches the validation API: adapt it here if that API changes.
fn validation_errors(
    text: &str,
    segments: &[TranscriptSegment],
    metrics: &MeasuredMetrics,
) -> Vec<String> {
    let speakers = roles::assign(metrics, segments, None).speakers;
    let citable = metrics.citable();
    let evidence = validate::Evidence {
        segments,
        speakers: &speakers,
        citable: &citable,
    };
    validate::validate(text, &evidence)
        .err()
        .unwrap_or_default()
}

/// The kind of one validation error, from its wording (see [`KINDS`]); `other` when unknown.
fn error_kind(error: &str) -> &'static str {
    let hit = |m: &Match| match *m {
        Match::Contains(p) => error.contains(p),
        Match::EndsWith(p) => error.trim_end().ends_with(p),
    };
    KINDS
        .iter()
        .find(|(_, m)| hit(m))
        .map_or("other", |(kind, _)| kind)
}

fn load_inputs() -> anyhow::Result<Vec<CachedInput>> {
    let dir = inputs_dir();
    let mut out = Vec::new();
    for rec in selected() {
        let file = dir.join(format!("{}.json", rec.name));
        if !file.exists() {
            eprintln!(
                "{}: no cached input at {} (run `inputs` first)",
                rec.name,
                file.display()
            );
            continue;
        }
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        let input: CachedInput =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", file.display()))?;
        out.push(input);
    }
    anyhow::ensure!(!out.is_empty(), "no cached inputs in {}", dir.display());
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Tables

fn print_run(r: &RunResult) {
    let verdict = |a: Option<&Answer>| match a {
        None => "-".to_owned(),
        Some(a) if a.valid => "valid".to_owned(),
        Some(a) => format!("{} errors", a.errors.len()),
    };
    println!(
        "{} run {}: {:.0} s, 1st {}, 2nd {}, tokens {}/{}{}{}",
        r.recording,
        r.run,
        r.wall_s,
        verdict(r.answers.first()),
        verdict(r.answers.get(1)),
        r.input_tokens,
        r.output_tokens,
        if r.other_calls.is_empty() {
            String::new()
        } else {
            format!(", {} other calls", r.other_calls.len())
        },
        if r.consistent() {
            String::new()
        } else {
            format!(" [MISMATCH: assess said {}]", r.assess_result)
        },
    );
}

fn print_tables(results: &Results) {
    let names: Vec<&str> =
        results
            .runs
            .iter()
            .map(|r| r.recording.as_str())
            .fold(Vec::new(), |mut v, n| {
                if !v.contains(&n) {
                    v.push(n);
                }
                v
            });
    println!(
        "\n== {} ({}), {} run(s) per recording",
        results.model,
        results.code.as_deref().unwrap_or("?"),
        results.runs_per_input
    );
    println!(
        "{:<20} {:>4} {:>5} {:>4} {:>10} {:>12} {:>8} {:>9} {:>8} {:>8} {:>8}",
        "recording",
        "lang",
        "segs",
        "runs",
        "valid 1st",
        "valid final",
        "repaired",
        "median s",
        "total s",
        "in tok",
        "out tok"
    );
    for name in &names {
        let runs: Vec<&RunResult> = results
            .runs
            .iter()
            .filter(|r| r.recording == *name)
            .collect();
        print_row(name, Some(runs[0]), &runs);
    }
    let all: Vec<&RunResult> = results.runs.iter().collect();
    print_row("TOTAL", None, &all);
    for (name, reason) in &results.withheld {
        println!("{name:<20} withheld, not judged: {reason}");
    }
    print_kinds(&names, &all);
    let inconsistent = all.iter().filter(|r| !r.consistent()).count();
    if inconsistent > 0 {
        println!(
            "\nWARNING: {inconsistent} run(s) where the re-validation disagrees with assess's result"
        );
    }
}

fn print_row(name: &str, first: Option<&RunResult>, runs: &[&RunResult]) {
    let n = runs.len();
    let valid1 = runs.iter().filter(|r| r.valid_first()).count();
    let valid2 = runs.iter().filter(|r| r.valid_after_repair()).count();
    let repaired = valid2 - valid1;
    let needed_repair = n - valid1;
    let walls: Vec<f64> = runs.iter().map(|r| r.wall_s).collect();
    let share = |k: usize, of: usize| {
        if of == 0 {
            "-".to_owned()
        } else {
            format!("{k}/{of} {:>3.0}%", 100.0 * k as f64 / of as f64)
        }
    };
    println!(
        "{:<20} {:>4} {:>5} {:>4} {:>10} {:>12} {:>8} {:>9.0} {:>8.0} {:>8} {:>8}",
        name,
        first.map_or("", |r| lang(r.language)),
        first.map_or(String::new(), |r| r.segments.to_string()),
        n,
        share(valid1, n),
        share(valid2, n),
        format!("{repaired}/{needed_repair}"),
        median(&walls),
        walls.iter().sum::<f64>(),
        runs.iter().map(|r| r.input_tokens).sum::<u64>(),
        runs.iter().map(|r| r.output_tokens).sum::<u64>(),
    );
}

/// Error counts by kind: per recording `first/second`, then totals.
fn print_kinds(names: &[&str], runs: &[&RunResult]) {
    let count = |runs: &[&RunResult], answer: usize, kind: &str| -> usize {
        runs.iter()
            .filter_map(|r| r.answers.get(answer))
            .flat_map(|a| &a.kinds)
            .filter(|k| k.as_str() == kind)
            .count()
    };
    let mut kinds: Vec<&str> = KINDS.iter().map(|(k, _)| *k).collect();
    kinds.dedup();
    kinds.extend(["other", CALL_FAILED]);
    println!("\nerrors by kind (count in 1st answers / in 2nd answers)");
    print!("{:<22}", "kind");
    for n in names {
        print!(" {:>12}", abbreviate(n, 12));
    }
    println!(" {:>8} {:>8}", "1st", "2nd");
    for kind in kinds {
        let (t1, t2) = (count(runs, 0, kind), count(runs, 1, kind));
        if t1 + t2 == 0 {
            continue;
        }
        print!("{kind:<22}");
        for n in names {
            let mine: Vec<&RunResult> =
                runs.iter().copied().filter(|r| r.recording == *n).collect();
            print!(
                " {:>12}",
                format!("{}/{}", count(&mine, 0, kind), count(&mine, 1, kind))
            );
        }
        println!(" {t1:>8} {t2:>8}");
    }
    let answers = |i: usize| runs.iter().filter(|r| r.answers.len() > i).count();
    let repeated = runs.iter().filter(|r| r.repair_repeated()).count();
    println!(
        "(answers: {} first, {} second, of which {repeated} repeat the first word for word)",
        answers(0),
        answers(1)
    );
}

// ---------------------------------------------------------------------------------------
// Small helpers

fn selected() -> impl Iterator<Item = &'static Recording> {
    let only = std::env::var("JUDGEMENT_ONLY").unwrap_or_default();
    RECORDINGS.iter().filter(move |r| r.name.contains(&only))
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// Beside the repository, so that every worktree (before/after) shares the same inputs.
fn inputs_dir() -> PathBuf {
    std::env::var_os("JUDGEMENT_INPUTS")
        .map_or_else(|| beside_repo("judgement-inputs"), PathBuf::from)
}

fn results_dir() -> PathBuf {
    std::env::var_os("JUDGEMENT_RESULTS")
        .map_or_else(|| beside_repo("judgement-results"), PathBuf::from)
}

fn beside_repo(dir: &str) -> PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    repo.parent().unwrap_or(repo).join(dir)
}

/// `../shared/data` (or `$VIBEINSIGHT_SHARED_DATA`) when present; says why when not.
fn shared_file(rel: &str) -> Option<PathBuf> {
    let root = std::env::var_os("VIBEINSIGHT_SHARED_DATA")
        .map_or_else(|| beside_repo("shared/data"), PathBuf::from);
    let path = root.join(rel);
    if path.exists() {
        Some(path)
    } else {
        eprintln!("SKIPPED: {} not found", path.display());
        None
    }
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let text = serde_json::to_string_pretty(value)?;
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

fn code_version() -> Option<String> {
    let out = std::process::Command::new("git")
        .args([
            "-C",
            env!("CARGO_MANIFEST_DIR"),
            "describe",
            "--always",
            "--dirty",
        ])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn lang(language: Language) -> &'static str {
    match language {
        Language::Ja => "ja",
        Language::En => "en",
        Language::Auto => "auto",
    }
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn abbreviate(name: &str, max: usize) -> String {
    name.chars().take(max).collect()
}
