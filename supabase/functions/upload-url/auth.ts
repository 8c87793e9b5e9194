/**
 * Who is calling, with Supabase's new API keys and asymmetric JWT signing keys as well as the
 * legacy ones. Free of Deno and supabase-js, so the tests run offline.
 *
 * The function verifies the caller's JWT itself (`auth.getClaims`: against the project's JWKS
 * for asymmetric signing keys, by asking Auth for legacy HS256 tokens), because the gateway's
 * `verify_jwt` does not accept the new keys (config.toml turns it off for this function).
 */

/**
 * The key the function's own Supabase client uses: only to reach Auth, so a publishable key
 * is enough. The platform provides `SUPABASE_PUBLISHABLE_KEYS` (a JSON map, `default` first)
 * to functions on projects with the new keys; `SUPABASE_PUBLISHABLE_KEY` can be set by hand;
 * the legacy `SUPABASE_ANON_KEY` is the fallback.
 */
export function clientKey(env: (name: string) => string | undefined): string | undefined {
  const single = env("SUPABASE_PUBLISHABLE_KEY");
  if (single) return single;
  const map = env("SUPABASE_PUBLISHABLE_KEYS");
  if (map) {
    try {
      const keys = JSON.parse(map) as Record<string, unknown>;
      const key = keys["default"] ?? Object.values(keys)[0];
      if (typeof key === "string" && key) return key;
    } catch {
      // Not JSON: fall through to the legacy name rather than fail every request.
    }
  }
  return env("SUPABASE_ANON_KEY") || undefined;
}

/**
 * The signed-in user's id from verified claims, or null: an anon or service token has no
 * user, and only a signed-in user may get an upload URL under their own prefix.
 */
export function userIdFromClaims(claims: Record<string, unknown> | null | undefined): string | null {
  if (!claims) return null;
  const { sub, role } = claims;
  if (role !== "authenticated" || typeof sub !== "string") return null;
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(sub) ? sub.toLowerCase() : null;
}
