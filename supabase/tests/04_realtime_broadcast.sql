-- Progress broadcast (migration 20261123000006): every processing_status change is sent with
-- realtime.send to the private topic session:<id>:progress, and RLS on realtime.messages lets
-- only the session's owner receive it. On Supabase this runs against the real `realtime`
-- schema; on plain PostgreSQL a minimal stand-in with the same names and columns is installed
-- for the duration of the test (its send inserts the broadcast row as Supabase's does).
begin;
do $$ begin
  if not exists (select from pg_extension where extname = 'pgtap') then
    if exists (select from pg_namespace where nspname = 'extensions') then
      create extension pgtap with schema extensions;
    else
      create extension pgtap;
    end if;
  end if;
end $$;
select plan(15);
set local client_min_messages = error;

select gen_random_uuid() as alice \gset
select gen_random_uuid() as bob \gset

-- Without Realtime the trigger is a no-op: progress writes work as before.
insert into public.sessions (user_id, audio_path) values (:'alice', :'alice' || '/before.m4a')
  returning id as early_id \gset
select lives_ok(format($q$select internal.record_progress(%L, 'downloading', 10::smallint, 'x', 1)$q$, :'early_id'),
  'progress writes succeed whether or not realtime.send exists');

do $fake$
begin
  if to_regclass('realtime.messages') is not null then
    return;  -- Supabase: use the real thing
  end if;
  create schema realtime;
  grant usage on schema realtime to authenticated, anon;
  create table realtime.messages (
    id bigint generated always as identity primary key,
    topic text not null,
    extension text not null,
    payload jsonb,
    event text,
    private boolean default false,
    inserted_at timestamp not null default now()
  );
  alter table realtime.messages enable row level security;
  grant select on realtime.messages to authenticated, anon;
  -- Supabase's helper: the topic the client is joining, set by Realtime before it checks RLS.
  create function realtime.topic() returns text language sql stable
    as $f$ select nullif(current_setting('realtime.topic', true), '') $f$;
  create function realtime.send(payload jsonb, event text, topic text, private boolean default true)
    returns void language plpgsql as $f$
  begin
    -- Lets the test check that a failing send never fails the worker's write.
    if payload ->> 'message' = 'make realtime.send fail' then
      raise exception 'realtime is down';
    end if;
    insert into realtime.messages (payload, event, topic, private, extension)
    values (payload, event, topic, private, 'broadcast');
  end $f$;
end
$fake$;

select ok(internal.authorize_progress_topics(), 'the receive policy is in place where realtime.messages exists');
select is((select count(*)::int from pg_policies where schemaname = 'realtime' and tablename = 'messages'
             and policyname = 'vibeinsight_session_owner_receives_progress'), 1,
  'calling it again does not duplicate the policy');

-- The app inserts a session; the trigger's queued row is the first broadcast.
insert into public.sessions (user_id, audio_path) values (:'alice', :'alice' || '/live.m4a')
  returning id as sid \gset
select 'session:' || :'sid' || ':progress' as topic \gset
select results_eq(
  format($q$select event, private, payload ->> 'status', payload ->> 'progress', payload ->> 'session_id'
            from realtime.messages where topic = %L order by inserted_at, id$q$, :'topic'),
  format($q$values ('progress'::text, true, 'queued'::text, '0'::text, %L::text)$q$, :'sid'),
  'queueing broadcasts one private progress event on the session topic');

select internal.record_progress(:'sid', 'transcribing', 40::smallint, '文字起こし中', 1) \gset
select results_eq(
  format($q$select payload ->> 'status', (payload ->> 'progress')::int, payload ->> 'message', (payload ->> 'attempt')::int
            from realtime.messages where topic = %L order by inserted_at desc, id desc limit 1$q$, :'topic'),
  $$values ('transcribing'::text, 40, '文字起こし中'::text, 1)$$,
  'a stage change broadcasts the new status, progress, message and attempt');
select is((select count(*)::int from realtime.messages where topic = :'topic'), 2,
  'one broadcast per change');
select ok((select pg_column_size(payload) < 1024 from realtime.messages where topic = :'topic'
           order by inserted_at desc, id desc limit 1), 'the payload stays under 1 KB');
select internal.record_progress(:'early_id', 'preprocessing', 20::smallint, 'x', 1) \gset
select ok(exists (select from realtime.messages where topic = 'session:' || :'early_id' || ':progress'
                   and payload ->> 'status' = 'preprocessing'),
  'another session broadcasts on its own topic');
select is((select count(*)::int from realtime.messages where topic = :'topic'), 2,
  'and nothing of it reaches this one');

-- Who may join the topic (Realtime sets realtime.topic and the caller's claims, then reads).
set local role authenticated;
set local request.jwt.claim.sub to :'alice';
set local realtime.topic to :'topic';
select is((select count(*)::int from realtime.messages where topic = :'topic'), 2,
  'the owner receives her session''s progress');
set local request.jwt.claim.sub to :'bob';
select is((select count(*)::int from realtime.messages where topic = :'topic'), 0,
  'another user receives nothing on that topic');
set local request.jwt.claim.sub to :'alice';
select 'session:not-a-uuid:progress' as bad_topic \gset
set local realtime.topic to :'bad_topic';
select lives_ok('select count(*) from realtime.messages', 'a malformed topic is refused, not an error');
select is((select count(*)::int from realtime.messages), 0, 'and shows nothing');
reset role;
set local role anon;
set local realtime.topic to :'topic';
select is((select count(*)::int from realtime.messages where topic = :'topic'), 0,
  'anonymous clients receive nothing');
reset role;

-- A failing broadcast must not roll back the worker's progress write.
select lives_ok(format($q$select internal.record_progress(%L, 'analyzing', 80::smallint, 'make realtime.send fail', 1)$q$, :'sid'),
  'a failing realtime.send does not fail the progress write');

select * from finish();
rollback;
