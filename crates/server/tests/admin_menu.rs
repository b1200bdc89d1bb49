//! The back office end to end through `pos serve` over real PostgreSQL (issue 11 item 1):
//! categories, products (prices audited with before/after, 86, stock), modifiers, tables and
//! settings; the roles the matrix refuses; bad input that names its field and changes
//! nothing; and the `menu.updated` / `table.updated` events terminals refresh on.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod till;

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use till::{Client, count_where, fresh_key, id, venue};

/// A live `/api/realtime/stream`, read frame by frame.
struct Stream {
    response: reqwest::Response,
    buffer: String,
}

impl Stream {
    async fn open(client: &Client, topics: &str) -> Stream {
        let response = client
            .http
            .get(format!("{}/api/realtime/stream?topics={topics}", client.base))
            .bearer_auth(&client.token)
            .header("accept", "text/event-stream")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let mut stream = Stream {
            response,
            buffer: String::new(),
        };
        // The `ready` frame says the stream is live: changes from now on reach it.
        let ready = stream.next_data().await;
        assert!(ready.get("last_event_id").is_some(), "{ready}");
        stream
    }

    /// The `data:` of the next frame that has one.
    async fn next_data(&mut self) -> Value {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let frame: String = self.buffer.drain(..end + 2).collect();
                if let Some(data) = frame.lines().find_map(|l| l.strip_prefix("data: ")) {
                    return serde_json::from_str(data).unwrap();
                }
                continue;
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.response.chunk())
                .await
                .expect("no event within 10 s")
                .unwrap()
                .expect("the stream ended");
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    /// The next `event_type` event whose payload says `change`, skipping others.
    async fn next_change(&mut self, event_type: &str, change: &str) -> Value {
        loop {
            let data = self.next_of(event_type).await;
            if data["payload"]["change"] == change {
                return data;
            }
        }
    }

    /// The next event of `event_type`, skipping others.
    async fn next_of(&mut self, event_type: &str) -> Value {
        loop {
            let data = self.next_data().await;
            if data["type"] == event_type {
                return data;
            }
        }
    }
}

async fn patch(client: &Client, path: &str, body: Value) -> till::Answer {
    client.call(Method::PATCH, path).json(body).await
}

async fn delete(client: &Client, path: &str) -> till::Answer {
    client.call(Method::DELETE, path).empty().await
}

async fn menu_etag(client: &Client) -> (String, Value) {
    let response = client
        .http
        .get(format!("{}/api/menu", client.base))
        .bearer_auth(&client.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    (etag, response.json().await.unwrap())
}

fn menu_product<'a>(menu: &'a Value, product_id: &str) -> Option<&'a Value> {
    menu["categories"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["products"].as_array().unwrap().iter())
        .find(|p| p["id"] == product_id)
}

