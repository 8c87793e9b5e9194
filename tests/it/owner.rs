//! The owner's controls with a real worker: deleting a session while its job runs stops the
//! job without writing anything, and an account deleted in `auth.users` takes its sessions
//! along. (retry_session, delete as another user and coach_progress as `authenticated` with
//! JWT claims: supabase/tests/06_owner_controls.sql.)

use std::time::Duration;

use uuid::Uuid;
use vibeinsight::domain::Language;
use vibeinsight::store::sessions::insert_as_user;

use crate::helpers::{InProcessWorker, ObjectServer, Serve, TestDb, speech_like_wav};

async fn delete_as_owner(db: &TestDb, user: Uuid, id: Uuid) -> u64 {
    let mut tx = db.pool.begin().await.unwrap();
    let claims = serde_json::json!({"sub": user, "role": "authenticated"}).to_string();
    sqlx::query("select set_config('request.jwt.claims', $1, true)")
        .bind(claims)
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("set local role authenticated")
        .execute(&mut *tx)
        .await
        .unwrap();
    let deleted = sqlx::query("delete from public.sessions where id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await
        .unwrap()
        .rows_affected();
    tx.commit().await.unwrap();
    deleted
}

/// The heartbeat (every VT/3 = 2 s) notices first: the download takes 8 s.
#[tokio::test]
async fn a_session_deleted_while_its_job_runs_is_dropped_quietly_and_the_worker_goes_on() {
    deleted_while_running("6", 8).await;
}

/// The job reaches its final transaction before any heartbeat (VT 60 s: the first beat at
/// 20 s): the transaction finds the session row gone and writes nothing.
#[tokio::test]
async fn a_session_deleted_before_its_job_saves_gets_no_results() {
    deleted_while_running("60", 3).await;
}

async fn deleted_while_running(vt_secs: &str, download_secs: u64) {
    let db = TestDb::new().await;
    let fixtures = tempfile::tempdir().unwrap();
    let wav = speech_like_wav(fixtures.path(), "talk.wav", 16_000, 1, 2.0);
    let server = ObjectServer::start(
        std::fs::read(&wav).unwrap(),
        Serve {
            fail_first: 0,
            stream_for: Duration::from_secs(download_secs),
        },
    )
    .await;
    let user = Uuid::new_v4();
    let path = format!("{user}/talk.wav");
    let doomed = insert_as_user(&db.pool, user, &path, Language::En, Some(2))
        .await
        .unwrap();
    let mut env: Vec<(&str, String)> = server.worker_env();
    env.push((
        "VIBEINSIGHT__QUEUE__VISIBILITY_TIMEOUT_SECS",
        vt_secs.into(),
    ));
    env.push(("VIBEINSIGHT__WORKER__CONCURRENCY", "1".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let worker = InProcessWorker::start(db.settings(&env)).await;

    db.wait_for_stage(doomed, "downloading", Duration::from_secs(20))
        .await;
    assert_eq!(delete_as_owner(&db, user, doomed).await, 1);
    // The same worker (one job slot) takes the next session once the deleted one is dropped.
    let next = insert_as_user(&db.pool, user, &path, Language::En, Some(2))
        .await
        .unwrap();
    let (status, error) = db.wait_until_done(next, Duration::from_secs(40)).await;
    worker.stop().await;

    assert_eq!(status, "completed", "{error:?}");
    for table in [
        "public.sessions where id",
        "public.processing_status where session_id",
        "public.processing_events where session_id",
        "public.transcript_segments where session_id",
        "public.analysis_results where session_id",
        "internal.stage_checkpoints where session_id",
    ] {
        let left = db
            .count(&format!("select count(*) from {table} = '{doomed}'"))
            .await;
        assert_eq!(left, 0, "{table}: the deleted session's rows came back");
    }
    let dead = db
        .count("select count(*) from pgmq.q_session_processing_dlq")
        .await;
    assert_eq!(dead, 0, "a deleted session is not a dead letter");
    let listed = db
        .count(&format!(
            "select count(*) from ops.deleted_recordings where session_id = '{doomed}' and audio_path = '{path}'"
        ))
        .await;
    assert_eq!(listed, 1, "its recording is listed for removal");
}

/// What GoTrue has on Supabase, as far as the migrations care: the API roles, `auth.users`,
/// `auth.uid()`. With an `auth` schema present the local shim stays out.
const SUPABASE_AUTH: &str = r#"
do $roles$ begin
  begin create role anon nologin noinherit; exception when duplicate_object or unique_violation then null; end;
  begin create role authenticated nologin noinherit; exception when duplicate_object or unique_violation then null; end;
  begin create role service_role nologin noinherit bypassrls; exception when duplicate_object or unique_violation then null; end;
end $roles$;
create schema auth;
grant usage on schema auth to anon, authenticated, service_role;
create table auth.users (id uuid primary key, email text);
create function auth.uid() returns uuid language sql stable as $$
  select (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid
$$;
"#;

#[tokio::test]
async fn deleting_an_account_in_auth_users_deletes_its_sessions() {
    let db = TestDb::with_setup(SUPABASE_AUTH).await;
    let (gone, stays) = (Uuid::new_v4(), Uuid::new_v4());
    sqlx::query("insert into auth.users (id) values ($1), ($2)")
        .bind(gone)
        .bind(stays)
        .execute(&db.pool)
        .await
        .unwrap();
    for user in [gone, stays] {
        sqlx::query(
            "insert into public.sessions (user_id, audio_path) values ($1, $1 || '/a.m4a')",
        )
        .bind(user)
        .execute(&db.pool)
        .await
        .unwrap();
    }
    sqlx::query("delete from auth.users where id = $1")
        .bind(gone)
        .execute(&db.pool)
        .await
        .unwrap();

    let owners: Vec<Uuid> = sqlx::query_scalar(
        "select s.user_id from public.sessions s join public.processing_status ps on ps.session_id = s.id",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(owners, [stays]);
    let orphan = sqlx::query(
        "insert into public.sessions (user_id, audio_path) values ($1, $1 || '/a.m4a')",
    )
    .bind(Uuid::new_v4())
    .execute(&db.pool)
    .await;
    assert!(orphan.is_err(), "a session needs an existing user");
}

#[tokio::test]
async fn the_recordings_of_deleted_sessions_are_removed_from_storage() {
    let db = TestDb::new().await;
    let fixtures = tempfile::tempdir().unwrap();
    let wav = speech_like_wav(fixtures.path(), "talk.wav", 16_000, 1, 1.0);
    let user = Uuid::new_v4();
    let id = db.enqueue_local(user, &wav, Language::En).await;
    let path: String = sqlx::query_scalar("select audio_path from public.sessions where id = $1")
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let object = db.storage_dir.path().join(&path);
    assert!(object.exists());
    assert_eq!(delete_as_owner(&db, user, id).await, 1);
    // A listed path this store would never have read: kept, with the reason, for an operator.
    sqlx::query(
        "insert into internal.deleted_recordings (session_id, user_id, audio_path)
         values (gen_random_uuid(), $1, 's3://someone-elses-bucket/x.wav')",
    )
    .bind(user)
    .execute(&db.pool)
    .await
    .unwrap();

    let storage = vibeinsight::storage::Storage::from_settings(&db.settings(&[]).storage)
        .await
        .unwrap();
    let removed = vibeinsight::worker::cleanup::drain(&db.pool, &storage)
        .await
        .unwrap();

    assert_eq!(removed, 1);
    assert!(!object.exists(), "the recording is gone from storage");
    let left: Vec<(String, i32, Option<String>)> =
        sqlx::query_as("select audio_path, attempts, last_error from ops.deleted_recordings")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0].0, "s3://someone-elses-bucket/x.wav");
    assert_eq!(left[0].1, 1);
    assert!(
        left[0]
            .2
            .as_deref()
            .unwrap()
            .contains("not a key of this store")
    );
    // Deleting twice is harmless: a second round finds nothing of ours to remove.
    assert_eq!(
        vibeinsight::worker::cleanup::drain(&db.pool, &storage)
            .await
            .unwrap(),
        0
    );
}
