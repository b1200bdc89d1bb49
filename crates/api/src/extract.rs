//! Extractors for request input. Handlers take `crate::extract::{Json, Path, Query}`, not
//! actix's: these answer bad input with a 400 problem+json that names the offending field
//! (`items[0].quantity`, `order_id`, `limit`), using `serde_path_to_error`.
//!
//! They are named like actix's on purpose: utoipa recognises `Json<T>` as the request body
//! and `Path`/`Query` as parameters by the type's name, so `#[utoipa::path]` documents them
//! without repeating the types.
//!
//! Actix's own extractors still get problem+json answers through [`actix_json_config`],
//! [`actix_path_config`] and [`actix_query_config`], but cannot always name the field.

use std::ops::{Deref, DerefMut};

use actix_web::dev::Payload;
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde_path_to_error::{Path as FieldPath, Segment};

use crate::error::ApiError;

/// Default largest JSON body, in bytes.
pub const DEFAULT_JSON_LIMIT: usize = 64 * 1024;

/// The JSON body limit for a scope: `App`/`Scope::app_data(JsonLimit(n))`. Without it,
/// [`DEFAULT_JSON_LIMIT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonLimit(pub usize);

/// A JSON request body: a JSON object (every request body of the API is one; serde would
/// otherwise take an array for a struct, field by position). Requires `Content-Type:
/// application/json` exactly (a `charset` parameter is fine): 415 for anything else,
/// `application/merge-patch+json` included, whose semantics differ; 413 past the limit;
/// 400 naming the field for anything serde refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Json<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req.app_data::<JsonLimit>().map_or(DEFAULT_JSON_LIMIT, |l| l.0);
        let checked = check_json_headers(req, limit);
        let mut payload = payload.take();
        Box::pin(async move {
            checked?;
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| {
                    ApiError::bad_request("unreadable_body", format!("could not read the body: {e}"), None)
                })?;
                if body.len() + chunk.len() > limit {
                    return Err(ApiError::PayloadTooLarge { limit });
                }
                body.extend_from_slice(&chunk);
            }
            require_object(&body)?;
            parse_json(&body).map(Json)
        })
    }
}

/// Whether the request says its body is `application/json` (parameters such as `charset`
/// aside). `…+json` types are other formats with other semantics: not accepted.
pub(crate) fn is_json_request(req: &HttpRequest) -> bool {
    match req.mime_type() {
        Ok(Some(mime)) => {
            mime.type_() == "application" && mime.subtype() == "json" && mime.suffix().is_none()
        }
        _ => false,
    }
}

fn check_json_headers(req: &HttpRequest, limit: usize) -> Result<(), ApiError> {
    if !is_json_request(req) {
        return Err(ApiError::UnsupportedMediaType(
            "the body must be JSON with Content-Type: application/json".to_owned(),
        ));
    }
    let encoding = req.headers().get(header::CONTENT_ENCODING);
    if encoding.is_some_and(|encoding| encoding.as_bytes() != b"identity") {
        return Err(ApiError::UnsupportedMediaType(
            "compressed request bodies are not accepted".to_owned(),
        ));
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    Ok(())
}

/// Refuses a body whose document is not an object (an array, a string, a number…) before
/// serde sees it. An empty or malformed body is left to [`parse_json`], which says why.
pub(crate) fn require_object(body: &[u8]) -> Result<(), ApiError> {
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        None | Some(b'{') => Ok(()),
        Some(_) if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_err() => Ok(()),
        Some(_) => Err(ApiError::bad_request(
            "invalid_body",
            "the request body must be a JSON object",
            None,
        )),
    }
}

