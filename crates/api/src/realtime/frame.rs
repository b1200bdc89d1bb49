//! Server-sent event frames, rendered once per event and shared by every stream.
//!
//! ```text
//! id: 42
//! event: order.sent
//! data: {"id":42,"type":"order.sent","topic":"kds","station":"kitchen","occurred_at":"…","payload":{…}}
//!
//! ```
//!
//! The data is one line of compact JSON (serde_json escapes newlines inside strings).

use std::time::Duration;

use actix_web::web::Bytes;
use chrono::{DateTime, Utc};
use pos_domain::event::Event;
use pos_domain::staff::Station;
use serde::Serialize;

/// The JSON of an event's `data:` line.
#[derive(Debug, Serialize)]
struct EventData<'a> {
    id: i64,
    #[serde(rename = "type")]
    event_type: &'a str,
    topic: &'a str,
    station: Option<Station>,
    occurred_at: DateTime<Utc>,
    payload: &'a serde_json::Value,
}

/// `id:`, `event:` and `data:` of one event.
pub(crate) fn event_frame(event: &Event) -> Bytes {
    let data = EventData {
        id: event.id,
        event_type: &event.event_type,
        topic: &event.topic,
        station: event.station,
        occurred_at: event.occurred_at,
        payload: &event.payload,
    };
    let json = serde_json::to_string(&data).unwrap_or_else(|error| {
        // Unreachable for a JSON value with string keys; still deliver the id so the
        // client's position moves on.
        tracing::error!(%error, event_id = event.id, "event not serialisable for the stream");
        format!(r#"{{"id":{}}}"#, event.id)
    });
    // A line break would end the field and let the rest pass for other fields.
    let event_type: String = event
        .event_type
        .chars()
        .map(|c| if c == '\n' || c == '\r' { '_' } else { c })
        .collect();
    Bytes::from(format!("id: {}\nevent: {event_type}\ndata: {json}\n\n", event.id))
}

/// Sent once the stream is live: `last_event_id` is where it stands in the log (resume
/// from it to miss nothing). No `id:` field, so the client's Last-Event-ID is unchanged.
pub(crate) fn ready_frame(position: i64) -> Bytes {
    Bytes::from(format!(
        "event: ready\ndata: {{\"last_event_id\":{position}}}\n\n"
    ))
}

/// The heartbeat: a comment, ignored by clients, that keeps proxies from closing an idle
/// connection and makes a gone client show up as a failed write.
pub(crate) fn heartbeat_frame() -> Bytes {
    Bytes::from_static(b": ping\n\n")
}

/// Sent before the server ends a stream on purpose: reconnect after `delay` (with
/// `Last-Event-ID`, which EventSource does by itself).
pub(crate) fn retry_frame(reason: &str, delay: Duration) -> Bytes {
    Bytes::from(format!(": {reason}\nretry: {}\n\n", delay.as_millis()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn event(event_type: &str, payload: serde_json::Value) -> Event {
        Event {
            id: 42,
            event_type: event_type.into(),
            topic: "kds".into(),
            station: Some(Station::Kitchen),
            payload,
            occurred_at: Utc.with_ymd_and_hms(2026, 11, 25, 18, 30, 0).unwrap(),
        }
    }

    #[test]
    fn an_event_frame_has_its_id_type_and_one_line_of_json() {
        let frame = event_frame(&event(
            "order.sent",
            serde_json::json!({"note": "no onions\nplease", "n": 1}),
        ));
        let text = std::str::from_utf8(&frame).unwrap();
        let lines: Vec<&str> = text.split('\n').collect();
        assert_eq!(lines[0], "id: 42");
        assert_eq!(lines[1], "event: order.sent");
        assert!(lines[2].starts_with("data: "));
        assert_eq!(&lines[3..], ["", ""], "one blank line ends the event: {text:?}");
        let data: serde_json::Value = serde_json::from_str(&lines[2]["data: ".len()..]).unwrap();
        assert_eq!(
            data,
            serde_json::json!({
                "id": 42,
                "type": "order.sent",
                "topic": "kds",
                "station": "kitchen",
                "occurred_at": "2026-11-25T18:30:00Z",
                "payload": {"note": "no onions\nplease", "n": 1}
            })
        );
    }

    #[test]
    fn a_line_break_in_a_type_cannot_forge_fields() {
        let frame = event_frame(&event("x\ndata: forged\r", serde_json::json!({})));
        let text = std::str::from_utf8(&frame).unwrap();
        assert!(
            text.starts_with("id: 42\nevent: x_data: forged_\ndata: {"),
            "{text:?}"
        );
    }

    #[test]
    fn control_frames() {
        assert_eq!(
            &ready_frame(7)[..],
            b"event: ready\ndata: {\"last_event_id\":7}\n\n"
        );
        assert_eq!(&heartbeat_frame()[..], b": ping\n\n");
        assert_eq!(
            &retry_frame("lagged", Duration::from_millis(1500))[..],
            b": lagged\nretry: 1500\n\n"
        );
    }
}
