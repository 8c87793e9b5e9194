-- The database contract of DESIGN.md §3: what the app, Realtime and DBAs rely on.

create table public.sessions (
  id           uuid primary key default gen_random_uuid(),
  user_id      uuid not null default auth.uid(),
  audio_path   text not null,
  language     text not null default 'ja',
  num_speakers smallint not null default 2,
  status       text not null default 'queued',
  error        text,
  created_at   timestamptz not null default now(),
  updated_at   timestamptz not null default now(),
  constraint sessions_language_check check (language in ('ja', 'en', 'auto')),
  constraint sessions_num_speakers_check check (num_speakers between 1 and 10),
  constraint sessions_status_check check (status in ('queued', 'processing', 'completed', 'failed')),
  -- Defence in depth; the worker validates keys again before touching storage.
  constraint sessions_audio_path_check check (
    length(audio_path) between 1 and 1024
    and position('..' in audio_path) = 0
    and left(audio_path, 1) <> '/'
    and position(E'\\' in audio_path) = 0
    and (audio_path !~ '^[A-Za-z][A-Za-z0-9+.-]*:' or audio_path ~ '^s3://[a-z0-9][a-z0-9.-]+/.+')
  )
);
create index sessions_user_id_idx on public.sessions (user_id, created_at desc);
create index sessions_status_idx on public.sessions (status);

create table public.processing_status (
  session_id uuid primary key references public.sessions (id) on delete cascade,
  status     text not null,
  progress   smallint not null default 0,
  message    text not null default '',
  attempt    integer not null default 0,
  updated_at timestamptz not null default now(),
  constraint processing_status_status_check check (status in (
    'queued', 'downloading', 'preprocessing', 'transcribing', 'diarization',
    'analyzing', 'saving', 'completed', 'retrying', 'error')),
  constraint processing_status_progress_check check (progress between 0 and 100),
  -- Realtime drops postgres_changes payloads over 1 MB; keep the row tiny.
  constraint processing_status_message_check check (length(message) <= 500)
);

create table public.processing_events (
  id         bigint generated always as identity primary key,
  session_id uuid not null references public.sessions (id) on delete cascade,
  attempt    integer not null default 0,
  stage      text not null,
  progress   smallint not null,
  message    text not null default '',
  detail     jsonb not null default '{}'::jsonb,
  at         timestamptz not null default now()
);
create index processing_events_session_idx on public.processing_events (session_id, at);

create table public.transcript_segments (
  session_id uuid not null references public.sessions (id) on delete cascade,
  seq        integer not null,
  start_ms   integer not null,
  end_ms     integer not null,
  speaker    text not null,
  text       text not null,
  words      jsonb,
  confidence real,
  primary key (session_id, seq),
  constraint transcript_segments_time_check check (0 <= start_ms and start_ms <= end_ms)
);

create table public.analysis_results (
  session_id          uuid primary key references public.sessions (id) on delete cascade,
  speaker_analysis    jsonb,
  coaching_skills     jsonb,
  emotion_analysis    jsonb,
  conversation_events jsonb,
  diagnosis           jsonb,
  prescriptions       jsonb,
  metrics             jsonb not null default '{}'::jsonb,
  provenance          jsonb not null default '{}'::jsonb,
  created_at          timestamptz not null default now()
);