/// Parses a JSON document into `T`, naming the offending field on failure.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize(&mut deserializer) {
        Ok(value) => {
            // Trailing garbage after the document is malformed input, not something to ignore.
            deserializer.end().map_err(|e| json_error(None, e))?;
            Ok(value)
        }
        Err(error)
            if error
                .inner()
                .to_string()
                .starts_with("invalid type: floating point") =>
        {
            let mut document: serde_json::Value =
                serde_json::from_slice(bytes).map_err(|e| json_error(None, e))?;
            whole_numbers_as_integers(&mut document);
            serde_path_to_error::deserialize(document).map_err(|error| {
                let path = error.path().clone();
                json_error(Some(&path), error.into_inner())
            })
        }
        Err(error) => {
            let path = error.path().clone();
            Err(json_error(Some(&path), error.into_inner()))
        }
    }
}

/// JSON has one number type: `588.0` is the integer 588 to JSON Schema (and to a client
/// that formats numbers that way), so it is read as one. Fractions stay fractions, and a
/// field that wants an integer refuses them.
fn whole_numbers_as_integers(value: &mut serde_json::Value) {
    use serde_json::Value;
    // Beyond 2^53 a float no longer holds every integer exactly: left as it came.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    match value {
        Value::Number(number) => {
            if let Some(float) = number.as_f64().filter(|_| number.is_f64())
                && float.fract() == 0.0
                && float.abs() <= EXACT
            {
                #[allow(clippy::cast_possible_truncation)]
                let whole = float as i64;
                *value = Value::from(whole);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(whole_numbers_as_integers),
        Value::Object(fields) => fields.values_mut().for_each(whole_numbers_as_integers),
        _ => {}
    }
}

fn json_error(path: Option<&FieldPath>, error: serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    let message = strip_location(&error);
    match error.classify() {
        Category::Eof if error.line() == 1 && error.column() == 0 => ApiError::bad_request(
            "malformed_json",
            "the body is empty; a JSON document is required",
            None,
        ),
        Category::Syntax | Category::Eof | Category::Io => ApiError::bad_request(
            "malformed_json",
            format!(
                "malformed JSON at line {} column {}: {message}",
                error.line(),
                error.column()
            ),
            field_name(path, &message),
        ),
        Category::Data => invalid_field("invalid_body", path, &message),
    }
}

/// serde_json appends " at line L column C" to every message; the field says where better.
fn strip_location(error: &serde_json::Error) -> String {
    let full = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    full.strip_suffix(&suffix).unwrap_or(&full).to_owned()
}

/// A 400 naming the field; the detail starts with the field's full path.
fn invalid_field(code: &'static str, path: Option<&FieldPath>, message: &str) -> ApiError {
    match field_name(path, message) {
        Some(field) => {
            let leaf = field
                .rsplit(['.', '['])
                .next()
                .unwrap_or(&field)
                .trim_end_matches(']');
            // Domain types name their own field ("quantity: must be …"): show the full path instead.
            let message = message.strip_prefix(&format!("{leaf}: ")).unwrap_or(message);
            ApiError::bad_request(code, format!("{field}: {message}"), Some(field))
        }
        None => ApiError::bad_request(code, message.to_owned(), None),
    }
}

/// The dotted path of the field an error is about. `missing field` and `unknown field`
/// errors are raised by the enclosing object, so the field's own name comes from the
/// message.
fn field_name(path: Option<&FieldPath>, message: &str) -> Option<String> {
    let mut field = String::new();
    let mut last_key = None;
    for segment in path.into_iter().flat_map(FieldPath::iter) {
        match segment {
            Segment::Seq { index } => {
                field.push_str(&format!("[{index}]"));
                last_key = None;
            }
            Segment::Map { key } => {
                if !field.is_empty() {
                    field.push('.');
                }
                field.push_str(key);
                last_key = Some(key.as_str());
            }
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    let named_in_message = ["missing field `", "unknown field `", "duplicate field `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))
        .and_then(|rest| rest.split('`').next());
    if let Some(name) = named_in_message.filter(|name| last_key != Some(*name)) {
        if !field.is_empty() {
            field.push('.');
        }
        field.push_str(name);
    }
    (!field.is_empty()).then_some(field)
}

/// Path parameters, e.g. `Path<(OrderId,)>` or `Path<OrderPath>`. A value that does not
/// parse is a 400 naming the parameter as the route declares it (`{order_id}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path<T>(pub T);

impl<T> Path<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Path<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned> FromRequest for Path<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let params = req.match_info();
        let result = serde_path_to_error::deserialize(actix_router::PathDeserializer::new(params))
            .map(Path)
            .map_err(|error| {
                let names: Vec<&str> = params.iter().map(|(name, _)| name).collect();
                let field = match error.path().iter().next() {
                    Some(Segment::Seq { index }) => names.get(*index).map(|n| (*n).to_owned()),
                    Some(Segment::Map { key }) => Some(key.clone()),
                    _ if names.len() == 1 => names.first().map(|n| (*n).to_owned()),
                    _ => None,
                };
                let message = error.into_inner().to_string();
                match field {
                    Some(field) => {
                        ApiError::bad_request("invalid_parameter", format!("{field}: {message}"), Some(field))
                    }
                    None => ApiError::bad_request("invalid_parameter", message, None),
                }
            });
        std::future::ready(result)
    }
}

/// Query parameters, e.g. `Query<OrderFilter>` (derive `IntoParams` to document them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query<T>(pub T);

impl<T> Query<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Query<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_query(req.query_string()).map(Query))
    }
}

