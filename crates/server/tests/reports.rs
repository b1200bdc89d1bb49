//! Reports, the dashboard and Z reports end to end through `pos serve` over real PostgreSQL:
//! a day of orders, payments (cash, card, MoMo), a tip, a refund, a discount and a void, then
//! every report's figures checked against the rows created; CSV parsed and summed; bad
//! ranges and the wrong roles refused; the Z report refused while a shift is open, numbered
//! without gaps, its totals equal to the payments, refunds and tips row by row, and its
//! hash chain verified (and broken by an edit made behind the trigger's back).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod till;

use std::collections::HashMap;

use diesel::RunQueryDsl;
use pos_testkit::TestDb;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use till::{
    Client, count_where, foods, fresh_key, id, payment_rows, place_ready, refund_rows, scalar, venue,
};

fn exec(db: &TestDb, sql: &str) {
    diesel::sql_query(sql).execute(&mut db.connect()).unwrap();
}

async fn products(cashier: &Client) -> Vec<Value> {
    foods(cashier).await.into_iter().take(2).collect()
}

/// A takeaway order of `lines` (product, quantity), sent and made ready by the kitchen.
async fn ready_order(cashier: &Client, cook: &Client, lines: &[(&Value, i64)]) -> Value {
    let items: Vec<Value> = lines
        .iter()
        .map(|(p, q)| json!({"product_id": id(p), "quantity": q}))
        .collect();
    place_ready(cashier, cook, json!({"type": "takeaway", "items": items})).await
}

async fn pay(cashier: &Client, order: &Value, body: Value) -> Value {
    let paid = cashier
        .post_keyed(&format!("/api/orders/{}/payments", id(order)), body)
        .await;
    paid.expect(StatusCode::CREATED).clone()
}

fn sum_column(csv_text: &str, column: &str) -> (usize, i64) {
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let at = headers.iter().position(|h| h == column).unwrap();
    let mut rows = 0;
    let mut sum = 0;
    for record in reader.records() {
        let record = record.unwrap();
        rows += 1;
        sum += record[at].parse::<i64>().unwrap();
    }
    (rows, sum)
}

