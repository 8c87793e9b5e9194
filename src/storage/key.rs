//! Object keys from `sessions.audio_path`, validated before any storage call.
//!
//! The worker must never become a way to read another bucket, escape the local root or fetch
//! an arbitrary URL, so anything that is not a plain relative key in our own bucket is refused.

/// A key that passed validation: relative, no `..`, in the configured bucket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectKey(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct KeyError(pub &'static str);

const MAX_KEY_BYTES: usize = 1024;

impl ObjectKey {
    /// Accepts `key` or `s3://<bucket>/key` where `<bucket>` is the configured one.
    ///
    /// # Errors
    /// The reason the path is refused.
    pub fn parse(raw: &str, bucket: Option<&str>) -> Result<ObjectKey, KeyError> {
        let key = match raw.strip_prefix("s3://") {
            Some(rest) => {
                let (named, key) = rest
                    .split_once('/')
                    .ok_or(KeyError("s3:// path without a key"))?;
                if Some(named) != bucket {
                    return Err(KeyError(
                        "the path names a bucket other than the configured one",
                    ));
                }
                key
            }
            None if has_scheme(raw) => {
                return Err(KeyError("URLs are not accepted, only object keys"));
            }
            None => raw,
        };
        check_key(key)?;
        Ok(ObjectKey(key.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// File extension, lower-cased: the decoder's format hint.
    pub fn extension(&self) -> Option<String> {
        let name = self.0.rsplit('/').next()?;
        let (_, ext) = name.rsplit_once('.')?;
        Some(ext.to_ascii_lowercase())
    }
}

fn has_scheme(raw: &str) -> bool {
    let Some((scheme, _)) = raw.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
}

fn check_key(key: &str) -> Result<(), KeyError> {
    if key.is_empty() {
        return Err(KeyError("empty key"));
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(KeyError("key longer than 1024 bytes"));
    }
    if key.starts_with('/') {
        return Err(KeyError("absolute paths are not accepted"));
    }
    if key.contains("..") {
        return Err(KeyError("'..' is not accepted in keys"));
    }
    if key.contains('\\') || key.chars().any(char::is_control) {
        return Err(KeyError(
            "backslashes and control characters are not accepted",
        ));
    }
    if key
        .split('/')
        .any(|segment| segment.is_empty() || segment == ".")
    {
        return Err(KeyError("empty or '.' path segments are not accepted"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_own_bucket_keys_are_accepted() {
        let key = ObjectKey::parse("user/abc.M4A", None).unwrap();
        assert_eq!(key.as_str(), "user/abc.M4A");
        assert_eq!(key.extension().as_deref(), Some("m4a"));
        let key = ObjectKey::parse("s3://audio/u/x.wav", Some("audio")).unwrap();
        assert_eq!(key.as_str(), "u/x.wav");
    }

    #[test]
    fn escapes_urls_and_foreign_buckets_are_refused() {
        let bad = [
            "../etc/passwd",
            "u/../../secret",
            "/etc/passwd",
            "http://169.254.169.254/latest/meta-data",
            "file:///etc/passwd",
            "s3://other-bucket/u/x.wav",
            "s3://audio",
            "u//x.wav",
            "u/./x.wav",
            "u\\x.wav",
            "u/x\n.wav",
            "",
        ];
        for raw in bad {
            assert!(
                ObjectKey::parse(raw, Some("audio")).is_err(),
                "{raw:?} was accepted"
            );
        }
    }

    #[test]
    fn colon_inside_a_key_is_not_a_scheme() {
        assert!(ObjectKey::parse("u/meeting 10:30.wav", None).is_ok());
    }
}