#[tokio::test]
async fn a_manager_edits_the_menu_with_every_change_audited_and_announced() {
    let venue = venue("admin-menu").await;
    let manager = Client::adopt(&venue.server, "linus").await;
    let mut stream = Stream::open(&manager, "menu,tables").await;

    // A category, then a product in it.
    let created = manager
        .post(
            "/api/admin/categories",
            json!({"name": "Desserts", "default_station": "kitchen", "sort_order": 3}),
        )
        .await;
    let category = created.expect(StatusCode::CREATED).clone();
    assert_eq!(category["default_station"], "kitchen");
    let event = stream.next_of("menu.updated").await;
    assert_eq!(event["payload"]["entity"], "category");
    assert_eq!(event["payload"]["change"], "created");
    manager
        .post("/api/admin/categories", json!({"name": "Desserts"}))
        .await
        .refused(StatusCode::CONFLICT, "category_name_taken", Some("name"));

    let (etag_before, _) = menu_etag(&manager).await;
    let created = manager
        .post(
            "/api/admin/products",
            json!({"sku": "des-001", "name": "Chocolate cake", "category_id": id(&category),
                   "price": 12000, "happy_hour_price": 10000, "section": "Cakes"}),
        )
        .await;
    let product = created.expect(StatusCode::CREATED).clone();
    assert_eq!(product["sku"], "DES-001");
    assert_eq!(product["currency"], "UGX");
    assert_eq!(product["available"], true);
    let pid = id(&product);
    let event = stream.next_of("menu.updated").await;
    assert_eq!(
        (
            event["payload"]["entity"].as_str(),
            event["payload"]["id"].as_str()
        ),
        (Some("product"), Some(pid.as_str()))
    );
    let (etag_after, menu) = menu_etag(&manager).await;
    assert_ne!(etag_before, etag_after, "the menu's ETag follows its content");
    assert_eq!(menu_product(&menu, &pid).unwrap()["price"], 12000);

    // A price change, audited with before and after, announced, on the menu at once.
    let base = format!("/api/admin/products/{pid}");
    let changed = patch(&manager, &base, json!({"price": 13000})).await;
    assert_eq!(changed.expect(StatusCode::OK)["price"], 13000);
    let event = stream.next_of("menu.updated").await;
    assert_eq!(event["payload"]["change"], "updated");
    assert_eq!(
        count_where(
            &venue.db,
            "audit_log",
            &format!(
                "action = 'product.updated' AND entity_id = '{pid}' AND (before->'price'->>'minor')::int = 12000 \
                 AND (after->'price'->>'minor')::int = 13000 AND actor_id IS NOT NULL"
            )
        ),
        1
    );
    let (_, menu) = menu_etag(&manager).await;
    assert_eq!(menu_product(&menu, &pid).unwrap()["price"], 13000);

    // Bad prices name their field and change nothing.
    let audits = count_where(&venue.db, "audit_log", "entity = 'product'");
    for (body, field) in [
        (json!({"price": -1}), "price"),
        (json!({"price": 1500.5}), "price"),
        (json!({"happy_hour_price": -5}), "happy_hour_price"),
        (json!({"price": 14000, "station": "grill"}), "station"),
        (
            json!({"price": 14000, "image_url": "/pos-images/../../etc/passwd"}),
            "image_url",
        ),
        (
            json!({"price": 14000, "category_id": uuid::Uuid::new_v4()}),
            "category_id",
        ),
    ] {
        let answer = patch(&manager, &base, body.clone()).await;
        assert!(answer.status.is_client_error(), "{body}: {}", answer.status);
        assert_eq!(answer.field(), field, "{body}: {}", answer.body);
    }
    let fractional = manager
        .post(
            "/api/admin/products",
            json!({"sku": "DES-002", "name": "Half", "category_id": id(&category), "price": 99.5}),
        )
        .await;
    assert_eq!(
        fractional.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        fractional.body
    );
    assert_eq!(fractional.field(), "price");
    assert!(
        fractional.body["detail"].as_str().unwrap().contains("UGX"),
        "{}",
        fractional.body
    );
    manager
        .post(
            "/api/admin/products",
            json!({"sku": "des-001", "name": "Again", "category_id": id(&category), "price": 1}),
        )
        .await
        .refused(StatusCode::CONFLICT, "sku_taken", Some("sku"));
    assert_eq!(count_where(&venue.db, "audit_log", "entity = 'product'"), audits);
    assert_eq!(count_where(&venue.db, "products", "sku LIKE 'DES-%'"), 1);
    assert_eq!(manager.get(&base).await.expect(StatusCode::OK)["price"], 13000);

    // Modifiers and their prices.
    let modifier = manager
        .post(
            &format!("{base}/modifiers"),
            json!({"name": "Extra cream", "price": 2000}),
        )
        .await;
    let modifier = modifier.expect(StatusCode::CREATED).clone();
    let mpath = format!("/api/admin/modifiers/{}", id(&modifier));
    assert_eq!(
        patch(&manager, &mpath, json!({"price": 2500}))
            .await
            .expect(StatusCode::OK)["price"],
        2500
    );
    patch(&manager, &mpath, json!({"price": -2500})).await.refused(
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("price"),
    );
    let (_, menu) = menu_etag(&manager).await;
    assert_eq!(menu_product(&menu, &pid).unwrap()["modifiers"][0]["price"], 2500);
    assert_eq!(
        count_where(
            &venue.db,
            "audit_log",
            "action = 'modifier.updated' AND (before->'price'->>'minor')::int = 2000 AND (after->'price'->>'minor')::int = 2500"
        ),
        1
    );
    assert_eq!(delete(&manager, &mpath).await.status, StatusCode::NO_CONTENT);
    assert_eq!(delete(&manager, &mpath).await.status, StatusCode::NOT_FOUND);

    // 86 and back, idempotent by key: the retry replays the first answer.
    let key = fresh_key();
    let eighty_six = manager
        .call(Method::POST, &format!("{base}/availability"))
        .key(&key)
        .json(json!({"available": false}))
        .await;
    assert_eq!(eighty_six.expect(StatusCode::OK)["available"], false);
    // The modifier changes' events come first; then the 86.
    let event = stream.next_change("menu.updated", "availability").await;
    assert_eq!(event["payload"]["id"], pid.as_str());
    assert_eq!(event["payload"]["available"], false);
    let replay = manager
        .call(Method::POST, &format!("{base}/availability"))
        .key(&key)
        .json(json!({"available": false}))
        .await;
    assert_eq!(replay.bytes, eighty_six.bytes);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(
        count_where(&venue.db, "audit_log", "action = 'product.availability_changed'"),
        1
    );
    let (_, menu) = menu_etag(&manager).await;
    assert_eq!(menu_product(&menu, &pid).unwrap()["orderable"], false);
    let back = manager
        .post(&format!("{base}/availability"), json!({"available": true}))
        .await;
    assert_eq!(back.expect(StatusCode::OK)["available"], true);

    // Stock: a count, an adjustment, an adjustment that would go below zero.
    let stock = format!("{base}/stock");
    let counted = manager
        .post_keyed(&stock, json!({"set": 10, "reason": "morning count"}))
        .await;
    assert_eq!(counted.expect(StatusCode::OK)["stock_qty"], 10);
    let adjusted = manager
        .post_keyed(&stock, json!({"adjust": -3, "reason": "dropped a tray"}))
        .await;
    assert_eq!(adjusted.expect(StatusCode::OK)["stock_qty"], 7);
    manager
        .post_keyed(&stock, json!({"adjust": -20, "reason": "typo"}))
        .await
        .refused(StatusCode::CONFLICT, "stock_below_zero", Some("adjust"));
    manager
        .post(&stock, json!({"set": 5, "adjust": 1, "reason": "both"}))
        .await
        .refused(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("set"));
    manager
        .post(&stock, json!({"adjust": 1, "reason": "  "}))
        .await
        .refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some("reason"),
        );
    assert_eq!(manager.get(&base).await.expect(StatusCode::OK)["stock_qty"], 7);
    let movements = manager.get(&format!("{base}/stock-movements")).await;
    let movements = movements.expect(StatusCode::OK).as_array().unwrap().clone();
    assert_eq!(movements.len(), 2);
    assert_eq!(
        (movements[0]["kind"].as_str(), movements[0]["delta"].as_i64()),
        (Some("adjust"), Some(-3))
    );
    assert_eq!(movements[0]["reason"], "dropped a tray");
    assert_eq!(
        (
            movements[1]["kind"].as_str(),
            movements[1]["stock_after"].as_i64()
        ),
        (Some("count"), Some(10))
    );

    // A category in use cannot go: the refusal names the products (retired ones too).
    let cpath = format!("/api/admin/categories/{}", id(&category));
    let retired = delete(&manager, &base).await;
    assert_eq!(retired.expect(StatusCode::OK)["active"], false);
    let in_use = delete(&manager, &cpath).await;
    in_use.refused(StatusCode::CONFLICT, "category_in_use", None);
    assert!(
        in_use.body["detail"]
            .as_str()
            .unwrap()
            .contains("Chocolate cake (DES-001)"),
        "{}",
        in_use.body
    );
    assert_eq!(manager.get(&cpath).await.status, StatusCode::OK);
    let (_, menu) = menu_etag(&manager).await;
    assert!(
        menu_product(&menu, &pid).is_none(),
        "a retired product leaves the menu"
    );
    let listed = manager.get("/api/admin/products?include_inactive=true").await;
    assert!(
        listed
            .expect(StatusCode::OK)
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == pid.as_str())
    );

    // Moved elsewhere, the category is free to go.
    let other = manager.get("/api/admin/categories").await;
    let food = other
        .expect(StatusCode::OK)
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Food")
        .unwrap()
        .clone();
    patch(&manager, &base, json!({"category_id": id(&food)}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(delete(&manager, &cpath).await.status, StatusCode::NO_CONTENT);
    assert_eq!(manager.get(&cpath).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        count_where(
            &venue.db,
            "audit_log",
            "action = 'category.deleted' AND before IS NOT NULL"
        ),
        1
    );
    // Every change above appended its event in the log too.
    assert!(
        count_where(
            &venue.db,
            "events",
            "event_type = 'menu.updated' AND payload->>'reason' = 'catalog'"
        ) >= 12
    );
}

#[tokio::test]
async fn tables_are_edited_and_one_with_an_open_order_is_not_retired() {
    let venue = venue("admin-tables").await;
    let manager = Client::adopt(&venue.server, "linus").await;
    let cashier = Client::adopt(&venue.server, "phiona").await;
    let mut stream = Stream::open(&manager, "tables").await;

    let created = manager
        .post(
            "/api/admin/tables",
            json!({"code": "T99", "area": "Terrace", "seats": 4}),
        )
        .await;
    let table = created.expect(StatusCode::CREATED).clone();
    let event = stream.next_of("table.updated").await;
    assert_eq!(
        (
            event["payload"]["entity"].as_str(),
            event["payload"]["change"].as_str()
        ),
        (Some("table"), Some("created"))
    );
    let path = format!("/api/admin/tables/{}", id(&table));
    manager
        .post("/api/admin/tables", json!({"code": "T99", "seats": 2}))
        .await
        .refused(StatusCode::CONFLICT, "table_code_taken", Some("code"));
    for (body, field) in [
        (json!({"seats": 0}), "seats"),
        (json!({"seats": 1001}), "seats"),
        (json!({"code": ""}), "code"),
    ] {
        patch(&manager, &path, body).await.refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some(field),
        );
    }
    let moved = patch(&manager, &path, json!({"area": "Garden", "seats": 6})).await;
    assert_eq!(moved.expect(StatusCode::OK)["seats"], 6);
    assert_eq!(
        count_where(
            &venue.db,
            "audit_log",
            "action = 'table.updated' AND (before->>'seats')::int = 4 AND (after->>'seats')::int = 6"
        ),
        1
    );
    let floor = cashier.get("/api/tables").await;
    let floor = floor.expect(StatusCode::OK).as_array().unwrap().clone();
    assert!(floor.iter().any(|t| t["code"] == "T99" && t["area"] == "Garden"));

    // An open order keeps the table on the floor.
    let order = cashier
        .post_keyed("/api/orders", json!({"type": "dine_in", "table_id": id(&table)}))
        .await;
    order.expect(StatusCode::CREATED);
    delete(&manager, &path)
        .await
        .refused(StatusCode::CONFLICT, "table_in_use", None);
    patch(&manager, &path, json!({"active": false})).await.refused(
        StatusCode::CONFLICT,
        "table_in_use",
        None,
    );
    assert_eq!(
        count_where(&venue.db, "dining_tables", "code = 'T99' AND active"),
        1
    );

    // Without orders it retires, and leaves the floor.
    let spare = manager
        .post("/api/admin/tables", json!({"code": "T98", "seats": 2}))
        .await;
    let spare = spare.expect(StatusCode::CREATED).clone();
    assert_eq!(
        delete(&manager, &format!("/api/admin/tables/{}", id(&spare)))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let floor = cashier.get("/api/tables").await;
    assert!(
        !floor
            .expect(StatusCode::OK)
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["code"] == "T98")
    );
    let all = manager.get("/api/admin/tables").await;
    assert!(
        all.expect(StatusCode::OK)
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["code"] == "T98" && t["active"] == false)
    );
}

