-- Local stand-in for what Supabase provides: the API roles and auth.uid().
-- Skipped entirely on Supabase, where the `auth` schema already exists.
do $shim$
begin
  if exists (select from pg_namespace where nspname = 'auth') then
    return;
  end if;

  -- Roles are cluster-wide: databases migrated concurrently (tests) may race to create them.
  begin
    create role anon nologin noinherit;
  exception when duplicate_object or unique_violation then null;
  end;
  begin
    create role authenticated nologin noinherit;
  exception when duplicate_object or unique_violation then null;
  end;
  begin
    create role service_role nologin noinherit bypassrls;
  exception when duplicate_object or unique_violation then null;
  end;

  create schema auth;
  grant usage on schema auth to anon, authenticated, service_role;

  -- Same resolution order as Supabase: the single-claim setting first, then the claims JSON.
  create function auth.uid() returns uuid
    language sql stable
    as $fn$
      select coalesce(
        nullif(current_setting('request.jwt.claim.sub', true), ''),
        (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
      )::uuid
    $fn$;
end
$shim$;
