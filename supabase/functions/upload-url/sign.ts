/**
 * AWS Signature Version 4 presigning with query-string authentication, for S3-compatible
 * object stores (Tigris, AWS S3, Supabase Storage's S3 endpoint, MinIO).
 *
 * Only web-standard APIs (crypto.subtle, TextEncoder, URL), so the same module runs in the
 * Edge Function (Deno), in Node and in tests. The payload is not signed (UNSIGNED-PAYLOAD):
 * the uploader sends the file straight to storage, and the URL pins method, bucket, key,
 * content type and expiry.
 */

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** Temporary credentials (STS) carry a session token; it is signed into the URL. */
  sessionToken?: string;
}

export interface PresignOptions {
  method: string;
  /** The object's URL without any authentication parameters. */
  url: URL | string;
  /** Headers the client must send unchanged (e.g. content-type); host is always signed. */
  headers?: Record<string, string>;
  region: string;
  service?: string;
  /** Seconds the URL stays valid: 1 to 604800 (7 days), as S3 allows. */
  expiresInSecs: number;
  credentials: Credentials;
  /** Signing time; defaults to the current time. */
  now?: Date;
}

const ALGORITHM = "AWS4-HMAC-SHA256";
const MAX_EXPIRES_SECS = 604_800;
const encoder = new TextEncoder();

/** RFC 3986 encoding as SigV4 requires: everything but A-Z a-z 0-9 - _ . ~ is escaped. */
export function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** S3 signs the path as given (no dot-segment normalisation), each segment encoded once. */
function canonicalPath(pathname: string): string {
  return pathname.split("/").map((segment) => uriEncode(decodeURIComponent(segment))).join("/");
}

function toHex(bytes: ArrayBuffer): string {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function sha256Hex(data: string): Promise<string> {
  return toHex(await crypto.subtle.digest("SHA-256", encoder.encode(data)));
}

async function hmac(key: BufferSource, data: string): Promise<ArrayBuffer> {
  const cryptoKey = await crypto.subtle.importKey(
    "raw",
    key,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(data));
}

/** `20130524T000000Z` and `20130524`. */
function timestamps(now: Date): { amzDate: string; dateStamp: string } {
  const amzDate = now.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
  return { amzDate, dateStamp: amzDate.slice(0, 8) };
}

/**
 * Returns `url` with the SigV4 query parameters and signature added.
 * @throws RangeError when the expiry is outside what S3 accepts.
 */
export async function presign(options: PresignOptions): Promise<URL> {
  const { credentials, region } = options;
  const service = options.service ?? "s3";
  const expires = options.expiresInSecs;
  if (!Number.isInteger(expires) || expires < 1 || expires > MAX_EXPIRES_SECS) {
    throw new RangeError(`expiry must be 1..${MAX_EXPIRES_SECS} seconds, got ${expires}`);
  }
  const url = new URL(options.url.toString());
  const { amzDate, dateStamp } = timestamps(options.now ?? new Date());
  const scope = `${dateStamp}/${region}/${service}/aws4_request`;

  const headers = new Map<string, string>([["host", url.host]]);
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    headers.set(name.toLowerCase(), value.trim().replace(/\s+/g, " "));
  }
  const headerNames = [...headers.keys()].sort();
  const signedHeaders = headerNames.join(";");
  const canonicalHeaders = headerNames.map((name) => `${name}:${headers.get(name)}\n`).join("");

  const query: [string, string][] = [...url.searchParams.entries()];
  query.push(
    ["X-Amz-Algorithm", ALGORITHM],
    ["X-Amz-Credential", `${credentials.accessKeyId}/${scope}`],
    ["X-Amz-Date", amzDate],
    ["X-Amz-Expires", String(expires)],
    ["X-Amz-SignedHeaders", signedHeaders],
  );
  if (credentials.sessionToken) query.push(["X-Amz-Security-Token", credentials.sessionToken]);
  const canonicalQuery = query
    .map(([k, v]) => [uriEncode(k), uriEncode(v)])
    .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");

  const path = canonicalPath(url.pathname);
  const canonicalRequest = [
    options.method.toUpperCase(),
    path,
    canonicalQuery,
    canonicalHeaders,
    signedHeaders,
    "UNSIGNED-PAYLOAD",
  ].join("\n");
  const stringToSign = [ALGORITHM, amzDate, scope, await sha256Hex(canonicalRequest)].join("\n");

  let key: ArrayBuffer = await hmac(encoder.encode(`AWS4${credentials.secretAccessKey}`), dateStamp);
  for (const part of [region, service, "aws4_request"]) key = await hmac(key, part);
  const signature = toHex(await hmac(key, stringToSign));

  url.pathname = path;
  url.search = `${canonicalQuery}&X-Amz-Signature=${signature}`;
  return url;
}

export interface ObjectLocation {
  /** e.g. https://fly.storage.tigris.dev or http://127.0.0.1:9900 */
  endpoint: string;
  bucket: string;
  key: string;
  /** Path style (`endpoint/bucket/key`) works with every S3-compatible server; the default. */
  forcePathStyle?: boolean;
}

/** The plain (unsigned) URL of an object. */
export function objectUrl({ endpoint, bucket, key, forcePathStyle = true }: ObjectLocation): URL {
  const base = new URL(endpoint);
  const encodedKey = key.split("/").map(uriEncode).join("/");
  const prefix = base.pathname.replace(/\/+$/, "");
  if (forcePathStyle) {
    base.pathname = `${prefix}/${uriEncode(bucket)}/${encodedKey}`;
  } else {
    base.hostname = `${bucket}.${base.hostname}`;
    base.pathname = `${prefix}/${encodedKey}`;
  }
  return base;
}

export interface PresignedUpload {
  url: string;
  method: "PUT";
  /** Must be sent exactly as given, or storage rejects the signature. */
  headers: Record<string, string>;
  expiresAt: string;
}

/** A presigned PUT for one object with a fixed content type. */
export async function presignPut(
  location: ObjectLocation & {
    contentType: string;
    region: string;
    credentials: Credentials;
    expiresInSecs: number;
    now?: Date;
  },
): Promise<PresignedUpload> {
  const now = location.now ?? new Date();
  const url = await presign({
    method: "PUT",
    url: objectUrl(location),
    headers: { "content-type": location.contentType },
    region: location.region,
    expiresInSecs: location.expiresInSecs,
    credentials: location.credentials,
    now,
  });
  return {
    url: url.toString(),
    method: "PUT",
    headers: { "Content-Type": location.contentType },
    expiresAt: new Date(now.getTime() + location.expiresInSecs * 1000).toISOString(),
  };
}
