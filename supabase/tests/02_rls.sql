-- Row-level security and grants: users see only their own rows, write only their own
-- sessions under their own prefix, never status or results, and cannot reach pgmq, ops or
-- internal.
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
select plan(28);

-- Fresh users, so rows left by a seed or earlier work cannot interfere.
select gen_random_uuid() as alice \gset
select gen_random_uuid() as bob \gset

-- Data as the worker leaves it: one session per user, each with status and results.
insert into public.sessions (user_id, audio_path) values (:'alice', :'alice' || '/a.m4a')
  returning id as alice_session \gset
insert into public.sessions (user_id, audio_path) values (:'bob', :'bob' || '/b.m4a')
  returning id as bob_session \gset
insert into public.analysis_results (session_id, metrics)
  values (:'alice_session', '{"k": 1}'), (:'bob_session', '{"k": 2}');
insert into public.transcript_segments (session_id, seq, start_ms, end_ms, speaker, text)
  values (:'alice_session', 0, 0, 1000, 'coach', 'こんにちは'),
         (:'bob_session', 0, 0, 1000, 'coach', 'hello');

set local role authenticated;
set local request.jwt.claim.sub to :'alice';

-- Reading: own rows only.
select results_eq('select id::text from public.sessions', format('values (%L)', :'alice_session'),
  'alice sees her session and not bob''s');
select results_eq('select session_id::text from public.processing_status',
  format('values (%L)', :'alice_session'), 'alice sees only her status row');
select results_eq('select session_id::text from public.analysis_results',
  format('values (%L)', :'alice_session'), 'alice sees only her results');
select results_eq('select session_id::text from public.transcript_segments',
  format('values (%L)', :'alice_session'), 'alice sees only her transcript');
select throws_ok('select * from public.processing_events', '42501', null,
  'the event history is for DBAs, not the app');

-- Inserting: own id, own prefix, initial state only.
select lives_ok(format($q$insert into public.sessions (audio_path) values (%L)$q$, :'alice' || '/new.m4a'),
  'alice inserts a session under her own prefix');
select throws_ok(format($q$insert into public.sessions (audio_path) values (%L)$q$, :'bob' || '/steal.m4a'),
  '42501', null, 'not under someone else''s prefix');
select throws_ok($q$insert into public.sessions (audio_path) values ('shared/x.m4a')$q$,
  '42501', null, 'not outside any user prefix');
select throws_ok(format($q$insert into public.sessions (user_id, audio_path) values (%L, %L)$q$,
    :'bob', :'bob' || '/x.m4a'),
  '42501', null, 'not on behalf of another user');
select throws_ok(format($q$insert into public.sessions (audio_path, status) values (%L, 'completed')$q$,
    :'alice' || '/done.m4a'),
  '42501', null, 'not in a finished state');
select throws_ok(format($q$insert into public.sessions (audio_path, error) values (%L, 'x')$q$,
    :'alice' || '/err.m4a'),
  '42501', null, 'not with an error');

-- Writing status and results is the worker's job.
select throws_ok(format($q$update public.sessions set status = 'completed' where id = %L$q$, :'alice_session'),
  '42501', null, 'alice cannot change her session''s status');
select throws_ok(format($q$update public.processing_status set progress = 100 where session_id = %L$q$, :'alice_session'),
  '42501', null, 'alice cannot write progress');
select throws_ok(format($q$insert into public.analysis_results (session_id) values (%L)$q$, :'alice_session'),
  '42501', null, 'alice cannot write results');
select throws_ok(format($q$delete from public.transcript_segments where session_id = %L$q$, :'alice_session'),
  '42501', null, 'alice cannot touch the transcript');
select is_empty(format($q$delete from public.sessions where id = %L returning id$q$, :'bob_session'),
  'alice cannot delete bob''s session (her own: 06_owner_controls.sql)');

-- The queue, the operator surface and the internal functions are out of reach.
select throws_ok('select count(*) from pgmq.q_session_processing', '42501', null,
  'the queue table is not reachable');
select throws_ok($q$select pgmq.send('session_processing', '{}'::jsonb)$q$, '42501', null,
  'pgmq.send is not callable');
select throws_ok('select * from ops.queue_overview', '42501', null, 'ops views are not reachable');
select throws_ok(format('select ops.requeue(%L)', :'alice_session'), '42501', null,
  'ops.requeue is not callable');
select throws_ok(format('select ops.reassess(%L)', :'alice_session'), '42501', null,
  'ops.reassess is not callable');
select throws_ok('select ops.trim_history()', '42501', null,
  'ops.trim_history is not callable');
select throws_ok('select count(*) from internal.stage_checkpoints', '42501', null,
  'stage checkpoints are not readable');
select throws_ok(format($q$select internal.record_progress(%L, 'completed', 100::smallint, 'x', 1)$q$, :'alice_session'),
  '42501', null, 'internal.record_progress is not callable');

-- Bob, through the same policies, sees his and not alice's.
set local request.jwt.claim.sub to :'bob';
select results_eq('select id::text from public.sessions', format('values (%L)', :'bob_session'),
  'bob sees only his session');
select is((select count(*)::int from public.analysis_results where session_id = :'alice_session'), 0,
  'bob cannot read alice''s results even by id');

-- Not signed in: nothing at all.
reset role;
set local role anon;
select throws_ok('select * from public.sessions', '42501', null, 'anon cannot read sessions');
select throws_ok($q$insert into public.sessions (audio_path) values ('x/y.m4a')$q$, '42501', null,
  'anon cannot insert sessions');
reset role;

select * from finish();
rollback;
