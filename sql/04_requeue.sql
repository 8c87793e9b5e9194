-- Re-run one session (completed or failed). Returns the queue message id. Safe to repeat:
-- a session already queued or in flight is not queued twice. Its dead letters are archived.
-- psql -v session_id=<uuid> -f sql/04_requeue.sql
select ops.requeue(:'session_id');

-- Re-run every failed session (e.g. after fixing a provider key). Returns how many.
-- select ops.requeue_failed();
