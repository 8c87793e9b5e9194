-- The `recordings` bucket and its Storage policies (migration 20261123000007): uploads and
-- reads only under the caller's own folder. On Supabase this runs against the real storage
-- schema; on plain PostgreSQL a stand-in with Supabase's names is installed for the test.
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

select gen_random_uuid() as alice \gset
select gen_random_uuid() as bob \gset

do $fake$
begin
  if to_regclass('storage.objects') is not null then
    return;
  end if;
  create schema storage;
  grant usage on schema storage to authenticated, anon;
  create table storage.buckets (
    id text primary key, name text not null, public boolean default false,
    file_size_limit bigint, allowed_mime_types text[]
  );
  create table storage.objects (
    id uuid primary key default gen_random_uuid(),
    bucket_id text references storage.buckets (id),
    name text,
    owner uuid default auth.uid()
  );
  alter table storage.objects enable row level security;
  grant select, insert on storage.objects to authenticated;
  -- Supabase's helper: the folders of an object name, without the file name.
  create function storage.foldername(name text) returns text[] language sql immutable as $f$
    select (string_to_array(name, '/'))[1:array_length(string_to_array(name, '/'), 1) - 1]
  $f$;
end
$fake$;

select ok(internal.configure_recordings_bucket(), 'the bucket is configured where Storage exists');
select ok(internal.configure_recordings_bucket(), 'and configuring again is harmless');
select results_eq($$select public from storage.buckets where id = 'recordings'$$, $$values (false)$$,
  'recordings is a private bucket');
select is((select count(*)::int from pg_policies where schemaname = 'storage' and tablename = 'objects'
            and policyname like 'vibeinsight_recordings_%'), 2, 'two policies, not duplicated');

insert into storage.objects (bucket_id, name, owner) values ('recordings', :'bob' || '/b.m4a', :'bob');

set local role authenticated;
set local request.jwt.claim.sub to :'alice';
select lives_ok(format($q$insert into storage.objects (bucket_id, name) values ('recordings', %L)$q$,
    :'alice' || '/' || gen_random_uuid() || '.m4a'),
  'alice uploads under her own folder');
select throws_ok(format($q$insert into storage.objects (bucket_id, name) values ('recordings', %L)$q$,
    :'bob' || '/x.m4a'), '42501', null, 'not under someone else''s folder');
select throws_ok($q$insert into storage.objects (bucket_id, name) values ('recordings', 'loose.m4a')$q$,
  '42501', null, 'not outside any folder');
select is((select count(*)::int from storage.objects
            where bucket_id = 'recordings' and name like :'bob' || '/%'), 0,
  'alice cannot see bob''s recordings');
set local request.jwt.claim.sub to :'bob';
select is((select count(*)::int from storage.objects
            where bucket_id = 'recordings' and name like :'bob' || '/%'), 1,
  'bob sees his own');
reset role;

select * from finish();
rollback;