#[tokio::test]
async fn settings_are_validated_whole_and_only_an_admin_changes_them() {
    let venue = venue("admin-settings").await;
    let admin = Client::adopt(&venue.server, "able").await;
    let manager = Client::adopt(&venue.server, "linus").await;
    let before = admin
        .get("/api/admin/settings")
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!(before["vat_rate_bp"], 1600);

    for (body, field) in [
        (json!({"vat_rate_bp": 10_001}), "vat_rate_bp"),
        (json!({"vat_rate_bp": -1}), "vat_rate_bp"),
        (json!({"backup_retention_days": 0}), "backup_retention_days"),
        (
            json!({"business_day_cutoff_hour": 24}),
            "business_day_cutoff_hour",
        ),
        (json!({"currency": "XYZ"}), "currency"),
        (json!({"receipt_footer": "x".repeat(501)}), "receipt_footer"),
        (
            json!({"cashier_discount_limit_bp": 20_000}),
            "cashier_discount_limit_bp",
        ),
        (
            json!({"kds_warning_minutes": 30, "kds_late_minutes": 20}),
            "kds_late_minutes",
        ),
        (json!({"happy_hour_start": "25:00"}), "happy_hour_start"),
        (
            json!({"shift_variance_threshold": 10.5}),
            "shift_variance_threshold",
        ),
        // A good value with a bad one: nothing of it is kept.
        (
            json!({"vat_rate_bp": 1800, "utc_offset_minutes": 5000}),
            "utc_offset_minutes",
        ),
    ] {
        patch(&admin, "/api/admin/settings", body.clone()).await.refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some(field),
        );
    }
    // Products are priced in UGX: the currency cannot change under them.
    patch(&admin, "/api/admin/settings", json!({"currency": "KES"}))
        .await
        .refused(StatusCode::CONFLICT, "currency_in_use", Some("currency"));
    assert_eq!(
        admin.get("/api/admin/settings").await.expect(StatusCode::OK),
        &before
    );
    assert_eq!(count_where(&venue.db, "audit_log", "entity = 'settings'"), 0);

    let changed = patch(
        &admin,
        "/api/admin/settings",
        json!({"vat_rate_bp": 1800, "receipt_footer": "Asante sana!", "kds_warning_minutes": 8,
               "kds_late_minutes": 15, "happy_hour_start": "17:30"}),
    )
    .await;
    let changed = changed.expect(StatusCode::OK);
    assert_eq!(changed["vat_rate_bp"], 1800);
    assert_eq!(changed["happy_hour_start"], "17:30:00");
    assert_eq!(changed["kds_late_minutes"], 15);
    assert_eq!(
        count_where(
            &venue.db,
            "audit_log",
            "action = 'settings.updated' AND (before->>'vat_rate_bp')::int = 1600 AND (after->>'vat_rate_bp')::int = 1800"
        ),
        1
    );
    // The menu follows the settings' happy hour.
    let menu = manager.get("/api/menu").await;
    assert_eq!(menu.expect(StatusCode::OK)["happy_hour"]["start"], "17:30:00");
    // The kitchen screens colour their timers by the settings' thresholds.
    let queue = manager.get("/api/kds/tickets?station=kitchen").await;
    let thresholds = &queue.expect(StatusCode::OK)["thresholds"];
    assert_eq!(thresholds["warning_minutes"], 8);
    assert_eq!(thresholds["late_minutes"], 15);

    // Settings are the admin's: a manager reads and writes neither.
    manager
        .get("/api/admin/settings")
        .await
        .refused(StatusCode::FORBIDDEN, "not_permitted", None);
    patch(&manager, "/api/admin/settings", json!({"vat_rate_bp": 0}))
        .await
        .refused(StatusCode::FORBIDDEN, "not_permitted", None);
}

