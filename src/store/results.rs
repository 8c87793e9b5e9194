//! `analysis_results` and `transcript_segments`: replaced, never appended, so a redelivered
//! job leaves exactly one result.

use uuid::Uuid;

use crate::pipeline::outcome::{AnalysisReport, TranscriptRow};

/// # Errors
/// Database errors.
pub async fn save(
    conn: &mut sqlx::PgConnection,
    session_id: Uuid,
    report: &AnalysisReport,
    transcript: &[TranscriptRow],
) -> sqlx::Result<()> {
    sqlx::query("delete from public.transcript_segments where session_id = $1")
        .bind(session_id)
        .execute(&mut *conn)
        .await?;
    for (seq, row) in transcript.iter().enumerate() {
        insert_segment(conn, session_id, seq as i32, row).await?;
    }
    sqlx::query(
        "insert into public.analysis_results as r
           (session_id, speaker_analysis, coaching_skills, emotion_analysis, conversation_events,
            diagnosis, prescriptions, metrics, provenance, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, now())
         on conflict (session_id) do update set
           speaker_analysis = excluded.speaker_analysis, coaching_skills = excluded.coaching_skills,
           emotion_analysis = excluded.emotion_analysis, conversation_events = excluded.conversation_events,
           diagnosis = excluded.diagnosis, prescriptions = excluded.prescriptions,
           metrics = excluded.metrics, provenance = excluded.provenance, created_at = excluded.created_at",
    )
    .bind(session_id)
    .bind(&report.speaker_analysis)
    .bind(&report.coaching_skills)
    .bind(&report.emotion_analysis)
    .bind(&report.conversation_events)
    .bind(&report.diagnosis)
    .bind(&report.prescriptions)
    .bind(&report.metrics)
    .bind(&report.provenance)
    .execute(&mut *conn)
    .await?;
    sqlx::query("update public.sessions set status = 'completed', error = null, updated_at = now() where id = $1")
        .bind(session_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The stored judgement's status (`provenance.judgement.status`), if there is a result.
///
/// # Errors
/// Database errors.
pub async fn judgement_status(
    pool: &sqlx::PgPool,
    session_id: Uuid,
) -> sqlx::Result<Option<String>> {
    let status: Option<Option<String>> = sqlx::query_scalar(
        "select provenance -> 'judgement' ->> 'status' from public.analysis_results where session_id = $1",
    )
    .bind(session_id)
    .fetch_optional(pool)
    .await?;
    Ok(status.flatten())
}

async fn insert_segment(
    conn: &mut sqlx::PgConnection,
    session_id: Uuid,
    seq: i32,
    row: &TranscriptRow,
) -> sqlx::Result<()> {
    let segment = &row.segment;
    let ms = |secs: f64| (secs * 1000.0).round() as i32;
    let words = (!segment.words.is_empty())
        .then(|| serde_json::to_value(&segment.words).unwrap_or_default());
    sqlx::query(
        "insert into public.transcript_segments (session_id, seq, start_ms, end_ms, speaker, text, words, confidence)
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(session_id)
    .bind(seq)
    .bind(ms(segment.span.start))
    .bind(ms(segment.span.end))
    .bind(&row.speaker)
    .bind(&segment.text)
    .bind(words)
    .bind(segment.confidence)
    .execute(conn)
    .await?;
    Ok(())
}
