-- Fair reads. pgmq.read is first in, first out: one user's batch of 50 recordings (or a DBA's
-- ops.requeue_failed() of 500 sessions) would make every other user wait behind it. Workers
-- read through internal.read_jobs instead, which takes the visible messages in this order:
--   1. fresh uploads (`reason: insert`) before bulk re-runs (`requeue`, `reassess`);
--   2. users with fewer jobs running before users with more (a user holds more than a fair
--      share of the slots only while nobody else waits);
--   3. users served longest ago before users served recently (round robin, so with one slot
--      a second user's upload runs after the first user's current job, not after their batch);
--   4. then first in, first out.
-- It leases exactly as pgmq.read does (vt and read_ct on the queue table, FOR UPDATE SKIP
-- LOCKED), so everything else about the queue, and pgmq 1.4.x without grouped reads, is
-- unchanged.

create table internal.user_turns (
  user_id uuid primary key,
  last_started_at timestamptz not null
);
revoke all on internal.user_turns from public;

create function internal.read_jobs(p_vt integer, p_qty integer)
  returns table (msg_id bigint, read_ct integer, message jsonb)
  language sql
  security definer
  set search_path = ''
as $$
  with owned as (
    select q.msg_id, q.vt, q.read_ct, q.message, s.user_id
      from pgmq.q_session_processing q
      left join public.sessions s
        on s.id = case when q.message ->> 'session_id'
                              ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                         then (q.message ->> 'session_id')::uuid end
  ), running as (
    select o.user_id, count(*) as jobs
      from owned o
     where o.vt > clock_timestamp() and o.read_ct > 0 and o.user_id is not null
     group by o.user_id
  ), pick as (
    select q.msg_id, o.user_id
      from pgmq.q_session_processing q
      join owned o on o.msg_id = q.msg_id
      left join running r on r.user_id = o.user_id
      left join internal.user_turns t on t.user_id = o.user_id
     where q.vt <= clock_timestamp()
     order by coalesce(q.message ->> 'reason', 'insert') <> 'insert',
              coalesce(r.jobs, 0),
              t.last_started_at nulls first,
              q.msg_id
     limit p_qty
       for update of q skip locked
  ), turn as (
    insert into internal.user_turns as t (user_id, last_started_at)
    select u.user_id, clock_timestamp()
      from (select distinct p.user_id from pick p where p.user_id is not null) u
    on conflict (user_id) do update set last_started_at = excluded.last_started_at
  )
  update pgmq.q_session_processing q
     set vt = clock_timestamp() + make_interval(secs => p_vt), read_ct = q.read_ct + 1
    from pick
   where q.msg_id = pick.msg_id
  returning q.msg_id, q.read_ct, q.message
$$;
revoke all on function internal.read_jobs(integer, integer) from public;
