import assert from "node:assert/strict";
const assertEquals = (actual: unknown, expected: unknown, message?: string) =>
  assert.deepStrictEqual(actual, expected, message);
import { clientKey, userIdFromClaims } from "./auth.ts";

const envOf = (vars: Record<string, string>) => (name: string) => vars[name];

Deno.test("the publishable key wins over the legacy anon key", () => {
  assertEquals(
    clientKey(envOf({ SUPABASE_PUBLISHABLE_KEY: "sb_publishable_a", SUPABASE_ANON_KEY: "eyJ.legacy" })),
    "sb_publishable_a",
  );
  assertEquals(
    clientKey(envOf({ SUPABASE_PUBLISHABLE_KEYS: '{"default":"sb_publishable_d","web":"sb_publishable_w"}' })),
    "sb_publishable_d",
  );
  assertEquals(clientKey(envOf({ SUPABASE_PUBLISHABLE_KEYS: "not json", SUPABASE_ANON_KEY: "eyJ.legacy" })), "eyJ.legacy");
  assertEquals(clientKey(envOf({ SUPABASE_ANON_KEY: "eyJ.legacy" })), "eyJ.legacy");
  assertEquals(clientKey(envOf({})), undefined);
});

Deno.test("only a signed-in user's verified claims give a user id", () => {
  const id = "6f1c2a4e-8b1d-4c3a-9e2f-0a1b2c3d4e5f";
  assertEquals(userIdFromClaims({ sub: id, role: "authenticated", aud: "authenticated" }), id);
  assertEquals(userIdFromClaims({ sub: id.toUpperCase(), role: "authenticated" }), id);
  assertEquals(userIdFromClaims({ role: "anon" }), null, "the anon key's JWT");
  assertEquals(userIdFromClaims({ sub: id, role: "service_role" }), null);
  assertEquals(userIdFromClaims({ sub: "../etc", role: "authenticated" }), null, "never a path");
  assertEquals(userIdFromClaims(null), null, "getClaims refused the token");
});
