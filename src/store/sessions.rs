//! `public.sessions`: the source of truth for a job.

use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::Language;
use crate::error::Failure;
use crate::pipeline::diarize::MAX_SPEAKERS;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SessionRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub audio_path: String,
    pub language: String,
    /// Declared speaker count; null or 0 asks for an estimate.
    pub num_speakers: Option<i16>,
    pub status: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl SessionRow {
    pub fn language(&self) -> Language {
        match self.language.as_str() {
            "en" => Language::En,
            "auto" => Language::Auto,
            _ => Language::Ja,
        }
    }

    /// The declared count, `None` to estimate it.
    ///
    /// # Errors
    /// A count above [`MAX_SPEAKERS`] (the database check forbids it; a database migrated
    /// by an older build may still hold one) or below 0.
    pub fn speakers(&self) -> Result<Option<u8>, Failure> {
        match self.num_speakers {
            None | Some(0) => Ok(None),
            Some(n) => u8::try_from(n)
                .ok()
                .filter(|&k| usize::from(k) <= MAX_SPEAKERS)
                .map(Some)
                .ok_or(Failure::TooManySpeakers {
                    declared: n.into(),
                    max: MAX_SPEAKERS,
                }),
        }
    }
}

/// # Errors
/// Database errors.
pub async fn load(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<SessionRow>> {
    sqlx::query_as("select id, user_id, audio_path, language, num_speakers, status, created_at from public.sessions where id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// # Errors
/// Database errors.
pub async fn mark_processing(pool: &PgPool, id: Uuid) -> sqlx::Result<()> {
    sqlx::query("update public.sessions set status = 'processing', error = null, updated_at = now() where id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

/// # Errors
/// Database errors.
pub async fn mark_failed(
    conn: &mut sqlx::PgConnection,
    id: Uuid,
    error: &str,
    error_code: &str,
) -> sqlx::Result<()> {
    sqlx::query("update public.sessions set status = 'failed', error = $2, error_code = $3, updated_at = now() where id = $1")
        .bind(id)
        .bind(error)
        .bind(error_code)
        .execute(conn)
        .await?;
    Ok(())
}

/// Inserts a session exactly as the app does: as the `authenticated` role with the user's JWT
/// subject, so row-level security and the enqueue trigger apply as they would in production.
///
/// # Errors
/// Database errors, including a policy violation (e.g. a path outside the user's prefix).
pub async fn insert_as_user(
    pool: &PgPool,
    user_id: Uuid,
    audio_path: &str,
    language: Language,
    num_speakers: Option<i16>,
) -> sqlx::Result<Uuid> {
    let mut tx = pool.begin().await?;
    sqlx::query("select set_config('request.jwt.claim.sub', $1, true)")
        .bind(user_id.to_string())
        .execute(&mut *tx)
        .await?;
    sqlx::query("set local role authenticated")
        .execute(&mut *tx)
        .await?;
    let language = serde_json::to_value(language)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned));
    let id = sqlx::query_scalar(
        "insert into public.sessions (user_id, audio_path, language, num_speakers) values ($1, $2, $3, $4) returning id",
    )
    .bind(user_id)
    .bind(audio_path)
    .bind(language)
    .bind(num_speakers)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}
