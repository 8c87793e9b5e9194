//! Errors of the transcription client, sorted into transient (retry) and permanent (stop).
//!
//! Error bodies are never assumed to be JSON: OpenAI answers `{"error": {...}}`, FastAPI-based
//! servers `{"detail": ...}`, proxies and compatible servers plain text or HTML.

use std::time::Duration;

use serde_json::Value;

use crate::clients::stt::SttError;

/// Turns a non-2xx answer into an [`SttError`].
pub(super) fn classify_failure(
    status: u16,
    body: &str,
    retry_after: Option<Duration>,
    key: &str,
) -> SttError {
    let info = ErrorInfo::parse(body);
    let message = redact(&info.message, key);
    let is = |code: &str| info.code.as_deref() == Some(code) || info.kind.as_deref() == Some(code);
    match status {
        // OpenAI sends an exhausted quota as 429 too; only its code tells it from a rate limit.
        _ if is("insufficient_quota") => SttError::QuotaExhausted { message },
        401 => SttError::InvalidApiKey,
        429 => SttError::RateLimited {
            retry_after,
            message,
        },
        s if crate::retry::http_status(s) == crate::retry::ErrorClass::Transient => {
            SttError::Server { status, message }
        }
        _ => SttError::Rejected { status, message },
    }
}

struct ErrorInfo {
    message: String,
    code: Option<String>,
    kind: Option<String>,
}

impl ErrorInfo {
    fn parse(body: &str) -> Self {
        let fallback = || Self {
            message: plain(body),
            code: None,
            kind: None,
        };
        let Ok(v) = serde_json::from_str::<Value>(body) else {
            return fallback();
        };
        let str_at = |p: &str| v.pointer(p).and_then(Value::as_str).map(str::to_owned);
        if let Some(message) = str_at("/error/message") {
            return Self {
                message,
                code: str_at("/error/code"),
                kind: str_at("/error/type"),
            };
        }
        if let Some(detail) = v.get("detail") {
            let message = detail
                .as_str()
                .map_or_else(|| detail.to_string(), str::to_owned);
            return Self {
                message,
                code: None,
                kind: None,
            };
        }
        // `{"error": "some text"}` and `{"message": ...}` are seen on compatible servers.
        match str_at("/error").or_else(|| str_at("/message")) {
            Some(message) => Self {
                message,
                code: None,
                kind: None,
            },
            None => fallback(),
        }
    }
}

/// A short, single-line excerpt of a non-JSON body (HTML pages, stack traces).
fn plain(body: &str) -> String {
    let one_line: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    let cut: String = one_line.chars().take(300).collect();
    if cut.is_empty() {
        "(empty body)".to_owned()
    } else {
        cut
    }
}

/// Removes the key and anything that looks like an OpenAI key from text meant for humans.
pub(super) fn redact(text: &str, key: &str) -> String {
    let mut out = if key.len() >= 4 {
        text.replace(key, "[redacted]")
    } else {
        text.to_owned()
    };
    while let Some(i) = out.find("sk-") {
        let end = out[i..]
            .find(|c: char| c.is_whitespace() || c == '"' || c == '.' || c == ',')
            .map_or(out.len(), |e| i + e);
        out.replace_range(i..end, "[redacted]");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_is_permanent_even_on_429() {
        let body = r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"#;
        let e = classify_failure(429, body, None, "k");
        assert!(matches!(e, SttError::QuotaExhausted { .. }) && !e.is_transient());
        assert!(e.to_string().starts_with("transcription quota exhausted"));
    }

    #[test]
    fn non_json_bodies_are_kept_as_text() {
        let e = classify_failure(502, "<html>\n<h1>Bad Gateway</h1></html>", None, "k");
        assert!(e.is_transient());
        assert!(e.to_string().contains("<h1>Bad Gateway</h1>"), "{e}");
        let e = classify_failure(400, r#"{"detail":"bad language"}"#, None, "k");
        assert!(e.to_string().contains("bad language") && !e.is_transient());
    }

    #[test]
    fn keys_never_reach_messages() {
        let body = r#"{"error":{"message":"Incorrect API key provided: sk-abc123. See docs","code":"invalid_api_key"}}"#;
        assert_eq!(
            classify_failure(401, body, None, "sk-abc123").to_string(),
            "invalid API key (HTTP 401)"
        );
        let e = classify_failure(403, body, None, "sk-abc123");
        assert!(!e.to_string().contains("abc123"), "{e}");
    }
}
