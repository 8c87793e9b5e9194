// Edge Function `upload-url`: a presigned PUT URL for a recording under the caller's own
// prefix in the Tigris (S3-compatible) bucket, so the app uploads straight to storage and the
// worker needs no ingress. Deploy: `supabase functions deploy upload-url`, with the bucket's
// variables set by `supabase secrets set` (README "Connect to Supabase").
import { createClient } from "npm:@supabase/supabase-js@2";
import { clientKey, userIdFromClaims } from "./auth.ts";
import { handleUploadUrl } from "./handler.ts";

const env = (name: string) => Deno.env.get(name);
// SUPABASE_URL and a publishable (or legacy anon) key are provided to every Edge Function by
// the platform; the client only talks to Auth.
const key = clientKey(env);
if (!key) throw new Error("no SUPABASE_PUBLISHABLE_KEY(S) or SUPABASE_ANON_KEY in the environment");
const supabase = createClient(Deno.env.get("SUPABASE_URL")!, key, {
  auth: { persistSession: false, autoRefreshToken: false },
});

Deno.serve((req) =>
  handleUploadUrl(req, {
    // getClaims verifies the JWT: locally against the project's JWKS (cached) when it is
    // signed with an asymmetric signing key, by asking Auth for a legacy HS256 token. Expired,
    // forged and anon tokens give no user.
    userIdFor: async (token) => {
      const { data, error } = await supabase.auth.getClaims(token);
      return error ? null : userIdFromClaims(data?.claims as Record<string, unknown> | undefined);
    },
    env,
    randomUUID: () => crypto.randomUUID(),
    now: () => new Date(),
  })
);
