use super::*;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn defaults_load_and_validate() {
    let settings = Settings::load_from(None, &env(&[])).unwrap();
    assert_eq!(settings.queue.visibility_timeout_secs, 60);
    assert_eq!(settings.queue.max_attempts, 5);
    assert_eq!(settings.worker.concurrency, 2);
    assert_eq!(settings.storage.backend, StorageBackend::Local);
}

#[test]
fn prefixed_variable_wins_over_conventional_name() {
    let settings = Settings::load_from(
        None,
        &env(&[
            ("BUCKET_NAME", "from-fly"),
            ("VIBEINSIGHT__STORAGE__BUCKET", "override"),
            ("VIBEINSIGHT__QUEUE__VISIBILITY_TIMEOUT_SECS", "90"),
        ]),
    )
    .unwrap();
    assert_eq!(settings.storage.bucket.as_deref(), Some("override"));
    assert_eq!(settings.queue.visibility_timeout_secs, 90);
}

#[test]
fn conventional_names_are_honoured() {
    let settings = Settings::load_from(
        None,
        &env(&[
            ("DATABASE_URL", "postgres://u:pw@db/x"),
            ("BUCKET_NAME", "audio"),
            ("AWS_ENDPOINT_URL_S3", "https://fly.storage.tigris.dev"),
            ("VIBEINSIGHT__STORAGE__BACKEND", "s3"),
        ]),
    )
    .unwrap();
    assert_eq!(
        settings.database.url.expose_secret(),
        "postgres://u:pw@db/x"
    );
    assert_eq!(
        settings.storage.endpoint.as_deref(),
        Some("https://fly.storage.tigris.dev")
    );
}

#[test]
fn unworkable_settings_fail_at_boot() {
    let short_vt = env(&[("VIBEINSIGHT__QUEUE__VISIBILITY_TIMEOUT_SECS", "3")]);
    assert!(Settings::load_from(None, &short_vt).is_err());
    let s3_without_bucket = env(&[("VIBEINSIGHT__STORAGE__BACKEND", "s3")]);
    assert!(Settings::load_from(None, &s3_without_bucket).is_err());
    for (key, value) in [
        ("VIBEINSIGHT__RETENTION__ARCHIVE_DAYS", "0"),
        ("VIBEINSIGHT__RETENTION__EVENTS_DAYS", "0"),
        ("VIBEINSIGHT__RETENTION__CHECKPOINT_DAYS", "100000"),
        ("VIBEINSIGHT__RETENTION__INTERVAL_SECS", "0"),
    ] {
        assert!(
            Settings::load_from(None, &env(&[(key, value)])).is_err(),
            "{key}={value}"
        );
    }
}

#[test]
fn retention_windows_default_and_read_from_the_environment() {
    let defaults = Settings::load_from(None, &env(&[])).unwrap().retention;
    assert_eq!(
        (
            defaults.archive_days,
            defaults.events_days,
            defaults.checkpoint_days,
            defaults.interval_secs
        ),
        (30, 90, 90, 3600)
    );
    let set = Settings::load_from(
        None,
        &env(&[
            ("VIBEINSIGHT__RETENTION__ARCHIVE_DAYS", "7"),
            ("VIBEINSIGHT__RETENTION__INTERVAL_SECS", "60"),
        ]),
    )
    .unwrap()
    .retention;
    assert_eq!((set.archive_days, set.interval_secs), (7, 60));
}

#[test]
fn secrets_are_not_printed_by_debug() {
    let settings = Settings::load_from(
        None,
        &env(&[
            ("DATABASE_URL", "postgres://u:hunter2@db/x"),
            ("AWS_SECRET_ACCESS_KEY", "s3cr3t"),
            ("OPENAI_API_KEY", "sk-openai-secret"),
            ("GEMINI_API_KEY", "gemini-secret"),
        ]),
    )
    .unwrap();
    let printed = format!("{settings:?}");
    assert!(
        ["hunter2", "s3cr3t", "sk-openai-secret", "gemini-secret"]
            .iter()
            .all(|secret| !printed.contains(secret)),
        "{printed}"
    );
}

#[test]
fn providers_default_to_none_without_keys() {
    let settings = Settings::load_from(None, &env(&[])).unwrap();
    assert_eq!(settings.stt.provider, SttProvider::None);
    assert_eq!(settings.llm.provider, LlmProviderKind::None);
    assert!(settings.stt.provider().unwrap().is_none());
    assert!(settings.llm.provider().unwrap().is_none());
}

