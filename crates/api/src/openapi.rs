//! The OpenAPI document: a base (info, security schemes, tags, shared schemas) that
//! utoipa-actix-web fills with every handler registered through `service(...)`, then a pass
//! that gives every operation its problem+json error responses, so no route can forget them.
//!
//! Every operation declares who may call it as the extension `x-pos-action` (see
//! [`POS_ACTION`] and [`RouteAccess`]); the route-walk tests call every operation as every
//! kind of caller and hold the handlers to it.
//!
//! The same document also drives the fallback service's 405 answers: a path that is in the
//! document with other methods answers 405 with their `Allow`, so every route gets 404/405
//! right without a line of its own.

use actix_web::http::Method;
use pos_domain::{Action, Role};
use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi as _};

use pos_domain::idempotency::{IDEMPOTENCY_KEY_HEADER, IdempotencyKey};

use crate::error::{PROBLEM_JSON, ProblemDetails};

/// Security scheme names, for `#[utoipa::path(security(("bearer_auth" = []), ("cookie_auth" = [])))]`.
pub const BEARER_AUTH: &str = "bearer_auth";
pub const COOKIE_AUTH: &str = "cookie_auth";
/// The session cookie `cookie_auth` names.
pub const SESSION_COOKIE: &str = "pos_session";

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "pos",
        description = "Restaurant and café point of sale. Money is integer minor units of `currency`; \
                       ids are UUIDs; errors are `application/problem+json` (RFC 9457) with a stable `code`. \
                       Sign in with `POST /api/auth/login` (or `pin-login` on a terminal) and send the token as \
                       `Authorization: Bearer`, or rely on the `pos_session` cookie (then requests that change \
                       data need `Origin` = the app's origin or the `X-CSRF-Token` header). Each operation's \
                       `x-pos-action` names the permission it requires: `public`, `session` (any signed-in \
                       account, even one that must change its password), `authenticated` (any signed-in \
                       account), or an action of the role matrix such as `manage_staff`.",
        license(name = "MIT")
    ),
    components(schemas(ProblemDetails, crate::routes::orders::TicketFormat, crate::routes::orders::PaperSchema)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "system", description = "Health, this document and its browser"),
        (name = "auth", description = "Signing in and out, the current session, password change"),
        (name = "staff", description = "Staff accounts, PINs and login locks (admin; unlocking: managers too)"),
        (name = "terminals", description = "Registered devices: POS tills, kitchen displays, consoles (admin)"),
        (name = "audit", description = "The tamper-evident audit log (admin, manager)"),
        (name = "realtime", description = "Live events from the event log (server-sent events)"),
        (name = "menu", description = "The menu for order taking"),
        (name = "tables", description = "The floor: tables with their live state and open orders"),
        (name = "orders", description = "Taking orders: items, send, serve, voids, moves, merges, ticket reprints"),
        (name = "kds", description = "Kitchen and bar displays: station queues and bumps"),
        (name = "print_jobs", description = "The print queue agents poll and acknowledge"),
        (name = "backups", description = "Database backups: take, list, download, delete (admin)"),
        (name = "images", description = "Product and table images: upload (checked, re-encoded, resized), remove (manager, admin)"),
        (name = "payments", description = "Taking payments on orders: cash, card, mobile money, split bills"),
        (name = "shifts", description = "Cash drawers: open with a float, cash in and out, close with the count, X report"),
        (name = "admin_menu", description = "Back office: categories, products (prices, 86, stock), modifiers, tables (managers) and settings (admin)"),
        (name = "reports", description = "Reports over business dates (JSON or CSV), the manager's dashboard, Z reports (managers)")
    )
)]
struct BaseDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER_AUTH,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.add_security_scheme(
            COOKIE_AUTH,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(SESSION_COOKIE))),
        );
    }
}

/// The operation extension naming who may call an operation.
pub const POS_ACTION: &str = "x-pos-action";

/// Who may call an operation, as its `x-pos-action` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteAccess {
    /// `public`: no authentication.
    Public,
    /// `session`: any signed-in account, including one that must change its password (only
    /// me, change-password and logout).
    Session,
    /// `authenticated`: any signed-in account whose password is current.
    Authenticated,
    /// An action of the permission matrix (`manage_staff`, …): the roles it lists.
    Action(Action),
}

impl RouteAccess {
    pub fn parse(value: &str) -> Option<RouteAccess> {
        match value {
            "public" => Some(RouteAccess::Public),
            "session" => Some(RouteAccess::Session),
            "authenticated" => Some(RouteAccess::Authenticated),
            other => serde_json::from_value(serde_json::Value::String(other.to_owned()))
                .ok()
                .map(RouteAccess::Action),
        }
    }

