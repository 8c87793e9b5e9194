//! Row-level security as the app's users see it: the `authenticated` role with a JWT subject.

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::helpers::TestDb;

/// Runs `sql` as `user` in a transaction that is rolled back; returns the error text, if any.
async fn as_user(pool: &PgPool, user: Uuid, sql: &str) -> Result<Vec<serde_json::Value>, String> {
    let mut tx = pool.begin().await.unwrap();
    impersonate(&mut tx, user).await;
    let result =
        sqlx::query_scalar::<_, serde_json::Value>(&format!("select to_jsonb(t) from ({sql}) t"))
            .fetch_all(&mut *tx)
            .await
            .map_err(|err| err.to_string());
    tx.rollback().await.unwrap();
    result
}

async fn execute_as_user(pool: &PgPool, user: Uuid, sql: &str) -> Result<u64, String> {
    let mut tx = pool.begin().await.unwrap();
    impersonate(&mut tx, user).await;
    let result = sqlx::query(sql)
        .execute(&mut *tx)
        .await
        .map(|r| r.rows_affected())
        .map_err(|e| e.to_string());
    tx.rollback().await.unwrap();
    result
}

async fn impersonate(conn: &mut PgConnection, user: Uuid) {
    sqlx::query("select set_config('request.jwt.claim.sub', $1, true)")
        .bind(user.to_string())
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("set local role authenticated")
        .execute(&mut *conn)
        .await
        .unwrap();
}

#[tokio::test]
async fn users_see_and_touch_only_their_own_rows() {
    let db = TestDb::new().await;
    let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());
    let session: Uuid = sqlx::query_scalar(
        "insert into public.sessions (user_id, audio_path) values ($1, $2) returning id",
    )
    .bind(bob)
    .bind(format!("{bob}/x.wav"))
    .fetch_one(&db.pool)
    .await
    .unwrap();
    sqlx::query("insert into public.analysis_results (session_id) values ($1)")
        .bind(session)
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query("insert into public.transcript_segments (session_id, seq, start_ms, end_ms, speaker, text) values ($1, 0, 0, 10, 'coach', 'x')")
        .bind(session)
        .execute(&db.pool)
        .await
        .unwrap();

    for table in [
        "sessions",
        "processing_status",
        "transcript_segments",
        "analysis_results",
    ] {
        let bobs = as_user(&db.pool, bob, &format!("select * from public.{table}"))
            .await
            .unwrap();
        assert_eq!(bobs.len(), 1, "bob sees his {table}");
        let alices = as_user(&db.pool, alice, &format!("select * from public.{table}"))
            .await
            .unwrap();
        assert!(alices.is_empty(), "alice sees bob's {table}");
    }
    let changed = execute_as_user(
        &db.pool,
        alice,
        &format!("update public.sessions set language = 'en' where id = '{session}'"),
    )
    .await;
    assert!(changed.is_err() || changed == Ok(0), "{changed:?}");
    // Owners may delete their own sessions (tests/it/owner.rs); nobody else's.
    let deleted = execute_as_user(
        &db.pool,
        alice,
        &format!("delete from public.sessions where id = '{session}'"),
    )
    .await;
    assert_eq!(deleted, Ok(0), "alice deletes nothing of bob's");
}

#[tokio::test]
async fn users_cannot_write_worker_tables_or_reach_the_queue() {
    let db = TestDb::new().await;
    let bob = Uuid::new_v4();
    let session: Uuid = sqlx::query_scalar(
        "insert into public.sessions (user_id, audio_path) values ($1, $2) returning id",
    )
    .bind(bob)
    .bind(format!("{bob}/x.wav"))
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let writes = [
        format!(
            "update public.processing_status set status = 'completed' where session_id = '{session}'"
        ),
        format!("insert into public.analysis_results (session_id) values ('{session}')"),
        format!(
            "insert into public.transcript_segments (session_id, seq, start_ms, end_ms, speaker, text) values ('{session}', 0, 0, 1, 'coach', 'x')"
        ),
        format!("update public.sessions set status = 'completed' where id = '{session}'"),
        "select * from pgmq.q_session_processing".to_owned(),
        "select pgmq.send('session_processing', '{}'::jsonb)".to_owned(),
        format!("select ops.requeue('{session}')"),
        format!("select internal.record_progress('{session}', 'completed', 100::smallint, '', 1)"),
    ];
    for sql in writes {
        let result = execute_as_user(&db.pool, bob, &sql).await;
        assert!(
            result.is_err() || result == Ok(0),
            "{sql} was allowed: {result:?}"
        );
    }
}

#[tokio::test]
async fn users_insert_only_as_themselves_and_under_their_own_prefix() {
    let db = TestDb::new().await;
    let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());
    let insert = |user: Uuid, path: String| {
        format!("insert into public.sessions (user_id, audio_path) values ('{user}', '{path}')")
    };

    assert_eq!(
        execute_as_user(&db.pool, alice, &insert(alice, format!("{alice}/rec.m4a"))).await,
        Ok(1)
    );
    let refused = [
        insert(bob, format!("{bob}/rec.m4a")),
        insert(alice, format!("{bob}/rec.m4a")),
        insert(alice, format!("{alice}/../{bob}/rec.m4a")),
        insert(alice, "s3://other/x.wav".to_owned()),
        insert(alice, "http://169.254.169.254/latest".to_owned()),
        format!(
            "insert into public.sessions (user_id, audio_path, status) values ('{alice}', '{alice}/a.wav', 'completed')"
        ),
    ];
    for sql in refused {
        assert!(
            execute_as_user(&db.pool, alice, &sql).await.is_err(),
            "{sql} was allowed"
        );
    }
    // The default owner is the caller.
    let own = execute_as_user(
        &db.pool,
        alice,
        &format!("insert into public.sessions (audio_path) values ('{alice}/b.wav')"),
    )
    .await;
    assert_eq!(own, Ok(1));
}
