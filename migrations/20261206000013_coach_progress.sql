-- "Am I improving, session after session?": one row per completed session of the caller,
-- the series an app draws over time (README, *For the app*). security_invoker, so the
-- caller's own row-level security on sessions and analysis_results decides what is seen;
-- the explicit owner filter keeps roles that bypass RLS (service_role) from mixing users.
--
-- The coach's numbers come from `speaker_analysis.speakers`, the entry labelled `coach`: when
-- the roles were not certain there is no such entry and those columns are null, rather than
-- guessing which speaker was the coach. Skill scores are null unless the judgement was
-- produced. `response_latency_s` is the coach's mean gap after the client stops.

create view public.coach_progress with (security_invoker = true) as
select
  s.id as session_id,
  s.created_at as recorded_at,
  s.language,
  (r.metrics #>> '{audio,duration_secs}')::double precision as duration_s,
  coalesce((r.speaker_analysis ->> 'roles_certain')::boolean, false) as roles_certain,
  (r.speaker_analysis ->> 'coach_speaking_ratio')::double precision as coach_talk_ratio,
  (coach.v ->> 'longest_monologue_s')::double precision as longest_monologue_s,
  (coach.v ->> 'questions_open')::integer as questions_open,
  (coach.v ->> 'questions_closed')::integer as questions_closed,
  (coach.v ->> 'interruptions')::integer as interruptions,
  (coach.v ->> 'backchannels')::integer as backchannels,
  (coach.v ->> 'mean_response_latency_s')::double precision as response_latency_s,
  r.provenance #>> '{judgement,status}' as judgement_status,
  (r.coaching_skills #>> '{listening,score}')::smallint as listening_score,
  (r.coaching_skills #>> '{questioning,score}')::smallint as questioning_score,
  (r.coaching_skills #>> '{empathy,score}')::smallint as empathy_score,
  (r.coaching_skills #>> '{feedback,score}')::smallint as feedback_score
from public.sessions s
join public.analysis_results r on r.session_id = s.id
left join lateral (
  select e as v
    from jsonb_array_elements(
           case jsonb_typeof(r.speaker_analysis -> 'speakers')
             when 'array' then r.speaker_analysis -> 'speakers' else '[]'::jsonb end) e
   where e ->> 'label' = 'coach'
   limit 1
) coach on true
where s.status = 'completed'
  and s.user_id = (select auth.uid());

revoke all on public.coach_progress from public, anon;
grant select on public.coach_progress to authenticated, service_role;
