-- The operator surface: ops.queue_overview counts, ops.requeue of completed and failed
-- sessions (idempotent while queued), ops.dead_letters and ops.requeue_failed, called as
-- service_role, the role they are granted to.
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
select plan(18);

select gen_random_uuid() as alice \gset

-- Counts are compared with a snapshot taken first, so existing rows do not matter.
create temp table before_overview as select * from ops.queue_overview;
grant select on before_overview to service_role;
create temp view overview_delta as
  select o.depth - b.depth as depth, o.visible - b.visible as visible,
         o.in_flight - b.in_flight as in_flight, o.dead_letters - b.dead_letters as dead_letters,
         o.sessions_queued - b.sessions_queued as queued,
         o.sessions_completed - b.sessions_completed as completed,
         o.sessions_failed - b.sessions_failed as failed
  from ops.queue_overview o, before_overview b;
grant select on overview_delta to service_role;

insert into public.sessions (user_id, audio_path) values (:'alice', :'alice' || '/done.m4a')
  returning id as done_id \gset
insert into public.sessions (user_id, audio_path) values (:'alice', :'alice' || '/failed.m4a')
  returning id as failed_id \gset
insert into public.sessions (user_id, audio_path) values (:'alice', :'alice' || '/waiting.m4a')
  returning id as waiting_id \gset

set local role service_role;
select results_eq('select depth, visible, in_flight, queued from overview_delta',
  $$values (3::bigint, 3::bigint, 0::bigint, 3::bigint)$$,
  'queue_overview counts three new visible messages and three queued sessions');
reset role;

-- A worker leases the message of the waiting session: what pgmq.read does to the one row
-- (pgmq.read itself would also lease messages that were there before the test).
update pgmq.q_session_processing
   set vt = clock_timestamp() + interval '30 seconds', read_ct = read_ct + 1
 where message ->> 'session_id' = :'waiting_id';
set local role service_role;
select results_eq('select depth, visible, in_flight from overview_delta',
  $$values (3::bigint, 2::bigint, 1::bigint)$$,
  'a leased message counts as in flight, not visible');
reset role;

-- Finish the first session as the worker does: completed, message archived.
update public.sessions set status = 'completed' where id = :'done_id';
select pgmq.archive('session_processing', msg_id) from pgmq.q_session_processing
  where message ->> 'session_id' = :'done_id' \gset
-- Fail the second: failed with an error, message moved to the dead-letter queue.
update public.sessions set status = 'failed', error = 'unsupported audio' where id = :'failed_id';
select pgmq.send('session_processing_dlq',
  jsonb_build_object('session_id', :'failed_id', 'error', 'unsupported audio', 'attempts', 5)) as dlq_msg \gset
delete from pgmq.q_session_processing where message ->> 'session_id' = :'failed_id';

set local role service_role;
select results_eq('select depth, dead_letters, completed, failed from overview_delta',
  $$values (1::bigint, 1::bigint, 1::bigint, 1::bigint)$$,
  'queue_overview counts the dead letter and the finished sessions');
select results_eq(format('select last_error, attempts, session_status from ops.dead_letters where session_id = %L', :'failed_id'),
  $$values ('unsupported audio'::text, 5, 'failed'::text)$$,
  'dead_letters shows the session, its last error and attempts');

-- Requeue a completed session (the calls run as service_role; the checks read pgmq, which
-- only the owner may).
select ops.requeue(:'done_id') as requeued_msg \gset
select ops.requeue(:'done_id') as requeued_again \gset
select ops.requeue(:'waiting_id') as waiting_requeue \gset
select ops.requeue_failed() as requeued_failed \gset
select throws_ok(format('select ops.requeue(%L)', gen_random_uuid()), 'P0002', null,
  'requeue of an unknown session is an error');
reset role;

select isnt(:'requeued_msg'::text, ''::text, 'requeue of a completed session returns a message id');
select is((select message ->> 'reason' from pgmq.q_session_processing where msg_id = :'requeued_msg'),
  'requeue', 'the new message says requeue');
select is((select status from public.sessions where id = :'done_id'), 'queued',
  'the session is queued again');
select results_eq(format('select status, progress::int, attempt from public.processing_status where session_id = %L', :'done_id'),
  $$values ('queued'::text, 0, 0)$$, 'its progress row is reset to queued');
select is(:'requeued_again'::text, :'requeued_msg'::text,
  'a second requeue while queued returns the same message');
select is((select count(*)::int from pgmq.q_session_processing where message ->> 'session_id' = :'done_id'),
  1, 'and sends nothing more');
select is(:'waiting_requeue'::bigint, (select msg_id from pgmq.q_session_processing
  where message ->> 'session_id' = :'waiting_id'), 'a message in flight is returned, not duplicated');

-- requeue_failed re-runs every failed session and resolves its dead letters.
select is(:'requeued_failed'::int, (select sessions_failed::int from before_overview) + 1,
  'requeue_failed reports every failed session');
select is((select status from public.sessions where id = :'failed_id'), 'queued',
  'the failed session is queued again');
select ok((select error is null from public.sessions where id = :'failed_id'), 'its error is cleared');
select is((select count(*)::int from ops.dead_letters where session_id = :'failed_id'), 0,
  'its dead letter is gone from ops.dead_letters');
select is((select count(*)::int from pgmq.a_session_processing_dlq where msg_id = :'dlq_msg'), 1,
  'and kept in the dead-letter archive');
select is((select count(*)::int from public.sessions where status = 'failed'), 0, 'no failed session remains');

select * from finish();
rollback;
