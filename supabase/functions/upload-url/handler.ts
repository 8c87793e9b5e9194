/**
 * The upload-url Edge Function's logic, free of Deno and supabase-js so it can be tested
 * with stand-ins: authenticate the caller, choose a key under their own prefix, presign a PUT.
 *
 * POST { "contentType": "audio/mp4", "extension"?: "m4a", "expiresIn"?: 900 }
 *   200 { url, method: "PUT", headers, path, bucket, expiresAt }
 * The app PUTs the file to `url` with `headers`, then inserts its session with
 * `audio_path = path` (RLS accepts only paths under the caller's id).
 */

import { type Credentials, presignPut } from "./sign.ts";

export interface Deps {
  /** The caller's user id for this bearer token, or null when the token is not valid. */
  userIdFor(token: string): Promise<string | null>;
  env(name: string): string | undefined;
  randomUUID(): string;
  now(): Date;
}

/** Browser apps call the function cross-origin; supabase-js sends these headers. */
const CORS = {
  "Access-Control-Allow-Origin": "*",
  "Access-Control-Allow-Headers": "authorization, x-client-info, apikey, content-type",
  "Access-Control-Allow-Methods": "POST, OPTIONS",
};

const CONTENT_TYPE = /^audio\/[a-z0-9][a-z0-9.+-]{0,63}$/;
const EXTENSION = /^[a-z0-9]{1,8}$/;
/** Extensions for the containers seen in practice (DESIGN §8), when the app sends none. */
const EXTENSIONS: Record<string, string> = {
  "audio/mp4": "m4a",
  "audio/x-m4a": "m4a",
  "audio/m4a": "m4a",
  "audio/aac": "aac",
  "audio/mpeg": "mp3",
  "audio/mp3": "mp3",
  "audio/ogg": "ogg",
  "audio/opus": "opus",
  "audio/webm": "webm",
  "audio/wav": "wav",
  "audio/x-wav": "wav",
  "audio/wave": "wav",
  "audio/flac": "flac",
  "audio/x-flac": "flac",
};

const DEFAULT_EXPIRES_SECS = 900;
const DEFAULT_MAX_EXPIRES_SECS = 3600;
const MIN_EXPIRES_SECS = 60;

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { ...CORS, "Content-Type": "application/json" },
  });
}

interface StorageConfig {
  bucket: string;
  endpoint: string;
  region: string;
  forcePathStyle: boolean;
  credentials: Credentials;
  defaultExpires: number;
  maxExpires: number;
}

/** Reads the Tigris/S3 variables; names what is missing, never a value. */
export function storageConfig(env: (name: string) => string | undefined): StorageConfig | string[] {
  const required = ["BUCKET_NAME", "AWS_ENDPOINT_URL_S3", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"];
  const missing = required.filter((name) => !env(name));
  if (missing.length > 0) return missing;
  const int = (name: string, fallback: number) => {
    const value = Number.parseInt(env(name) ?? "", 10);
    return Number.isFinite(value) && value > 0 ? value : fallback;
  };
  const maxExpires = Math.min(int("UPLOAD_URL_MAX_EXPIRES_SECS", DEFAULT_MAX_EXPIRES_SECS), 604_800);
  return {
    bucket: env("BUCKET_NAME")!,
    endpoint: env("AWS_ENDPOINT_URL_S3")!,
    // Tigris accepts "auto"; AWS and Supabase Storage need their real region.
    region: env("AWS_REGION") || "auto",
    forcePathStyle: (env("S3_FORCE_PATH_STYLE") ?? "true").toLowerCase() !== "false",
    credentials: {
      accessKeyId: env("AWS_ACCESS_KEY_ID")!,
      secretAccessKey: env("AWS_SECRET_ACCESS_KEY")!,
      sessionToken: env("AWS_SESSION_TOKEN") || undefined,
    },
    defaultExpires: Math.min(int("UPLOAD_URL_EXPIRES_SECS", DEFAULT_EXPIRES_SECS), maxExpires),
    maxExpires,
  };
}

interface UploadRequest {
  contentType: string;
  extension: string;
  expiresIn?: number;
}

function parseBody(body: unknown): UploadRequest | string {
  if (typeof body !== "object" || body === null) return "expected a JSON object";
  const { contentType, extension, expiresIn } = body as Record<string, unknown>;
  if (typeof contentType !== "string" || !CONTENT_TYPE.test(contentType.toLowerCase())) {
    return "contentType must be an audio/* media type";
  }
  const type = contentType.toLowerCase();
  const ext = typeof extension === "string" ? extension.toLowerCase().replace(/^\./, "") : EXTENSIONS[type];
  if (!ext || !EXTENSION.test(ext)) {
    return "extension is required for this content type (letters and digits, at most 8)";
  }
  if (expiresIn !== undefined && (typeof expiresIn !== "number" || !Number.isInteger(expiresIn))) {
    return "expiresIn must be a whole number of seconds";
  }
  return { contentType: type, extension: ext, expiresIn: expiresIn as number | undefined };
}

export async function handleUploadUrl(req: Request, deps: Deps): Promise<Response> {
  if (req.method === "OPTIONS") return new Response(null, { status: 204, headers: CORS });
  if (req.method !== "POST") return json(405, { error: "use POST" });

  const token = (req.headers.get("authorization") ?? "").match(/^Bearer\s+(\S+)$/i)?.[1];
  if (!token) return json(401, { error: "missing bearer token" });
  const userId = await deps.userIdFor(token);
  if (!userId) return json(401, { error: "not signed in" });

  const config = storageConfig(deps.env);
  if (Array.isArray(config)) {
    console.error(`upload-url is not configured; missing: ${config.join(", ")}`);
    return json(500, { error: "upload storage is not configured" });
  }

  let body: unknown;
  try {
    body = await req.json();
  } catch {
    return json(400, { error: "expected a JSON body" });
  }
  const upload = parseBody(body);
  if (typeof upload === "string") return json(400, { error: upload });

  const expiresInSecs = Math.max(
    MIN_EXPIRES_SECS,
    Math.min(upload.expiresIn ?? config.defaultExpires, config.maxExpires),
  );
  // The prefix is the one RLS checks on insert; the uuid keeps keys unguessable and unique.
  const path = `${userId}/${deps.randomUUID()}.${upload.extension}`;
  const signed = await presignPut({
    endpoint: config.endpoint,
    bucket: config.bucket,
    key: path,
    forcePathStyle: config.forcePathStyle,
    contentType: upload.contentType,
    region: config.region,
    credentials: config.credentials,
    expiresInSecs,
    now: deps.now(),
  });
  return json(200, { ...signed, path, bucket: config.bucket });
}