    /// Whether a caller may use the operation: `None` is anonymous; `pending_password`
    /// marks an account that must change its password.
    pub fn admits(self, role: Option<Role>, pending_password: bool) -> bool {
        match (self, role) {
            (RouteAccess::Public, _) => true,
            (_, None) => false,
            (RouteAccess::Session, Some(_)) => true,
            (_, Some(_)) if pending_password => false,
            (RouteAccess::Authenticated, Some(_)) => true,
            (RouteAccess::Action(action), Some(role)) => role.may(action),
        }
    }
}

/// Every operation of the document: (path, method, its declared access, `None` when the
/// extension is missing or unreadable).
pub fn route_access(doc: &OpenApi) -> Vec<(String, Method, Option<RouteAccess>)> {
    let mut routes = Vec::new();
    for (path, item) in &doc.paths.paths {
        let mut item = item.clone();
        for (method, operation) in operations_mut(&mut item) {
            let access = operation
                .extensions
                .as_ref()
                .and_then(|extensions| extensions.get(POS_ACTION))
                .and_then(|value| value.as_str())
                .and_then(RouteAccess::parse);
            routes.push((path.clone(), method, access));
        }
    }
    routes
}

/// A request body the operation's schema accepts, for tools and tests that call every
/// route (the route walks, fuzzers): the body's or its schema's `example` when there is
/// one, else a value built from the schema with only the required properties. `doc` and
/// `operation` are the JSON forms (as in `openapi/openapi.json`); `None` when the operation
/// takes no body.
pub fn sample_request_body(
    doc: &serde_json::Value,
    operation: &serde_json::Value,
) -> Option<serde_json::Value> {
    let media = operation
        .pointer("/requestBody/content")?
        .as_object()?
        .values()
        .next()?;
    if let Some(example) = media.get("example") {
        return Some(example.clone());
    }
    Some(sample_value(doc, media.get("schema")?, 0))
}

fn sample_value(doc: &serde_json::Value, schema: &serde_json::Value, depth: usize) -> serde_json::Value {
    use serde_json::{Map, Value, json};
    if depth > 16 {
        return Value::Null;
    }
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let target = reference
            .strip_prefix('#')
            .and_then(|pointer| doc.pointer(pointer))
            .unwrap_or(&Value::Null);
        return sample_value(doc, target, depth + 1);
    }
    if let Some(example) = schema.get("example") {
        return example.clone();
    }
    if let Some(example) = schema.get("examples").and_then(|e| e.get(0)) {
        return example.clone();
    }
    if let Some(first) = schema.get("enum").and_then(|e| e.get(0)) {
        return first.clone();
    }
    if let Some(constant) = schema.get("const") {
        return constant.clone();
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema.get(key).and_then(Value::as_array) {
            let chosen = options
                .iter()
                .find(|o| o.get("type").and_then(Value::as_str) != Some("null"))
                .or(options.first());
            return chosen.map_or(Value::Null, |o| sample_value(doc, o, depth + 1));
        }
    }
    if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
        let mut merged = Map::new();
        for part in parts {
            if let Value::Object(fields) = sample_value(doc, part, depth + 1) {
                merged.extend(fields);
            }
        }
        return Value::Object(merged);
    }
    let kind = match schema.get("type") {
        Some(Value::String(kind)) => kind.as_str(),
        Some(Value::Array(kinds)) => kinds
            .iter()
            .filter_map(Value::as_str)
            .find(|k| *k != "null")
            .unwrap_or("null"),
        _ if schema.get("properties").is_some() => "object",
        _ => "null",
    };
    let minimum = schema.get("minimum").and_then(Value::as_i64);
    match kind {
        "object" => {
            let mut fields = Map::new();
            let required = schema.get("required").and_then(Value::as_array);
            for name in required.into_iter().flatten().filter_map(Value::as_str) {
                let property = schema
                    .pointer(&format!("/properties/{name}"))
                    .unwrap_or(&Value::Null);
                fields.insert(name.to_owned(), sample_value(doc, property, depth + 1));
            }
            Value::Object(fields)
        }
        "array" => {
            let wanted = schema.get("minItems").and_then(Value::as_u64).unwrap_or(0);
            let item = schema.get("items").unwrap_or(&Value::Null);
            Value::Array((0..wanted).map(|_| sample_value(doc, item, depth + 1)).collect())
        }
        "string" => match schema.get("format").and_then(Value::as_str) {
            Some("uuid") => json!(uuid::Uuid::new_v4()),
            Some("date-time") => json!("2026-01-01T12:00:00Z"),
            Some("date") => json!("2026-01-01"),
            _ => {
                let length = schema
                    .get("minLength")
                    .and_then(Value::as_u64)
                    .unwrap_or(1)
                    .max(1);
                json!("x".repeat(usize::try_from(length).unwrap_or(1)))
            }
        },
        "integer" | "number" => json!(minimum.unwrap_or(1)),
        "boolean" => json!(false),
        _ => Value::Null,
    }
}

