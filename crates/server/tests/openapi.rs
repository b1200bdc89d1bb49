//! The committed OpenAPI document is exactly what `pos openapi` writes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{TempDir, output, pos, stderr, stdout, succeed};

fn committed_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../openapi/openapi.json")
}

#[test]
fn openapi_is_up_to_date() {
    let committed = std::fs::read_to_string(committed_path()).unwrap_or_default();
    let generated = pos_api::openapi_json_pretty();
    assert!(
        committed == generated,
        "openapi/openapi.json is out of date: run `cargo run -p pos-server -- openapi` and commit it"
    );
}

#[test]
fn openapi_check_passes_against_the_committed_file() {
    let path = committed_path();
    let out = succeed(&mut pos(&["openapi", "--check", "--out", path.to_str().unwrap()]));
    assert!(out.contains("is up to date"), "{out}");
}

#[test]
fn openapi_writes_the_document_and_check_catches_drift() {
    let dir = TempDir::new("openapi");
    let path = dir.path().join("nested/openapi.json");
    let path_arg = path.to_str().unwrap();

    succeed(&mut pos(&["openapi", "--out", path_arg]));
    let written = std::fs::read_to_string(&path).unwrap();
    assert_eq!(written, pos_api::openapi_json_pretty());
    assert!(written.ends_with("}\n"));
    let doc: serde_json::Value = serde_json::from_str(&written).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(doc["paths"]["/api/health"].is_object());

    std::fs::write(&path, written.replace("\"/api/health\"", "\"/api/healthz\"")).unwrap();
    let drifted = output(&mut pos(&["openapi", "--check", "--out", path_arg]));
    assert_eq!(drifted.status.code(), Some(1), "{}", stdout(&drifted));
    let err = stderr(&drifted);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("is out of date; run `cargo run -p pos-server -- openapi`"),
        "{err}"
    );

    let absent = output(&mut pos(&[
        "openapi",
        "--check",
        "--out",
        dir.path().join("none.json").to_str().unwrap(),
    ]));
    assert_eq!(absent.status.code(), Some(1));
}
