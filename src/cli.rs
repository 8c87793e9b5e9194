//! The command line: `migrate`, `run`, `enqueue`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use sqlx::PgPool;
use uuid::Uuid;

use crate::app::App;
use crate::config::Settings;
use crate::domain::Language;
use crate::pipeline::diarize::parse_speaker_count;
use crate::report::{self, stored, stored::StoredSegment};
use crate::storage::ObjectKey;
use crate::store::{migrate, sessions};
use crate::{doctor, shutdown, telemetry, terminal};

/// The user `enqueue` acts as when none is given: a fixed id, so demo sessions group together.
const DEMO_USER: Uuid = Uuid::from_u128(0x00000000_0000_4000_8000_0000000000de);

#[derive(Debug, Parser)]
#[command(name = "vibeinsight", version, about = "VibeInsight audio worker")]
pub struct Cli {
    /// Settings file (default: ./vibeinsight.toml when present).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create the database if needed, install pgmq, apply migrations.
    Migrate,
    /// Run the worker daemon until SIGTERM/SIGINT.
    Run,
    /// Store a recording and insert its session row, as the app does.
    Enqueue(EnqueueArgs),
    /// The whole pipeline on a local file, no database or queue: writes report.json/html.
    Analyze(AnalyzeArgs),
    /// Check configuration, database, migrations, queues, storage and providers.
    Doctor {
        /// Also make one authenticated, minimal call to each configured provider.
        #[arg(long)]
        online: bool,
    },
    /// Who spoke when in a local file: prints the timeline, optionally writes RTTM.
    Diarize(crate::eval::commands::DiarizeArgs),
    /// Score the analysis against reference annotations.
    Eval(crate::eval::commands::EvalArgs),
}