#[tokio::test]
async fn reports_dashboard_and_z_reports_agree_with_the_rows() {
    let venue = venue("reports-day").await;
    let server = &venue.server;
    let db = &venue.db;
    let manager = Client::adopt(server, "linus").await;
    let cashier = Client::adopt(server, "phiona").await;
    let cook = Client::adopt(server, "emma").await;
    let food = products(&cashier).await;
    let (rolex, other) = (&food[0], &food[1]);

    let shift = cashier
        .post_keyed("/api/shifts", json!({"opening_float": 20_000}))
        .await;
    let shift = shift.expect(StatusCode::CREATED).clone();

    // Order 1: cash with change. Order 2: card with a tip. Order 3: MoMo, then part refunded.
    let first = ready_order(&cashier, &cook, &[(rolex, 2), (other, 1)]).await;
    let cash = pay(
        &cashier,
        &first,
        json!({"method": "cash", "amount": first["total"], "tendered": first["total"].as_i64().unwrap() + 5_000}),
    )
    .await;
    assert_eq!(cash["order"]["status"], "closed");
    let second = ready_order(&cashier, &cook, &[(other, 3)]).await;
    let card = pay(
        &cashier,
        &second,
        json!({"method": "card", "amount": second["total"], "reference": "SLIP-1"}),
    )
    .await;
    let third = ready_order(&cashier, &cook, &[(rolex, 1)]).await;
    let momo = pay(
        &cashier,
        &third,
        json!({"method": "mtn_momo", "amount": third["total"], "reference": "MP-REF-7"}),
    )
    .await;
    // Tips, refunds and discounts have their own routes on another branch: the rows they
    // write are made here with SQL, as the reports read them.
    exec(
        db,
        &format!(
            "UPDATE payments SET tip = 2500 WHERE id = '{}'",
            card["payment"]["id"].as_str().unwrap()
        ),
    );
    let linus = manager.me().await["staff"]["id"].as_str().unwrap().to_owned();
    exec(
        db,
        &format!(
            "INSERT INTO refunds (payment_id, amount, currency, reason, staff_id, approved_by, shift_id) \
             VALUES ('{}', 1000, 'UGX', 'cold chapati', '{linus}', '{linus}', '{}')",
            momo["payment"]["id"].as_str().unwrap(),
            id(&shift)
        ),
    );
    exec(
        db,
        &format!(
            "UPDATE orders SET discount = 700, applied_discount = \
             '{{\"discount\": {{\"kind\": \"amount\", \"amount\": 700}}, \"reason\": \"regular\", \"by\": \"{}\", \"approved_by\": \"{linus}\"}}' \
             WHERE id = '{}'",
            cashier.me().await["staff"]["id"].as_str().unwrap(),
            id(&second)
        ),
    );
    // Order 4 stays open (on the dashboard); one of its items is voided by the manager.
    let open = ready_order(&cashier, &cook, &[(rolex, 1), (other, 2)]).await;
    let voided = open["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["product_id"] == other["id"])
        .unwrap()
        .clone();
    let voided_item = voided["id"].as_str().unwrap().to_owned();
    manager
        .post_keyed(
            &format!("/api/orders/{}/items/{voided_item}/void", id(&open)),
            json!({"reason": "customer changed mind"}),
        )
        .await
        .expect(StatusCode::OK);

    // ----- the summary against the rows -----
    let closed = "status = 'closed'";
    let expect_sum = |column: &str| {
        scalar(
            db,
            &format!("SELECT COALESCE(sum({column}), 0)::bigint AS n FROM orders WHERE {closed}"),
        )
    };
    let summary = manager.get("/api/reports/summary").await;
    let summary = summary.expect(StatusCode::OK).clone();
    assert_eq!(summary["currency"], "UGX");
    assert_eq!(summary["orders"], 3);
    assert_eq!(
        summary["orders"].as_i64().unwrap(),
        count_where(db, "orders", closed)
    );
    assert_eq!(summary["gross_sales"].as_i64().unwrap(), expect_sum("subtotal"));
    assert_eq!(summary["discounts"].as_i64().unwrap(), 700);
    assert_eq!(summary["tax"].as_i64().unwrap(), expect_sum("tax"));
    assert_eq!(summary["sales"].as_i64().unwrap(), expect_sum("total"));
    let sales = summary["sales"].as_i64().unwrap();
    assert_eq!(
        sales,
        first["total"].as_i64().unwrap()
            + second["total"].as_i64().unwrap()
            + third["total"].as_i64().unwrap()
    );
    assert_eq!(summary["refunds"], 1000);
    assert_eq!(summary["net_sales"].as_i64().unwrap(), sales - 1000);
    assert_eq!(summary["tips"], 2500, "tips apart from sales");

    // ----- by day, by hour: their rows add up to the summary -----
    let by_day = manager.get("/api/reports/sales-by-day").await;
    let by_day = by_day.expect(StatusCode::OK).clone();
    assert_eq!(by_day["rows"].as_array().unwrap().len(), 1);
    for column in [
        "orders",
        "gross_sales",
        "tax",
        "sales",
        "refunds",
        "net_sales",
        "tips",
    ] {
        assert_eq!(by_day["totals"][column], summary[column], "{column}");
        assert_eq!(by_day["rows"][0][column], summary[column], "{column}");
    }
    let by_hour = manager.get("/api/reports/sales-by-hour").await;
    for column in ["orders", "sales", "refunds", "net_sales"] {
        assert_eq!(by_hour.body["totals"][column], summary[column], "{column}");
    }

    // ----- products and categories against the items -----
    let by_product = manager.get("/api/reports/sales-by-product").await;
    let rows = by_product.expect(StatusCode::OK)["rows"]
        .as_array()
        .unwrap()
        .clone();
    for product in [rolex, other] {
        let row = rows.iter().find(|r| r["product_id"] == product["id"]).unwrap();
        let where_ = format!(
            "i.product_id = '{}' AND i.status <> 'voided' AND o.status = 'closed'",
            id(product)
        );
        let from = "FROM order_items i JOIN orders o ON o.id = i.order_id";
        assert_eq!(
            row["quantity"].as_i64().unwrap(),
            scalar(
                db,
                &format!("SELECT sum(i.quantity)::bigint AS n {from} WHERE {where_}")
            )
        );
        assert_eq!(
            row["sales"].as_i64().unwrap(),
            scalar(
                db,
                &format!("SELECT sum(i.line_total)::bigint AS n {from} WHERE {where_}")
            )
        );
    }
    assert_eq!(
        rolex["name"],
        rows.iter().find(|r| r["product_id"] == rolex["id"]).unwrap()["product"]
    );
    let by_category = manager.get("/api/reports/sales-by-category").await;
    assert_eq!(
        by_category.body["totals"]["sales"],
        by_product.body["totals"]["sales"]
    );
    assert_eq!(
        by_category.body["totals"]["quantity"],
        by_product.body["totals"]["quantity"]
    );

    // ----- staff, methods, tax -----
    let by_staff = manager.get("/api/reports/sales-by-staff").await;
    let staff_rows = by_staff.expect(StatusCode::OK)["rows"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(staff_rows.len(), 1);
    assert_eq!(staff_rows[0]["staff"], cashier.me().await["staff"]["full_name"]);
    assert_eq!(staff_rows[0]["sales"], summary["sales"]);
    assert_eq!(staff_rows[0]["refunds"], 1000);

    let by_method = manager.get("/api/reports/sales-by-method").await;
    let by_method = by_method.expect(StatusCode::OK).clone();
    let methods = by_method["rows"].as_array().unwrap();
    assert_eq!(methods.len(), 5, "every method listed");
    let payments = payment_rows(db);
    for method in ["cash", "card", "mtn_momo", "airtel_money", "pesapal"] {
        let row = methods.iter().find(|m| m["method"] == method).unwrap();
        let mine: Vec<_> = payments.iter().filter(|p| p.0 == method).collect();
        assert_eq!(row["payments"].as_i64().unwrap(), mine.len() as i64, "{method}");
        assert_eq!(
            row["amount"].as_i64().unwrap(),
            mine.iter().map(|p| p.1).sum::<i64>(),
            "{method}"
        );
        assert_eq!(
            row["tips"].as_i64().unwrap(),
            mine.iter().map(|p| p.2).sum::<i64>(),
            "{method}"
        );
    }
    assert_eq!(
        methods.iter().find(|m| m["method"] == "mtn_momo").unwrap()["refunds"],
        1000
    );
    assert_eq!(
        by_method["totals"]["amount"].as_i64().unwrap(),
        sales,
        "payments settle the sales"
    );

    let tax = manager.get("/api/reports/tax").await;
    assert_eq!(tax.expect(StatusCode::OK)["totals"]["tax"], summary["tax"]);
    assert_eq!(tax.body["rows"][0]["vat_rate_bp"], 1600);

    // ----- voids, refunds, discounts, tips, shifts: who did it and who approved -----
    let voids = manager.get("/api/reports/voids").await;
    let void_rows = voids.expect(StatusCode::OK)["rows"].as_array().unwrap().clone();
    assert_eq!(void_rows.len(), 1);
    assert_eq!(void_rows[0]["kind"], "item");
    assert_eq!(void_rows[0]["quantity"], 2);
    assert_eq!(void_rows[0]["reason"], "customer changed mind");
    assert_eq!(void_rows[0]["voided_by"].as_str().unwrap(), linus);
    assert_eq!(void_rows[0]["approved_by"].as_str().unwrap(), linus);
    assert_eq!(
        void_rows[0]["amount"].as_i64().unwrap(),
        voided["gross"].as_i64().unwrap()
    );
    let refunds = manager.get("/api/reports/refunds").await;
    let refund = &refunds.expect(StatusCode::OK)["rows"][0];
    assert_eq!(refund["amount"], 1000);
    assert_eq!(refund["method"], "mtn_momo");
    assert_eq!(
        refund["approved_by_name"],
        manager.me().await["staff"]["full_name"]
    );
    let discounts = manager.get("/api/reports/discounts").await;
    let discount = &discounts.expect(StatusCode::OK)["rows"][0];
    assert_eq!(
        (discount["amount"].as_i64(), discount["scope"].as_str()),
        (Some(700), Some("order"))
    );
    assert_eq!(discount["approved_by"].as_str().unwrap(), linus);
    assert_eq!(
        discount["given_by_name"],
        cashier.me().await["staff"]["full_name"]
    );
    assert_eq!(discount["reason"], "regular");
    let tips = manager.get("/api/reports/tips").await;
    let tip = &tips.expect(StatusCode::OK)["rows"][0];
    assert_eq!(
        (tip["tips"].as_i64(), tip["payments"].as_i64()),
        (Some(2500), Some(1))
    );
    let shifts = manager.get("/api/reports/shifts").await;
    let shift_row = &shifts.expect(StatusCode::OK)["rows"][0];
    assert_eq!(shift_row["shift_id"], shift["id"]);
    assert_eq!(shift_row["status"], "open");
    assert_eq!(shift_row["payments"].as_i64().unwrap(), sales);

    // ----- CSV: parsed, its totals the JSON's -----
    let csv_answer = manager
        .http
        .get(format!("{}/api/reports/sales-by-method", manager.base))
        .bearer_auth(&manager.token)
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(csv_answer.status(), StatusCode::OK);
    assert!(
        csv_answer.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = csv_answer.text().await.unwrap();
    assert!(
        text.starts_with("method,currency,payments,amount,tips,refunds,net\n"),
        "{text}"
    );
    assert_eq!(sum_column(&text, "amount"), (5, sales));
    assert_eq!(sum_column(&text, "tips"), (5, 2500));
    let products_csv = manager.get("/api/reports/sales-by-product?format=csv").await;
    let text = String::from_utf8(products_csv.bytes.clone()).unwrap();
    assert_eq!(
        sum_column(&text, "sales").1,
        by_product.body["totals"]["sales"].as_i64().unwrap()
    );

    // ----- the dashboard -----
    let dashboard = manager.get("/api/reports/dashboard").await;
    let dashboard = dashboard.expect(StatusCode::OK).clone();
    for column in ["gross_sales", "tax", "sales", "net_sales", "tips"] {
        assert_eq!(dashboard["summary"][column], summary[column], "{column}");
    }
    let open_orders = dashboard["open_orders"].as_array().unwrap();
    assert_eq!(open_orders.len(), 1);
    assert_eq!(open_orders[0]["order_id"], open["id"]);
    assert_eq!(open_orders[0]["balance"], open_orders[0]["total"]);
    assert!(open_orders[0]["age_seconds"].as_i64().unwrap() >= 0);
    let kitchen = dashboard["stations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["station"] == "kitchen")
        .unwrap();
    assert!(kitchen["items_done_today"].as_i64().unwrap() >= 4, "{kitchen}");
    assert!(kitchen["average_ticket_seconds"].is_i64(), "{kitchen}");
    let cash_paid = cash["payment"]["amount"].as_i64().unwrap();
    let drawers = dashboard["open_shifts"].as_array().unwrap();
    assert_eq!(drawers.len(), 1);
    assert_eq!(
        drawers[0]["shift"]["cash"]["expected"].as_i64().unwrap(),
        20_000 + cash_paid
    );
    assert_eq!(dashboard["top_products"].as_array().unwrap().len(), 2);

    // ----- the Z report -----
    manager
        .call(Method::POST, "/api/z-reports")
        .empty()
        .await
        .refused(
            StatusCode::BAD_REQUEST,
            "idempotency_key_required",
            Some("Idempotency-Key"),
        );
    let refused = manager.post_keyed("/api/z-reports", json!({})).await;
    // (`refused` would take the code's own "shifts_" for a leaked table name.)
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::CONFLICT, "shifts_still_open")
    );
    assert_eq!(refused.body["open_shifts"][0]["shift_id"], shift["id"]);
    assert_eq!(count_where(db, "z_reports", "true"), 0);
    // The open order is voided (it would otherwise carry on to tomorrow) and the drawer
    // closed with its expected cash.
    manager
        .post_keyed(
            &format!("/api/orders/{}/void", id(&open)),
            json!({"reason": "walked out"}),
        )
        .await
        .expect(StatusCode::OK);
    cashier
        .post_keyed(
            &format!("/api/shifts/{}/close", id(&shift)),
            json!({"counted_cash": 20_000 + cash_paid}),
        )
        .await
        .expect(StatusCode::OK);
    cashier.post_keyed("/api/z-reports", json!({})).await.refused(
        StatusCode::FORBIDDEN,
        "not_permitted",
        None,
    );

    let key = fresh_key();
    let z = manager
        .call(Method::POST, "/api/z-reports")
        .key(&key)
        .empty()
        .await;
    let z_body = z.expect(StatusCode::CREATED).clone();
    assert_eq!(z_body["number"], 1);
    assert_eq!(z_body["prev_hash"], "0".repeat(64));
    assert_eq!(z_body["copy"], false);
    let totals = &z_body["totals"];
    // Row by row: every received payment, refund and tip.
    let payments = payment_rows(db);
    let refund_rows = refund_rows(db);
    assert_eq!(
        totals["payments_total"].as_i64().unwrap(),
        payments.iter().map(|p| p.1).sum::<i64>()
    );
    assert_eq!(totals["payments_count"].as_i64().unwrap(), payments.len() as i64);
    assert_eq!(
        totals["tips_total"].as_i64().unwrap(),
        payments.iter().map(|p| p.2).sum::<i64>()
    );
    assert_eq!(
        totals["refunds_total"].as_i64().unwrap(),
        refund_rows.iter().map(|r| r.1).sum::<i64>()
    );
    assert_eq!(
        totals["refunds_count"].as_i64().unwrap(),
        refund_rows.len() as i64
    );
    let mut by_method: HashMap<String, (i64, i64, i64)> = HashMap::new();
    for (method, amount, tip) in &payments {
        let entry = by_method.entry(method.clone()).or_default();
        entry.0 += amount;
        entry.1 += tip;
    }
    for (method, amount) in &refund_rows {
        by_method.entry(method.clone()).or_default().2 += amount;
    }
    for row in totals["payments"].as_array().unwrap() {
        let (amount, tip, refunded) = by_method
            .get(row["method"].as_str().unwrap())
            .copied()
            .unwrap_or_default();
        assert_eq!(
            (
                row["amount"].as_i64().unwrap(),
                row["tips"].as_i64().unwrap(),
                row["refunds"].as_i64().unwrap()
            ),
            (amount, tip, refunded),
            "{row}"
        );
    }
    assert_eq!(totals["sales"]["sales"].as_i64().unwrap(), sales);
    assert_eq!(totals["sales"]["tax"], summary["tax"]);
    assert_eq!(totals["discounts"]["amount"], 700);
    assert_eq!(totals["discounts"]["approved"], 1);
    assert_eq!(totals["voids"]["orders"], 1);
    assert_eq!(
        totals["voids"]["items"], 2,
        "the voided line and the voided order's remaining line"
    );
    let shifts = totals["shifts"].as_array().unwrap();
    assert_eq!(shifts.len(), 1);
    assert_eq!(shifts[0]["variance"], 0);
    assert_eq!(shifts[0]["expected_cash"].as_i64().unwrap(), 20_000 + cash_paid);
    assert!(z_body["text"].as_str().unwrap().contains("Z REPORT #1"));
    assert!(!z_body["text"].as_str().unwrap().contains("COPY"));

    // A retry replays; a second close of the same business day is refused.
    let again = manager
        .call(Method::POST, "/api/z-reports")
        .key(&key)
        .empty()
        .await;
    assert_eq!((again.status, &again.bytes), (z.status, &z.bytes));
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    manager.post_keyed("/api/z-reports", json!({})).await.refused(
        StatusCode::CONFLICT,
        "business_day_closed",
        None,
    );
    assert_eq!(count_where(db, "z_reports", "true"), 1);
    assert_eq!(
        count_where(db, "audit_log", "action = 'z_report.created' AND entity_id = '1'"),
        1
    );

    // Two more business days (the venue's clock moved by its settings): numbers 2 and 3,
    // each starting where the previous ended.
    let mut used = vec![z_body["business_date"].as_str().unwrap().to_owned()];
    for (offset, cutoff) in [
        (-720_i64, 0_i64),
        (0, 0),
        (840, 0),
        (-720, 23),
        (0, 23),
        (840, 23),
    ] {
        if used.len() == 3 {
            break;
        }
        let date = (chrono::Utc::now() + chrono::TimeDelta::minutes(offset - cutoff * 60))
            .date_naive()
            .to_string();
        if used.contains(&date) {
            continue;
        }
        exec(
            db,
            &format!(
                "UPDATE settings SET utc_offset_minutes = {offset}, business_day_cutoff_hour = {cutoff}"
            ),
        );
        let next = manager.post_keyed("/api/z-reports", json!({})).await;
        let next = next.expect(StatusCode::CREATED).clone();
        assert_eq!(next["business_date"].as_str().unwrap(), date);
        used.push(date);
        assert_eq!(next["number"].as_i64().unwrap(), used.len() as i64);
        assert_eq!(
            next["totals"]["payments_total"], 0,
            "nothing since the last close"
        );
    }
    assert_eq!(used.len(), 3);
    let list = manager.get("/api/z-reports").await;
    let list = list.expect(StatusCode::OK).as_array().unwrap().clone();
    let numbers: Vec<i64> = list.iter().map(|z| z["number"].as_i64().unwrap()).collect();
    assert_eq!(numbers, vec![3, 2, 1]);
    assert_eq!(list[0]["prev_hash"], list[1]["hash"]);
    assert_eq!(list[1]["prev_hash"], list[2]["hash"]);
    assert_eq!(list[0]["period_start"], list[1]["period_end"]);

    // Reprints are copies.
    let copy = manager.get("/api/z-reports/1").await;
    assert_eq!(copy.expect(StatusCode::OK)["copy"], true);
    assert_eq!(copy.body["totals"], z_body["totals"]);
    let text = manager.get("/api/z-reports/1?format=text").await;
    let text = String::from_utf8(text.bytes.clone()).unwrap();
    assert!(text.contains("Z REPORT #1") && text.contains("COPY"), "{text}");
    manager
        .get("/api/z-reports/9")
        .await
        .refused(StatusCode::NOT_FOUND, "not_found", None);

    // The chain verifies; an edit behind the trigger's back is named.
    let verified = manager.get("/api/z-reports/verify").await;
    assert_eq!(verified.expect(StatusCode::OK)["ok"], true);
    assert_eq!(verified.body["reports"], 3);
    assert!(
        diesel::sql_query("UPDATE z_reports SET totals = '{}'")
            .execute(&mut db.connect())
            .is_err(),
        "append-only"
    );
    exec(db, "ALTER TABLE z_reports DISABLE TRIGGER z_reports_immutable");
    exec(
        db,
        "UPDATE z_reports SET totals = jsonb_set(totals, '{payments_total}', '1') WHERE number = 2",
    );
    exec(db, "ALTER TABLE z_reports ENABLE TRIGGER z_reports_immutable");
    let broken = manager.get("/api/z-reports/verify").await;
    assert_eq!(broken.expect(StatusCode::OK)["ok"], false);
    assert_eq!(
        broken.body["first_break"],
        json!({"problem": "altered", "number": 2})
    );
}

#[tokio::test]
async fn bad_ranges_and_the_wrong_roles_are_refused() {
    let venue = venue("reports-refusals").await;
    let server = &venue.server;
    let manager = Client::adopt(server, "linus").await;
    let cashier = Client::adopt(server, "phiona").await;
    let cook = Client::adopt(server, "emma").await;

    for (query, field) in [
        ("from=yesterday", "from"),
        ("from=2026-02-30", "from"),
        ("to=2026-13-01", "to"),
        ("from=2026-12-07&to=2026-12-01", "to"),
        ("from=2024-01-01&to=2026-01-01", "to"),
        ("format=xml", "format"),
    ] {
        let answer = manager.get(&format!("/api/reports/sales-by-day?{query}")).await;
        assert!(answer.status.is_client_error(), "{query}: {}", answer.body);
        assert_eq!(answer.field(), field, "{query}: {}", answer.body);
    }
    let fine = manager
        .get("/api/reports/sales-by-day?from=2026-01-01&to=2026-01-31")
        .await;
    assert_eq!(fine.expect(StatusCode::OK)["rows"], json!([]));
    assert_eq!(fine.body["from"], "2026-01-01");

    for client in [&cashier, &cook] {
        for path in [
            "/api/reports/summary",
            "/api/reports/sales-by-product",
            "/api/reports/dashboard",
            "/api/z-reports",
            "/api/z-reports/verify",
        ] {
            client
                .get(path)
                .await
                .refused(StatusCode::FORBIDDEN, "not_permitted", None);
        }
        client.post_keyed("/api/z-reports", json!({})).await.refused(
            StatusCode::FORBIDDEN,
            "not_permitted",
            None,
        );
    }
    let anonymous = reqwest::get(format!("{}/api/reports/summary", server.base_url))
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    manager
        .post_keyed("/api/z-reports", json!({"business_date": "2026-01-01"}))
        .await
        .refused(StatusCode::BAD_REQUEST, "invalid_body", None);
    assert_eq!(count_where(&venue.db, "z_reports", "true"), 0);
    // An admin may close the day too; nothing was open.
    let admin = Client::adopt(server, "able").await;
    let z = admin.post_keyed("/api/z-reports", json!({})).await;
    assert_eq!(z.expect(StatusCode::CREATED)["number"], 1);
}