/// The document before any route is registered.
pub(crate) fn base() -> OpenApi {
    let mut doc = BaseDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc
}

/// Adds the error responses every operation can give, unless it documents its own for that
/// status: 400 with input, 413/415 with a body, 404 with path parameters, 401/403 when it
/// requires authentication, and 500/503 everywhere.
pub(crate) fn complete(doc: &mut OpenApi) {
    for item in doc.paths.paths.values_mut() {
        for (_, operation) in operations_mut(item) {
            add_problem_responses(operation);
            exact_header_schemas(operation);
        }
    }
}

/// The headers every mutation may take get their schema from the types that parse them, in
/// one place, rather than a `string` with the rule in prose: `Idempotency-Key` from
/// [`IdempotencyKey`]'s bounds, `If-Match` as the order's ETag (`"3"`, or `*`). A header is
/// never `null`: absent is what an optional one is.
fn exact_header_schemas(operation: &mut Operation) {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    for parameter in operation.parameters.iter_mut().flatten() {
        if parameter.parameter_in != ParameterIn::Header {
            continue;
        }
        let schema = match parameter.name.as_str() {
            IDEMPOTENCY_KEY_HEADER => ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(IdempotencyKey::MAX_LEN))
                .pattern(Some(IDEMPOTENCY_KEY_PATTERN)),
            "If-Match" => ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(IF_MATCH_PATTERN)),
            _ => continue,
        };
        parameter.schema = Some(RefOr::T(schema.build().into()));
    }
}

/// What [`IdempotencyKey::parse`] accepts: visible ASCII, no spaces.
pub const IDEMPOTENCY_KEY_PATTERN: &str = "^[!-~]+$";
/// What `If-Match` accepts: `*`, or an order version (1 or more, no leading zero) as its
/// ETag gives it (optionally weak) or bare.
pub const IF_MATCH_PATTERN: &str = r#"^(\*|(W/)?("[1-9][0-9]{0,8}"|[1-9][0-9]{0,8}))$"#;

fn add_problem_responses(operation: &mut Operation) {
    let has_body = operation.request_body.is_some();
    let params = operation.parameters.as_deref().unwrap_or_default();
    let has_path_params = params.iter().any(|p| p.parameter_in == ParameterIn::Path);
    let has_input = has_body || !params.is_empty();
    let needs_auth = operation
        .security
        .as_ref()
        .is_some_and(|requirements| !requirements.is_empty() && !requirements.contains(&Default::default()));

    let mut statuses: Vec<(&str, &str)> = Vec::new();
    if has_input {
        statuses.push((
            "400",
            "The request could not be read: the problem names the field",
        ));
    }
    if needs_auth {
        statuses.push(("401", "Not authenticated"));
        statuses.push(("403", "Not allowed for this account"));
    }
    if has_path_params {
        statuses.push(("404", "Not found"));
    }
    if has_body {
        statuses.push(("413", "Body larger than the limit"));
        statuses.push(("415", "Body is not application/json"));
    }
    if has_input {
        statuses.push(("422", "A value breaks a rule: the problem names the field"));
    }
    statuses.push(("500", "Internal error: the body carries only the request id"));
    statuses.push((
        "503",
        "A dependency is unavailable; retry after `Retry-After` seconds",
    ));

    for (status, description) in statuses {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| problem_response(description));
    }
}

fn problem_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                PROBLEM_JSON,
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ProblemDetails")))
                    .build(),
            )
            .build(),
    )
}

fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = (Method, &mut Operation)> {
    [
        (Method::GET, item.get.as_mut()),
        (Method::PUT, item.put.as_mut()),
        (Method::POST, item.post.as_mut()),
        (Method::DELETE, item.delete.as_mut()),
        (Method::OPTIONS, item.options.as_mut()),
        (Method::HEAD, item.head.as_mut()),
        (Method::PATCH, item.patch.as_mut()),
        (Method::TRACE, item.trace.as_mut()),
    ]
    .into_iter()
    .filter_map(|(method, operation)| operation.map(|op| (method, op)))
}

