//! Removes the recordings of deleted sessions from object storage.
//!
//! Deleting a session (its owner, or an account deleted in `auth.users`) lists its recording
//! in `internal.deleted_recordings` (migration `20261206000012`); the database cannot reach
//! the bucket, so the workers drain the list through their own storage client. Rows are taken
//! `FOR UPDATE SKIP LOCKED`, so several workers never delete the same object twice; a failure
//! stays listed with its error (`ops.deleted_recordings`) and is tried again on the next
//! round, up to [`MAX_ATTEMPTS`].

use std::time::Duration;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::storage::Storage;

/// How often a worker looks at the list (the first time at start).
const INTERVAL: Duration = Duration::from_secs(60);
const BATCH: i64 = 100;
/// After this many failures a recording stays listed for an operator.
pub const MAX_ATTEMPTS: i32 = 10;

/// Drains the list every [`INTERVAL`] until `stop`.
pub async fn run(pool: PgPool, storage: Storage, stop: CancellationToken) {
    super::periodic::every(INTERVAL, &stop, || async {
        match drain(&pool, &storage).await {
            Ok(0) => {}
            Ok(removed) => tracing::info!(removed, "removed recordings of deleted sessions"),
            Err(err) => tracing::warn!(
                error = format!("{err:#}"),
                "could not drain internal.deleted_recordings"
            ),
        }
    })
    .await;
}

/// One round: returns how many objects were removed.
///
/// # Errors
/// Database errors (a storage failure is recorded on its row instead).
pub async fn drain(pool: &PgPool, storage: &Storage) -> anyhow::Result<usize> {
    let mut tx = pool.begin().await?;
    let listed: Vec<(i64, String)> = sqlx::query_as(
        "select id, audio_path from internal.deleted_recordings
          where attempts < $1 order by id limit $2 for update skip locked",
    )
    .bind(MAX_ATTEMPTS)
    .bind(BATCH)
    .fetch_all(&mut *tx)
    .await?;
    let mut removed = 0;
    for (id, audio_path) in listed {
        let result = match storage.key(&audio_path) {
            Ok(key) => storage.remove(&key).await,
            // Never a key the worker would have read: nothing of ours to delete there.
            Err(refused) => Err(anyhow::anyhow!("not a key of this store: {refused}")),
        };
        match result {
            Ok(()) => {
                sqlx::query("delete from internal.deleted_recordings where id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                removed += 1;
            }
            Err(err) => {
                sqlx::query(
                    "update internal.deleted_recordings
                        set attempts = attempts + 1, last_error = $2 where id = $1",
                )
                .bind(id)
                .bind(format!("{err:#}"))
                .execute(&mut *tx)
                .await?;
            }
        }
    }
    tx.commit().await?;
    Ok(removed)
}
