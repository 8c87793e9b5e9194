-- The Supabase CLI runs this file before ../migrations on `supabase start` / `db reset`.
-- The migrations expect pgmq to be installed already (`vibeinsight migrate` installs it
-- before applying them, as the extension where the server has it); the CLI has no other
-- pre-migration hook, so the local stack gets the extension here. Supabase roles need no
-- creating: anon, authenticated and service_role exist.
create extension if not exists pgmq;
