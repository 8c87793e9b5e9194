//! The transcript exactly as the daemon and `vibeinsight analyze` produce it: settings
//! loaded the way they load them (defaults, `vibeinsight.toml`, environment), then every
//! stage after fetch through [`analyze_file`], with no LLM.

use std::collections::HashMap;
use std::path::Path;

use vibeinsight::config::Settings;
use vibeinsight::domain::{Language, TranscriptSegment};
use vibeinsight::pipeline::progress::{ProgressSink, ProgressUpdate};
use vibeinsight::pipeline::{Deps, JobSpec, Source, analyze_file};
use vibeinsight::storage::Storage;

struct Quiet;

impl ProgressSink for Quiet {
    fn report(&self, _: ProgressUpdate) {}
}

/// # Errors
/// Settings that do not load, or any stage failing.
pub async fn transcript(
    url: &str,
    path: &Path,
    language: Language,
) -> anyhow::Result<Vec<TranscriptSegment>> {
    let mut env: HashMap<String, String> = std::env::vars().collect();
    for (k, v) in [
        ("VIBEINSIGHT__STT__PROVIDER", "openai"),
        ("VIBEINSIGHT__STT__BASE_URL", url),
        ("VIBEINSIGHT__STT__MODEL", &crate::model()),
        ("VIBEINSIGHT__STT__API_KEY", &crate::api_key()),
        ("VIBEINSIGHT__LLM__PROVIDER", "none"),
    ] {
        env.entry(k.to_owned()).or_insert_with(|| v.to_owned());
    }
    let settings = Settings::load_from(None, &env)?;
    let deps = Deps {
        // Measured parts only: no judgement, whatever the environment configures.
        llm: None,
        ..Deps::from_settings(Storage::from_settings(&settings.storage).await?, &settings)?
    };
    let source = Source {
        path: path.to_path_buf(),
        extension: path.extension().and_then(|e| e.to_str()).map(str::to_owned),
        bytes: std::fs::metadata(path)?.len(),
    };
    let job = JobSpec {
        session_id: uuid::Uuid::new_v4(),
        audio_path: path.display().to_string(),
        language,
        num_speakers: Some(2),
    };
    let outcome = analyze_file(&source, &job, &deps, &Quiet)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(outcome.measured.segments)
}
