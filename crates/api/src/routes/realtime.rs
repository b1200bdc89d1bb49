//! `/api/realtime/stream`: the event log as server-sent events (spec §5).
//!
//! The stream itself (replay, then live, no gap and no duplicate; heartbeats; lag; shutdown)
//! is [`crate::realtime::Realtime::stream`]; this module decides who sees what and shapes
//! the HTTP response so that nothing between us and the client buffers it.

use std::convert::Infallible;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};
use futures_util::StreamExt;
use pos_domain::permissions::{Action, Role};
use pos_domain::staff::Station;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::extract::Query;
use crate::realtime::{StreamFilter, TOPICS};
use crate::state::AppState;

pub(crate) fn routes(cfg: &mut ServiceConfig) {
    cfg.service(stream);
}

/// The header EventSource sends when it reconnects.
pub const LAST_EVENT_ID: &str = "last-event-id";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StationParam {
    Kitchen,
    Bar,
}

impl From<StationParam> for Station {
    fn from(station: StationParam) -> Station {
        match station {
            StationParam::Kitchen => Station::Kitchen,
            StationParam::Bar => Station::Bar,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    /// Resume after this event id: the events that followed are replayed from the log
    /// first. `Last-Event-ID` takes precedence (EventSource reconnects to the same URL).
    #[param(minimum = 0)]
    pub since: Option<i64>,
    /// Comma-separated topics: `orders`, `kds`, `payments`, `tables`, `shifts`, `menu`,
    /// `print`. Default: every topic the account may see.
    pub topics: Option<String>,
    /// Leave out per-station events of the other station.
    #[param(inline)]
    pub station: Option<StationParam>,
}

/// Live events (server-sent events).
///
/// Each event is `id: <event id>`, `event: <type>` (e.g. `order.sent`) and one `data:` line
/// of JSON: `{"id", "type", "topic", "station", "occurred_at", "payload"}`. After any replay
/// an `event: ready` with `{"last_event_id"}` says the stream is live; a `: ping` comment
/// follows every 15 s of the stream. A stream closed by the server on purpose (hopelessly
/// lagging, the log unreadable) ends with a `retry:` hint: reconnect with `Last-Event-ID` to
/// resume without a gap. Kitchen and bar accounts see only `kds` events of their station.
#[utoipa::path(
    tag = "realtime",
    params(
        StreamQuery,
        ("Last-Event-ID" = Option<i64>, Header, description = "Resume after this event id (sent by EventSource when it reconnects)"),
    ),
    responses(
        (status = 200, description = "An endless stream of events", content_type = "text/event-stream", body = String),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("view_realtime")))
)]
#[get("/realtime/stream")]
pub async fn stream(
    auth: Authenticated,
    state: web::Data<AppState>,
    query: Query<StreamQuery>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let actor = auth.require(Action::ViewRealtime)?;
    let query = query.into_inner();
    let since = resume_point(&req, query.since)?;
    let topics = query.topics.as_deref().map(parse_topics).transpose()?;
    let filter = filter_for(actor.role, topics, query.station.map(Station::from))?;
    if state.realtime.is_shut_down() {
        return Err(ApiError::Unavailable("the server is shutting down".to_owned()));
    }
    let body = state.realtime.stream(since, filter).map(Ok::<_, Infallible>);
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/event-stream"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        // nginx would otherwise buffer the response; `identity` keeps any compressing
        // middleware from holding events back (actix-web#3032).
        .insert_header(("x-accel-buffering", "no"))
        .insert_header((header::CONTENT_ENCODING, "identity"))
        .streaming(body))
}

/// `Last-Event-ID` when present (an empty one means "none yet"), else `?since=`.
fn resume_point(req: &HttpRequest, since: Option<i64>) -> Result<Option<i64>, ApiError> {
    let from_header = match req.headers().get(LAST_EVENT_ID) {
        None => None,
        Some(value) => {
            let invalid = || {
                ApiError::bad_request(
                    "invalid_parameter",
                    "Last-Event-ID must be an event id (a non-negative integer)",
                    Some("Last-Event-ID".to_owned()),
                )
            };
            let text = value.to_str().map_err(|_| invalid())?.trim();
            if text.is_empty() {
                None
            } else {
                Some(
                    text.parse::<i64>()
                        .ok()
                        .filter(|id| *id >= 0)
                        .ok_or_else(invalid)?,
                )
            }
        }
    };
    if let Some(since) = since
        && since < 0
    {
        return Err(ApiError::bad_request(
            "invalid_parameter",
            "since must be an event id (a non-negative integer)",
            Some("since".to_owned()),
        ));
    }
    Ok(from_header.or(since))
}

