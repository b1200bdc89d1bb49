//! `GET /api/menu` revalidation: an `ETag`, `304 Not Modified` while nothing changed, a new
//! tag and the full body once something did.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{JWT_SECRET, Running, TempDir, free_port, pos, succeed};
use diesel::RunQueryDsl;
use pos_testkit::TestDb;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn the_menu_answers_304_until_it_changes() {
    let db = TestDb::new();
    succeed(pos(&["seed"]).env("DATABASE_URL", db.url()));
    let logs = TempDir::new("menu-etag");
    let port = free_port();
    let mut command = pos(&["serve"]);
    command
        .env("DATABASE_URL", db.url())
        .env("POS_JWT_SECRET", JWT_SECRET)
        .env("BIND", "127.0.0.1")
        .env("PORT", port.to_string());
    let server = Running::start(command, port, logs.path()).await;
    let token = server.login("phiona", "password123").await;
    let http = reqwest::Client::new();
    let token = {
        let changed = http
            .post(format!("{}/api/auth/change-password", server.base_url))
            .bearer_auth(&token)
            .json(&json!({"current_password": "password123", "new_password": "a proper new password"}))
            .send()
            .await
            .unwrap();
        changed.json::<serde_json::Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let get = |etag: Option<String>| {
        let mut request = http
            .get(format!("{}/api/menu", server.base_url))
            .bearer_auth(&token);
        if let Some(etag) = etag {
            request = request.header("If-None-Match", etag);
        }
        request.send()
    };

    let first = get(None).await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(first.headers()["cache-control"], "private, no-cache");
    let menu: serde_json::Value = first.json().await.unwrap();
    assert!(!menu["categories"].as_array().unwrap().is_empty());

    let unchanged = get(Some(etag.clone())).await.unwrap();
    assert_eq!(unchanged.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(unchanged.headers()["etag"].to_str().unwrap(), etag);
    assert!(unchanged.bytes().await.unwrap().is_empty());
    let other = get(Some("\"not-the-menu\"".to_owned())).await.unwrap();
    assert_eq!(other.status(), StatusCode::OK);

    let id = menu["categories"][0]["products"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    diesel::sql_query(format!(
        "UPDATE products SET price = price + 1000 WHERE id = '{id}'"
    ))
    .execute(&mut db.connect())
    .unwrap();
    let changed = get(Some(etag.clone())).await.unwrap();
    assert_eq!(changed.status(), StatusCode::OK);
    assert_ne!(changed.headers()["etag"].to_str().unwrap(), etag);
    let menu_after: serde_json::Value = changed.json().await.unwrap();
    assert_eq!(
        menu_after["categories"][0]["products"][0]["price"]
            .as_i64()
            .unwrap(),
        menu["categories"][0]["products"][0]["price"].as_i64().unwrap() + 1000
    );
}