/// Parses a query string into `T`, naming the offending parameter on failure.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().clone();
        invalid_field("invalid_parameter", Some(&path), &error.into_inner().to_string())
    })
}

/// `JsonConfig` for actix's own `web::Json`, should one be used: same limit, problem+json
/// answers. Prefer [`Json`], which names nested fields.
pub fn actix_json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(|error, _req| {
            let api_error = match error {
                JsonPayloadError::OverflowKnownLength { limit, .. }
                | JsonPayloadError::Overflow { limit } => ApiError::PayloadTooLarge { limit },
                JsonPayloadError::ContentType => ApiError::UnsupportedMediaType(
                    "the body must be JSON with Content-Type: application/json".to_owned(),
                ),
                JsonPayloadError::Deserialize(e) => json_error(None, e),
                other => ApiError::bad_request("unreadable_body", other.to_string(), None),
            };
            api_error.into()
        })
}

/// `PathConfig` for actix's own `web::Path`: names the parameter when the route has one.
pub fn actix_path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|error, req| {
        let message = match error {
            PathError::Deserialize(e) => e.to_string(),
            other => other.to_string(),
        };
        let names: Vec<&str> = req.match_info().iter().map(|(name, _)| name).collect();
        let field = (names.len() == 1).then(|| names.concat());
        ApiError::bad_request("invalid_parameter", message, field).into()
    })
}

