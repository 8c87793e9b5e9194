-- The owner's controls (README, *For the app*): retry one's own failed session a bounded
-- number of times, delete one's own sessions (everything about them goes with them, and a
-- worker processing one stops without writing results), and an account deleted in
-- auth.users takes its sessions along.

-- Bounded user retries: the worker's own attempts are `queue.max_attempts` per run; this
-- counts how often the owner asked for another run.
alter table public.sessions add column user_retries smallint not null default 0;
alter table public.sessions add constraint sessions_user_retries_check check (user_retries >= 0);

alter policy sessions_insert_own on public.sessions
  with check (
    user_id = (select auth.uid())
    and audio_path like (select auth.uid())::text || '/%'
    and status = 'queued'
    and error is null
    and error_code is null
    and user_retries = 0
  );

-- Requeues the caller's own failed session. SECURITY DEFINER because the caller has no
-- access to the queue; the owner check is therefore here, not in a policy. Another user's
-- session, and a session that does not exist, are the same error, so ids cannot be probed.
create function public.retry_session(session_id uuid) returns bigint
  language plpgsql
  security definer
  set search_path = ''
as $$
declare
  v_status text;
  v_retries smallint;
  v_limit constant smallint := 3;
begin
  select s.status, s.user_retries into v_status, v_retries
    from public.sessions s
   where s.id = retry_session.session_id and s.user_id = (select auth.uid())
     for update;
  if not found then
    raise exception 'session % not found', retry_session.session_id
      using errcode = 'insufficient_privilege';
  end if;
  if v_status <> 'failed' then
    raise exception 'only a failed session can be retried (this one is %)', v_status
      using errcode = 'check_violation';
  end if;
  if v_retries >= v_limit then
    raise exception 'session % was already retried % times, the most allowed', retry_session.session_id, v_limit
      using errcode = 'check_violation', hint = 'upload the recording again as a new session';
  end if;
  update public.sessions set user_retries = user_retries + 1 where id = retry_session.session_id;
  return ops.requeue(retry_session.session_id);
end
$$;
revoke all on function public.retry_session(uuid) from public, anon;
grant execute on function public.retry_session(uuid) to authenticated, service_role;

-- Deleting: the owner deletes their own rows; status, events, transcript, results and
-- checkpoints follow by `on delete cascade`.
grant delete on public.sessions to authenticated;
create policy sessions_delete_own on public.sessions
  for delete to authenticated
  using (user_id = (select auth.uid()));

-- Recordings of deleted sessions, for removal from object storage: the worker drains this
-- (deleting each object through its storage client, which may be S3, Tigris or Supabase
-- Storage alike); what is left is visible in `ops.deleted_recordings`.
create table internal.deleted_recordings (
  id          bigint generated always as identity primary key,
  session_id  uuid not null,
  user_id     uuid not null,
  audio_path  text not null,
  deleted_at  timestamptz not null default now(),
  attempts    integer not null default 0,
  last_error  text
);
revoke all on internal.deleted_recordings from public;

-- BEFORE DELETE, and the queue first: the worker's final transaction locks the session row,
-- then its message; taking them in the same order here means a delete and a worker's commit
-- wait for each other instead of deadlocking. Archiving the message makes the running job's
-- lease check (heartbeat, final transaction) fail, so it stops and writes nothing.
create function internal.forget_session() returns trigger
  language plpgsql
  security definer
  set search_path = ''
as $$
begin
  perform pgmq.archive('session_processing', array(
    select msg_id from pgmq.q_session_processing where message ->> 'session_id' = old.id::text));
  perform pgmq.archive('session_processing_dlq', array(
    select msg_id from pgmq.q_session_processing_dlq where message ->> 'session_id' = old.id::text));
  insert into internal.deleted_recordings (session_id, user_id, audio_path)
  values (old.id, old.user_id, old.audio_path);
  return old;
end
$$;
revoke all on function internal.forget_session() from public;

create trigger sessions_forget
  before delete on public.sessions
  for each row execute function internal.forget_session();

create view ops.deleted_recordings as
  select id, session_id, user_id, audio_path, deleted_at, attempts, last_error
    from internal.deleted_recordings;
revoke all on ops.deleted_recordings from public, anon, authenticated;
grant select on ops.deleted_recordings to service_role;

-- An account deleted in auth.users takes its sessions (and so everything above) with it.
-- Only where GoTrue's table exists (Supabase); the local shim has no users table. NOT VALID:
-- sessions left behind by accounts deleted before this migration must not block it; the
-- cascade applies to every row all the same.
do $auth$
begin
  if to_regclass('auth.users') is not null
     and not exists (select from pg_constraint where conname = 'sessions_user_id_fkey') then
    alter table public.sessions
      add constraint sessions_user_id_fkey foreign key (user_id)
      references auth.users (id) on delete cascade not valid;
  end if;
end
$auth$;
