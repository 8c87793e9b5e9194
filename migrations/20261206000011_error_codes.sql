-- Stable error codes beside the localized `error` prose, so the app can branch on a failure
-- (README, *Error codes*). The worker writes the code with the failure, in the same
-- transaction; `processing_status.error_code` carries it to Realtime subscribers and the
-- `error` event's `detail.error_code` keeps it in the history.

alter table public.sessions add column error_code text;
alter table public.sessions add constraint sessions_error_code_check check (error_code in (
  'audio_unsupported', 'audio_corrupt', 'audio_empty', 'audio_too_long', 'recording_not_found',
  'recording_too_large', 'access_denied', 'provider_auth', 'provider_quota', 'timed_out',
  'attempts_exhausted', 'invalid_request', 'internal'));

alter table public.processing_status add column error_code text;

-- The app inserts sessions; only the worker says why one failed.
alter policy sessions_insert_own on public.sessions
  with check (
    user_id = (select auth.uid())
    and audio_path like (select auth.uid())::text || '/%'
    and status = 'queued'
    and error is null
    and error_code is null
  );

-- Same signature, so every caller (worker, ops.requeue, the enqueue trigger) keeps working:
-- the code comes from the detail of an `error` row and is cleared by any other stage. A
-- session deleted while its job runs gets no rows back (the worker's late progress writes
-- are dropped instead of failing on the foreign key).
create or replace function internal.record_progress(
  p_session_id uuid, p_stage text, p_progress smallint, p_message text,
  p_attempt integer, p_detail jsonb default '{}'::jsonb
) returns void
  language sql
  security definer
  set search_path = ''
as $$
  insert into public.processing_status as ps
    (session_id, status, progress, message, attempt, error_code, updated_at)
  select p_session_id, p_stage, p_progress, p_message, p_attempt,
         case when p_stage = 'error' then p_detail ->> 'error_code' end, now()
   where exists (select from public.sessions where id = p_session_id)
  on conflict (session_id) do update
    set status = excluded.status, progress = excluded.progress, message = excluded.message,
        attempt = excluded.attempt, error_code = excluded.error_code,
        updated_at = excluded.updated_at;
  insert into public.processing_events (session_id, attempt, stage, progress, message, detail)
  select p_session_id, p_attempt, p_stage, p_progress, p_message, p_detail
   where exists (select from public.sessions where id = p_session_id);
$$;
revoke all on function internal.record_progress(uuid, text, smallint, text, integer, jsonb) from public;

-- The broadcast payload keeps the row's columns (README: broadcast and postgres_changes
-- subscribers render alike), so it gains the code too.
create or replace function internal.broadcast_progress() returns trigger
  language plpgsql
  security definer
  set search_path = ''
as $$
begin
  if to_regprocedure('realtime.send(jsonb, text, text, boolean)') is null then
    return null;
  end if;
  begin
    execute 'select realtime.send($1, $2, $3, true)'
      using jsonb_build_object(
              'session_id', new.session_id, 'status', new.status, 'progress', new.progress,
              'message', new.message, 'attempt', new.attempt, 'error_code', new.error_code,
              'updated_at', new.updated_at),
            'progress',
            internal.progress_topic(new.session_id);
  exception when others then
    raise warning 'broadcast of progress for session % failed: %', new.session_id, sqlerrm;
  end;
  return null;
end
$$;
revoke all on function internal.broadcast_progress() from public;

-- A requeue forgets the old failure's code with its prose.
create or replace function internal.clear_error_code() returns trigger
  language plpgsql
  set search_path = ''
as $$
begin
  if new.error is null then
    new.error_code := null;
  end if;
  return new;
end
$$;
create trigger sessions_clear_error_code
  before update of error on public.sessions
  for each row execute function internal.clear_error_code();
