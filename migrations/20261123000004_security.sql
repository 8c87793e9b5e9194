-- Row-level security: a user sees and inserts only their own sessions and reads only their
-- own status, transcript and results. Only the worker (table owner / service_role, which
-- bypass RLS) writes status, transcript and results.

alter table public.sessions enable row level security;
alter table public.processing_status enable row level security;
alter table public.processing_events enable row level security;
alter table public.transcript_segments enable row level security;
alter table public.analysis_results enable row level security;

-- Supabase grants everything on new public tables to the API roles by default; start from none.
revoke all on public.sessions, public.processing_status, public.processing_events,
  public.transcript_segments, public.analysis_results from anon, authenticated;

grant select, insert on public.sessions to authenticated;
grant select on public.processing_status, public.transcript_segments, public.analysis_results
  to authenticated;
grant all on public.sessions, public.processing_status, public.processing_events,
  public.transcript_segments, public.analysis_results to service_role;

create policy sessions_select_own on public.sessions
  for select to authenticated
  using (user_id = (select auth.uid()));

-- The object must live under the caller's own prefix, so nobody can point the worker at
-- someone else's recording.
create policy sessions_insert_own on public.sessions
  for insert to authenticated
  with check (
    user_id = (select auth.uid())
    and audio_path like (select auth.uid())::text || '/%'
    and status = 'queued'
    and error is null
  );

create function internal.owns_session(p_session_id uuid) returns boolean
  language sql stable
  security definer
  set search_path = ''
as $$
  select exists (
    select from public.sessions s where s.id = p_session_id and s.user_id = auth.uid()
  )
$$;
grant usage on schema internal to authenticated;
revoke all on all functions in schema internal from public;
grant execute on function internal.owns_session(uuid) to authenticated;

create policy processing_status_select_own on public.processing_status
  for select to authenticated using (internal.owns_session(session_id));
create policy transcript_segments_select_own on public.transcript_segments
  for select to authenticated using (internal.owns_session(session_id));
create policy analysis_results_select_own on public.analysis_results
  for select to authenticated using (internal.owns_session(session_id));

-- The queue is the worker's business only.
revoke all on schema pgmq from public, anon, authenticated;
revoke all on all tables in schema pgmq from public, anon, authenticated;
revoke all on all sequences in schema pgmq from public, anon, authenticated;
revoke all on all functions in schema pgmq from anon, authenticated;

-- Realtime pushes status and results to the app where Supabase's publication exists.
do $realtime$
declare
  t text;
begin
  if not exists (select from pg_publication where pubname = 'supabase_realtime') then
    return;
  end if;
  foreach t in array array['processing_status', 'analysis_results'] loop
    if not exists (
      select from pg_publication_tables
      where pubname = 'supabase_realtime' and schemaname = 'public' and tablename = t
    ) then
      execute format('alter publication supabase_realtime add table public.%I', t);
    end if;
  end loop;
end
$realtime$;
