-- The job queue. `vibeinsight migrate` installs pgmq before these migrations (as the extension
-- where it is available, as plain SQL elsewhere). `supabase db push` does not: where the
-- server offers the extension (Supabase) and nothing installed pgmq yet, create it here, so
-- the CLI applies this history on its own. A pgmq schema without the extension is the
-- embedded SQL the worker installed, and is left alone.
do $pgmq$
begin
  if not exists (select from pg_namespace where nspname = 'pgmq')
     and exists (select from pg_available_extensions where name = 'pgmq') then
    create extension if not exists pgmq;
  end if;
end
$pgmq$;

select pgmq.create('session_processing');
select pgmq.create('session_processing_dlq');

-- Functions the app's roles must not call directly live in their own schema.
create schema internal;
revoke all on schema internal from public;

-- Upserts the one status row Realtime pushes and appends the same change to the history.
create function internal.record_progress(
  p_session_id uuid, p_stage text, p_progress smallint, p_message text,
  p_attempt integer, p_detail jsonb default '{}'::jsonb
) returns void
  language sql
  security definer
  set search_path = ''
as $$
  insert into public.processing_status as ps (session_id, status, progress, message, attempt, updated_at)
  values (p_session_id, p_stage, p_progress, p_message, p_attempt, now())
  on conflict (session_id) do update
    set status = excluded.status, progress = excluded.progress, message = excluded.message,
        attempt = excluded.attempt, updated_at = excluded.updated_at;
  insert into public.processing_events (session_id, attempt, stage, progress, message, detail)
  values (p_session_id, p_attempt, p_stage, p_progress, p_message, p_detail);
$$;

create function internal.queued_message(p_language text) returns text
  language sql immutable
as $$
  select case p_language when 'ja' then '処理待ちです' else 'Waiting in the queue' end
$$;

-- A session is queued if and only if its row commits: the message is sent in the same
-- transaction as the INSERT. SECURITY DEFINER because the inserting role (authenticated)
-- has no access to pgmq or to the status tables.
create function internal.enqueue_session() returns trigger
  language plpgsql
  security definer
  set search_path = ''
as $$
begin
  perform internal.record_progress(new.id, 'queued', 0::smallint,
    internal.queued_message(new.language), 0, jsonb_build_object('reason', 'insert'));
  perform pgmq.send('session_processing',
    jsonb_build_object('session_id', new.id, 'reason', 'insert'));
  return null;
end
$$;

create trigger sessions_enqueue
  after insert on public.sessions
  for each row execute function internal.enqueue_session();

-- Wakes idle workers (LISTEN vibeinsight_jobs) the moment any message commits, whoever sent it.
-- Our own trigger rather than pgmq.enable_notify_insert, which older pgmq versions lack.
create function internal.notify_workers() returns trigger
  language plpgsql
as $$
begin
  perform pg_notify('vibeinsight_jobs', '');
  return null;
end
$$;

create trigger session_processing_notify
  after insert on pgmq.q_session_processing
  for each statement execute function internal.notify_workers();
