//! The one migration history `vibeinsight migrate` and `supabase db push` share
//! (`supabase_migrations.schema_migrations`), and the move of an older worker's
//! `public._sqlx_migrations` into it.

use vibeinsight::store::migrate;

use crate::helpers::TestDb;

async fn history(db: &TestDb) -> Vec<(String, String)> {
    sqlx::query_as("select version, name from supabase_migrations.schema_migrations order by 1")
        .fetch_all(&db.pool)
        .await
        .unwrap()
}

fn migration_files() -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir("migrations")
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter_map(|name| {
            let stem = name.strip_suffix(".sql")?;
            let (version, name) = stem.split_once('_')?;
            Some((version.to_owned(), name.to_owned()))
        })
        .collect();
    files.sort();
    files
}

#[tokio::test]
async fn the_history_is_the_clis_named_like_the_files_and_nothing_is_in_public() {
    let db = TestDb::new().await;
    // Versions and names exactly as `supabase db push` records them from the file names, so
    // the CLI sees the worker's migrations as its own.
    assert_eq!(history(&db).await, migration_files());
    let legacy = db
        .count("select count(*) from pg_tables where tablename = '_sqlx_migrations'")
        .await;
    assert_eq!(legacy, 0);
    // A second run applies nothing (a re-applied migration would fail: `create schema internal`).
    migrate::migrate(&db.pool).await.unwrap();
    let status = migrate::status(&db.pool).await.unwrap();
    assert!(status.pending.is_empty(), "{:?}", status.pending);
    assert_eq!(status.applied, migration_files().len());
}

#[tokio::test]
async fn an_older_workers_sqlx_history_is_moved_over_without_reapplying_anything() {
    let db = TestDb::new().await;
    // The state an older worker left: sqlx's table in public, no shared history.
    sqlx::raw_sql(
        "create table public._sqlx_migrations (version bigint primary key, description text not null,
           installed_on timestamptz not null default now(), success boolean not null,
           checksum bytea not null, execution_time bigint not null);
         insert into public._sqlx_migrations (version, description, success, checksum, execution_time)
           select version::bigint, replace(name, '_', ' '), true, '\\x00', 1
             from supabase_migrations.schema_migrations;
         drop schema supabase_migrations cascade;",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    migrate::migrate(&db.pool).await.unwrap();
    assert_eq!(history(&db).await, migration_files());
    let legacy = db
        .count("select count(*) from pg_tables where tablename = '_sqlx_migrations'")
        .await;
    assert_eq!(legacy, 0);
}

#[tokio::test]
async fn a_migration_that_failed_half_way_under_sqlx_stops_migrate_with_the_fix() {
    let db = TestDb::new().await;
    sqlx::raw_sql(
        "create table public._sqlx_migrations (version bigint primary key, description text not null,
           installed_on timestamptz not null default now(), success boolean not null,
           checksum bytea not null, execution_time bigint not null);
         insert into public._sqlx_migrations values (20261206000010, 'retention', now(), false, '\\x00', 1);",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let err = migrate::migrate(&db.pool).await.unwrap_err();
    assert!(format!("{err:#}").contains("repair it by hand"), "{err:#}");
}

/// `just test-pgmq14` runs the queue's tests again on a server offering pgmq 1.4.4 as an
/// extension (VIBEINSIGHT_TEST_PGMQ_EXTENSION=1.4.4); this makes sure that run really used
/// it, and every other run the SQL the crate embeds.
#[tokio::test]
async fn pgmq_is_the_version_the_run_asked_for() {
    let db = TestDb::new().await;
    let extension: Option<String> =
        sqlx::query_scalar("select extversion from pg_extension where extname = 'pgmq'")
            .fetch_optional(&db.pool)
            .await
            .unwrap();
    let wanted = std::env::var("VIBEINSIGHT_TEST_PGMQ_EXTENSION").ok();
    assert_eq!(extension, wanted, "pgmq extension version on this server");
    let queues = db
        .count(
            "select count(*) from pgmq.list_queues() where queue_name like 'session_processing%'",
        )
        .await;
    assert_eq!(queues, 2);
}