#[derive(Debug, clap::Args)]
struct EnqueueArgs {
    file: PathBuf,
    #[arg(long, value_enum, default_value_t = LanguageArg::Ja)]
    language: LanguageArg,
    /// The owning user (default: the demo user).
    #[arg(long)]
    user: Option<Uuid>,
    /// People speaking (1..=8); 0 estimates the count.
    #[arg(long, default_value_t = 2, value_parser = parse_speaker_count)]
    speakers: u8,
    /// Print progress as it arrives until the session ends, then a summary, and write the
    /// session's report.json and report.html.
    #[arg(long)]
    wait: bool,
    /// Where `--wait` writes the report (default: report/<session id>).
    #[arg(long, requires = "wait")]
    out: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct AnalyzeArgs {
    file: PathBuf,
    #[arg(long, value_enum, default_value_t = LanguageArg::Ja)]
    language: LanguageArg,
    /// People speaking (1..=8); 0 estimates the count.
    #[arg(long, default_value_t = 2, value_parser = parse_speaker_count)]
    speakers: u8,
    /// Directory for report.json and report.html.
    #[arg(long, default_value = "report")]
    out: PathBuf,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LanguageArg {
    Ja,
    En,
    Auto,
}

impl From<LanguageArg> for Language {
    fn from(arg: LanguageArg) -> Language {
        match arg {
            LanguageArg::Ja => Language::Ja,
            LanguageArg::En => Language::En,
            LanguageArg::Auto => Language::Auto,
        }
    }
}

/// Parses the arguments and runs the command.
///
/// # Errors
/// Whatever the command reports; `main` prints the chain.
pub async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = match (Settings::load(cli.config.as_deref()), &cli.command) {
        (Ok(settings), _) => settings,
        (Err(err), Command::Doctor { .. }) => {
            doctor::report_configuration_error(&err);
            anyhow::bail!("the configuration does not load");
        }
        (Err(err), _) => return Err(err),
    };
    telemetry::init(settings.telemetry.log_format);
    match cli.command {
        Command::Migrate => {
            migrate::ensure_database(&settings.database).await?;
            let pool = migrate::connect(&settings.database).await?;
            migrate::migrate(&pool).await?;
            tracing::info!("database is migrated");
            Ok(())
        }
        Command::Run => {
            let stop = shutdown::on_signal().context("Failed to install signal handlers")?;
            App::build(settings).await?.run_worker(stop).await
        }
        Command::Enqueue(args) => enqueue(App::build(settings).await?, args).await,
        Command::Doctor { online } => {
            if doctor::run(&settings, online).await {
                Ok(())
            } else {
                anyhow::bail!("some checks failed (see the fixes above)")
            }
        }
        Command::Analyze(args) => {
            let language = args.language.into();
            let written = terminal::analyze(
                &settings,
                &args.file,
                language,
                (args.speakers > 0).then_some(args.speakers),
                &args.out,
            )
            .await?;
            println!("{}", written.display());
            Ok(())
        }
        Command::Diarize(args) => crate::eval::commands::diarize(args),
        Command::Eval(args) => crate::eval::commands::eval(args),
    }
}

async fn enqueue(app: App, args: EnqueueArgs) -> anyhow::Result<()> {
    let user = args.user.unwrap_or(DEMO_USER);
    let extension = args
        .file
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("bin")
        .to_ascii_lowercase();
    let key = ObjectKey::parse(
        &format!("{user}/{}.{extension}", Uuid::new_v4()),
        app.storage.bucket(),
    )?;
    app.storage.put(&key, &args.file).await?;
    let session_id = sessions::insert_as_user(
        &app.pool,
        user,
        key.as_str(),
        args.language.into(),
        (args.speakers > 0).then_some(i16::from(args.speakers)),
    )
    .await
    .context("Failed to insert the session")?;
    println!("session {session_id} queued ({})", key.as_str());
    if args.wait {
        let out = args
            .out
            .unwrap_or_else(|| PathBuf::from("report").join(session_id.to_string()));
        follow(&app.pool, session_id, &out).await?;
    }
    Ok(())
}

/// Prints each progress event as it arrives, then the result or the error.
async fn follow(pool: &PgPool, session_id: Uuid, out: &Path) -> anyhow::Result<()> {
    let mut last_id = 0i64;
    loop {
        let events: Vec<(i64, String, i16, String)> = sqlx::query_as(
            "select id, stage, progress, message from public.processing_events
              where session_id = $1 and id > $2 order by id",
        )
        .bind(session_id)
        .bind(last_id)
        .fetch_all(pool)
        .await?;
        for (id, stage, progress, message) in events {
            println!("[{progress:>3}%] {stage:<13} {message}");
            last_id = id;
            if stage == "completed" || stage == "error" {
                return print_result(pool, session_id, out).await;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The stored result as a short summary, with the report written to `out` from it.
async fn print_result(pool: &PgPool, session_id: Uuid, out: &Path) -> anyhow::Result<()> {
    let (status, error, language): (String, Option<String>, String) =
        sqlx::query_as("select status, error, language from public.sessions where id = $1")
            .bind(session_id)
            .fetch_one(pool)
            .await
            .context("Failed to read the session")?;
    if status != "completed" {
        anyhow::bail!(
            "session {session_id} {status}: {}",
            error.unwrap_or_default()
        );
    }
    let language: Language = serde_json::from_value(language.into())
        .context("the session's language is not one the report knows")?;
    let report = stored_report(pool, session_id, language)
        .await
        .with_context(|| format!("Failed to rebuild the report of session {session_id}"))?;
    let page = report::write_built(out, &report)?;
    println!("\n{}", report::summary::text(&report));
    // Absolute, so the line can be opened from wherever it is read.
    let shown = |path: PathBuf| std::fs::canonicalize(&path).unwrap_or(path);
    match page {
        Some(page) => println!("report: {}", shown(page).display()),
        None => println!(
            "report: {} (no page: the measurements were withheld)",
            shown(out.join("report.json")).display()
        ),
    }
    Ok(())
}

/// The report as stored: the `analysis_results` row and the transcript rows.
async fn stored_report(
    pool: &PgPool,
    session_id: Uuid,
    language: Language,
) -> anyhow::Result<report::Report> {
    let row: serde_json::Value = sqlx::query_scalar(
        "select to_jsonb(r) - 'session_id' from public.analysis_results r where session_id = $1",
    )
    .bind(session_id)
    .fetch_one(pool)
    .await
    .context("Failed to read the session's result")?;
    let segments: Vec<(i32, i32, i32, String, String)> = sqlx::query_as(
        "select seq, start_ms, end_ms, speaker, text from public.transcript_segments
          where session_id = $1 order by seq",
    )
    .bind(session_id)
    .fetch_all(pool)
    .await
    .context("Failed to read the session's transcript")?;
    let transcript = segments
        .into_iter()
        .map(|(seq, start_ms, end_ms, speaker, text)| StoredSegment {
            seq,
            start_ms: start_ms.into(),
            end_ms: end_ms.into(),
            speaker,
            text,
        })
        .collect();
    stored::report(&row, language, transcript)
}