#[tokio::test]
async fn roles_the_matrix_refuses_change_nothing_and_the_bar_account_sees_its_screen() {
    let venue = venue("admin-roles").await;
    let manager = Client::adopt(&venue.server, "linus").await;
    let cashier = Client::adopt(&venue.server, "phiona").await;
    let kitchen = Client::adopt(&venue.server, "emma").await;
    let bar = Client::adopt(&venue.server, "barbara").await;
    assert_eq!(bar.me().await["staff"]["role"], "bar");
    assert_eq!(
        bar.get("/api/kds/tickets?station=bar").await.status,
        StatusCode::OK
    );

    let products = manager.get("/api/admin/products").await;
    let product = products.expect(StatusCode::OK)[0].clone();
    let base = format!("/api/admin/products/{}", id(&product));
    for client in [&cashier, &kitchen, &bar] {
        patch(client, &base, json!({"price": 1}))
            .await
            .refused(StatusCode::FORBIDDEN, "not_permitted", None);
        client
            .post(&format!("{base}/availability"), json!({"available": false}))
            .await
            .refused(StatusCode::FORBIDDEN, "not_permitted", None);
        client
            .post(&format!("{base}/stock"), json!({"set": 1, "reason": "x"}))
            .await
            .refused(StatusCode::FORBIDDEN, "not_permitted", None);
        client
            .post("/api/admin/categories", json!({"name": "Sneaky"}))
            .await
            .refused(StatusCode::FORBIDDEN, "not_permitted", None);
        client
            .post("/api/admin/tables", json!({"code": "T77", "seats": 2}))
            .await
            .refused(StatusCode::FORBIDDEN, "not_permitted", None);
        client
            .get("/api/admin/products")
            .await
            .refused(StatusCode::FORBIDDEN, "not_permitted", None);
    }
    let after = manager.get(&base).await;
    let after = after.expect(StatusCode::OK);
    assert_eq!(after["price"], product["price"]);
    assert_eq!(after["available"], true);
    assert_eq!(
        count_where(
            &venue.db,
            "audit_log",
            "entity IN ('product', 'category', 'table')"
        ),
        0
    );
    assert_eq!(count_where(&venue.db, "categories", "name = 'Sneaky'"), 0);
}

