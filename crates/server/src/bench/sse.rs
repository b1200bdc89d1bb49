//! An incremental server-sent-events parser (the WHATWG event-stream rules the bench needs):
//! bytes go in as the network delivers them, split anywhere, and whole events come out.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `id:` in force when the event was dispatched (it carries over, as in EventSource).
    pub id: Option<String>,
    /// `event:`, or `message` when the event named none.
    pub event: String,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    /// The previous chunk ended in `\r`: a `\n` opening the next one ends nothing more.
    after_cr: bool,
    last_id: Option<String>,
    event: Option<String>,
    data: Option<String>,
}

impl SseParser {
    /// Feeds the next bytes of the stream; returns the events they completed, in order.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        let mut events = Vec::new();
        for &byte in bytes {
            let after_cr = std::mem::replace(&mut self.after_cr, false);
            match byte {
                b'\n' if after_cr => {}
                b'\n' | b'\r' => {
                    self.after_cr = byte == b'\r';
                    let line = std::mem::take(&mut self.line);
                    if let Some(event) = self.end_line(&String::from_utf8_lossy(&line)) {
                        events.push(event);
                    }
                }
                _ => self.line.push(byte),
            }
        }
        events
    }

    fn end_line(&mut self, line: &str) -> Option<SseEvent> {
        if line.is_empty() {
            return self.dispatch();
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => self.event = Some(value.to_owned()),
            "data" => {
                let data = self.data.get_or_insert_with(String::new);
                data.push_str(value);
                data.push('\n');
            }
            "id" if !value.contains('\0') => self.last_id = Some(value.to_owned()),
            // `retry:` and unknown fields change nothing the bench looks at.
            _ => {}
        }
        None
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = self.event.take();
        let mut data = self.data.take()?;
        data.pop();
        Some(SseEvent {
            id: self.last_id.clone(),
            event: event.unwrap_or_else(|| "message".to_owned()),
            data,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const STREAM: &str = "event: ready\ndata: {\"last_event_id\":7}\n\n\
        : ping\n\n\
        id: 8\nevent: order.sent\ndata: {\"id\":8,\"payload\":{\"order_id\":\"a\"}}\n\n\
        : lagged\nretry: 1500\n\n";

    fn expected() -> Vec<SseEvent> {
        vec![
            SseEvent {
                id: None,
                event: "ready".into(),
                data: "{\"last_event_id\":7}".into(),
            },
            SseEvent {
                id: Some("8".into()),
                event: "order.sent".into(),
                data: "{\"id\":8,\"payload\":{\"order_id\":\"a\"}}".into(),
            },
        ]
    }

    #[test]
    fn the_servers_frames_parse_whole() {
        assert_eq!(SseParser::default().feed(STREAM.as_bytes()), expected());
    }

    #[test]
    fn split_at_every_byte_the_result_is_the_same() {
        let mut parser = SseParser::default();
        let events: Vec<SseEvent> = STREAM
            .as_bytes()
            .chunks(1)
            .flat_map(|byte| parser.feed(byte))
            .collect();
        assert_eq!(events, expected());
    }

    #[test]
    fn crlf_and_lone_cr_end_lines_even_across_chunks() {
        let mut parser = SseParser::default();
        let mut events = parser.feed(b"event: a\r");
        events.extend(parser.feed(b"\ndata: 1\r\n\r"));
        events.extend(parser.feed(b"\nevent: b\rdata: 2\r\r"));
        let summary: Vec<(String, String)> = events.into_iter().map(|e| (e.event, e.data)).collect();
        assert_eq!(summary, [("a".into(), "1".into()), ("b".into(), "2".into())]);
    }

    #[test]
    fn data_lines_join_and_the_id_carries_over() {
        let events = SseParser::default()
            .feed(b"id: 3\ndata: one\ndata\ndata:two\n\ndata: next\n\nevent: nodata\n\ndata: z\n\n");
        assert_eq!(
            events,
            [
                SseEvent {
                    id: Some("3".into()),
                    event: "message".into(),
                    data: "one\n\ntwo".into(),
                },
                SseEvent {
                    id: Some("3".into()),
                    event: "message".into(),
                    data: "next".into(),
                },
                SseEvent {
                    id: Some("3".into()),
                    event: "message".into(),
                    data: "z".into(),
                },
            ],
            "an event without data is not dispatched, and its type does not leak into the next"
        );
    }

    #[test]
    fn an_unfinished_event_waits_for_its_blank_line() {
        let mut parser = SseParser::default();
        assert!(parser.feed(b"event: x\ndata: 1\n").is_empty());
        assert_eq!(parser.feed(b"\n").len(), 1);
    }
}
