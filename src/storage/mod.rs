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
use crate::error::{Failure, JobError};

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
}

impl From<StorageError> for JobError {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::NotFound(key) => Failure::ObjectMissing(key).into(),
            StorageError::TooLarge { bytes, max } => Failure::ObjectTooLarge { bytes, max }.into(),
            StorageError::AccessDenied(key) => Failure::AccessDenied(key).into(),
            StorageError::Unavailable(reason) => JobError::transient(format!("storage: {reason}")),
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

#[derive(Clone, Debug)]
pub enum Storage {
    Local(local::LocalStore),
    S3(s3::S3Store),
}

impl Storage {
    /// # Errors
    /// The local root cannot be created.
    pub async fn from_settings(settings: &StorageSettings) -> anyhow::Result<Storage> {
        Ok(match settings.backend {
            StorageBackend::Local => Storage::Local(
                local::LocalStore::open(&settings.local_dir, settings.max_object_bytes)
                    .with_context(|| {
                        format!("Failed to open local storage {:?}", settings.local_dir)
                    })?,
            ),
            StorageBackend::S3 => Storage::S3(s3::S3Store::new(settings).await),
        })
    }

    /// The bucket `s3://` paths must name, if any.
    pub fn bucket(&self) -> Option<&str> {
        match self {
            Storage::Local(_) => None,
            Storage::S3(store) => Some(store.bucket()),
        }
    }

    /// Validates a `sessions.audio_path` against this store.
    ///
    /// # Errors
    /// The reason the path is refused.
    pub fn key(&self, audio_path: &str) -> Result<ObjectKey, KeyError> {
        ObjectKey::parse(audio_path, self.bucket())
    }

    /// # Errors
    /// [`StorageError`]: missing, too large, denied, or unavailable (transient).
    pub async fn fetch(&self, key: &ObjectKey) -> Result<FetchedObject, StorageError> {
        match self {
            Storage::Local(store) => store.fetch(key).await,
            Storage::S3(store) => store.fetch(key).await,
        }
    }

    /// Proves the store is usable: the local root is writable, the S3 bucket answers.
    ///
    /// # Errors
    /// What is wrong, in words an operator can act on.
    pub async fn check(&self) -> anyhow::Result<String> {
        match self {
            Storage::Local(store) => store.check().await,
            Storage::S3(store) => store.check().await,
        }
    }

    /// Stores `file` under `key` (what a client's upload does; used by `enqueue`).
    ///
    /// # Errors
    /// The upload failed.
    pub async fn put(&self, key: &ObjectKey, file: &Path) -> anyhow::Result<()> {
        match self {
            Storage::Local(store) => store.put(key, file).await,
            Storage::S3(store) => store.put(key, file).await,
        }
    }
}