/// Sends `body` (or no body) with `key`, as a till retrying after a lost answer would.
async fn keyed(client: &Client, method: Method, path: &str, key: &str, body: Option<Value>) -> till::Answer {
    let call = client.call(method, path).key(key);
    match body {
        Some(body) => call.json(body).await,
        None => call.empty().await,
    }
}

/// Sends the same keyed request twice: the second answer is the first one replayed.
async fn twice(client: &Client, method: Method, path: &str, body: Option<Value>) -> (till::Answer, String) {
    let key = fresh_key();
    let first = keyed(client, method.clone(), path, &key, body.clone()).await;
    let again = keyed(client, method, path, &key, body).await;
    assert_eq!(
        (again.status, &again.bytes),
        (first.status, &first.bytes),
        "{path}"
    );
    assert_eq!(again.header("idempotent-replayed"), Some("true"), "{path}");
    assert_eq!(first.header("idempotent-replayed"), None, "{path}");
    (first, key)
}

#[tokio::test]
async fn every_menu_and_floor_edit_replays_its_first_answer_to_a_retry_with_its_key() {
    let venue = venue("admin-menu-keys").await;
    let manager = Client::adopt(&venue.server, "linus").await;
    let db = &venue.db;
    let audits = |action: &str| count_where(db, "audit_log", &format!("action = '{action}'"));

    // Creates: one row, one audit entry, however many retries.
    let (created, key) = twice(
        &manager,
        Method::POST,
        "/api/admin/categories",
        Some(json!({"name": "Retried"})),
    )
    .await;
    let category = id(created.expect(StatusCode::CREATED));
    assert_eq!(count_where(db, "categories", "name = 'Retried'"), 1);
    assert_eq!(audits("category.created"), 1);
    // The same key with another body is refused, and changes nothing.
    keyed(
        &manager,
        Method::POST,
        "/api/admin/categories",
        &key,
        Some(json!({"name": "Other"})),
    )
    .await
    .refused(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused", None);
    assert_eq!(count_where(db, "categories", "name = 'Other'"), 0);

    let (created, _) = twice(
        &manager,
        Method::POST,
        "/api/admin/products",
        Some(json!({"sku": "RTY-001", "name": "Retried cake", "category_id": category, "price": 5000})),
    )
    .await;
    let product = id(created.expect(StatusCode::CREATED));
    assert_eq!(count_where(db, "products", "sku = 'RTY-001'"), 1);
    let (created, _) = twice(
        &manager,
        Method::POST,
        &format!("/api/admin/products/{product}/modifiers"),
        Some(json!({"name": "Extra cream", "price": 500})),
    )
    .await;
    let modifier = id(created.expect(StatusCode::CREATED));
    assert_eq!(count_where(db, "modifiers", "name = 'Extra cream'"), 1);
    let (created, _) = twice(
        &manager,
        Method::POST,
        "/api/admin/tables",
        Some(json!({"code": "R1", "seats": 2})),
    )
    .await;
    let table = id(created.expect(StatusCode::CREATED));
    assert_eq!(count_where(db, "dining_tables", "code = 'R1'"), 1);

    // Changes: the retry does not write again (one audit entry each).
    let patches = [
        (
            format!("/api/admin/categories/{category}"),
            json!({"sort_order": 7}),
            "category.updated",
        ),
        (
            format!("/api/admin/products/{product}"),
            json!({"price": 5500}),
            "product.updated",
        ),
        (
            format!("/api/admin/modifiers/{modifier}"),
            json!({"price": 700}),
            "modifier.updated",
        ),
        (
            format!("/api/admin/tables/{table}"),
            json!({"seats": 4}),
            "table.updated",
        ),
    ];
    for (path, body, action) in patches {
        twice(&manager, Method::PATCH, &path, Some(body))
            .await
            .0
            .expect(StatusCode::OK);
        assert_eq!(audits(action), 1, "{path}");
    }

    // A refusal is replayed too: the category is still used by the product.
    let (refused, _) = twice(
        &manager,
        Method::DELETE,
        &format!("/api/admin/categories/{category}"),
        None,
    )
    .await;
    refused.refused(StatusCode::CONFLICT, "category_in_use", None);

    // Deletes: the retry answers 204 again instead of 404.
    for path in [
        format!("/api/admin/modifiers/{modifier}"),
        format!("/api/admin/tables/{table}"),
    ] {
        let (deleted, _) = twice(&manager, Method::DELETE, &path, None).await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{path}");
        assert!(deleted.header("content-type").is_none(), "{path}");
    }
    assert_eq!(audits("modifier.deleted"), 1);
    let (retired, _) = twice(
        &manager,
        Method::DELETE,
        &format!("/api/admin/products/{product}"),
        None,
    )
    .await;
    assert_eq!(retired.expect(StatusCode::OK)["active"], false);

    // The settings too: one change and one audit entry per key, a refusal replayed.
    let admin = Client::adopt(&venue.server, "able").await;
    let (changed, key) = twice(
        &admin,
        Method::PATCH,
        "/api/admin/settings",
        Some(json!({"receipt_footer": "Retried footer"})),
    )
    .await;
    assert_eq!(changed.expect(StatusCode::OK)["receipt_footer"], "Retried footer");
    assert_eq!(audits("settings.updated"), 1);
    keyed(
        &admin,
        Method::PATCH,
        "/api/admin/settings",
        &key,
        Some(json!({"receipt_footer": "Another footer"})),
    )
    .await
    .refused(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused", None);
    let (refused, _) = twice(
        &admin,
        Method::PATCH,
        "/api/admin/settings",
        Some(json!({"currency": "KES"})),
    )
    .await;
    refused.refused(StatusCode::CONFLICT, "currency_in_use", Some("currency"));
    assert_eq!(audits("settings.updated"), 1);
    let settings = admin.get("/api/admin/settings").await;
    assert_eq!(
        settings.expect(StatusCode::OK)["receipt_footer"],
        "Retried footer"
    );
}
