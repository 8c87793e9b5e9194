//! The start of a job's final transaction (save and ack, fail, abandon): the session row,
//! then the lease.
//!
//! The session row is locked first because the owner may delete the session while its job
//! runs: the delete's trigger (migration `20261206000012`) locks the same row, then archives
//! the message. Same order on both sides, so one waits for the other instead of deadlocking:
//! a worker that commits first has its results removed by the cascade that follows; a
//! delete that commits first leaves the worker no row and no lease, and it writes nothing.

use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::queue::{self, Delivery};
use crate::telemetry::JobOutcome;

/// The open transaction, holding the session row and the lease; or, when either is gone,
/// the outcome to report (without writing anything).
///
/// # Errors
/// Database errors.
pub async fn begin(
    pool: &PgPool,
    delivery: &Delivery,
    session_id: Uuid,
) -> sqlx::Result<Result<Transaction<'static, Postgres>, JobOutcome>> {
    let mut tx = pool.begin().await?;
    let exists: bool = sqlx::query_scalar(
        "select exists (select from public.sessions where id = $1 for no key update)",
    )
    .bind(session_id)
    .fetch_one(&mut *tx)
    .await?;
    if !exists {
        tracing::info!("the session was deleted while its job ran; nothing is written");
        return Ok(Err(JobOutcome::Deleted));
    }
    if !queue::hold_lease(&mut tx, delivery).await? {
        tracing::warn!("lease lost before the final transaction; the new owner settles the job");
        return Ok(Err(JobOutcome::LeaseLost));
    }
    Ok(Ok(tx))
}
