//! The local-directory store: keys are paths under one root directory.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::{FetchedObject, ObjectKey, StorageError};

#[derive(Clone, Debug)]
pub struct LocalStore {
    root: PathBuf,
    max_bytes: u64,
}

impl LocalStore {
    pub fn open(root: &Path, max_bytes: u64) -> std::io::Result<LocalStore> {
        std::fs::create_dir_all(root)?;
        Ok(LocalStore {
            root: root.canonicalize()?,
            max_bytes,
        })
    }

    pub async fn fetch(&self, key: &ObjectKey) -> Result<FetchedObject, StorageError> {
        let missing = || StorageError::NotFound(key.as_str().to_owned());
        let path = tokio::fs::canonicalize(self.root.join(key.as_str()))
            .await
            .map_err(|_| missing())?;
        // Keys cannot contain `..`, but a symlink inside the root could still point out of it.
        if !path.starts_with(&self.root) {
            return Err(StorageError::AccessDenied(key.as_str().to_owned()));
        }
        let meta = tokio::fs::metadata(&path).await.map_err(|_| missing())?;
        if !meta.is_file() {
            return Err(missing());
        }
        if meta.len() > self.max_bytes {
            return Err(StorageError::TooLarge {
                bytes: meta.len(),
                max: self.max_bytes,
            });
        }
        Ok(FetchedObject {
            path,
            bytes: meta.len(),
            _temp: None,
        })
    }

    pub async fn check(&self) -> anyhow::Result<String> {
        let probe = self.root.join(".vibeinsight-doctor");
        tokio::fs::write(&probe, b"ok")
            .await
            .with_context(|| format!("{} is not writable", self.root.display()))?;
        tokio::fs::remove_file(&probe).await?;
        Ok(format!(
            "local directory {} is writable",
            self.root.display()
        ))
    }

    pub async fn put(&self, key: &ObjectKey, file: &Path) -> anyhow::Result<()> {
        let target = self.root.join(key.as_str());
        if let Some(parent) = target.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        tokio::fs::copy(file, &target)
            .await
            .with_context(|| format!("Failed to copy {file:?} into local storage"))?;
        Ok(())
    }

    /// Deletes the object; one that is not there counts as deleted.
    pub async fn remove(&self, key: &ObjectKey) -> anyhow::Result<()> {
        let path = self.root.join(key.as_str());
        match tokio::fs::canonicalize(&path).await {
            // Never outside the root, even through a symlink inside it.
            Ok(real) if !real.starts_with(&self.root) => {
                anyhow::bail!("{} leads outside the storage root", key.as_str())
            }
            Ok(_) => match tokio::fs::remove_file(&path).await {
                Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                    Err(err).with_context(|| format!("Failed to delete {path:?}"))
                }
                _ => Ok(()),
            },
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(err) => Err(err).with_context(|| format!("Failed to resolve {path:?}")),
        }
    }
}
