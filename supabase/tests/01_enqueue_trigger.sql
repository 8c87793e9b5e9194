-- The AFTER INSERT trigger on public.sessions: a session is queued if and only if its row
-- commits. Runs under `supabase test db` and under pg_prove (`just test`).
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
select plan(9);

-- Fresh users, so rows left by a seed or earlier work cannot interfere.
select gen_random_uuid() as alice \gset

-- As the app does it: an authenticated user inserts under their own prefix.
set local role authenticated;
set local request.jwt.claim.sub to :'alice';
insert into public.sessions (audio_path, language)
  values (:'alice' || '/trigger-ja.m4a', 'ja') returning id as ja_id \gset
insert into public.sessions (audio_path, language)
  values (:'alice' || '/trigger-en.m4a', 'en') returning id as en_id \gset
reset role;

select is(
  (select count(*)::int from pgmq.q_session_processing where message ->> 'session_id' = :'ja_id'),
  1, 'an insert sends exactly one message');
select is(
  (select message ->> 'reason' from pgmq.q_session_processing where message ->> 'session_id' = :'ja_id'),
  'insert', 'the message says why it was sent');
select is(
  (select user_id::text from public.sessions where id = :'ja_id'), :'alice',
  'user_id defaults to auth.uid()');
select results_eq(
  format($q$select status, progress::int, attempt from public.processing_status where session_id = %L$q$, :'ja_id'),
  $$values ('queued'::text, 0, 0)$$,
  'the status row starts queued at 0%');
select is(
  (select message from public.processing_status where session_id = :'ja_id'), '処理待ちです',
  'the queued message is in the session language (ja)');
select is(
  (select message from public.processing_status where session_id = :'en_id'), 'Waiting in the queue',
  'the queued message is in the session language (en)');
select is(
  (select count(*)::int from public.processing_events where session_id = :'ja_id' and stage = 'queued'),
  1, 'the history records the queueing once');

-- A rolled-back insert leaves no message behind.
savepoint before_insert;
insert into public.sessions (user_id, audio_path)
  values (:'alice', :'alice' || '/rolled-back.m4a') returning id as gone_id \gset
select is(
  (select count(*)::int from pgmq.q_session_processing where message ->> 'session_id' = :'gone_id'),
  1, 'inside the transaction the message exists');
rollback to savepoint before_insert;
select is(
  (select count(*)::int from pgmq.q_session_processing where message ->> 'session_id' = :'gone_id'),
  0, 'after rollback there is no message for the session');

select * from finish();
rollback;
