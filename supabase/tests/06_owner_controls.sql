-- The owner's controls, as the app uses them: `authenticated` with the JWT claims Supabase
-- sets (request.jwt.claims). retry_session on one's own failed session only, and a bounded
-- number of times; delete of one's own session only, cascading to everything about it and
-- listing the recording for removal; coach_progress shows one's own completed sessions.
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
select plan(23);

select gen_random_uuid() as owner \gset
select gen_random_uuid() as other \gset
select json_build_object('sub', :'owner', 'role', 'authenticated')::text as owner_claims \gset
select json_build_object('sub', :'other', 'role', 'authenticated')::text as other_claims \gset

-- As the worker leaves them: one failed session, one completed with transcript and results.
insert into public.sessions (user_id, audio_path) values (:'owner', :'owner' || '/noise.mp3')
  returning id as failed_id \gset
insert into public.sessions (user_id, audio_path) values (:'owner', :'owner' || '/talk.ogg')
  returning id as done_id \gset
-- Their messages are consumed, as the worker would have.
select pgmq.archive('session_processing', array(select msg_id from pgmq.q_session_processing
  where message ->> 'session_id' in (:'failed_id', :'done_id')));
update public.sessions set status = 'failed', error = 'The audio file is corrupt',
  error_code = 'audio_corrupt' where id = :'failed_id';
update public.sessions set status = 'completed' where id = :'done_id';
insert into public.transcript_segments (session_id, seq, start_ms, end_ms, speaker, text)
  values (:'done_id', 0, 0, 1000, 'coach', 'どうでしたか？');
insert into public.analysis_results (session_id, speaker_analysis, coaching_skills, metrics, provenance)
  values (:'done_id',
    '{"roles_certain": true, "coach_speaking_ratio": 0.4, "speakers": [
       {"label": "coach", "longest_monologue_s": 12.5, "questions_open": 3, "questions_closed": 1,
        "interruptions": 2, "backchannels": 7, "mean_response_latency_s": 0.6},
       {"label": "client", "longest_monologue_s": 30}]}',
    '{"listening": {"score": 4}, "questioning": {"score": 3}, "empathy": {"score": 5}, "feedback": {"score": 2}}',
    '{"audio": {"duration_secs": 177.6}}', '{"judgement": {"status": "produced"}}');
insert into internal.stage_checkpoints (session_id, stage, fingerprint, payload)
  values (:'done_id', 'measured', 'f', '{}');

set local role authenticated;

-- Another user: denied, and nothing removed.
select set_config('request.jwt.claims', :'other_claims', true);
select throws_ok(format('select public.retry_session(%L)', :'failed_id'), '42501', null,
  'retry_session on another user''s session is denied');
select is_empty(format('delete from public.sessions where id in (%L, %L) returning id', :'failed_id', :'done_id'),
  'delete of another user''s sessions removes nothing');
select is((select count(*)::int from public.coach_progress), 0, 'coach_progress shows the other user nothing');

-- The owner.
select set_config('request.jwt.claims', :'owner_claims', true);
select is((select count(*)::int from public.coach_progress), 1, 'coach_progress: one row per completed session');
select results_eq('select coach_talk_ratio, longest_monologue_s, questions_open, questions_closed, interruptions,
                          backchannels, response_latency_s, listening_score, feedback_score, duration_s
                     from public.coach_progress',
  $$values (0.4::float8, 12.5::float8, 3, 1, 2, 7, 0.6::float8, 4::smallint, 2::smallint, 177.6::float8)$$,
  'coach_progress has the coach''s measurements and scores');
select throws_ok(format('select public.retry_session(%L)', :'done_id'), '23514', null,
  'only a failed session can be retried');
select isnt(public.retry_session(:'failed_id'), null, 'the owner retries the failed session');
select results_eq(format('select status, error, error_code, user_retries from public.sessions where id = %L', :'failed_id'),
  $$values ('queued'::text, null::text, null::text, 1::smallint)$$, 'it is queued again, the error cleared');
reset role;
select is((select count(*)::int from pgmq.q_session_processing where message ->> 'session_id' = :'failed_id'),
  1, 'one message is queued for it');
-- Two more failures and retries; the fourth retry is refused.
update public.sessions set status = 'failed' where id = :'failed_id';
set local role authenticated;
select lives_ok(format('select public.retry_session(%L)', :'failed_id'), 'second retry');
reset role;
update public.sessions set status = 'failed' where id = :'failed_id';
set local role authenticated;
select lives_ok(format('select public.retry_session(%L)', :'failed_id'), 'third retry');
reset role;
update public.sessions set status = 'failed' where id = :'failed_id';
set local role authenticated;
select throws_ok(format('select public.retry_session(%L)', :'failed_id'), '23514', null,
  'a fourth retry is refused');

-- Delete the completed session: everything about it goes.
select results_eq(format('delete from public.sessions where id = %L returning id::text', :'done_id'),
  format('values (%L)', :'done_id'), 'the owner deletes her completed session');
select is((select count(*)::int from public.coach_progress), 0, 'coach_progress no longer lists it');
reset role;
select is((select count(*)::int from public.sessions where id = :'done_id'), 0, 'no session row');
select is((select count(*)::int from public.processing_status where session_id = :'done_id'), 0, 'no status row');
select is((select count(*)::int from public.processing_events where session_id = :'done_id'), 0, 'no events');
select is((select count(*)::int from public.transcript_segments where session_id = :'done_id'), 0, 'no transcript');
select is((select count(*)::int from public.analysis_results where session_id = :'done_id'), 0, 'no results');
select is((select count(*)::int from internal.stage_checkpoints where session_id = :'done_id'), 0, 'no checkpoints');
select results_eq(format('select audio_path from ops.deleted_recordings where session_id = %L', :'done_id'),
  format('values (%L)', :'owner' || '/talk.ogg'), 'its recording is listed for removal');

-- Deleting a queued session takes its message off the queue.
select is((select count(*)::int from pgmq.q_session_processing where message ->> 'session_id' = :'failed_id'),
  1, 'the retried session has its message');
delete from public.sessions where id = :'failed_id';
select is((select count(*)::int from pgmq.q_session_processing where message ->> 'session_id' = :'failed_id'),
  0, 'deleting it archived the message');

select * from finish();
rollback;
