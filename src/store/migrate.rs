//! Connecting, creating the database when it is missing, installing pgmq, running migrations.

use anyhow::Context;
use secrecy::ExposeSecret;
use sqlx::migrate::MigrateDatabase;
use sqlx::postgres::{PgPool, PgPoolOptions};

use crate::config::DatabaseSettings;

mod history;

/// The files in `migrations/` (also `supabase/migrations/`), embedded at compile time. Only
/// parsed by sqlx: they are applied and recorded by [`history`], in the Supabase CLI's table.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// An arbitrary constant: serialises concurrent `migrate` runs, including the pgmq install.
const MIGRATION_LOCK: i64 = 0x7669_6265_6d69_6772;

/// # Errors
/// The database cannot be reached.
pub async fn connect(settings: &DatabaseSettings) -> anyhow::Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(std::time::Duration::from_secs(10))
        .connect(settings.url.expose_secret())
        .await
        .context("Failed to connect to the database (check DATABASE_URL)")
}

/// Creates the database if it does not exist yet (local development and tests).
///
/// # Errors
/// The server cannot be reached or refuses `CREATE DATABASE`.
pub async fn ensure_database(settings: &DatabaseSettings) -> anyhow::Result<()> {
    let url = settings.url.expose_secret();
    if !sqlx::Postgres::database_exists(url)
        .await
        .context("Failed to reach the database server")?
    {
        sqlx::Postgres::create_database(url)
            .await
            .context("Failed to create the database")?;
    }
    Ok(())
}

/// Installs pgmq (the extension where the server has it, as in Supabase; its plain-SQL form
/// elsewhere), then applies the migrations not yet in the one history both this command and
/// `supabase db push` keep (see [`history`]).
///
/// # Errors
/// Any step fails; nothing half-applied is left behind by the migrations themselves, which
/// run in transactions.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    let mut lock = pool.acquire().await?;
    sqlx::query("select pg_advisory_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *lock)
        .await?;
    let result = install_and_migrate(pool).await;
    sqlx::query("select pg_advisory_unlock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *lock)
        .await?;
    result
}

async fn install_and_migrate(pool: &PgPool) -> anyhow::Result<()> {
    let extension_available: bool = sqlx::query_scalar(
        "select exists (select from pg_available_extensions where name = 'pgmq')",
    )
    .fetch_one(pool)
    .await?;
    if extension_available {
        sqlx::query("create extension if not exists pgmq")
            .execute(pool)
            .await
            .context("Failed to create the pgmq extension")?;
    } else {
        pgmq::install::install_sql_from_embedded(pool)
            .await
            .context("Failed to install pgmq as plain SQL")?;
    }
    history::prepare(pool).await?;
    let applied = history::applied(pool).await?;
    for migration in MIGRATOR.iter().filter(|m| !applied.contains(&m.version)) {
        history::apply(pool, migration).await.with_context(|| {
            format!(
                "Failed to apply migration {} {}",
                migration.version, migration.description
            )
        })?;
    }
    Ok(())
}

/// What `doctor` reports about the schema.
pub struct MigrationStatus {
    pub applied: usize,
    /// Descriptions of migrations embedded in this binary but not applied.
    pub pending: Vec<String>,
    pub queues_present: bool,
}

/// # Errors
/// Database errors.
pub async fn status(pool: &PgPool) -> anyhow::Result<MigrationStatus> {
    let applied = history::applied(pool).await?;
    let pending = MIGRATOR
        .iter()
        .filter(|m| !applied.contains(&m.version))
        .map(|m| format!("{} {}", m.version, m.description))
        .collect();
    let queues_present: bool = sqlx::query_scalar(
        "select count(*) = 2 from pg_tables where schemaname = 'pgmq'
           and tablename in ('q_session_processing', 'q_session_processing_dlq')",
    )
    .fetch_one(pool)
    .await?;
    Ok(MigrationStatus {
        applied: applied.len(),
        pending,
        queues_present,
    })
}
