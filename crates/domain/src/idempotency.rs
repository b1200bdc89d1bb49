//! Idempotent retries (spec §4): keys, request fingerprints and the replay decision.
//!
//! A record is scoped to (staff member, key) and remembers the fingerprint of the request
//! that created it and, once done, its response. A retry with the same fingerprint replays
//! that response; the same key with another request is refused (422); a retry while the
//! first is still running is told so (409). Records live 24 hours.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ids::StaffId;
use crate::validate::ValidationError;

/// The request header carrying the key.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";
/// The response header marking a replayed answer.
pub const IDEMPOTENT_REPLAYED_HEADER: &str = "Idempotent-Replayed";
/// How long a record is kept; older ones are purged and no longer replayed.
pub const RETENTION: TimeDelta = TimeDelta::hours(24);

/// A client-chosen key: 1–255 visible ASCII characters (no spaces or controls).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub const MAX_LEN: usize = 255;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        if raw.is_empty() || raw.len() > Self::MAX_LEN {
            return Err(ValidationError::new(
                IDEMPOTENCY_KEY_HEADER,
                format!("must be 1 to {} characters", Self::MAX_LEN),
            ));
        }
        if !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ValidationError::new(
                IDEMPOTENCY_KEY_HEADER,
                "may contain only visible ASCII characters",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for IdempotencyKey {
    type Error = ValidationError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<IdempotencyKey> for String {
    fn from(key: IdempotencyKey) -> String {
        key.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Hex SHA-256 of what makes two requests "the same": method, path and body.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RequestFingerprint(String);

impl RequestFingerprint {
    /// `path` is the request path as received, ids included (`/api/orders/<id>/send`), so
    /// one key reused on another order is a mismatch. A JSON body is canonicalised first
    /// (keys sorted, no insignificant whitespace), so a client re-serialising the same
    /// request still matches; any other body is hashed as sent. Each part is length-prefixed
    /// so that no two different requests share an input to the hash.
    pub fn new(method: &str, path: &str, body: &[u8]) -> Self {
        let method = method.to_ascii_uppercase();
        let body = canonical_body(body);
        let mut hasher = Sha256::new();
        for part in [method.as_bytes(), path.as_bytes(), body.as_slice()] {
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part);
        }
        Self(hex::encode(hasher.finalize()))
    }

    /// Reads a stored fingerprint back.
    pub fn from_hex(raw: &str) -> Result<Self, ValidationError> {
        if raw.len() == 64
            && raw
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ValidationError::new(
                "fingerprint",
                "must be 64 lower-case hex digits",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for RequestFingerprint {
    type Error = ValidationError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::from_hex(&raw)
    }
}

impl From<RequestFingerprint> for String {
    fn from(f: RequestFingerprint) -> String {
        f.0
    }
}

fn canonical_body(body: &[u8]) -> Vec<u8> {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(value) => {
            let mut out = String::with_capacity(body.len());
            write_canonical(&value, &mut out);
            out.into_bytes()
        }
        Err(_) => body.to_vec(),
    }
}

/// Sorted keys whatever the map type serde_json was built with (`preserve_order` may be
/// switched on by another crate of the workspace).
fn write_canonical(value: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// The answer given to the first request, replayed byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredResponse {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl StoredResponse {
    /// Server errors are not remembered: their transaction rolled back, so a retry must run.
    pub fn is_storable(&self) -> bool {
        self.status < 500
    }
}

/// A stored idempotency record; `response` is `None` while the first request runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    pub staff_id: StaffId,
    pub key: IdempotencyKey,
    pub fingerprint: RequestFingerprint,
    pub response: Option<StoredResponse>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyDecision {
    /// No live record: run the request and store its response with it.
    Execute,
    /// Same request seen before: answer with this, marked `Idempotent-Replayed: true`.
    Replay(StoredResponse),
    /// Same key, different request: 422.
    Mismatch,
    /// Same request still running elsewhere: 409 `request in progress`.
    InProgress,
}

/// True once a record created at `created_at` has outlived [`RETENTION`].
pub fn is_expired(created_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now.signed_duration_since(created_at) > RETENTION
}

/// Records created before this instant may be purged.
pub fn purge_cutoff(now: DateTime<Utc>) -> DateTime<Utc> {
    now.checked_sub_signed(RETENTION).unwrap_or(now)
}

/// What to do with a request carrying a key, given the record found for (staff, key).
/// An expired record counts as absent (the store replaces it).
pub fn decide(
    existing: Option<&IdempotencyRecord>,
    fingerprint: &RequestFingerprint,
    now: DateTime<Utc>,
) -> IdempotencyDecision {
    match existing {
        None => IdempotencyDecision::Execute,
        Some(record) if is_expired(record.created_at, now) => IdempotencyDecision::Execute,
        Some(record) if &record.fingerprint != fingerprint => IdempotencyDecision::Mismatch,
        Some(IdempotencyRecord {
            response: Some(response),
            ..
        }) => IdempotencyDecision::Replay(response.clone()),
        Some(_) => IdempotencyDecision::InProgress,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_1_to_255_visible_ascii() {
        assert!(IdempotencyKey::parse("a").is_ok());
        assert!(IdempotencyKey::parse("0b6e5c1e-7a9f-4b8e-9d0a-0f3c2d1e4b5a").is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        for bad in ["", " ", "has space", "tab\t", "é", "\u{7f}"] {
            let err = IdempotencyKey::parse(bad).unwrap_err();
            assert_eq!(err.field, "Idempotency-Key", "{bad:?}");
        }
        let long = IdempotencyKey::parse(&"k".repeat(256)).unwrap_err();
        assert_eq!(long.message, "must be 1 to 255 characters");
    }

    #[test]
    fn fingerprints_hash_length_prefixed_parts() {
        // Vectors computed independently: sha256 over (u64 BE length ‖ bytes) per part.
        assert_eq!(
            RequestFingerprint::new("post", "/api/orders", br#"{"type":"takeaway","items":[]}"#).as_str(),
            "d275adf4b0b85ca6f2243f81a24ed476e040ae40be1050b9a85c631bd8c17dd4"
        );
        assert_eq!(
            RequestFingerprint::new("POST", "/api/orders/1/send", b"").as_str(),
            "bf93fea41b627c46df1dccc6d1f9aa9e0e7ec481c0f679a210ac19b1d82cf1e5"
        );
    }

    #[test]
    fn json_bodies_are_compared_canonically() {
        let a = RequestFingerprint::new(
            "POST",
            "/api/orders",
            br#"{"type":"takeaway","items":[{"q":1,"p":"x"}]}"#,
        );
        let b = RequestFingerprint::new(
            "POST",
            "/api/orders",
            b"{ \"items\" : [ {\"p\":\"x\", \"q\":1} ],\n \"type\":\"takeaway\" }",
        );
        assert_eq!(a, b);
        let other_body = RequestFingerprint::new("POST", "/api/orders", br#"{"type":"dine_in","items":[]}"#);
        let other_path = RequestFingerprint::new(
            "POST",
            "/api/orders/2",
            br#"{"type":"takeaway","items":[{"q":1,"p":"x"}]}"#,
        );
        let other_method = RequestFingerprint::new(
            "PUT",
            "/api/orders",
            br#"{"type":"takeaway","items":[{"q":1,"p":"x"}]}"#,
        );
        let array_order = RequestFingerprint::new(
            "POST",
            "/api/orders",
            br#"{"items":[{"q":2,"p":"x"}],"type":"takeaway"}"#,
        );
        for different in [other_body, other_path, other_method, array_order] {
            assert_ne!(a, different);
        }
        // Not JSON: hashed as sent.
        assert_ne!(
            RequestFingerprint::new("POST", "/x", b"a=1&b=2"),
            RequestFingerprint::new("POST", "/x", b"b=2&a=1")
        );
        // The parts cannot bleed into each other.
        assert_ne!(
            RequestFingerprint::new("POST", "/ab", b"c"),
            RequestFingerprint::new("POST", "/a", b"bc")
        );
    }

    #[test]
    fn stored_fingerprints_round_trip() {
        let f = RequestFingerprint::new("POST", "/api/orders", b"{}");
        assert_eq!(RequestFingerprint::from_hex(f.as_str()), Ok(f.clone()));
        assert!(RequestFingerprint::from_hex("ABC").is_err());
        assert!(RequestFingerprint::from_hex(&"G".repeat(64)).is_err());
    }

    fn record(
        fingerprint: &RequestFingerprint,
        response: Option<StoredResponse>,
        created_at: DateTime<Utc>,
    ) -> IdempotencyRecord {
        IdempotencyRecord {
            staff_id: StaffId::new(),
            key: IdempotencyKey::parse("k-1").unwrap(),
            fingerprint: fingerprint.clone(),
            response,
            created_at,
        }
    }

    #[test]
    fn the_decision_covers_every_case() {
        let now = Utc::now();
        let f = RequestFingerprint::new("POST", "/api/orders", b"{}");
        let g = RequestFingerprint::new("POST", "/api/orders", b"{\"a\":1}");
        let stored = StoredResponse {
            status: 201,
            content_type: "application/json".into(),
            body: b"{\"id\":1}".to_vec(),
        };
        assert_eq!(decide(None, &f, now), IdempotencyDecision::Execute);
        let done = record(&f, Some(stored.clone()), now);
        assert_eq!(
            decide(Some(&done), &f, now),
            IdempotencyDecision::Replay(stored.clone())
        );
        assert_eq!(decide(Some(&done), &g, now), IdempotencyDecision::Mismatch);
        let running = record(&f, None, now);
        assert_eq!(decide(Some(&running), &f, now), IdempotencyDecision::InProgress);
        assert_eq!(decide(Some(&running), &g, now), IdempotencyDecision::Mismatch);
        let old = record(&f, Some(stored), now - RETENTION - TimeDelta::seconds(1));
        assert_eq!(decide(Some(&old), &g, now), IdempotencyDecision::Execute);
    }

    #[test]
    fn records_are_kept_24_hours() {
        let now = Utc::now();
        assert!(!is_expired(now - RETENTION, now));
        assert!(is_expired(now - RETENTION - TimeDelta::seconds(1), now));
        assert_eq!(purge_cutoff(now), now - TimeDelta::hours(24));
        let created = now - TimeDelta::hours(25);
        assert!(created < purge_cutoff(now) && is_expired(created, now));
    }

    #[test]
    fn only_non_server_errors_are_stored() {
        let response = |status| StoredResponse {
            status,
            content_type: "application/problem+json".into(),
            body: vec![],
        };
        assert!(response(201).is_storable());
        assert!(response(422).is_storable());
        assert!(!response(503).is_storable());
    }
}
