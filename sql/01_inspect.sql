-- Queue health at a glance: depth, visible (ready), in flight (leased or waiting for a
-- retry), age of the oldest message, dead letters, and sessions per status.
select * from ops.queue_overview;

-- What is running or waiting right now, oldest first, with its current stage.
select q.msg_id, q.read_ct as attempt, q.enqueued_at, q.vt as invisible_until,
       q.message ->> 'session_id' as session_id, q.message ->> 'reason' as reason,
       ps.status as stage, ps.progress, ps.message, ps.updated_at
  from pgmq.q_session_processing q
  left join public.processing_status ps on ps.session_id::text = q.message ->> 'session_id'
 order by q.enqueued_at;

-- Sessions stuck in processing for more than 30 minutes (a worker may have died; the
-- message reappears after its visibility timeout by itself; this shows if it did not).
select s.id, s.updated_at, ps.status, ps.progress, ps.attempt, ps.message
  from public.sessions s join public.processing_status ps on ps.session_id = s.id
 where s.status = 'processing' and ps.updated_at < now() - interval '30 minutes';
