//! The S3 store (Tigris on Fly, or any S3-compatible server) through aws-sdk-s3.

use std::path::Path;

use anyhow::Context;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use secrecy::ExposeSecret;
use tokio::io::AsyncWriteExt;

use super::{FetchedObject, ObjectKey, StorageError};
use crate::config::{FallbackStorageSettings, StorageSettings};
use crate::retry::ErrorClass;

#[derive(Clone, Debug)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
    max_bytes: u64,
}

/// Where one S3 store is and how to reach it.
struct Target<'a> {
    bucket: &'a str,
    endpoint: Option<&'a str>,
    region: &'a str,
    access_key_id: Option<&'a secrecy::SecretString>,
    secret_access_key: Option<&'a secrecy::SecretString>,
    force_path_style: bool,
    max_bytes: u64,
}

impl S3Store {
    pub async fn new(settings: &StorageSettings) -> S3Store {
        S3Store::connect(Target {
            bucket: settings.bucket.as_deref().unwrap_or_default(),
            endpoint: settings.endpoint.as_deref(),
            region: &settings.region,
            access_key_id: settings.access_key_id.as_ref(),
            secret_access_key: settings.secret_access_key.as_ref(),
            force_path_style: settings.force_path_style,
            max_bytes: settings.max_object_bytes,
        })
        .await
    }

    /// The fallback store; S3-compatible services behind it (Supabase Storage) are
    /// path-style, and it shares the primary's size cap.
    pub async fn fallback(settings: &FallbackStorageSettings, max_bytes: u64) -> S3Store {
        S3Store::connect(Target {
            bucket: &settings.bucket,
            endpoint: Some(&settings.endpoint),
            region: &settings.region,
            access_key_id: settings.access_key_id.as_ref(),
            secret_access_key: settings.secret_access_key.as_ref(),
            force_path_style: true,
            max_bytes,
        })
        .await
    }

    async fn connect(settings: Target<'_>) -> S3Store {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(settings.region.to_owned()));
        if let (Some(id), Some(secret)) = (settings.access_key_id, settings.secret_access_key) {
            loader = loader.credentials_provider(Credentials::new(
                id.expose_secret(),
                secret.expose_secret(),
                None,
                None,
                "vibeinsight-settings",
            ));
        }
        if let Some(endpoint) = settings.endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        let shared = loader.load().await;
        let config = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(settings.force_path_style)
            .build();
        S3Store {
            client: aws_sdk_s3::Client::from_conf(config),
            bucket: settings.bucket.to_owned(),
            max_bytes: settings.max_bytes,
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub async fn fetch(&self, key: &ObjectKey) -> Result<FetchedObject, StorageError> {
        let response = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .send()
            .await
            .map_err(|err| classify(err, key))?;
        if let Some(len) = response
            .content_length()
            .filter(|&len| len as u64 > self.max_bytes)
        {
            return Err(StorageError::TooLarge {
                bytes: len as u64,
                max: self.max_bytes,
            });
        }
        let temp = tempfile::Builder::new()
            .prefix("vibeinsight-")
            .tempfile()
            .map_err(|err| {
                StorageError::Unavailable(format!("cannot create a temporary file: {err}"))
            })?
            .into_temp_path();
        let bytes = self.stream_to(response.body, &temp).await?;
        Ok(FetchedObject {
            path: temp.to_path_buf(),
            bytes,
            _temp: Some(temp),
        })
    }

    /// Copies the body to `path`, enforcing the size cap on the bytes actually received
    /// (a server may omit or misstate Content-Length).
    async fn stream_to(&self, mut body: ByteStream, path: &Path) -> Result<u64, StorageError> {
        let io_err =
            |err: std::io::Error| StorageError::Unavailable(format!("writing the download: {err}"));
        let mut file = tokio::fs::File::create(path).await.map_err(io_err)?;
        let mut written = 0u64;
        while let Some(chunk) = body
            .try_next()
            .await
            .map_err(|err| StorageError::Unavailable(format!("download interrupted: {err}")))?
        {
            written += chunk.len() as u64;
            if written > self.max_bytes {
                return Err(StorageError::TooLarge {
                    bytes: written,
                    max: self.max_bytes,
                });
            }
            file.write_all(&chunk).await.map_err(io_err)?;
        }
        file.flush().await.map_err(io_err)?;
        Ok(written)
    }

    pub async fn check(&self) -> anyhow::Result<String> {
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map_err(|err| anyhow::anyhow!("bucket {:?}: {}", self.bucket, describe(&err)))?;
        Ok(format!("bucket {:?} answers", self.bucket))
    }

    pub async fn put(&self, key: &ObjectKey, file: &Path) -> anyhow::Result<()> {
        let body = ByteStream::from_path(file)
            .await
            .with_context(|| format!("Failed to read {file:?}"))?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .body(body)
            .send()
            .await
            .map_err(|err| anyhow::anyhow!("{}", describe(&err)))
            .with_context(|| format!("Failed to upload to bucket {:?}", self.bucket))?;
        Ok(())
    }

    /// Deletes the object (S3 answers success for a key that is not there).
    pub async fn remove(&self, key: &ObjectKey) -> anyhow::Result<()> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .send()
            .await
            .map_err(|err| anyhow::anyhow!("{}", describe(&err)))
            .with_context(|| format!("Failed to delete from bucket {:?}", self.bucket))?;
        Ok(())
    }
}

fn classify<E: ProvideErrorMetadata>(err: SdkError<E>, key: &ObjectKey) -> StorageError {
    let status = err
        .raw_response()
        .map(|response| response.status().as_u16());
    match status {
        Some(404) => StorageError::NotFound(key.as_str().to_owned()),
        Some(403) => StorageError::AccessDenied(key.as_str().to_owned()),
        Some(status) if crate::retry::http_status(status) == ErrorClass::Permanent => {
            StorageError::Rejected(describe(&err))
        }
        _ => StorageError::Unavailable(describe(&err)),
    }
}

/// A one-line description; the SDK's Display says only "service error".
fn describe<E: ProvideErrorMetadata>(err: &SdkError<E>) -> String {
    match err {
        SdkError::ServiceError(service) => format!(
            "{} (HTTP {})",
            service.err().code().unwrap_or("unknown error"),
            service.raw().status().as_u16()
        ),
        SdkError::TimeoutError(_) => "timed out".to_owned(),
        SdkError::DispatchFailure(failure) => format!("connection failed: {failure:?}"),
        other => other.to_string(),
    }
}