fn parse_topics(raw: &str) -> Result<Vec<String>, ApiError> {
    let mut topics: Vec<String> = Vec::new();
    for topic in raw.split(',').map(str::trim) {
        if !TOPICS.contains(&topic) {
            return Err(ApiError::bad_request(
                "invalid_parameter",
                format!(
                    "topics: unknown topic `{topic}`; expected a comma-separated list of {}",
                    TOPICS.join(", ")
                ),
                Some("topics".to_owned()),
            ));
        }
        if !topics.iter().any(|t| t == topic) {
            topics.push(topic.to_owned());
        }
    }
    Ok(topics)
}

/// What an account may see: kitchen and bar accounts only their station's tickets (`kds`),
/// everyone else every topic, narrowed by what they asked for.
fn filter_for(
    role: Role,
    topics: Option<Vec<String>>,
    station: Option<Station>,
) -> Result<StreamFilter, ApiError> {
    let own_station = match role {
        Role::Kitchen => Station::Kitchen,
        Role::Bar => Station::Bar,
        Role::Admin | Role::Manager | Role::Cashier | Role::Waiter => {
            return Ok(StreamFilter::new(topics, station));
        }
    };
    if topics
        .as_ref()
        .is_some_and(|topics| topics.iter().any(|t| t != "kds"))
    {
        return Err(ApiError::forbidden(
            "not_permitted",
            format!("a {role} account sees kds events only"),
        ));
    }
    if station.is_some_and(|station| station != own_station) {
        return Err(ApiError::forbidden(
            "not_permitted",
            format!("a {role} account sees the {} station only", own_station.as_str()),
        ));
    }
    Ok(StreamFilter::new(Some(vec!["kds".to_owned()]), Some(own_station)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn the_last_event_id_header_wins_over_since() {
        let plain = TestRequest::default().to_http_request();
        assert_eq!(resume_point(&plain, None).unwrap(), None);
        assert_eq!(resume_point(&plain, Some(7)).unwrap(), Some(7));
        let resumed = TestRequest::default()
            .insert_header((LAST_EVENT_ID, " 42 "))
            .to_http_request();
        assert_eq!(resume_point(&resumed, Some(7)).unwrap(), Some(42));
        let empty = TestRequest::default()
            .insert_header((LAST_EVENT_ID, ""))
            .to_http_request();
        assert_eq!(resume_point(&empty, Some(7)).unwrap(), Some(7));
    }

    #[test]
    fn bad_resume_points_name_their_source() {
        for bad in ["abc", "-1", "1.5"] {
            let req = TestRequest::default()
                .insert_header((LAST_EVENT_ID, bad))
                .to_http_request();
            let error = resume_point(&req, None).unwrap_err();
            assert_eq!(error.problem().field.as_deref(), Some("Last-Event-ID"), "{bad}");
        }
        let req = TestRequest::default().to_http_request();
        assert_eq!(
            resume_point(&req, Some(-3))
                .unwrap_err()
                .problem()
                .field
                .as_deref(),
            Some("since")
        );
    }

    #[test]
    fn topics_are_a_comma_list_of_known_names() {
        assert_eq!(parse_topics("kds, orders,kds").unwrap(), ["kds", "orders"]);
        for bad in ["", "kds,", "kitchen", "orders,payment"] {
            let error = parse_topics(bad).unwrap_err();
            assert_eq!(error.problem().field.as_deref(), Some("topics"), "{bad:?}");
        }
    }

    #[test]
    fn kitchen_and_bar_accounts_see_their_own_tickets_only() {
        let kitchen = filter_for(Role::Kitchen, None, None).unwrap();
        assert!(kitchen.admits("kds", Some(Station::Kitchen)));
        assert!(!kitchen.admits("kds", Some(Station::Bar)));
        assert!(!kitchen.admits("payments", None));
        assert_eq!(
            filter_for(Role::Bar, Some(vec!["kds".into()]), Some(Station::Bar)).unwrap(),
            StreamFilter::new(Some(vec!["kds".into()]), Some(Station::Bar))
        );
        for (role, topics, station) in [
            (Role::Kitchen, Some(vec!["payments".to_owned()]), None),
            (
                Role::Kitchen,
                Some(vec!["kds".to_owned(), "orders".to_owned()]),
                None,
            ),
            (Role::Bar, None, Some(Station::Kitchen)),
        ] {
            let error = filter_for(role, topics, station).unwrap_err();
            assert_eq!(error.code(), "not_permitted");
        }
        for role in [Role::Admin, Role::Manager, Role::Cashier, Role::Waiter] {
            let all = filter_for(role, None, None).unwrap();
            assert!(all.admits("payments", None) && all.admits("kds", Some(Station::Bar)));
            let bar = filter_for(role, None, Some(Station::Bar)).unwrap();
            assert!(!bar.admits("kds", Some(Station::Kitchen)));
        }
    }
}
