//! `GET /api/menu` revalidation: an `ETag`, `304 Not Modified` while nothing changed, a new
//! tag and the full body once something did.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod till;

use common::{JWT_SECRET, Running, TempDir, free_port, pos, succeed};
use diesel::RunQueryDsl;
use pos_testkit::TestDb;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use till::Client;

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

/// Two `pos serve` over one database, as two replicas: the menu version comes from the
/// database, so a price or happy-hour change made through one is served by the other at once,
/// a stale `ETag` gets the new body and the current one a `304`.
#[tokio::test]
async fn a_change_through_one_instance_is_served_by_another() {
    let venue = till::venue("menu-replicas").await;
    let logs = TempDir::new("menu-replica-b");
    let port = free_port();
    let mut command = pos(&["serve"]);
    command
        .env("DATABASE_URL", venue.db.url())
        .env("POS_JWT_SECRET", JWT_SECRET)
        .env("BIND", "127.0.0.1")
        .env("PORT", port.to_string());
    let other = Running::start(command, port, logs.path()).await;
    let admin = Client::adopt(&venue.server, "able").await;
    let on_other = Client {
        base: other.base_url.clone(),
        token: admin.token.clone(),
        http: reqwest::Client::new(),
    };
    let menu = |etag: Option<String>| {
        let mut request = on_other
            .http
            .get(format!("{}/api/menu", on_other.base))
            .bearer_auth(&on_other.token);
        if let Some(etag) = etag {
            request = request.header("If-None-Match", etag);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            let etag = response.headers()["etag"].to_str().unwrap().to_owned();
            let body: Value = if status == StatusCode::OK {
                response.json().await.unwrap()
            } else {
                assert!(response.bytes().await.unwrap().is_empty());
                Value::Null
            };
            (status, etag, body)
        }
    };
    let product_in = |menu: &Value, id: &str| -> Value {
        menu["categories"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| c["products"].as_array().unwrap().iter())
            .find(|p| p["id"] == id)
            .unwrap()
            .clone()
    };

    // No happy hour to begin with (equal ends: none), whatever the time of day.
    admin
        .call(Method::PATCH, "/api/admin/settings")
        .json(json!({"happy_hour_start": "00:00", "happy_hour_end": "00:00"}))
        .await
        .expect(StatusCode::OK);
    let (status, first, body) = menu(None).await;
    assert_eq!(status, StatusCode::OK);
    let product = body["categories"][0]["products"][0].clone();
    let pid = till::id(&product);
    assert_eq!(menu(Some(first.clone())).await.0, StatusCode::NOT_MODIFIED);

    // A price change through the first instance.
    let price = product["price"].as_i64().unwrap() + 1_000;
    admin
        .call(Method::PATCH, &format!("/api/admin/products/{pid}"))
        .json(json!({"price": price, "happy_hour_price": 500}))
        .await
        .expect(StatusCode::OK);
    let (status, priced, body) = menu(Some(first.clone())).await;
    assert_eq!(status, StatusCode::OK, "the stale tag gets the new body");
    assert_ne!(priced, first);
    assert_eq!(product_in(&body, &pid)["price"], price);
    assert_eq!(product_in(&body, &pid)["effective_price"], price);
    assert_eq!(menu(Some(priced.clone())).await.0, StatusCode::NOT_MODIFIED);

    // A settings change that moves prices: happy hour all day (but its last second).
    admin
        .call(Method::PATCH, "/api/admin/settings")
        .json(json!({"happy_hour_start": "00:00", "happy_hour_end": "23:59:59"}))
        .await
        .expect(StatusCode::OK);
    let (status, happy, body) = menu(Some(priced.clone())).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(happy, priced);
    assert_eq!(body["happy_hour"]["active"], true);
    assert_eq!(product_in(&body, &pid)["effective_price"], 500);
    let (status, again, _) = menu(Some(happy.clone())).await;
    assert_eq!((status, again), (StatusCode::NOT_MODIFIED, happy.clone()));

    // A change straight in the database (stock, as an order moves it) is seen as well.
    diesel::sql_query(format!("UPDATE products SET stock_qty = 0 WHERE id = '{pid}'"))
        .execute(&mut venue.db.connect())
        .unwrap();
    let (status, _, body) = menu(Some(happy)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(product_in(&body, &pid)["orderable"], false);
}
