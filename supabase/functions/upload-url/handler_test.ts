// Tests of handler.ts with stand-ins for Supabase Auth; with VIBEINSIGHT_TEST_S3_ENDPOINT set,
// the URL it returns is also used for a real upload.
import assert from "node:assert/strict";
import { type Deps, handleUploadUrl } from "./handler.ts";
import { objectUrl, presign } from "./sign.ts";

const USER = "8d0c1d7e-5b8a-4a57-9d0e-3f1b2c4d5e6f";
const UUID = "0f0e0d0c-0b0a-4909-8807-060504030201";
const NOW = new Date("2026-11-23T12:00:00Z");

function deps(env: Record<string, string> = {}, userId: string | null = USER): Deps & { tokens: string[] } {
  const tokens: string[] = [];
  const vars: Record<string, string> = {
    BUCKET_NAME: "recordings",
    AWS_ENDPOINT_URL_S3: "https://fly.storage.tigris.dev",
    AWS_ACCESS_KEY_ID: "tid_example",
    AWS_SECRET_ACCESS_KEY: "tsec_do_not_print",
    ...env,
  };
  return {
    tokens,
    userIdFor: (token) => {
      tokens.push(token);
      return Promise.resolve(token === "good" ? userId : null);
    },
    env: (name) => vars[name] || undefined,
    randomUUID: () => UUID,
    now: () => NOW,
  };
}

function post(body: unknown, token: string | null = "good"): Request {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  return new Request("http://fn/upload-url", { method: "POST", headers, body: JSON.stringify(body) });
}

Deno.test("signs a PUT for <user id>/<uuid>.<ext> with the content type pinned", async () => {
  const d = deps({ AWS_REGION: "auto" });
  const res = await handleUploadUrl(post({ contentType: "audio/mp4" }), d);
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.deepEqual(d.tokens, ["good"]);
  assert.equal(body.path, `${USER}/${UUID}.m4a`);
  assert.equal(body.bucket, "recordings");
  assert.equal(body.method, "PUT");
  assert.deepEqual(body.headers, { "Content-Type": "audio/mp4" });
  const url = new URL(body.url);
  assert.equal(url.origin + url.pathname, `https://fly.storage.tigris.dev/recordings/${USER}/${UUID}.m4a`);
  assert.equal(url.searchParams.get("X-Amz-Expires"), "900");
  assert.equal(url.searchParams.get("X-Amz-SignedHeaders"), "content-type;host");
  assert.equal(url.searchParams.get("X-Amz-Credential"), "tid_example/20261123/auto/s3/aws4_request");
  assert.match(url.searchParams.get("X-Amz-Signature")!, /^[0-9a-f]{64}$/);
  assert.equal(body.expiresAt, "2026-11-23T12:15:00.000Z");
});

Deno.test("the expiry is configurable and bounded", async () => {
  const expires = async (env: Record<string, string>, expiresIn?: number) => {
    const res = await handleUploadUrl(post({ contentType: "audio/ogg", expiresIn }), deps(env));
    return new URL((await res.json()).url).searchParams.get("X-Amz-Expires");
  };
  assert.equal(await expires({ UPLOAD_URL_EXPIRES_SECS: "120" }), "120");
  assert.equal(await expires({}, 1800), "1800");
  assert.equal(await expires({}, 999_999), "3600", "capped at UPLOAD_URL_MAX_EXPIRES_SECS (default 1 h)");
  assert.equal(await expires({ UPLOAD_URL_MAX_EXPIRES_SECS: "7200" }, 7200), "7200");
  assert.equal(await expires({}, 5), "60", "at least a minute");
});

Deno.test("refuses callers without a valid session", async () => {
  assert.equal((await handleUploadUrl(post({ contentType: "audio/mp4" }, null), deps())).status, 401);
  assert.equal((await handleUploadUrl(post({ contentType: "audio/mp4" }, "forged"), deps())).status, 401);
  assert.equal((await handleUploadUrl(post({ contentType: "audio/mp4" }), deps({}, null))).status, 401);
});

Deno.test("accepts audio only, and a safe extension", async () => {
  const status = async (body: unknown) => (await handleUploadUrl(post(body), deps())).status;
  assert.equal(await status({ contentType: "video/mp4" }), 400);
  assert.equal(await status({ contentType: "application/octet-stream" }), 400);
  assert.equal(await status({ contentType: "audio/mp4; x=1" }), 400);
  assert.equal(await status({ contentType: "audio/x-unknown" }), 400, "no extension known");
  assert.equal(await status({ contentType: "audio/x-unknown", extension: "../../x" }), 400);
  assert.equal(await status({ contentType: "audio/x-unknown", extension: "amr" }), 200);
  assert.equal(await status({ contentType: "audio/ogg", expiresIn: "soon" }), 400);
  assert.equal(await status("audio/ogg"), 400);
  const bad = new Request("http://fn/upload-url", { method: "POST", headers: { authorization: "Bearer good" }, body: "{" });
  assert.equal((await handleUploadUrl(bad, deps())).status, 400);
});

Deno.test("answers CORS preflight and only POST", async () => {
  const pre = await handleUploadUrl(new Request("http://fn/upload-url", { method: "OPTIONS" }), deps());
  assert.equal(pre.status, 204);
  assert.match(pre.headers.get("access-control-allow-headers")!, /authorization/);
  assert.equal((await handleUploadUrl(new Request("http://fn/upload-url"), deps())).status, 405);
});

Deno.test("a missing setting is named in the log, and no secret anywhere", async () => {
  const logged: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => logged.push(args.join(" "));
  try {
    const res = await handleUploadUrl(post({ contentType: "audio/mp4" }), deps({ BUCKET_NAME: "" }));
    assert.equal(res.status, 500);
    const text = await res.text();
    assert.doesNotMatch(text + logged.join("\n"), /tsec_do_not_print|tid_example/);
    assert.match(logged.join("\n"), /BUCKET_NAME/);
  } finally {
    console.error = original;
  }
});

const s3 = Deno.env.get("VIBEINSIGHT_TEST_S3_ENDPOINT");

Deno.test({
  name: "the returned URL and headers upload to a real S3 server",
  ignore: !s3,
  fn: async () => {
    const bucket = `upload-url-h-${crypto.randomUUID().slice(0, 8)}`;
    const created = await fetch(new URL(`/${bucket}`, s3), { method: "PUT" });
    await created.body?.cancel();
    assert.ok(created.ok, `create bucket: ${created.status}`);
    const d = deps({
      BUCKET_NAME: bucket, AWS_ENDPOINT_URL_S3: s3!, AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test",
    });
    d.now = () => new Date();
    const body = await (await handleUploadUrl(post({ contentType: "audio/webm" }), d)).json();
    const put = await fetch(body.url, { method: "PUT", headers: body.headers, body: "webm bytes" });
    assert.equal(put.status, 200, await put.text());
    const headUrl = await presign({
      method: "HEAD", url: objectUrl({ endpoint: s3!, bucket, key: body.path }), region: "us-east-1",
      expiresInSecs: 60, credentials: { accessKeyId: "test", secretAccessKey: "test" },
    });
    const head = await fetch(headUrl, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("content-type"), "audio/webm");
    assert.ok(body.path.startsWith(`${USER}/`));
  },
});
