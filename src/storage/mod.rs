//! Object storage for recordings: a local directory (development, demo) or S3 (Tigris on
//! Fly, any S3-compatible server). Fetching always lands in a file: decoders stream from it,
//! and a temporary download is deleted when the [`FetchedObject`] is dropped, whatever happens.

mod key;
mod local;
mod s3;

use std::path::{Path, PathBuf};

use anyhow::Context;
pub use key::{KeyError, ObjectKey};
use tempfile::TempPath;

use crate::config::{StorageBackend, StorageSettings};
use crate::error::{Failure, JobError, Origin};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("object {0:?} not found")]
    NotFound(String),
    #[error("object is {bytes} bytes, more than the {max} allowed")]
    TooLarge { bytes: u64, max: u64 },
    #[error("access to {0:?} denied")]
    AccessDenied(String),
    /// Worth retrying: network, throttling, 5xx.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// Any other status (`crate::retry::http_status`): retrying would get the same answer.
    #[error("storage rejected the request: {0}")]
    Rejected(String),
}

impl From<StorageError> for JobError {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::NotFound(key) => Failure::ObjectMissing(key).into(),
            StorageError::TooLarge { bytes, max } => Failure::ObjectTooLarge { bytes, max }.into(),
            StorageError::AccessDenied(key) => Failure::AccessDenied(key).into(),
            StorageError::Unavailable(reason) => {
                JobError::transient(Origin::Storage, format!("storage: {reason}"))
            }
            StorageError::Rejected(reason) => Failure::StorageRejected(reason).into(),
        }
    }
}

/// A fetched object on local disk.
#[derive(Debug)]
pub struct FetchedObject {
    pub path: PathBuf,
    pub bytes: u64,
    /// Deletes the download on drop; `None` when the file is the local store's own.
    _temp: Option<TempPath>,
}

/// The configured store, with the fallback store when one is configured.
#[derive(Clone, Debug)]
pub struct Storage {
    primary: Backend,
    fallback: Option<s3::S3Store>,
}

#[derive(Clone, Debug)]
enum Backend {
    Local(local::LocalStore),
    S3(s3::S3Store),
}

impl Storage {
    /// # Errors
    /// The local root cannot be created.
    pub async fn from_settings(settings: &StorageSettings) -> anyhow::Result<Storage> {
        let primary = match settings.backend {
            StorageBackend::Local => Backend::Local(
                local::LocalStore::open(&settings.local_dir, settings.max_object_bytes)
                    .with_context(|| {
                        format!("Failed to open local storage {:?}", settings.local_dir)
                    })?,
            ),
            StorageBackend::S3 => Backend::S3(s3::S3Store::new(settings).await),
        };
        let fallback = match &settings.fallback {
            Some(fallback) => {
                Some(s3::S3Store::fallback(fallback, settings.max_object_bytes).await)
            }
            None => None,
        };
        Ok(Storage { primary, fallback })
    }

    /// The bucket `s3://` paths must name, if any.
    pub fn bucket(&self) -> Option<&str> {
        match &self.primary {
            Backend::Local(_) => None,
            Backend::S3(store) => Some(store.bucket()),
        }
    }

    /// Validates a `sessions.audio_path` against this store.
    ///
    /// # Errors
    /// The reason the path is refused.
    pub fn key(&self, audio_path: &str) -> Result<ObjectKey, KeyError> {
        ObjectKey::parse(audio_path, self.bucket())
    }

    /// Fetches from the primary store; when it is unavailable or lacks the object and a
    /// fallback is configured, from the fallback under the same key.
    ///
    /// # Errors
    /// [`StorageError`]: missing, too large, denied, or unavailable (transient). With a
    /// fallback, unavailable wins over missing: the object may still be in the primary.
    pub async fn fetch(&self, key: &ObjectKey) -> Result<FetchedObject, StorageError> {
        let primary = match &self.primary {
            Backend::Local(store) => store.fetch(key).await,
            Backend::S3(store) => store.fetch(key).await,
        };
        let (
            Err(primary_err @ (StorageError::NotFound(_) | StorageError::Unavailable(_))),
            Some(fallback),
        ) = (&primary, &self.fallback)
        else {
            return primary;
        };
        tracing::warn!(error = %primary_err, "primary store failed; trying the fallback store");
        match fallback.fetch(key).await {
            Ok(object) => Ok(object),
            Err(StorageError::NotFound(_)) => primary,
            Err(fallback_err) => Err(fallback_err),
        }
    }

    /// Deletes the object from the primary store and from the fallback, when there is one
    /// (a recording may have been read from either). A missing object is not an error.
    ///
    /// # Errors
    /// A store refused or could not be reached.
    pub async fn remove(&self, key: &ObjectKey) -> anyhow::Result<()> {
        match &self.primary {
            Backend::Local(store) => store.remove(key).await?,
            Backend::S3(store) => store.remove(key).await?,
        }
        if let Some(fallback) = &self.fallback {
            fallback.remove(key).await.context("fallback store")?;
        }
        Ok(())
    }

    /// Proves the store is usable: the local root is writable, the S3 bucket answers (and
    /// the fallback's bucket, when there is one).
    ///
    /// # Errors
    /// What is wrong, in words an operator can act on.
    pub async fn check(&self) -> anyhow::Result<String> {
        let primary = match &self.primary {
            Backend::Local(store) => store.check().await?,
            Backend::S3(store) => store.check().await?,
        };
        match &self.fallback {
            Some(fallback) => Ok(format!(
                "{primary}; fallback {}",
                fallback.check().await.context("fallback store")?
            )),
            None => Ok(primary),
        }
    }

    /// Stores `file` under `key` in the primary store (what a client's upload does; used by
    /// `enqueue`).
    ///
    /// # Errors
    /// The upload failed.
    pub async fn put(&self, key: &ObjectKey, file: &Path) -> anyhow::Result<()> {
        match &self.primary {
            Backend::Local(store) => store.put(key, file).await,
            Backend::S3(store) => store.put(key, file).await,
        }
    }
}