fn methods_of(item: &PathItem) -> Vec<Method> {
    [
        (Method::GET, item.get.is_some()),
        (Method::HEAD, item.head.is_some()),
        (Method::POST, item.post.is_some()),
        (Method::PUT, item.put.is_some()),
        (Method::PATCH, item.patch.is_some()),
        (Method::DELETE, item.delete.is_some()),
        (Method::OPTIONS, item.options.is_some()),
        (Method::TRACE, item.trace.is_some()),
    ]
    .into_iter()
    .filter_map(|(method, present)| present.then_some(method))
    .collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param,
    /// Matches the rest of the path, one segment or more.
    Rest,
}

/// The routes of the application, by path template, with their methods: what the fallback
/// consults to tell "no such path" (404) from "not with this method" (405).
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    routes: Vec<(Vec<Segment>, Vec<Method>)>,
}

impl RouteTable {
    /// Every operation of the document.
    pub fn from_openapi(doc: &OpenApi) -> Self {
        let mut table = Self::default();
        for (path, item) in &doc.paths.paths {
            table.add(path, methods_of(item));
        }
        table
    }

    /// Adds a route the document does not describe. `{name}` matches one segment and a final
    /// `{*}` the rest of the path.
    pub fn add(&mut self, template: &str, methods: Vec<Method>) {
        let segments = split(template)
            .map(|segment| match segment {
                "{*}" => Segment::Rest,
                s if s.starts_with('{') && s.ends_with('}') => Segment::Param,
                s => Segment::Literal(s.to_owned()),
            })
            .collect();
        self.routes.push((segments, methods));
    }

    /// The methods the path accepts, or `None` when no route has this path.
    pub fn allowed_methods(&self, path: &str) -> Option<Vec<Method>> {
        let requested: Vec<&str> = split(path).collect();
        let mut allowed: Vec<Method> = Vec::new();
        let mut matched = false;
        for (template, methods) in &self.routes {
            if matches(template, &requested) {
                matched = true;
                for method in methods {
                    if !allowed.contains(method) {
                        allowed.push(method.clone());
                    }
                }
            }
        }
        matched.then_some(allowed)
    }
}

fn split(path: &str) -> impl Iterator<Item = &str> {
    path.trim_start_matches('/').split('/')
}

