// The README's client example, type-checked in CI (`.ci/edge-functions`: deno check) against
// the generated types in supabase/types/. An app copies it as it is (`@supabase/supabase-js`
// from npm); deno.json here only maps that name for the check.
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import type { Database, Row } from "../types/database.ts";
import type { Report } from "../types/report.ts";

type Progress = Pick<Row<"processing_status">, "status" | "progress" | "message" | "error_code">;

export function connect(url: string, publishableKey: string): SupabaseClient<Database> {
  // The publishable key (sb_publishable_…); the legacy anon key works the same way.
  return createClient<Database>(url, publishableKey);
}

/** Uploads a recording under the user's own prefix and queues it; returns the session id. */
export async function analyse(supabase: SupabaseClient<Database>, file: Blob): Promise<string> {
  const { data: { user } } = await supabase.auth.getUser();
  if (!user) throw new Error("sign in first");
  const path = `${user.id}/${crypto.randomUUID()}.m4a`;
  const upload = await supabase.storage.from("recordings").upload(path, file); // or upload-url's presigned PUT
  if (upload.error) throw upload.error;
  const { data: session, error } = await supabase
    .from("sessions")
    .insert({ audio_path: path, language: "ja", num_speakers: 2 }) // user_id defaults to auth.uid()
    .select()
    .single();
  if (error) throw error;
  return session.id;
}

/** Broadcast on the session's private channel: the recommended way to follow progress. */
export async function follow(
  supabase: SupabaseClient<Database>,
  sessionId: string,
  render: (p: Progress) => void,
) {
  await supabase.realtime.setAuth(); // the signed-in user's JWT, for private channels
  return supabase
    .channel(`session:${sessionId}:progress`, { config: { private: true } })
    .on("broadcast", { event: "progress" }, ({ payload }) => render(payload as Progress))
    .subscribe();
}

/** The alternative: postgres_changes (Realtime checks RLS per change and subscriber). */
export function followChanges(
  supabase: SupabaseClient<Database>,
  sessionId: string,
  render: (p: Progress) => void,
) {
  return supabase
    .channel(`progress-db:${sessionId}`)
    .on<Row<"processing_status">>(
      "postgres_changes",
      { event: "*", schema: "public", table: "processing_status", filter: `session_id=eq.${sessionId}` },
      (change) => {
        if ("status" in change.new) render(change.new);
      },
    )
    .subscribe();
}

/** When the status row says `completed`: the report and the transcript. */
export async function results(supabase: SupabaseClient<Database>, sessionId: string) {
  const { data: row, error } = await supabase
    .from("analysis_results").select("*").eq("session_id", sessionId).single();
  if (error) throw error;
  const skills = row.coaching_skills as Report["coaching_skills"]; // null unless judged
  const speakers = row.speaker_analysis as Report["speaker_analysis"] | null;
  const { data: transcript } = await supabase
    .from("transcript_segments").select("seq, start_ms, end_ms, speaker, text").eq("session_id", sessionId).order("seq");
  return { listening: skills?.listening.score ?? null, coachShare: speakers?.coach_speaking_ratio ?? null, transcript };
}

/** A failed session: branch on the stable code, retry it, or delete it. */
export async function onFailure(supabase: SupabaseClient<Database>, sessionId: string) {
  const { data: session } = await supabase
    .from("sessions").select("status, error, error_code, user_retries").eq("id", sessionId).single();
  if (session?.status !== "failed") return;
  if (session.error_code === "provider_quota" || session.error_code === "attempts_exhausted") {
    const { error } = await supabase.rpc("retry_session", { session_id: sessionId });
    if (error) throw error; // e.g. retried 3 times already
  } else if (session.error_code === "audio_corrupt" || session.error_code === "audio_unsupported") {
    await supabase.from("sessions").delete().eq("id", sessionId); // status, transcript, results go too
  }
}

/** "Am I improving?": one row per completed session. */
export async function progressOverTime(supabase: SupabaseClient<Database>) {
  const { data, error } = await supabase
    .from("coach_progress")
    .select("recorded_at, coach_talk_ratio, questions_open, listening_score")
    .order("recorded_at");
  if (error) throw error;
  return data;
}
