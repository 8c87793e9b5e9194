-- Operator surface for DBAs and the service role; the runbook in sql/ uses these.

create schema ops;
revoke all on schema ops from public;
grant usage on schema ops to service_role;

create view ops.queue_overview as
select
  (select count(*) from pgmq.q_session_processing) as depth,
  (select count(*) from pgmq.q_session_processing where vt <= clock_timestamp()) as visible,
  (select count(*) from pgmq.q_session_processing
     where vt > clock_timestamp() and read_ct > 0) as in_flight,
  (select extract(epoch from clock_timestamp() - min(enqueued_at))::integer
     from pgmq.q_session_processing) as oldest_age_secs,
  (select count(*) from pgmq.q_session_processing_dlq) as dead_letters,
  (select count(*) from public.sessions where status = 'queued') as sessions_queued,
  (select count(*) from public.sessions where status = 'processing') as sessions_processing,
  (select count(*) from public.sessions where status = 'completed') as sessions_completed,
  (select count(*) from public.sessions where status = 'failed') as sessions_failed;

create view ops.dead_letters as
select
  d.msg_id,
  d.enqueued_at as dead_lettered_at,
  d.message ->> 'session_id' as session_id,
  coalesce(d.message ->> 'error', s.error) as last_error,
  (d.message ->> 'attempts')::integer as attempts,
  s.status as session_status,
  s.audio_path,
  d.message as message
from pgmq.q_session_processing_dlq d
left join public.sessions s on s.id::text = d.message ->> 'session_id'
order by d.enqueued_at desc;

-- Re-runs one session, whatever its state. If a message for it is already queued or in
-- flight, that one is returned instead of sending a second (two workers on one session
-- would only waste work, but a DBA pressing twice should not cause it).
create function ops.requeue(p_session_id uuid) returns bigint
  language plpgsql
  security definer
  set search_path = ''
as $$
declare
  v_language text;
  v_msg_id bigint;
  v_dead bigint;
begin
  select language into v_language from public.sessions where id = p_session_id for update;
  if not found then
    raise exception 'session % does not exist', p_session_id using errcode = 'no_data_found';
  end if;

  select msg_id into v_msg_id from pgmq.q_session_processing
   where message ->> 'session_id' = p_session_id::text
   order by msg_id limit 1;
  if v_msg_id is not null then
    return v_msg_id;
  end if;

  -- Dead letters of this session are resolved by the requeue; keep them in the archive.
  for v_dead in
    select msg_id from pgmq.q_session_processing_dlq where message ->> 'session_id' = p_session_id::text
  loop
    perform pgmq.archive('session_processing_dlq', v_dead);
  end loop;

  update public.sessions set status = 'queued', error = null, updated_at = now()
   where id = p_session_id;
  perform internal.record_progress(p_session_id, 'queued', 0::smallint,
    internal.queued_message(v_language), 0, jsonb_build_object('reason', 'requeue'));
  select pgmq.send('session_processing',
    jsonb_build_object('session_id', p_session_id, 'reason', 'requeue')) into v_msg_id;
  return v_msg_id;
end
$$;

create function ops.requeue_failed() returns integer
  language sql
  security definer
  set search_path = ''
as $$
  select count(ops.requeue(id))::integer from public.sessions where status = 'failed'
$$;

revoke all on all functions in schema ops from public;
grant select on all tables in schema ops to service_role;
grant execute on all functions in schema ops to service_role;