/// `QueryConfig` for actix's own `web::Query`: names the parameter when serde's message does.
pub fn actix_query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|error, _req| {
        let message = match error {
            QueryPayloadError::Deserialize(e) => e.to_string(),
            other => other.to_string(),
        };
        invalid_field("invalid_parameter", None, &message).into()
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use pos_domain::validate::Quantity;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Item {
        product_id: uuid::Uuid,
        quantity: Quantity,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct NewOrder {
        table: String,
        items: Vec<Item>,
    }

    fn refused(json: &[u8]) -> (String, Option<String>, String) {
        match parse_json::<NewOrder>(json).unwrap_err() {
            ApiError::BadRequest { code, detail, field } => (code.to_owned(), field, detail),
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    const PRODUCT: &str = "0193b5e4-6f7a-7c3e-9a51-0c2f3d4e5f60";

    #[test]
    fn wrong_types_name_the_nested_field() {
        let body = format!(r#"{{"table":"T1","items":[{{"product_id":"{PRODUCT}","quantity":"two"}}]}}"#);
        let (code, field, detail) = refused(body.as_bytes());
        assert_eq!(code, "invalid_body");
        assert_eq!(field.as_deref(), Some("items[0].quantity"));
        assert!(detail.starts_with("items[0].quantity: invalid type"), "{detail}");
        assert!(!detail.contains("at line"), "{detail}");
    }

    #[test]
    fn whole_numbers_written_with_a_point_are_integers_and_fractions_are_refused() {
        let whole = format!(r#"{{"table":"T1","items":[{{"product_id":"{PRODUCT}","quantity":2.0}}]}}"#);
        let order = parse_json::<NewOrder>(whole.as_bytes()).unwrap();
        assert_eq!(order.items[0].quantity.get(), 2);
        let half = format!(r#"{{"table":"T1","items":[{{"product_id":"{PRODUCT}","quantity":2.5}}]}}"#);
        let (code, field, _) = refused(half.as_bytes());
        assert_eq!(code, "invalid_body");
        assert_eq!(field.as_deref(), Some("items[0].quantity"));
    }

    #[test]
    fn domain_range_errors_name_the_nested_field_once() {
        let body = format!(
            r#"{{"table":"T1","items":[{{"product_id":"{PRODUCT}","quantity":1}},{{"product_id":"{PRODUCT}","quantity":0}}]}}"#
        );
        let (_, field, detail) = refused(body.as_bytes());
        assert_eq!(field.as_deref(), Some("items[1].quantity"));
        assert_eq!(detail, "items[1].quantity: must be between 1 and 999");
    }

    #[test]
    fn missing_fields_are_named_with_their_parent() {
        let (_, field, _) = refused(br#"{"table":"T1","items":[{"quantity":1}]}"#);
        assert_eq!(field.as_deref(), Some("items[0].product_id"));
        let (_, field, _) = refused(br#"{"items":[]}"#);
        assert_eq!(field.as_deref(), Some("table"));
    }

    #[test]
    fn unknown_fields_are_named() {
        let (_, field, _) = refused(br#"{"table":"T1","items":[],"discount":5}"#);
        assert_eq!(field.as_deref(), Some("discount"));
    }

    #[test]
    fn malformed_json_empty_bodies_trailing_data_and_bad_utf8_are_400() {
        for body in [
            &br#"{"table":"T1","items":[}"#[..],
            b"",
            br#"{"table":"T1","items":[]} trailing"#,
            b"{\"table\":\"\xff\xfe\",\"items\":[]}",
            b"[1,2,3]",
        ] {
            match parse_json::<NewOrder>(body).unwrap_err() {
                ApiError::BadRequest { code, .. } => {
                    assert!(code == "malformed_json" || code == "invalid_body", "{code}")
                }
                other => panic!("expected a 400, got {other:?}"),
            }
        }
        let (code, _, _) = refused(b"{\"table\":\"\xff\",\"items\":[]}");
        assert_eq!(code, "malformed_json");
    }

    #[test]
    fn a_body_that_is_not_an_object_is_refused_naming_the_body() {
        for body in [&b"[\"able\",\"pw\"]"[..], b" [1]", b"\"x\"", b"42", b"null"] {
            match require_object(body).unwrap_err() {
                ApiError::BadRequest { code, detail, .. } => {
                    assert_eq!(code, "invalid_body");
                    assert!(detail.contains("body must be a JSON object"), "{detail}");
                }
                other => panic!("expected a 400, got {other:?}"),
            }
        }
        assert!(require_object(b" {\"a\":1}").is_ok());
        assert!(
            require_object(b"").is_ok(),
            "left to parse_json, which says it is empty"
        );
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Filter {
        status: Option<String>,
        limit: u32,
    }

    #[test]
    fn query_errors_name_the_parameter() {
        let error = parse_query::<Filter>("status=open&limit=many").unwrap_err();
        assert!(
            matches!(error, ApiError::BadRequest { field: Some(ref f), .. } if f == "limit"),
            "{error:?}"
        );
        let error = parse_query::<Filter>("status=open").unwrap_err();
        assert!(
            matches!(error, ApiError::BadRequest { field: Some(ref f), .. } if f == "limit"),
            "{error:?}"
        );
        assert_eq!(parse_query::<Filter>("limit=5").unwrap().limit, 5);
    }
}
