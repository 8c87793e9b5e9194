//! `processing_status` (one row per session, pushed by Realtime) and `processing_events`
//! (the append-only history), both written through `internal.record_progress`.
//!
//! The daemon's [`ProgressWriter`] takes reports from the pipeline over a channel and writes
//! them from its own task: stage changes at once, in-stage updates at most once a second per
//! session (the app needs no more, and Realtime fans every write out to every subscriber).

use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use uuid::Uuid;

use crate::domain::Language;
use crate::pipeline::progress::{ProgressSink, ProgressUpdate, Stage};

const IN_STAGE_INTERVAL: Duration = Duration::from_secs(1);

/// The human-readable line for the app, in the session's language.
pub fn message(update: &ProgressUpdate, language: Language) -> String {
    let base = update.stage.message(language);
    let text = match &update.note {
        Some(note) => format!("{base}: {note}"),
        None => base.to_owned(),
    };
    // The column is capped; cut on a char boundary.
    text.chars().take(500).collect()
}

/// # Errors
/// Database errors.
pub async fn record(
    conn: &mut sqlx::PgConnection,
    session_id: Uuid,
    attempt: i32,
    update: &ProgressUpdate,
    language: Language,
    detail: serde_json::Value,
) -> sqlx::Result<()> {
    sqlx::query("select internal.record_progress($1, $2, $3, $4, $5, $6)")
        .bind(session_id)
        .bind(update.stage.as_str())
        .bind(i16::from(update.percent))
        .bind(message(update, language))
        .bind(attempt)
        .bind(detail)
        .execute(conn)
        .await?;
    Ok(())
}

/// The daemon's progress sink. Besides writing rows it remembers the current stage and
/// publishes the recording's length, which the job's deadline reads.
pub struct ProgressWriter {
    sender: mpsc::UnboundedSender<ProgressUpdate>,
    stage: std::sync::Mutex<Stage>,
    length: watch::Sender<Option<f64>>,
}

impl ProgressSink for ProgressWriter {
    fn report(&self, update: ProgressUpdate) {
        *self.stage.lock().unwrap_or_else(|p| p.into_inner()) = update.stage;
        // The writer task only ends after every sender is dropped, so this cannot fail.
        let _ = self.sender.send(update);
    }

    fn recording_length(&self, seconds: f64) {
        self.length.send_replace(Some(seconds));
    }
}

impl ProgressWriter {
    /// The stage last reported.
    pub fn stage(&self) -> Stage {
        *self.stage.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The recording's length as the pipeline learns it.
    pub fn length(&self) -> watch::Receiver<Option<f64>> {
        self.length.subscribe()
    }
}

impl ProgressWriter {
    /// Starts the writer task. Drop the writer and await the handle before writing the final
    /// row, so no late in-stage update can overwrite `completed` or `error`.
    pub fn spawn(
        pool: PgPool,
        session_id: Uuid,
        attempt: i32,
        language: Language,
    ) -> (ProgressWriter, JoinHandle<()>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        let task = Throttle {
            pool,
            session_id,
            attempt,
            language,
        };
        let writer = ProgressWriter {
            sender,
            stage: std::sync::Mutex::new(Stage::Queued),
            length: watch::channel(None).0,
        };
        (writer, tokio::spawn(task.run(receiver)))
    }
}

struct Throttle {
    pool: PgPool,
    session_id: Uuid,
    attempt: i32,
    language: Language,
}

impl Throttle {
    async fn run(self, mut receiver: mpsc::UnboundedReceiver<ProgressUpdate>) {
        let mut last: Option<(Stage, Instant)> = None;
        let mut pending: Option<ProgressUpdate> = None;
        loop {
            let deadline = last.map(|(_, at)| at + IN_STAGE_INTERVAL);
            let next = match (pending.is_some(), deadline) {
                (true, Some(deadline)) => tokio::time::timeout_at(deadline, receiver.recv())
                    .await
                    .ok(),
                _ => Some(receiver.recv().await),
            };
            match next {
                Some(Some(update)) => {
                    let stage_changed = last.is_none_or(|(stage, _)| stage != update.stage);
                    let due = last.is_none_or(|(_, at)| at.elapsed() >= IN_STAGE_INTERVAL);
                    if stage_changed || due {
                        if stage_changed && let Some(held) = pending.take() {
                            self.write(&held).await;
                        }
                        self.write(&update).await;
                        last = Some((update.stage, Instant::now()));
                        pending = None;
                    } else {
                        pending = Some(update);
                    }
                }
                Some(None) => break,
                None => {
                    if let Some(held) = pending.take() {
                        self.write(&held).await;
                        last = Some((held.stage, Instant::now()));
                    }
                }
            }
        }
        if let Some(held) = pending {
            self.write(&held).await;
        }
    }

    /// Progress is advisory: a failed write is logged, and the job goes on; the final state
    /// is written in the job's own transaction.
    async fn write(&self, update: &ProgressUpdate) {
        let result = async {
            let mut conn = self.pool.acquire().await?;
            record(
                &mut conn,
                self.session_id,
                self.attempt,
                update,
                self.language,
                serde_json::json!({}),
            )
            .await
        }
        .await;
        if let Err(err) = result {
            tracing::warn!(error = %err, stage = update.stage.as_str(), "failed to write a progress row");
        }
    }
}
