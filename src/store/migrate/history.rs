//! The migration history, kept where the Supabase CLI keeps its own:
//! `supabase_migrations.schema_migrations (version text, statements text[], name text)`.
//!
//! One table for both tools means one history: after `supabase db push` the worker's `migrate`
//! finds every version recorded and applies nothing; after `migrate`, `supabase db push` and
//! `supabase migration list` see the worker's versions as applied. The schema is not one the
//! Data API exposes (sqlx's own `_sqlx_migrations` sat in `public`, unprotected by RLS).
//!
//! Like the CLI, the history is by version: an applied migration is never re-applied or
//! checksummed, so migrations stay append-only (a fix is a new file).

use anyhow::Context;
use sqlx::migrate::Migration;
use sqlx::postgres::PgPool;

/// What the CLI creates (its `CreateMigrationTable`); every statement is idempotent, so the
/// two tools may create it in either order.
const CREATE_HISTORY: &str = "
create schema if not exists supabase_migrations;
create table if not exists supabase_migrations.schema_migrations (version text not null primary key);
alter table supabase_migrations.schema_migrations add column if not exists statements text[];
alter table supabase_migrations.schema_migrations add column if not exists name text;
";

/// Creates the history table and moves sqlx's old history (`public._sqlx_migrations`, from
/// workers before the shared history) into it, so an existing deployment re-applies nothing.
///
/// # Errors
/// Database errors, or an old history whose last migration failed half-way (sqlx's "dirty"
/// state), which needs a DBA.
pub async fn prepare(pool: &PgPool) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::raw_sql(CREATE_HISTORY)
        .execute(&mut *tx)
        .await
        .context("Failed to create supabase_migrations.schema_migrations")?;
    let legacy: bool =
        sqlx::query_scalar("select to_regclass('public._sqlx_migrations') is not null")
            .fetch_one(&mut *tx)
            .await?;
    if legacy {
        let dirty: Option<i64> = sqlx::query_scalar(
            "select min(version) from public._sqlx_migrations where not success",
        )
        .fetch_one(&mut *tx)
        .await?;
        if let Some(version) = dirty {
            anyhow::bail!(
                "migration {version} failed half-way under an older worker (public._sqlx_migrations \
                 says success = false): repair it by hand, then delete that row"
            );
        }
        // The name as the CLI writes it (the file name after the version); sqlx kept the
        // description with spaces for underscores.
        sqlx::query(
            "insert into supabase_migrations.schema_migrations (version, name, statements)
             select version::text, replace(description, ' ', '_'), array[]::text[]
               from public._sqlx_migrations
             on conflict (version) do nothing;
             ",
        )
        .execute(&mut *tx)
        .await
        .context("Failed to copy public._sqlx_migrations into the shared history")?;
        sqlx::query("drop table public._sqlx_migrations")
            .execute(&mut *tx)
            .await?;
        tracing::info!(
            "moved the migration history from public._sqlx_migrations to supabase_migrations.schema_migrations"
        );
    }
    tx.commit().await?;
    Ok(())
}

/// Versions recorded by either tool; versions that are not numbers (not ours) are ignored.
///
/// # Errors
/// Database errors; a missing table means nothing is applied.
pub async fn applied(pool: &PgPool) -> anyhow::Result<Vec<i64>> {
    let exists: bool = sqlx::query_scalar(
        "select to_regclass('supabase_migrations.schema_migrations') is not null",
    )
    .fetch_one(pool)
    .await?;
    if !exists {
        return Ok(Vec::new());
    }
    let versions: Vec<String> =
        sqlx::query_scalar("select version from supabase_migrations.schema_migrations")
            .fetch_all(pool)
            .await?;
    Ok(versions.iter().filter_map(|v| v.parse().ok()).collect())
}

/// Runs one migration and records it in the same transaction, as the CLI does: a failure
/// leaves neither the migration's changes nor its history row.
///
/// # Errors
/// The migration's SQL fails, or the history cannot be written.
pub async fn apply(pool: &PgPool, migration: &Migration) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    if migration.no_tx {
        // sqlx's `-- no-transaction` marker (e.g. `create index concurrently`): run as is,
        // then record it; a failure half-way needs a DBA either way.
        sqlx::raw_sql(&migration.sql).execute(pool).await?;
    } else {
        sqlx::raw_sql(&migration.sql).execute(&mut *tx).await?;
    }
    sqlx::query(
        "insert into supabase_migrations.schema_migrations (version, name, statements)
         values ($1, $2, array[$3])",
    )
    .bind(migration.version.to_string())
    .bind(migration.description.replace(' ', "_"))
    .bind(migration.sql.as_ref())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(version = migration.version, description = %migration.description, "migration applied");
    Ok(())
}
