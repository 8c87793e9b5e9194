//! The pgmq adapter: the only code that touches the queue tables.
//!
//! A [`Delivery`] is a lease: it is ours while its visibility timeout (VT) runs and its
//! `read_ct` is unchanged. Another read bumps `read_ct`, so comparing it fences a worker
//! whose lease expired from committing over the new owner.

use std::time::Duration;

use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool};

pub const QUEUE: &str = "session_processing";
pub const DEAD_LETTER_QUEUE: &str = "session_processing_dlq";

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Delivery {
    pub msg_id: i64,
    /// Deliveries so far, this one included: the attempt number.
    pub read_ct: i32,
    pub message: Value,
}

/// Takes up to `qty` visible messages, fairly: fresh uploads before bulk re-runs, users with
/// fewer running jobs and served longest ago first (`internal.read_jobs`, which leases as
/// pgmq.read does, `FOR UPDATE SKIP LOCKED`).
///
/// # Errors
/// Database errors.
pub async fn read(pool: &PgPool, vt: Duration, qty: usize) -> sqlx::Result<Vec<Delivery>> {
    sqlx::query_as("select msg_id, read_ct, message from internal.read_jobs($1, $2)")
        .bind(whole_seconds(vt))
        .bind(qty as i32)
        .fetch_all(pool)
        .await
}

/// pgmq counts the VT in whole seconds: rounded up, so a backoff of 0.8 s is not made 0
/// (the message would be visible again at once, a retry with no backoff at all).
fn whole_seconds(vt: Duration) -> i32 {
    i32::try_from(vt.as_secs_f64().ceil() as u64).unwrap_or(i32::MAX)
}

/// Pushes the VT `vt` into the future. Returns whether the lease is still ours.
///
/// # Errors
/// Database errors.
pub async fn extend(pool: &PgPool, delivery: &Delivery, vt: Duration) -> sqlx::Result<bool> {
    let read_ct: Option<i32> = sqlx::query_scalar("select read_ct from pgmq.set_vt($1, $2, $3)")
        .bind(QUEUE)
        .bind(delivery.msg_id)
        .bind(whole_seconds(vt))
        .fetch_optional(pool)
        .await?;
    Ok(read_ct == Some(delivery.read_ct))
}

/// Makes the message visible again after `delay`: the retry backoff.
///
/// # Errors
/// Database errors.
pub async fn retry_later(pool: &PgPool, delivery: &Delivery, delay: Duration) -> sqlx::Result<()> {
    extend(pool, delivery, delay).await.map(drop)
}

/// Returns a job without counting the attempt, since nothing failed: an unfinished job at
/// shutdown (`after` zero: visible now), or a recording still being uploaded (look again
/// `after`). pgmq has no call that lowers `read_ct`, hence the direct update.
///
/// # Errors
/// Database errors.
pub async fn hand_back(pool: &PgPool, delivery: &Delivery, after: Duration) -> sqlx::Result<()> {
    sqlx::query(
        "update pgmq.q_session_processing
            set vt = clock_timestamp() + make_interval(secs => $3), read_ct = greatest(read_ct - 1, 0)
          where msg_id = $1 and read_ct = $2",
    )
    .bind(delivery.msg_id)
    .bind(delivery.read_ct)
    .bind(after.as_secs_f64())
    .execute(pool)
    .await?;
    Ok(())
}

/// Locks the message row for the rest of `tx` and tells whether the lease is still ours.
///
/// # Errors
/// Database errors.
pub async fn hold_lease(tx: &mut PgConnection, delivery: &Delivery) -> sqlx::Result<bool> {
    let read_ct: Option<i32> = sqlx::query_scalar(
        "select read_ct from pgmq.q_session_processing where msg_id = $1 for update",
    )
    .bind(delivery.msg_id)
    .fetch_optional(tx)
    .await?;
    Ok(read_ct == Some(delivery.read_ct))
}

/// Acknowledges the message (kept in pgmq's archive for audit).
///
/// # Errors
/// Database errors.
pub async fn archive(conn: &mut PgConnection, delivery: &Delivery) -> sqlx::Result<()> {
    sqlx::query("select pgmq.archive($1, $2)")
        .bind(QUEUE)
        .bind(delivery.msg_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Moves the message to the dead-letter queue with the reason, and archives the original.
///
/// # Errors
/// Database errors.
pub async fn dead_letter(
    conn: &mut PgConnection,
    delivery: &Delivery,
    error: &str,
) -> sqlx::Result<()> {
    let mut body = match &delivery.message {
        Value::Object(fields) => fields.clone(),
        other => [("original".to_owned(), other.clone())]
            .into_iter()
            .collect(),
    };
    body.insert("error".into(), json!(error));
    body.insert("attempts".into(), json!(delivery.read_ct));
    body.insert("original_msg_id".into(), json!(delivery.msg_id));
    body.insert("dead_lettered_at".into(), json!(chrono::Utc::now()));
    sqlx::query("select pgmq.send($1, $2)")
        .bind(DEAD_LETTER_QUEUE)
        .bind(Value::Object(body))
        .execute(&mut *conn)
        .await?;
    archive(conn, delivery).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_backoff_is_not_rounded_away() {
        assert_eq!(whole_seconds(Duration::from_millis(780)), 1);
        assert_eq!(whole_seconds(Duration::from_secs(60)), 60);
        assert_eq!(whole_seconds(Duration::from_millis(1)), 1);
    }
}