#[test]
fn a_conventional_key_flips_the_provider_default() {
    let settings = Settings::load_from(
        None,
        &env(&[("OPENAI_API_KEY", "sk-test"), ("GOOGLE_API_KEY", "g-test")]),
    )
    .unwrap();
    assert_eq!(settings.stt.provider, SttProvider::Openai);
    assert_eq!(settings.stt.model, "whisper-1");
    assert_eq!(settings.stt.base_url, OPENAI_BASE_URL);
    assert_eq!(
        settings.stt.provider().unwrap().unwrap().model(),
        "whisper-1"
    );
    assert_eq!(settings.llm.provider, LlmProviderKind::Gemini);
    assert_eq!(settings.llm.model, DEFAULT_GEMINI_MODEL);
    assert_eq!(
        settings.llm.api_key.as_ref().unwrap().expose_secret(),
        "g-test"
    );
    let llm = settings.llm.provider().unwrap().unwrap();
    assert_eq!((llm.name(), llm.model()), ("gemini", DEFAULT_GEMINI_MODEL));
}

#[test]
fn an_explicit_provider_wins_over_key_presence() {
    let settings = Settings::load_from(
        None,
        &env(&[
            ("OPENAI_API_KEY", "sk-test"),
            ("GEMINI_API_KEY", "g-test"),
            ("VIBEINSIGHT__STT__PROVIDER", "none"),
            ("VIBEINSIGHT__LLM__PROVIDER", "none"),
        ]),
    )
    .unwrap();
    assert!(settings.stt.provider().unwrap().is_none());
    assert!(settings.llm.provider().unwrap().is_none());
}

#[test]
fn openai_chat_takes_openai_key_endpoint_and_model() {
    let settings = Settings::load_from(
        None,
        &env(&[
            ("OPENAI_API_KEY", "sk-test"),
            ("OPENAI_BASE_URL", "http://127.0.0.1:8000/v1"),
            ("GEMINI_API_KEY", "g-test"),
            ("VIBEINSIGHT__LLM__PROVIDER", "openai"),
        ]),
    )
    .unwrap();
    let llm = &settings.llm;
    assert_eq!(llm.api_key.as_ref().unwrap().expose_secret(), "sk-test");
    assert_eq!(llm.base_url.as_deref(), Some("http://127.0.0.1:8000/v1"));
    assert_eq!(llm.model, DEFAULT_OPENAI_CHAT_MODEL);
    assert_eq!(settings.stt.base_url, "http://127.0.0.1:8000/v1");
    let stt_override = Settings::load_from(
        None,
        &env(&[
            ("OPENAI_API_KEY", "sk-test"),
            ("OPENAI_BASE_URL", "http://a/v1"),
            ("VIBEINSIGHT__STT__BASE_URL", "http://b/v1"),
        ]),
    )
    .unwrap();
    assert_eq!(stt_override.stt.base_url, "http://b/v1");
}

#[test]
fn provider_sections_read_limits_and_price_tables_from_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("vibeinsight.toml");
    let toml = r#"
        [stt]
        max_bytes = 10485760
        in_flight = 2
        prompt = "コーチング, GROW"
        prices = { "whisper-1" = 0.004 }
        [llm]
        provider = "gemini"
        api_key = "from-file"
        transcript_budget_tokens = 50000
        prices = { "gemini-2.5-flash" = { input_per_mtok = 0.5, output_per_mtok = 3.0 } }
    "#;
    std::fs::write(&file, toml).unwrap();
    let settings = Settings::load_from(Some(&file), &env(&[])).unwrap();
    let chunking = settings.stt.chunking();
    assert_eq!(
        (chunking.max_bytes, chunking.in_flight),
        (10 * 1024 * 1024, 2)
    );
    assert_eq!(settings.stt.prompt.as_deref(), Some("コーチング, GROW"));
    let stt_prices = settings.stt.price_table().usd_per_minute;
    assert_eq!(
        stt_prices.into_iter().collect::<Vec<_>>(),
        [("whisper-1".into(), 0.004)]
    );
    let options = settings.llm.assess_options();
    assert_eq!(options.transcript_budget_tokens, 50_000);
    assert_eq!(options.prices.0["gemini-2.5-flash"].output_per_mtok, 3.0);
    assert_eq!(
        options.prices.0.len(),
        1,
        "a configured table replaces the built-in one"
    );
}

#[test]
fn a_selected_provider_without_a_key_fails_at_boot() {
    let gemini = env(&[("VIBEINSIGHT__LLM__PROVIDER", "gemini")]);
    assert!(Settings::load_from(None, &gemini).is_err());
    let openai_stt = env(&[("VIBEINSIGHT__STT__PROVIDER", "openai")]);
    assert!(Settings::load_from(None, &openai_stt).is_err());
}
