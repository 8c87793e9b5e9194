// Edge Function `upload-url`: a presigned PUT URL for a recording under the caller's own
// prefix in the Tigris (S3-compatible) bucket, so the app uploads straight to storage and the
// worker needs no ingress. Deploy: `supabase functions deploy upload-url`, with the bucket's
// variables set by `supabase secrets set` (README "Connect to Supabase").
import { createClient } from "npm:@supabase/supabase-js@2";
import { handleUploadUrl } from "./handler.ts";

// SUPABASE_URL and SUPABASE_ANON_KEY are provided to every Edge Function by the platform.
const supabase = createClient(Deno.env.get("SUPABASE_URL")!, Deno.env.get("SUPABASE_ANON_KEY")!, {
  auth: { persistSession: false, autoRefreshToken: false },
});

Deno.serve((req) =>
  handleUploadUrl(req, {
    // Asks Supabase Auth to validate the token: a revoked or expired session is refused.
    userIdFor: async (token) => {
      const { data, error } = await supabase.auth.getUser(token);
      return error || !data.user ? null : data.user.id;
    },
    env: (name) => Deno.env.get(name),
    randomUUID: () => crypto.randomUUID(),
    now: () => new Date(),
  })
);
