-- Retention. pgmq keeps every acknowledged or dead-lettered message in its archive tables and
-- every stage change lands in public.processing_events, so without trimming they grow for as
-- long as the service runs. ops.trim_history deletes what is older than its windows; pg_cron
-- runs it daily where the extension exists (Supabase), the worker runs it otherwise (see
-- src/worker/retention.rs). What each run removed is kept in internal.retention_runs and shown
-- by ops.queue_overview.
--
-- Never trimmed: sessions, processing_status rows (the app's current state), transcripts and
-- results. Nothing of a session that is still queued or processing, or that has a message in
-- the queue (a re-judgement keeps its session `completed`), is trimmed: a running or retrying
-- job needs its checkpoints and the events explain it. Checkpoints of finished sessions are
-- what ops.reassess judges from, so re-judging is possible for `checkpoint_days`.

create table internal.retention_runs (
  id bigint generated always as identity primary key,
  ran_at timestamptz not null default now(),
  ran_by text not null,
  archive_days integer not null,
  events_days integer not null,
  checkpoint_days integer not null,
  archive_removed bigint not null,
  dead_letter_archive_removed bigint not null,
  events_removed bigint not null,
  checkpoints_removed bigint not null,
  constraint retention_runs_ran_by_check check (ran_by in ('pg_cron', 'worker', 'manual'))
);
revoke all on internal.retention_runs from public, anon, authenticated;

-- Returns what it removed: {"archive", "dead_letter_archive", "events", "checkpoints"}.
-- `ran_by` is only recorded ('pg_cron' from the cron job, 'worker' from the worker's loop).
create function ops.trim_history(
  archive_days integer default 30,
  events_days integer default 90,
  checkpoint_days integer default 90,
  ran_by text default 'manual'
) returns jsonb
  language plpgsql
  security definer
  set search_path = ''
as $$
declare
  v_archive bigint;
  v_dead bigint;
  v_events bigint;
  v_checkpoints bigint;
begin
  -- A window of 0 would empty the history; that is never what a typo meant.
  if least(trim_history.archive_days, trim_history.events_days, trim_history.checkpoint_days) < 1
  then
    raise exception 'retention windows must be at least 1 day (archive %, events %, checkpoints %)',
      trim_history.archive_days, trim_history.events_days, trim_history.checkpoint_days
      using errcode = 'invalid_parameter_value';
  end if;
  if trim_history.ran_by is null or trim_history.ran_by not in ('pg_cron', 'worker', 'manual') then
    raise exception 'ran_by must be pg_cron, worker or manual, not %', trim_history.ran_by
      using errcode = 'invalid_parameter_value';
  end if;

  delete from pgmq.a_session_processing
   where archived_at < now() - make_interval(days => trim_history.archive_days);
  get diagnostics v_archive = row_count;

  delete from pgmq.a_session_processing_dlq
   where archived_at < now() - make_interval(days => trim_history.archive_days);
  get diagnostics v_dead = row_count;

  delete from public.processing_events e
   using public.sessions s
   where s.id = e.session_id
     and e.at < now() - make_interval(days => trim_history.events_days)
     and s.status not in ('queued', 'processing')
     and internal.pending_message(s.id) is null;
  get diagnostics v_events = row_count;

  delete from internal.stage_checkpoints c
   using public.sessions s
   where s.id = c.session_id
     and c.created_at < now() - make_interval(days => trim_history.checkpoint_days)
     and s.status not in ('queued', 'processing')
     and internal.pending_message(s.id) is null;
  get diagnostics v_checkpoints = row_count;

  -- The run log is history too; it keeps as long as the events do.
  delete from internal.retention_runs
   where ran_at < now() - make_interval(days => trim_history.events_days);
  insert into internal.retention_runs (ran_by, archive_days, events_days, checkpoint_days,
    archive_removed, dead_letter_archive_removed, events_removed, checkpoints_removed)
  values (trim_history.ran_by, trim_history.archive_days, trim_history.events_days,
    trim_history.checkpoint_days, v_archive, v_dead, v_events, v_checkpoints);

  return jsonb_build_object('archive', v_archive, 'dead_letter_archive', v_dead,
    'events', v_events, 'checkpoints', v_checkpoints);
end
$$;

revoke all on function ops.trim_history(integer, integer, integer, text) from public, anon, authenticated;
grant execute on function ops.trim_history(integer, integer, integer, text) to service_role;

-- The columns of 20261123000005 unchanged and in order (the runbook and tests select them),
-- then the last retention run.
create or replace view ops.queue_overview as
select
  (select count(*) from pgmq.q_session_processing) as depth,
  (select count(*) from pgmq.q_session_processing where vt <= clock_timestamp()) as visible,
  (select count(*) from pgmq.q_session_processing
     where vt > clock_timestamp() and read_ct > 0) as in_flight,
  (select extract(epoch from clock_timestamp() - min(enqueued_at))::integer
     from pgmq.q_session_processing) as oldest_age_secs,
  (select count(*) from pgmq.q_session_processing_dlq) as dead_letters,
  (select count(*) from public.sessions where status = 'queued') as sessions_queued,
  (select count(*) from public.sessions where status = 'processing') as sessions_processing,
  (select count(*) from public.sessions where status = 'completed') as sessions_completed,
  (select count(*) from public.sessions where status = 'failed') as sessions_failed,
  (select r.ran_at from internal.retention_runs r order by r.id desc limit 1) as retention_last_at,
  (select r.ran_by from internal.retention_runs r order by r.id desc limit 1) as retention_last_by,
  (select jsonb_build_object('archive', r.archive_removed,
            'dead_letter_archive', r.dead_letter_archive_removed,
            'events', r.events_removed, 'checkpoints', r.checkpoints_removed)
     from internal.retention_runs r order by r.id desc limit 1) as retention_last_removed;

grant select on ops.queue_overview to service_role;

-- Daily at 03:17 (pg_cron's clock: GMT unless cron.timezone says otherwise) where pg_cron is
-- installed. Without it (plain PostgreSQL) the worker trims instead, so this block must apply
-- cleanly there too. A job of this name is replaced, not duplicated, when the migration is
-- applied again.
do $cron$
begin
  if not exists (select from pg_namespace where nspname = 'cron')
     or to_regprocedure('cron.schedule(text,text,text)') is null then
    return;
  end if;
  if exists (select from cron.job where jobname = 'vibeinsight-retention') then
    perform cron.unschedule('vibeinsight-retention');
  end if;
  perform cron.schedule('vibeinsight-retention', '17 3 * * *',
    $job$select ops.trim_history(ran_by => 'pg_cron')$job$);
end
$cron$;
