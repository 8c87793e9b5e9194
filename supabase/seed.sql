-- Local development data for `supabase start` / `supabase db reset` (not for production).
-- A demo user (demo@vibeinsight.local / vibeinsight-demo) with one finished session and its
-- report, so the app has something to render before any recording is processed.

insert into auth.users (
  instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
  raw_app_meta_data, raw_user_meta_data, created_at, updated_at,
  confirmation_token, recovery_token, email_change_token_new, email_change
) values (
  '00000000-0000-0000-0000-000000000000', '00000000-0000-4000-8000-0000000000de',
  'authenticated', 'authenticated', 'demo@vibeinsight.local',
  extensions.crypt('vibeinsight-demo', extensions.gen_salt('bf')), now(),
  '{"provider": "email", "providers": ["email"]}', '{"name": "Demo coach"}', now(), now(),
  '', '', '', ''
) on conflict (id) do nothing;

insert into auth.identities (id, user_id, provider_id, identity_data, provider, last_sign_in_at, created_at, updated_at)
values (
  gen_random_uuid(), '00000000-0000-4000-8000-0000000000de', '00000000-0000-4000-8000-0000000000de',
  '{"sub": "00000000-0000-4000-8000-0000000000de", "email": "demo@vibeinsight.local"}',
  'email', now(), now(), now()
) on conflict do nothing;

-- The session goes through the real trigger (queued), then is finished the way the worker
-- finishes one: status, progress, results, and the message archived.
with s as (
  insert into public.sessions (id, user_id, audio_path, language)
  values ('5eed0000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-0000000000de',
          '00000000-0000-4000-8000-0000000000de/demo.m4a', 'ja')
  on conflict (id) do nothing
  returning id
)
select internal.record_progress(id, 'completed', 100::smallint, '分析が完了しました', 1) from s;

update public.sessions set status = 'completed', updated_at = now()
 where id = '5eed0000-0000-4000-8000-000000000001';

select pgmq.archive('session_processing', msg_id)
  from pgmq.q_session_processing
 where message ->> 'session_id' = '5eed0000-0000-4000-8000-000000000001';

insert into public.transcript_segments (session_id, seq, start_ms, end_ms, speaker, text) values
  ('5eed0000-0000-4000-8000-000000000001', 0, 0, 4200, 'coach', '今日はどんなことを話したいですか?'),
  ('5eed0000-0000-4000-8000-000000000001', 1, 4600, 11800, 'client', '最近、チームとの関わり方に悩んでいて…')
on conflict do nothing;

insert into public.analysis_results (session_id, speaker_analysis, metrics, provenance) values (
  '5eed0000-0000-4000-8000-000000000001',
  '{"coach": {"speaking_ratio": 0.37}, "client": {"speaking_ratio": 0.63}, "gini_coefficient": 0.13}',
  '{"audio": {"duration_secs": 11.8}}',
  '{"seed": true, "stages": ["seed"]}'
) on conflict (session_id) do nothing;
