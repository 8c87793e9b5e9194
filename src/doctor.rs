//! `vibeinsight doctor`: is this deployment able to work? Each check says what is fine, or
//! what is wrong and how to fix it. `--online` also makes one authenticated, minimal call to
//! each configured provider (listing models: no audio, no tokens spent).

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::clients::gemini;
use crate::config::{LlmProviderKind, OPENAI_BASE_URL, Settings, SttProvider};
use crate::domain::ANALYSIS_RATE;
use crate::pipeline::diarize::models;
use crate::storage::Storage;
use crate::store::migrate;

enum Verdict {
    Ok(String),
    /// Works, but something a user would expect is off.
    Warn(String, &'static str),
    Fail(String, &'static str),
}

/// Runs every check and prints the table. Returns whether nothing failed.
pub async fn run(settings: &Settings, online: bool) -> bool {
    let mut rows = vec![("configuration", Verdict::Ok(summary(settings)))];
    rows.push((
        "database connection",
        connection_mode(settings.database.url.expose_secret()),
    ));
    let database = database(settings).await;
    let reachable = matches!(database, Verdict::Ok(_));
    rows.push(("database", database));
    if reachable {
        rows.push(("migrations", migrations(settings).await));
    }
    rows.push(("storage", storage(settings).await));
    rows.push(("transcription", transcription(settings, online).await));
    rows.push(("assessment", assessment(settings, online).await));
    rows.push(("diarization models", diarization_models()));
    rows.push((
        "scratch space",
        scratch_space(settings.audio.max_duration_secs),
    ));
    print(&rows);
    !rows
        .iter()
        .any(|(_, verdict)| matches!(verdict, Verdict::Fail(..)))
}

/// The one row when the settings themselves do not load: nothing else can be checked.
pub fn report_configuration_error(err: &anyhow::Error) {
    let fix = "fix the named setting (vibeinsight.toml or the environment; README, Configuration)";
    print(&[("configuration", Verdict::Fail(format!("{err:#}"), fix))]);
}

fn summary(settings: &Settings) -> String {
    format!(
        "storage {:?}, stt {:?}, llm {:?}, {} jobs per process",
        settings.storage.backend,
        settings.stt.provider,
        settings.llm.provider,
        settings.worker.concurrency
    )
}

async fn database(settings: &Settings) -> Verdict {
    let fix = "check DATABASE_URL (host, password, database); `just db` starts a local server";
    match migrate::connect(&settings.database).await {
        Ok(pool) => match sqlx::query_scalar::<_, String>("select version()")
            .fetch_one(&pool)
            .await
        {
            Ok(version) => Verdict::Ok(version.split(" on ").next().unwrap_or_default().to_owned()),
            Err(err) => Verdict::Fail(err.to_string(), fix),
        },
        Err(err) => Verdict::Fail(format!("{err:#}"), fix),
    }
}

/// Supavisor's transaction mode (port 6543) hands each transaction to whichever server
/// connection is free: LISTEN never hears a NOTIFY and session-level advisory locks (migrate,
/// retention) are taken on one connection and released on another. Session mode (5432) and
/// the direct connection keep one server connection per client.
fn connection_mode(url: &str) -> Verdict {
    let fix = "use the session pooler (…pooler.supabase.com:5432) or the direct connection \
               (db.<ref>.supabase.co:5432) in DATABASE_URL, not the transaction pooler (6543)";
    let Ok(options) = url.parse::<sqlx::postgres::PgConnectOptions>() else {
        return Verdict::Fail(
            "DATABASE_URL is not a postgres:// URL".into(),
            "set DATABASE_URL",
        );
    };
    let (host, port) = (options.get_host(), options.get_port());
    let supavisor = host.ends_with("pooler.supabase.com");
    if port == 6543 {
        let what = if supavisor {
            "Supabase's transaction pooler"
        } else {
            "port 6543, the transaction pooler's"
        };
        return Verdict::Fail(
            format!("{host}:{port} is {what}: LISTEN wake-ups and session locks break there"),
            fix,
        );
    }
    let mode = if supavisor {
        "Supavisor session mode"
    } else {
        "a session connection"
    };
    Verdict::Ok(format!("{host}:{port}, {mode}"))
}

async fn migrations(settings: &Settings) -> Verdict {
    let fix = "run `vibeinsight migrate` (Fly: the release command does it)";
    let Ok(pool) = migrate::connect(&settings.database).await else {
        return Verdict::Fail("database not reachable".into(), fix);
    };
    match migrate::status(&pool).await {
        Ok(status) if status.pending.is_empty() && status.queues_present => Verdict::Ok(format!(
            "{} applied, queues session_processing and session_processing_dlq present",
            status.applied
        )),
        Ok(status) if !status.queues_present => {
            Verdict::Fail("the pgmq queues are missing".into(), fix)
        }
        Ok(status) => Verdict::Fail(
            format!(
                "{} pending: {}",
                status.pending.len(),
                status.pending.join(", ")
            ),
            fix,
        ),
        Err(err) => Verdict::Fail(format!("{err:#}"), fix),
    }
}

async fn storage(settings: &Settings) -> Verdict {
    let fix = "check BUCKET_NAME, AWS_ENDPOINT_URL_S3 and the AWS_* keys (`fly storage create`), or storage.local_dir";
    match Storage::from_settings(&settings.storage).await {
        Ok(store) => match store.check().await {
            Ok(detail) => Verdict::Ok(detail),
            Err(err) => Verdict::Fail(format!("{err:#}"), fix),
        },
        Err(err) => Verdict::Fail(format!("{err:#}"), fix),
    }
}

async fn transcription(settings: &Settings, online: bool) -> Verdict {
    let stt = &settings.stt;
    match (stt.provider, &stt.api_key) {
        (SttProvider::None, _) => Verdict::Warn(
            "off: sessions get no transcript".into(),
            "set OPENAI_API_KEY (and OPENAI_BASE_URL for another OpenAI-compatible server)",
        ),
        (SttProvider::Openai, None) => Verdict::Fail("no API key".into(), "set OPENAI_API_KEY"),
        (SttProvider::Openai, Some(_)) if online => {
            let fix = "check OPENAI_API_KEY and OPENAI_BASE_URL";
            match stt.provider() {
                Ok(Some(provider)) => match provider.check().await {
                    Ok(detail) => Verdict::Ok(detail),
                    Err(err) => Verdict::Fail(err.to_string(), fix),
                },
                Ok(None) => Verdict::Fail("no provider configured".into(), fix),
                Err(err) => Verdict::Fail(format!("{err:#}"), fix),
            }
        }
        (SttProvider::Openai, Some(_)) => Verdict::Ok(format!(
            "{} at {} (key present; --online to try it)",
            stt.model, stt.base_url
        )),
    }
}

async fn assessment(settings: &Settings, online: bool) -> Verdict {
    let llm = &settings.llm;
    let Some(key) = &llm.api_key else {
        return match llm.provider {
            LlmProviderKind::None => Verdict::Warn(
                "off: reports carry the measured sections only".into(),
                "set GEMINI_API_KEY (or llm.provider = openai with OPENAI_API_KEY)",
            ),
            // OpenAI-compatible local servers (Ollama, llama.cpp) need no key.
            LlmProviderKind::Openai => {
                Verdict::Ok(format!("{} (no key: a local server)", llm.model))
            }
            LlmProviderKind::Gemini => {
                Verdict::Fail("no API key".into(), "set GEMINI_API_KEY or GOOGLE_API_KEY")
            }
        };
    };
    if !online {
        return Verdict::Ok(format!(
            "{:?} {} (key present; --online to try it)",
            llm.provider, llm.model
        ));
    }
    match llm.provider {
        LlmProviderKind::Gemini => {
            let base = llm.base_url.as_deref().unwrap_or(gemini::DEFAULT_BASE_URL);
            let url = format!("{}/models/{}", base.trim_end_matches('/'), llm.model);
            let header = ("x-goog-api-key", key.expose_secret().to_owned());
            probe(
                &url,
                header,
                &llm.model,
                "check GEMINI_API_KEY and llm.model",
            )
            .await
        }
        LlmProviderKind::Openai | LlmProviderKind::None => {
            let base = llm.base_url.as_deref().unwrap_or(OPENAI_BASE_URL);
            let url = format!("{}/models", base.trim_end_matches('/'));
            probe(
                &url,
                ("authorization", bearer(key)),
                &llm.model,
                "check OPENAI_API_KEY and llm.base_url",
            )
            .await
        }
    }
}

fn bearer(key: &SecretString) -> String {
    format!("Bearer {}", key.expose_secret())
}

/// One GET with the credential; only the status is reported (never the key or the body).
async fn probe(
    url: &str,
    header: (&'static str, String),
    model: &str,
    fix: &'static str,
) -> Verdict {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build();
    let Ok(client) = client else {
        return Verdict::Fail("cannot build an HTTP client".into(), fix);
    };
    match client.get(url).header(header.0, header.1).send().await {
        Ok(response) if response.status().is_success() => {
            Verdict::Ok(format!("{model}: the provider accepted the key"))
        }
        Ok(response) => Verdict::Fail(
            format!("{url} answered HTTP {}", response.status().as_u16()),
            fix,
        ),
        Err(err) => Verdict::Fail(format!("{url}: {}", err.without_url()), fix),
    }
}

fn diarization_models() -> Verdict {
    match models::shared() {
        Ok(m) => Verdict::Ok(format!(
            "segmentation-3.0 and CAM++ loaded from {}: neural diarization on",
            m.dir.display()
        )),
        Err(err) => Verdict::Warn(
            format!("{err}: diarization runs in degraded mode (the classical path)"),
            "run `just models` (models and ONNX Runtime into the per-user directory), or set \
             VIBEINSIGHT_DIARIZATION_MODELS and ORT_DYLIB_PATH",
        ),
    }
}

/// Long recordings keep their decoded signal in `$TMPDIR` (see `pipeline::samples`): it
/// must take a write, and the deployer should know how much a recording at the limit needs.
fn scratch_space(max_duration_secs: u64) -> Verdict {
    let dir = std::env::temp_dir();
    let fix = "point TMPDIR at a writable directory on disk (not RAM-backed)";
    let written = tempfile::tempfile().and_then(|mut f| {
        use std::io::Write;
        f.write_all(&[0u8; 1 << 20])?;
        f.sync_all()
    });
    // 16 kHz f32 for the mono mix plus both channels of a stereo file.
    let worst_gb = max_duration_secs as f64 * f64::from(ANALYSIS_RATE) * 4.0 * 3.0 / 1e9;
    match written {
        Ok(()) => Verdict::Ok(format!(
            "{} writable; a stereo recording at the {} s limit needs up to {worst_gb:.1} GB there",
            dir.display(),
            max_duration_secs
        )),
        Err(err) => Verdict::Fail(format!("{}: {err}", dir.display()), fix),
    }
}

fn print(rows: &[(&str, Verdict)]) {
    for (name, verdict) in rows {
        match verdict {
            Verdict::Ok(detail) => println!("  ok    {name:<19} {detail}"),
            Verdict::Warn(detail, fix) => {
                println!("  warn  {name:<19} {detail}\n        {:<19} fix: {fix}", "")
            }
            Verdict::Fail(detail, fix) => {
                println!("  FAIL  {name:<19} {detail}\n        {:<19} fix: {fix}", "")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_transaction_pooler_fails_with_the_fix_and_session_connections_pass() {
        for url in [
            "postgres://postgres.ref:pw@aws-0-ap-northeast-1.pooler.supabase.com:6543/postgres",
            "postgres://user:pw@pgbouncer.internal:6543/app?sslmode=require",
        ] {
            match connection_mode(url) {
                Verdict::Fail(what, fix) => {
                    assert!(what.contains("6543"), "{what}");
                    assert!(fix.contains(":5432"), "{fix}");
                    assert!(!what.contains("pw"), "no secret in the verdict: {what}");
                }
                _ => panic!("{url} should fail"),
            }
        }
        for url in [
            "postgres://postgres.ref:pw@aws-0-ap-northeast-1.pooler.supabase.com:5432/postgres",
            "postgres://postgres:pw@db.ref.supabase.co:5432/postgres",
            "postgres://postgres@localhost/vibeinsight",
        ] {
            assert!(
                matches!(connection_mode(url), Verdict::Ok(_)),
                "{url} should pass"
            );
        }
    }

    #[test]
    fn scratch_space_states_the_need_at_the_limit() {
        match scratch_space(3600) {
            Verdict::Ok(detail) => assert!(detail.contains("up to 0.7 GB"), "{detail}"),
            Verdict::Warn(detail, _) | Verdict::Fail(detail, _) => panic!("{detail}"),
        }
    }
}
