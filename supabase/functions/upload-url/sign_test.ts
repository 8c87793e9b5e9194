// Tests of sign.ts: AWS's published example, byte-for-byte agreement with botocore (AWS's
// own SigV4 implementation) when python3 has it, and a real upload to an S3 server.
//   deno test --allow-env --allow-net --allow-run=python3 supabase/functions/upload-url/
import assert from "node:assert/strict";
import { objectUrl, presign, presignPut, uriEncode } from "./sign.ts";

const EXAMPLE = { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" };

Deno.test("matches the presigned GET of AWS's SigV4 query-auth documentation", async () => {
  const url = await presign({
    method: "GET",
    url: "https://examplebucket.s3.amazonaws.com/test.txt",
    region: "us-east-1",
    expiresInSecs: 86400,
    credentials: EXAMPLE,
    now: new Date("2013-05-24T00:00:00Z"),
  });
  assert.equal(
    url.searchParams.get("X-Amz-Signature"),
    "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
  );
  assert.equal(url.searchParams.get("X-Amz-Credential"), "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request");
  assert.equal(url.searchParams.get("X-Amz-SignedHeaders"), "host");
});

Deno.test("encodes keys as S3 expects and builds both URL styles", () => {
  assert.equal(uriEncode("a b/ü*'()!~._-"), "a%20b%2F%C3%BC%2A%27%28%29%21~._-");
  const key = "u/録音 1.m4a";
  assert.equal(
    objectUrl({ endpoint: "https://fly.storage.tigris.dev", bucket: "rec", key }).toString(),
    "https://fly.storage.tigris.dev/rec/u/%E9%8C%B2%E9%9F%B3%201.m4a",
  );
  assert.equal(
    objectUrl({ endpoint: "https://fly.storage.tigris.dev", bucket: "rec", key, forcePathStyle: false }).toString(),
    "https://rec.fly.storage.tigris.dev/u/%E9%8C%B2%E9%9F%B3%201.m4a",
  );
  assert.equal(
    objectUrl({ endpoint: "https://ref.supabase.co/storage/v1/s3", bucket: "recordings", key: "u/a.ogg" }).toString(),
    "https://ref.supabase.co/storage/v1/s3/recordings/u/a.ogg",
  );
});

Deno.test("refuses expiries S3 would reject", async () => {
  for (const expiresInSecs of [0, 604_801, 1.5]) {
    await assert.rejects(
      presign({ method: "PUT", url: "http://h/b/k", region: "auto", expiresInSecs, credentials: EXAMPLE }),
      RangeError,
    );
  }
});

/** botocore's presigned URL for the same request and instant, or null without botocore. */
async function botocorePresign(args: Record<string, unknown>): Promise<URL | null> {
  const script = `
import datetime, json, sys
import botocore.auth as auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
a = json.load(sys.stdin)
now = datetime.datetime.fromisoformat(a["now"].replace("Z", "+00:00")).replace(tzinfo=None)
auth.get_current_datetime = lambda *args, **kwargs: now
request = AWSRequest(method=a["method"], url=a["url"], headers=a["headers"])
auth.S3SigV4QueryAuth(Credentials(a["ak"], a["sk"], a.get("token")), "s3", a["region"], expires=a["expires"]).add_auth(request)
print(request.url)
`;
  let child;
  try {
    child = new Deno.Command("python3", { args: ["-c", script], stdin: "piped", stdout: "piped", stderr: "piped" })
      .spawn();
  } catch {
    return null;
  }
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(args)));
  await writer.close();
  const out = await child.output();
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr);
    if (err.includes("No module named 'botocore'")) return null;
    throw new Error(`botocore failed: ${err}`);
  }
  return new URL(new TextDecoder().decode(out.stdout).trim());
}

const hasBotocore = (await botocorePresign({
  method: "GET", url: "http://h/b/k", headers: {}, ak: "a", sk: "s", region: "auto", expires: 1,
  now: "2020-01-01T00:00:00Z",
}).catch(() => null)) !== null;

Deno.test({
  name: "agrees with botocore on presigned PUTs (content type, port, unicode keys, tokens)",
  ignore: !hasBotocore,
  fn: async () => {
    const cases = [
      { endpoint: "http://127.0.0.1:9900", bucket: "b", key: "11111111-1111-4111-8111-111111111111/x.m4a",
        type: "audio/mp4", region: "us-east-1", token: undefined },
      { endpoint: "https://fly.storage.tigris.dev", bucket: "vibe-rec", key: "u/録音 (1)*.ogg",
        type: "audio/ogg", region: "auto", token: "FQoGZXIvYXdzE+/token=" },
    ];
    for (const c of cases) {
      const now = new Date("2026-11-23T10:20:30Z");
      const credentials = { ...EXAMPLE, sessionToken: c.token };
      const unsigned = objectUrl({ endpoint: c.endpoint, bucket: c.bucket, key: c.key });
      const ours = await presign({
        method: "PUT", url: unsigned, headers: { "content-type": c.type }, region: c.region,
        expiresInSecs: 900, credentials, now,
      });
      const theirs = await botocorePresign({
        method: "PUT", url: unsigned.toString(), headers: { "Content-Type": c.type },
        ak: credentials.accessKeyId, sk: credentials.secretAccessKey, region: c.region, expires: 900,
        now: now.toISOString(), token: c.token,
      });
      assert.ok(theirs, "botocore answered");
      assert.equal(theirs.searchParams.get("X-Amz-SignedHeaders"), "content-type;host");
      assert.equal(ours.searchParams.get("X-Amz-SignedHeaders"), "content-type;host");
      assert.equal(ours.searchParams.get("X-Amz-Security-Token"), theirs.searchParams.get("X-Amz-Security-Token"));
      assert.equal(ours.searchParams.get("X-Amz-Signature"), theirs.searchParams.get("X-Amz-Signature"), c.key);
    }
  },
});

const s3 = Deno.env.get("VIBEINSIGHT_TEST_S3_ENDPOINT");

Deno.test({
  name: "a presigned PUT uploads to a real S3 server and a presigned GET reads it back",
  ignore: !s3,
  fn: async () => {
    const credentials = { accessKeyId: "test", secretAccessKey: "test" };
    const bucket = `upload-url-${crypto.randomUUID().slice(0, 8)}`;
    const region = "us-east-1";
    const bucketUrl = await presign({
      method: "PUT", url: new URL(`/${bucket}`, s3), region, expiresInSecs: 60, credentials,
    });
    const created = await fetch(bucketUrl, { method: "PUT" });
    await created.body?.cancel();
    assert.ok(created.ok, `create bucket: ${created.status}`);

    const key = `${crypto.randomUUID()}/${crypto.randomUUID()}.ogg`;
    const audio = new Uint8Array(4096).map((_, i) => (i * 31) & 0xff);
    const upload = await presignPut({
      endpoint: s3!, bucket, key, contentType: "audio/ogg", region, credentials, expiresInSecs: 300,
    });
    const put = await fetch(upload.url, { method: "PUT", headers: upload.headers, body: audio });
    assert.equal(put.status, 200, await put.text());

    const getUrl = await presign({
      method: "GET", url: objectUrl({ endpoint: s3!, bucket, key }), region, expiresInSecs: 60, credentials,
    });
    const got = await fetch(getUrl);
    assert.equal(got.status, 200);
    assert.equal(got.headers.get("content-type"), "audio/ogg");
    assert.deepEqual(new Uint8Array(await got.arrayBuffer()), audio);
  },
});
