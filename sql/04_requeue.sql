-- Re-run one session (completed or failed). Returns the queue message id. Safe to repeat:
-- a session already queued or in flight is not queued twice. Its dead letters are archived.
-- psql -v session_id=<uuid> -f sql/04_requeue.sql
select ops.requeue(:'session_id');

-- Re-run every failed session (e.g. after fixing a provider key). Returns how many.
-- select ops.requeue_failed();

-- The same, forgetting the stored checkpoints: everything is measured (and paid for) again.
-- select ops.requeue(:'session_id', fresh => true);

-- Only the judgement again, from the stored transcript and measurements (no download, no
-- transcription): after an LLM outage, a prompt change or a model upgrade.
-- select ops.reassess(:'session_id');

-- Every completed session whose judgement is 'unavailable' (the default), 'invalid',
-- 'not_produced' or 'produced'. Returns how many were queued.
-- select ops.reassess_all();
-- select ops.reassess_all('invalid');

-- How the judgements stand.
-- select provenance -> 'judgement' ->> 'status' as judgement, count(*)
--   from public.analysis_results group by 1 order by 2 desc;
