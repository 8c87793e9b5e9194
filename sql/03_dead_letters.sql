-- Messages the worker gave up on, newest first, with the reason. A dead letter with no
-- session (malformed message, deleted session) has session_status NULL.
select msg_id, dead_lettered_at, session_id, attempts, session_status, last_error
  from ops.dead_letters;

-- The most common failure reasons this week.
select left(last_error, 120) as reason, count(*)
  from ops.dead_letters
 where dead_lettered_at > now() - interval '7 days'
 group by 1 order by 2 desc;
