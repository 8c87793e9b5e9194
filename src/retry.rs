//! One retry vocabulary for every dependency: storage, transcription, the LLM, the database.
//!
//! Each client sorts its failures into [`ErrorClass`] at the point they become known, and an
//! HTTP status always means the same thing whoever answered it ([`http_status`]). Our own
//! bugs (a panic, a broken invariant) are permanent: retrying a bug only burns attempts and
//! provider money, so they fail the session at once as an "internal error".

/// Whether trying again later can help.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// An outage, a rate limit, a timeout: the job is retried with backoff.
    Transient,
    /// Bad input, refused credentials, a missing object, our own bug: the session fails.
    Permanent,
}

/// The one table from HTTP status to class. 408 (request timeout), 425 (too early), 429
/// (rate limit) and 5xx pass with time; every other status is an answer that will not
/// change (400 bad request, 401/403 credentials, 404, 409, 413 too large, 422 unprocessable).
pub fn http_status(status: u16) -> ErrorClass {
    match status {
        408 | 425 | 429 | 500..=599 => ErrorClass::Transient,
        _ => ErrorClass::Permanent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classed_as_the_issue_table_says() {
        for status in [408, 425, 429, 500, 502, 503, 504] {
            assert_eq!(http_status(status), ErrorClass::Transient, "{status}");
        }
        for status in [400, 401, 403, 404, 409, 413, 422] {
            assert_eq!(http_status(status), ErrorClass::Permanent, "{status}");
        }
    }
}
