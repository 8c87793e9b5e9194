//! Fetch: validate the session's audio path and bring the object to a local file.

use crate::error::{Failure, JobError};
use crate::storage::{FetchedObject, Storage};

/// The fetched file and the extension of its key (the decoder's format hint).
pub struct Fetched {
    pub object: FetchedObject,
    pub extension: Option<String>,
}

/// # Errors
/// A refused path or a missing, empty or oversized object is permanent (the job may still wait
/// for an upload in flight, see `worker::job`); storage outages are transient.
pub async fn fetch(storage: &Storage, audio_path: &str) -> Result<Fetched, JobError> {
    let key = storage
        .key(audio_path)
        .map_err(|err| Failure::InvalidAudioPath {
            path: audio_path.to_owned(),
            reason: err.0,
        })?;
    let object = storage.fetch(&key).await?;
    if object.bytes == 0 {
        return Err(Failure::ObjectEmpty(key.as_str().to_owned()).into());
    }
    tracing::info!(bytes = object.bytes, "fetched the recording");
    Ok(Fetched {
        object,
        extension: key.extension(),
    })
}
