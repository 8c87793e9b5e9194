-- Supabase Storage as the object store (README "Connect to Supabase"): a private bucket
-- `recordings` and policies that let a signed-in user upload and read objects only under
-- their own folder, `<user id>/…`, the same prefix sessions_insert_own demands of
-- audio_path. The worker reads through the S3 endpoint with the project's S3 keys, which
-- are not subject to these policies.
--
-- Plain PostgreSQL has no `storage` schema: nothing happens there. If Storage arrives later,
-- call internal.configure_recordings_bucket() again; it is idempotent.

create function internal.configure_recordings_bucket() returns boolean
  language plpgsql
  set search_path = ''
as $$
begin
  if to_regclass('storage.buckets') is null or to_regclass('storage.objects') is null then
    return false;
  end if;
  insert into storage.buckets (id, name, public, file_size_limit, allowed_mime_types)
  values ('recordings', 'recordings', false, 2147483648, array['audio/*', 'video/mp4'])
  on conflict (id) do nothing;

  if not exists (select from pg_policies where schemaname = 'storage' and tablename = 'objects'
                  and policyname = 'vibeinsight_recordings_insert_own') then
    create policy vibeinsight_recordings_insert_own on storage.objects
      for insert to authenticated
      with check (bucket_id = 'recordings'
                  and (storage.foldername(name))[1] = (select auth.uid())::text);
  end if;
  if not exists (select from pg_policies where schemaname = 'storage' and tablename = 'objects'
                  and policyname = 'vibeinsight_recordings_select_own') then
    create policy vibeinsight_recordings_select_own on storage.objects
      for select to authenticated
      using (bucket_id = 'recordings'
             and (storage.foldername(name))[1] = (select auth.uid())::text);
  end if;
  return true;
end
$$;
revoke all on function internal.configure_recordings_bucket() from public;

select internal.configure_recordings_bucket();
