//! `internal.stage_checkpoints`: stage results kept between attempts (see
//! [`crate::pipeline::checkpoint`]). A checkpoint is an optimisation, never a requirement:
//! a failed read or write is logged and the stage simply runs again.

use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::pipeline::checkpoint::Checkpoints;

/// One session's checkpoints in the database.
pub struct SessionCheckpoints {
    pub pool: PgPool,
    pub session_id: Uuid,
}

impl Checkpoints for SessionCheckpoints {
    fn load<'a>(&'a self, stage: &'a str, fingerprint: &'a str) -> BoxFuture<'a, Option<Value>> {
        async move {
            let found = sqlx::query_scalar(
                "select payload from internal.stage_checkpoints
                  where session_id = $1 and stage = $2 and fingerprint = $3",
            )
            .bind(self.session_id)
            .bind(stage)
            .bind(fingerprint)
            .fetch_optional(&self.pool)
            .await;
            found
                .inspect_err(|err| tracing::warn!(%err, stage, "cannot read the checkpoint"))
                .ok()
                .flatten()
        }
        .boxed()
    }

    fn save<'a>(
        &'a self,
        stage: &'a str,
        fingerprint: &'a str,
        payload: Value,
    ) -> BoxFuture<'a, ()> {
        async move {
            let saved = sqlx::query(
                "insert into internal.stage_checkpoints (session_id, stage, fingerprint, payload)
                 values ($1, $2, $3, $4)
                 on conflict (session_id, stage) do update
                   set fingerprint = excluded.fingerprint, payload = excluded.payload,
                       created_at = now()",
            )
            .bind(self.session_id)
            .bind(stage)
            .bind(fingerprint)
            .bind(payload)
            .execute(&self.pool)
            .await;
            if let Err(err) = saved {
                tracing::warn!(%err, stage, "cannot save the checkpoint; a retry would redo the stage");
            }
        }
        .boxed()
    }
}

/// The latest checkpoint of `stage`, whatever inputs it came from: what the stored result
/// was built from (a re-judgement reads it).
///
/// # Errors
/// Database errors.
pub async fn latest(pool: &PgPool, session_id: Uuid, stage: &str) -> sqlx::Result<Option<Value>> {
    sqlx::query_scalar(
        "select payload from internal.stage_checkpoints where session_id = $1 and stage = $2",
    )
    .bind(session_id)
    .bind(stage)
    .fetch_optional(pool)
    .await
}

/// Drops the session's checkpoints of stages whose content the saved result now holds
/// (transcript pieces), keeping the `measured` one a re-judgement reads. Runs inside the
/// transaction that saves the result.
///
/// # Errors
/// Database errors.
pub async fn discard_superseded(
    conn: &mut sqlx::PgConnection,
    session_id: Uuid,
    keep: &str,
) -> sqlx::Result<()> {
    sqlx::query("delete from internal.stage_checkpoints where session_id = $1 and stage <> $2")
        .bind(session_id)
        .bind(keep)
        .execute(conn)
        .await?;
    Ok(())
}
