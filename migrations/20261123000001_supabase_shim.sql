-- Local stand-in for what Supabase provides: the API roles and auth.uid().
-- Skipped entirely on Supabase, where the `auth` schema already exists.
do $shim$
begin
  if exists (select from pg_namespace where nspname = 'auth') then
    return;
  end if;

  if not exists (select from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;

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
