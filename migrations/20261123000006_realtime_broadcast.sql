-- Progress over Realtime Broadcast, for scale: postgres_changes checks every change against
-- every subscriber's RLS, one query per subscriber, while a broadcast is authorised once when
-- the client joins its channel. Each processing_status change is also sent, from the
-- database, to the private topic `session:<session id>:progress`; RLS on realtime.messages
-- lets only the session's owner join it.
--
-- Plain PostgreSQL has no `realtime` schema: the trigger looks for realtime.send when it
-- fires and does nothing without it, and the policy is only created where realtime.messages
-- exists (call internal.authorize_progress_topics() again if Realtime arrives later).

-- The one topic format; clients subscribe with supabase.channel(`session:${id}:progress`,
-- { config: { private: true } }).
create function internal.progress_topic(p_session_id uuid) returns text
  language sql immutable
  set search_path = ''
as $$
  select 'session:' || p_session_id::text || ':progress'
$$;

create function internal.broadcast_progress() returns trigger
  language plpgsql
  security definer
  set search_path = ''
as $$
begin
  -- A catalog lookup per status change (at most about one per second per session) keeps the
  -- same function correct with and without Realtime.
  if to_regprocedure('realtime.send(jsonb, text, text, boolean)') is null then
    return null;
  end if;
  -- Same columns as the row, so broadcast and postgres_changes subscribers render alike.
  -- Dynamic SQL: the function must compile where realtime.send does not exist.
  begin
    execute 'select realtime.send($1, $2, $3, true)'
      using jsonb_build_object(
              'session_id', new.session_id, 'status', new.status, 'progress', new.progress,
              'message', new.message, 'attempt', new.attempt, 'updated_at', new.updated_at),
            'progress',
            internal.progress_topic(new.session_id);
  exception when others then
    -- A lost notification must never fail the worker's transaction: the row is the truth
    -- and postgres_changes or a re-read still delivers it.
    raise warning 'broadcast of progress for session % failed: %', new.session_id, sqlerrm;
  end;
  return null;
end
$$;
revoke all on function internal.broadcast_progress() from public;

create trigger processing_status_broadcast
  after insert or update on public.processing_status
  for each row execute function internal.broadcast_progress();

-- Whether the caller may join `topic`: only `session:<id>:progress` of a session they own.
-- plpgsql so the uuid cast only ever sees a well-formed id.
create function internal.may_receive_topic(p_topic text) returns boolean
  language plpgsql stable
  security definer
  set search_path = ''
as $$
begin
  if p_topic is null
     or p_topic !~ '^session:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}:progress$' then
    return false;
  end if;
  return exists (
    select from public.sessions s
    where s.id = split_part(p_topic, ':', 2)::uuid and s.user_id = auth.uid()
  );
end
$$;
revoke all on function internal.may_receive_topic(text) from public;
grant execute on function internal.may_receive_topic(text) to authenticated;

-- Receive only (SELECT): nobody but the database sends on these topics, so there is no
-- INSERT policy for clients.
create function internal.authorize_progress_topics() returns boolean
  language plpgsql
  set search_path = ''
as $$
begin
  if to_regclass('realtime.messages') is null then
    return false;
  end if;
  if not exists (
    select from pg_policies
    where schemaname = 'realtime' and tablename = 'messages'
      and policyname = 'vibeinsight_session_owner_receives_progress'
  ) then
    create policy vibeinsight_session_owner_receives_progress on realtime.messages
      for select to authenticated
      using (
        realtime.messages.extension = 'broadcast'
        and internal.may_receive_topic((select realtime.topic()))
      );
  end if;
  return true;
end
$$;
revoke all on function internal.authorize_progress_topics() from public;

select internal.authorize_progress_topics();