fn matches(template: &[Segment], requested: &[&str]) -> bool {
    let mut requested = requested.iter();
    for segment in template {
        match (segment, requested.next()) {
            (Segment::Rest, Some(_)) => return true,
            (Segment::Literal(expected), Some(actual)) if expected == actual => {}
            (Segment::Param, Some(actual)) if !actual.is_empty() => {}
            _ => return false,
        }
    }
    requested.next().is_none()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_declares_who_may_call_it_and_protected_ones_their_security() {
        let doc = crate::openapi();
        let routes = route_access(&doc);
        assert!(routes.len() > 10, "{routes:?}");
        for (path, method, access) in &routes {
            let access = access.unwrap_or_else(|| panic!("{method} {path} lacks a readable {POS_ACTION}"));
            let item = &doc.paths.paths[path];
            let mut item = item.clone();
            let operation = operations_mut(&mut item)
                .find(|(m, _)| m == method)
                .map(|(_, op)| op.clone())
                .unwrap();
            let security = operation.security.unwrap_or_default();
            if access == RouteAccess::Public {
                assert!(
                    security.is_empty(),
                    "{method} {path} is public but declares security"
                );
            } else {
                let json = serde_json::to_value(&security).unwrap();
                assert_eq!(
                    json,
                    serde_json::json!([{BEARER_AUTH: []}, {COOKIE_AUTH: []}]),
                    "{method} {path} must accept bearer and cookie"
                );
            }
        }
    }

    #[test]
    fn sample_bodies_follow_examples_then_schemas() {
        let doc = serde_json::json!({
            "components": {"schemas": {
                "Role": {"type": "string", "enum": ["admin", "manager"]},
                "Item": {"type": "object", "required": ["id", "qty"], "properties": {
                    "id": {"type": "string", "format": "uuid"},
                    "qty": {"type": "integer", "minimum": 1},
                    "note": {"type": ["string", "null"]}
                }},
                "New": {"type": "object", "required": ["role", "items", "flag", "kind"], "properties": {
                    "role": {"$ref": "#/components/schemas/Role"},
                    "items": {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/Item"}},
                    "flag": {"type": "boolean"},
                    "kind": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Role"}]}
                }},
                "WithExample": {"type": "object", "example": {"a": 1}}
            }}
        });
        let op = |schema: &str| {
            serde_json::json!({"requestBody": {"content": {"application/json": {
                "schema": {"$ref": format!("#/components/schemas/{schema}")}
            }}}})
        };
        let body = sample_request_body(&doc, &op("New")).unwrap();
        assert_eq!(body["role"], "admin");
        assert_eq!(body["flag"], false);
        assert_eq!(body["kind"], "admin");
        assert_eq!(body["items"][0]["qty"], 1);
        assert!(uuid::Uuid::parse_str(body["items"][0]["id"].as_str().unwrap()).is_ok());
        assert!(body["items"][0].get("note").is_none());
        assert_eq!(
            sample_request_body(&doc, &op("WithExample")).unwrap(),
            serde_json::json!({"a": 1})
        );
        assert_eq!(sample_request_body(&doc, &serde_json::json!({})), None);
    }

    #[test]
    fn route_access_values_parse_and_admit_as_documented() {
        assert_eq!(RouteAccess::parse("public"), Some(RouteAccess::Public));
        assert_eq!(
            RouteAccess::parse("manage_staff"),
            Some(RouteAccess::Action(Action::ManageStaff))
        );
        assert_eq!(RouteAccess::parse("ManageStaff"), None);
        assert_eq!(RouteAccess::parse("admin"), None);
        let staff = RouteAccess::Action(Action::ManageStaff);
        assert!(staff.admits(Some(Role::Admin), false));
        assert!(!staff.admits(Some(Role::Admin), true));
        assert!(!staff.admits(Some(Role::Manager), false));
        assert!(!staff.admits(None, false));
        assert!(RouteAccess::Session.admits(Some(Role::Bar), true));
        assert!(!RouteAccess::Authenticated.admits(Some(Role::Bar), true));
        assert!(RouteAccess::Public.admits(None, false));
    }
    use utoipa::openapi::path::{OperationBuilder, ParameterBuilder};
    use utoipa::openapi::request_body::RequestBodyBuilder;
    use utoipa::openapi::security::SecurityRequirement;

    fn statuses(operation: &Operation) -> Vec<&str> {
        operation.responses.responses.keys().map(String::as_str).collect()
    }

    #[test]
    fn operations_get_the_error_responses_their_shape_can_produce() {
        let mut bare = OperationBuilder::new().build();
        add_problem_responses(&mut bare);
        assert_eq!(statuses(&bare), ["500", "503"]);

        let mut full = OperationBuilder::new()
            .parameter(
                ParameterBuilder::new()
                    .name("order_id")
                    .parameter_in(ParameterIn::Path),
            )
            .request_body(Some(RequestBodyBuilder::new().build()))
            .security(SecurityRequirement::new(BEARER_AUTH, Vec::<String>::new()))
            .response("409", ResponseBuilder::new().description("stale version").build())
            .build();
        add_problem_responses(&mut full);
        assert_eq!(
            statuses(&full),
            [
                "400", "401", "403", "404", "409", "413", "415", "422", "500", "503"
            ]
        );
        assert!(
            matches!(&full.responses.responses["409"], RefOr::T(r) if r.description == "stale version"),
            "a route's own answer for a status is kept"
        );

        let mut optional_auth = OperationBuilder::new()
            .security(SecurityRequirement::default())
            .build();
        add_problem_responses(&mut optional_auth);
        assert!(!statuses(&optional_auth).contains(&"401"));
    }

    #[test]
    fn route_table_tells_unknown_paths_from_other_methods() {
        let mut table = RouteTable::default();
        table.add("/api/orders", vec![Method::GET, Method::POST]);
        table.add("/api/orders/{id}", vec![Method::GET]);
        table.add(
            "/api/orders/{id}/items/{item_id}",
            vec![Method::PATCH, Method::DELETE],
        );
        table.add("/api/docs/{*}", vec![Method::GET]);

        assert_eq!(
            table.allowed_methods("/api/orders"),
            Some(vec![Method::GET, Method::POST])
        );
        assert_eq!(table.allowed_methods("/api/orders/42"), Some(vec![Method::GET]));
        assert_eq!(
            table.allowed_methods("/api/orders/42/items/7"),
            Some(vec![Method::PATCH, Method::DELETE])
        );
        assert_eq!(
            table.allowed_methods("/api/docs/index.css"),
            Some(vec![Method::GET])
        );
        assert_eq!(table.allowed_methods("/api/orders/42/items"), None);
        assert_eq!(table.allowed_methods("/api/orders/"), None);
        assert_eq!(table.allowed_methods("/api/orderz"), None);
        assert_eq!(table.allowed_methods("/api/docs"), None);
    }
}
