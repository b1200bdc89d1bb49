//! The append-only event log: what happened, in order. The realtime feed and the audit
//! trail both read it; its bigserial id is the SSE `id:` a client resumes from.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::staff::Station;

/// A stored event. `id` increases strictly with commit order of the appending transaction's
/// allocation (bigserial), which is what `Last-Event-ID` resumption relies on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: i64,
    /// Dotted type, e.g. `order.sent`; the SSE `event:` field.
    pub event_type: String,
    /// Coarse topic used by stream filters: `orders`, `kds`, `payments`, `tables`, `shifts`, `menu`, `print`.
    pub topic: String,
    /// Set for per-station events so a KDS can filter to its own tickets.
    pub station: Option<Station>,
    pub payload: serde_json::Value,
    pub occurred_at: DateTime<Utc>,
}

/// An event about to be appended, inside the same transaction as the change it describes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewEvent {
    pub event_type: String,
    pub topic: String,
    pub station: Option<Station>,
    pub payload: serde_json::Value,
}

impl NewEvent {
    pub fn new(event_type: &str, topic: &str, payload: serde_json::Value) -> Self {
        Self {
            event_type: event_type.to_owned(),
            topic: topic.to_owned(),
            station: None,
            payload,
        }
    }

    pub fn for_station(mut self, station: Station) -> Self {
        self.station = Some(station);
        self
    }
}
