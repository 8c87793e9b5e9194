-- sessions.num_speakers: null (or 0) asks the worker to estimate the count (group coaching, a
-- third person joining); 1..8 declares it. 8 is the most the diarizer tells apart
-- (src/pipeline/diarize.rs MAX_SPEAKERS); the CLI and the worker enforce the same bound, so a
-- declared 9 or 10 is refused here instead of silently becoming 8 (#16). The default stays 2:
-- a 1-on-1 session, the common case, needs no estimate.
--
-- Rows declared 9 or 10 by earlier builds were diarized with at most 8 speakers; they are set
-- to 8, what they got, so that the new check holds for every row (a later status update of
-- such a row would otherwise fail the check).
update public.sessions set num_speakers = 8 where num_speakers > 8;

alter table public.sessions alter column num_speakers drop not null;
alter table public.sessions drop constraint if exists sessions_num_speakers_check;
alter table public.sessions add constraint sessions_num_speakers_check
  check (num_speakers is null or num_speakers between 0 and 8);

comment on column public.sessions.num_speakers is
  'Declared number of speakers, 1..8; null or 0 = estimate it (the report says how sure).';
