//! The queue message's wire form → a validated job request.

use serde::Deserialize;
use uuid::Uuid;

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Reason {
    Insert,
    /// From `ops.requeue`: run again even if the session already completed.
    Requeue,
    /// From `ops.reassess`: only the judgement again, from the stored measurements.
    Reassess,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct JobMessage {
    pub session_id: Uuid,
    #[serde(default = "default_reason")]
    pub reason: Reason,
}

fn default_reason() -> Reason {
    Reason::Insert
}

impl JobMessage {
    /// # Errors
    /// Why the body is not a job message; the worker dead-letters such messages.
    pub fn parse(body: &serde_json::Value) -> Result<JobMessage, String> {
        JobMessage::deserialize(body).map_err(|err| err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn well_formed_messages_parse() {
        let id = Uuid::new_v4();
        let parsed =
            JobMessage::parse(&json!({"session_id": id, "reason": "requeue", "extra": 1})).unwrap();
        assert_eq!(
            parsed,
            JobMessage {
                session_id: id,
                reason: Reason::Requeue
            }
        );
        let parsed = JobMessage::parse(&json!({"session_id": id})).unwrap();
        assert_eq!(parsed.reason, Reason::Insert);
    }

    #[test]
    fn malformed_messages_say_why() {
        assert!(
            JobMessage::parse(&json!({"session_id": "not-a-uuid"}))
                .unwrap_err()
                .contains("UUID")
        );
        assert!(JobMessage::parse(&json!([1, 2])).is_err());
        assert!(
            JobMessage::parse(&json!({"reason": "insert"}))
                .unwrap_err()
                .contains("session_id")
        );
    }
}
