//! The OpenAPI document: a base (info, security schemes, tags, shared schemas) that
//! utoipa-actix-web fills with every handler registered through `service(...)`, then a pass
//! that gives every operation its problem+json error responses, so no route can forget them.
//!
//! The same document also drives the fallback service's 405 answers: a path that is in the
//! document with other methods answers 405 with their `Allow`, so every route gets 404/405
//! right without a line of its own.

use actix_web::http::Method;
use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi as _};

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
                       ids are UUIDs; errors are `application/problem+json` (RFC 9457) with a stable `code`.",
        license(name = "MIT")
    ),
    components(schemas(ProblemDetails)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "system", description = "Health, this document and its browser")
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
        }
    }
}

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
mod tests {
    use super::*;
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
