//! Log lines of a request carry its request id, and a 500's cause reaches the log (while the
//! body only says "internal error").
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use actix_web::middleware::from_fn;
use actix_web::test::{self, TestRequest};
use actix_web::{App, HttpResponse, web};
use pos_api::ApiError;
use pos_api::middleware::{problem_responses, request_context, security_headers};
use pos_domain::StoreError;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn failing() -> Result<HttpResponse, ApiError> {
    tracing::info!("about to fail");
    Err(StoreError::Internal("deadlock detected on relation orders".into()).into())
}

#[actix_web::test]
async fn every_line_of_a_request_names_its_id_and_the_cause_is_logged_not_sent() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::DEBUG)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let app = test::init_service(
        App::new()
            .route("/fail", web::get().to(failing))
            .wrap(from_fn(problem_responses))
            .wrap(from_fn(security_headers))
            .wrap(from_fn(request_context)),
    )
    .await;
    let request = TestRequest::get()
        .uri("/fail")
        .insert_header(("x-request-id", "trace-me-42"))
        .to_request();
    let response = test::call_service(&app, request).await;
    assert_eq!(response.status(), 500);
    let body = String::from_utf8(test::read_body(response).await.to_vec()).unwrap();
    assert!(!body.contains("deadlock"), "{body}");

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = logs.lines().collect();
    assert!(lines.len() >= 3, "{logs}");
    for line in &lines {
        assert!(
            line.contains("request_id=trace-me-42"),
            "line without the request id: {line}"
        );
    }
    assert!(
        lines
            .iter()
            .any(|l| l.contains("internal error") && l.contains("deadlock detected")),
        "{logs}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("request served") && l.contains("status=500")),
        "{logs}"
    );
}
