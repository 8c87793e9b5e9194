-- The full history of one session: every stage change, retry and error, with details.
-- psql -v session_id=<uuid> -f sql/02_session_history.sql
select at, attempt, stage, progress, message, detail
  from public.processing_events
 where session_id = :'session_id'
 order by id;
