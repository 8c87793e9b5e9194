-- Stage checkpoints and re-judging.
--
-- What a paid or expensive stage produced is kept per session, so a later attempt (after a
-- transient failure, a hand-back at shutdown, an expired lease) or a re-judgement reuses it
-- instead of paying again. `fingerprint` names the inputs the payload came from; a worker
-- only resumes from a checkpoint whose fingerprint matches its own. The `measured` stage
-- (transcript + measurements) stays as long as the session: `ops.reassess` judges from it.
-- Clients cannot read it (schema `internal`).

create table internal.stage_checkpoints (
  session_id uuid not null references public.sessions (id) on delete cascade,
  stage text not null,
  fingerprint text not null,
  payload jsonb not null,
  created_at timestamptz not null default now(),
  primary key (session_id, stage)
);
revoke all on internal.stage_checkpoints from public;

-- The queued or in-flight message of a session, if it has one: what a requeue or reassess
-- returns instead of sending a second message, and what retention must not trim under.
create function internal.pending_message(p_session_id uuid) returns bigint
  language sql
  stable
  set search_path = ''
as $$
  select msg_id from pgmq.q_session_processing
   where message ->> 'session_id' = p_session_id::text
   order by msg_id limit 1
$$;
revoke all on function internal.pending_message(uuid) from public;

-- `fresh => true` forgets the checkpoints, so everything is measured and paid for again
-- (e.g. after the recording was replaced under the same key with the same size).
drop function ops.requeue(uuid);
create function ops.requeue(p_session_id uuid, fresh boolean default false) returns bigint
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

  if fresh then
    delete from internal.stage_checkpoints where session_id = p_session_id;
  end if;

  v_msg_id := internal.pending_message(p_session_id);
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
    internal.queued_message(v_language), 0, jsonb_build_object('reason', 'requeue', 'fresh', fresh));
  select pgmq.send('session_processing',
    jsonb_build_object('session_id', p_session_id, 'reason', 'requeue')) into v_msg_id;
  return v_msg_id;
end
$$;

-- Runs only the judgement again, from the stored transcript and measurements: no fetch, no
-- decode, no transcription. The session stays `completed` (its results stay readable) while
-- the progress row shows the re-judgement. A produced judgement is only replaced by another
-- produced one; a re-judgement that ends invalid or unavailable is recorded in the events.
create function ops.reassess(p_session_id uuid) returns bigint
  language plpgsql
  security definer
  set search_path = ''
as $$
declare
  v_session public.sessions;
  v_msg_id bigint;
begin
  select * into v_session from public.sessions where id = p_session_id for update;
  if not found then
    raise exception 'session % does not exist', p_session_id using errcode = 'no_data_found';
  end if;
  if v_session.status <> 'completed' then
    raise exception 'session % is %, not completed: use ops.requeue', p_session_id, v_session.status
      using errcode = 'object_not_in_prerequisite_state';
  end if;
  if not exists (select from internal.stage_checkpoints
                  where session_id = p_session_id and stage = 'measured') then
    raise exception 'session % has no stored measurements to judge (it completed before they were kept): use ops.requeue', p_session_id
      using errcode = 'object_not_in_prerequisite_state';
  end if;

  v_msg_id := internal.pending_message(p_session_id);
  if v_msg_id is not null then
    return v_msg_id;
  end if;

  perform internal.record_progress(p_session_id, 'queued', 0::smallint,
    internal.queued_message(v_session.language), 0, jsonb_build_object('reason', 'reassess'));
  select pgmq.send('session_processing',
    jsonb_build_object('session_id', p_session_id, 'reason', 'reassess')) into v_msg_id;
  return v_msg_id;
end
$$;

-- Re-judges every completed session whose judgement has this status (after an outage:
-- 'unavailable'; after a prompt or model change: 'invalid' or 'produced'). Returns how many.
create function ops.reassess_all(p_status text default 'unavailable') returns integer
  language plpgsql
  security definer
  set search_path = ''
as $$
begin
  if p_status not in ('produced', 'not_produced', 'invalid', 'unavailable') then
    raise exception 'unknown judgement status %: produced, not_produced, invalid or unavailable', p_status
      using errcode = 'invalid_parameter_value';
  end if;
  return (
    select count(ops.reassess(s.id))::integer
      from public.sessions s
      join public.analysis_results r on r.session_id = s.id
     where s.status = 'completed'
       and r.provenance -> 'judgement' ->> 'status' = p_status
       and exists (select from internal.stage_checkpoints c
                    where c.session_id = s.id and c.stage = 'measured'));
end
$$;

revoke all on all functions in schema ops from public;
grant execute on all functions in schema ops to service_role;
