//! Product and table images through `pos serve`: uploaded as multipart, checked by content,
//! re-encoded without metadata and scaled, stored under generated names in UPLOAD_DIR,
//! served with an immutable cache header, the row updated with its event and audit row;
//! bad uploads (text named .jpg, oversize, a path as the file name, an unknown row, the
//! wrong role) change nothing and leave no file behind.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Cursor;
use std::path::Path;

use common::{JWT_SECRET, Running, TempDir, free_port, pos, succeed};
use diesel::RunQueryDsl;
use image::ImageEncoder;
use pos_testkit::TestDb;
use reqwest::StatusCode;
use serde_json::{Value, json};

const DEMO_PASSWORD: &str = "password123";
const NEW_PASSWORD: &str = "a proper new password";

struct Venue {
    db: TestDb,
    uploads: TempDir,
    _logs: TempDir,
    server: Running,
}

async fn venue(label: &str) -> Venue {
    let db = TestDb::new();
    succeed(pos(&["seed"]).env("DATABASE_URL", db.url()));
    let uploads = TempDir::new(&format!("{label}-uploads"));
    let logs = TempDir::new(label);
    let port = free_port();
    let mut command = pos(&["serve"]);
    command
        .env("DATABASE_URL", db.url())
        .env("POS_JWT_SECRET", JWT_SECRET)
        .env("UPLOAD_DIR", uploads.path())
        .env("METRICS_ADDR", "off")
        .env("BIND", "127.0.0.1")
        .env("PORT", port.to_string());
    let server = Running::start(command, port, logs.path()).await;
    Venue {
        db,
        uploads,
        _logs: logs,
        server,
    }
}

async fn adopt(server: &Running, username: &str) -> String {
    let token = server.login(username, DEMO_PASSWORD).await;
    let response = reqwest::Client::new()
        .post(format!("{}/api/auth/change-password", server.base_url))
        .bearer_auth(&token)
        .json(&json!({"current_password": DEMO_PASSWORD, "new_password": NEW_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A `multipart/form-data` body with one part: (content type header, body).
fn multipart(field: &str, filename: &str, content_type: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----pos-test-boundary-7d1f";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n\
             Content-Type: {content_type}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(
    venue: &Venue,
    token: &str,
    path: &str,
    (content_type, body): (String, Vec<u8>),
) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}{path}", venue.server.base_url))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

/// A JPEG of `width` × `height` carrying a comment segment (COM) with a secret, as a
/// camera's metadata would.
fn jpeg_with_comment(width: u32, height: u32) -> Vec<u8> {
    let pixels = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    });
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 80)
        .write_image(pixels.as_raw(), width, height, image::ExtendedColorType::Rgb8)
        .unwrap();
    let comment = b"GPS-SECRET 0.3476N 32.5825E";
    let mut segment = vec![0xFF, 0xFE];
    segment.extend_from_slice(&((comment.len() + 2) as u16).to_be_bytes());
    segment.extend_from_slice(comment);
    jpeg.splice(2..2, segment);
    jpeg
}

fn webp(width: u32, height: u32) -> Vec<u8> {
    let pixels = image::RgbaImage::from_pixel(width, height, image::Rgba([10, 200, 10, 255]));
    let mut out = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(&mut out)
        .write_image(pixels.as_raw(), width, height, image::ExtendedColorType::Rgba8)
        .unwrap();
    out
}

/// Every file under `dir`, as paths relative to it, sorted (hidden ones too).
fn tree(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.push(path.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

#[derive(diesel::QueryableByName)]
struct Text {
    #[diesel(sql_type = diesel::sql_types::Text)]
    t: String,
}

fn texts(db: &TestDb, query: &str) -> Vec<String> {
    diesel::sql_query(query)
        .load::<Text>(&mut db.connect())
        .unwrap()
        .into_iter()
        .map(|r| r.t)
        .collect()
}

fn image_url_of(db: &TestDb, table: &str, id: &str) -> Option<String> {
    texts(
        db,
        &format!("SELECT coalesce(image_url, '-') AS t FROM {table} WHERE id = '{id}'"),
    )
    .into_iter()
    .next()
    .filter(|url| url != "-")
}

fn is_generated(url: &str, folder: &str, extension: &str) -> bool {
    let Some(name) = url.strip_prefix(&format!("/pos-images/{folder}/")) else {
        return false;
    };
    let Some(stem) = name.strip_suffix(&format!(".{extension}")) else {
        return false;
    };
    stem.len() == 32
        && stem
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

async fn a_product_and_a_table(venue: &Venue, token: &str) -> (String, String) {
    let http = reqwest::Client::new();
    let menu: Value = http
        .get(format!("{}/api/menu", venue.server.base_url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let product = menu["categories"][0]["products"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let product_id = product.clone();
    let table = texts(
        &venue.db,
        "SELECT id::text AS t FROM dining_tables ORDER BY code LIMIT 1",
    )
    .pop()
    .unwrap();
    (product_id, table)
}

#[tokio::test]
async fn an_uploaded_image_is_checked_re_encoded_stored_served_and_announced() {
    let venue = venue("images").await;
    let manager = adopt(&venue.server, "linus").await;
    let (product, table) = a_product_and_a_table(&venue, &manager).await;
    let product_path = format!("/api/admin/products/{product}/image");
    let outside = venue.uploads.path().parent().unwrap().join("evil.jpg");
    let _ = std::fs::remove_file(&outside);

    // A 2000 × 1500 JPEG with a comment, named like a path.
    let original = jpeg_with_comment(2000, 1500);
    let stored = upload(
        &venue,
        &manager,
        &product_path,
        multipart("file", "../../evil.jpg", "image/jpeg", &original),
    )
    .await;
    assert_eq!(stored.status(), StatusCode::OK);
    let view: Value = stored.json().await.unwrap();
    let url = view["image_url"].as_str().unwrap().to_owned();
    assert!(is_generated(&url, "products", "jpg"), "{url}");
    assert_eq!(
        (view["width"].as_u64(), view["height"].as_u64()),
        (Some(1024), Some(768))
    );
    assert_eq!(view["content_type"], "image/jpeg");
    assert!(
        !outside.exists(),
        "the client's file name reached the file system"
    );
    let name = url.rsplit('/').next().unwrap().to_owned();
    assert_eq!(tree(venue.uploads.path()), vec![format!("products/{name}")]);
    assert_eq!(
        image_url_of(&venue.db, "products", &product).as_deref(),
        Some(url.as_str())
    );

    // Served with a long cache, re-encoded: smaller, scaled, no comment left.
    let served = reqwest::get(format!("{}{url}", venue.server.base_url))
        .await
        .unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(served.headers()["content-type"], "image/jpeg");
    assert_eq!(
        served.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let bytes = served.bytes().await.unwrap();
    assert_eq!(bytes.len() as u64, view["size_bytes"].as_u64().unwrap());
    assert!(!bytes.windows(10).any(|w| w == b"GPS-SECRET"));
    let decoded = image::ImageReader::new(Cursor::new(bytes.as_ref()))
        .with_guessed_format()
        .unwrap()
        .decode()
        .unwrap();
    assert_eq!((decoded.width(), decoded.height()), (1024, 768));

    // The menu shows it; terminals heard `menu.updated`; the change is audited.
    let menu: Value = reqwest::Client::new()
        .get(format!("{}/api/menu", venue.server.base_url))
        .bearer_auth(&manager)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let shown = menu["categories"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["products"].as_array().unwrap().iter())
        .find(|p| p["id"] == product.as_str())
        .unwrap()["image_url"]
        .clone();
    assert_eq!(shown, url.as_str());
    let events = texts(
        &venue.db,
        "SELECT event_type || ' ' || (payload->>'change') || ' ' || (payload->>'id') AS t FROM events \
         WHERE payload->>'change' = 'image_changed' ORDER BY id",
    );
    assert_eq!(events, vec![format!("menu.updated image_changed {product}")]);
    let audited = texts(
        &venue.db,
        &format!(
            "SELECT action || ' ' || (after->>'image_url') AS t FROM audit_log WHERE entity_id = '{product}'"
        ),
    );
    assert_eq!(audited, vec![format!("product.image_changed {url}")]);

    // Replaced by a PNG: the old file goes, the new one is the only one.
    let png = {
        let pixels = image::RgbaImage::from_pixel(300, 200, image::Rgba([0, 0, 255, 128]));
        let mut out = Vec::new();
        image::codecs::png::PngEncoder::new(&mut out)
            .write_image(pixels.as_raw(), 300, 200, image::ExtendedColorType::Rgba8)
            .unwrap();
        out
    };
    let replaced = upload(
        &venue,
        &manager,
        &product_path,
        multipart("file", "x.png", "image/png", &png),
    )
    .await;
    assert_eq!(replaced.status(), StatusCode::OK);
    let png_url = replaced.json::<Value>().await.unwrap()["image_url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(is_generated(&png_url, "products", "png"), "{png_url}");
    let png_name = png_url.rsplit('/').next().unwrap();
    assert_eq!(tree(venue.uploads.path()), vec![format!("products/{png_name}")]);
    let gone = reqwest::get(format!("{}{url}", venue.server.base_url))
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);

    // A table takes a WebP, announced as `table.updated`.
    let table_view = upload(
        &venue,
        &manager,
        &format!("/api/admin/tables/{table}/image"),
        multipart("file", "table.webp", "image/webp", &webp(64, 48)),
    )
    .await;
    assert_eq!(table_view.status(), StatusCode::OK);
    let table_url = table_view.json::<Value>().await.unwrap()["image_url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(is_generated(&table_url, "tables", "webp"), "{table_url}");
    assert_eq!(
        image_url_of(&venue.db, "dining_tables", &table).as_deref(),
        Some(table_url.as_str())
    );
    let served = reqwest::get(format!("{}{table_url}", venue.server.base_url))
        .await
        .unwrap();
    assert_eq!(served.headers()["content-type"], "image/webp");
    assert_eq!(
        texts(
            &venue.db,
            &format!(
                "SELECT event_type AS t FROM events WHERE payload->>'id' = '{table}' AND payload->>'change' = 'image_changed'"
            )
        ),
        vec!["table.updated".to_owned()]
    );

    // Removed: the row forgets it and the file goes.
    let removed = reqwest::Client::new()
        .delete(format!("{}{product_path}", venue.server.base_url))
        .bearer_auth(&manager)
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    assert_eq!(image_url_of(&venue.db, "products", &product), None);
    assert_eq!(
        tree(venue.uploads.path()),
        vec![format!("tables/{}", table_url.rsplit('/').next().unwrap())]
    );
}

#[tokio::test]
async fn bad_uploads_are_refused_naming_the_field_and_change_nothing() {
    let venue = venue("images-bad").await;
    let manager = adopt(&venue.server, "linus").await;
    let (product, _) = a_product_and_a_table(&venue, &manager).await;
    let path = format!("/api/admin/products/{product}/image");
    let good = jpeg_with_comment(40, 30);
    let before_url = image_url_of(&venue.db, "products", &product);
    let before_events = texts(&venue.db, "SELECT count(*)::text AS t FROM events");

    let check = |response: reqwest::Response, status: StatusCode, code: &'static str, field: &'static str| async move {
        assert_eq!(response.status(), status);
        assert_eq!(response.headers()["content-type"], "application/problem+json");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], code, "{body}");
        assert_eq!(body["field"], field, "{body}");
        body
    };

    // Text in a file named .jpg, declared image/jpeg.
    let text = upload(
        &venue,
        &manager,
        &path,
        multipart(
            "file",
            "photo.jpg",
            "image/jpeg",
            b"I am not a picture, just text.\n",
        ),
    )
    .await;
    check(
        text,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_image_type",
        "file",
    )
    .await;

    // JPEG's magic bytes over garbage: the decoder has the last word.
    let mut fake = vec![0xFF, 0xD8, 0xFF, 0xE0];
    fake.extend_from_slice(&[0x42; 4096]);
    let fake = upload(
        &venue,
        &manager,
        &path,
        multipart("file", "x.jpg", "image/jpeg", &fake),
    )
    .await;
    check(fake, StatusCode::UNPROCESSABLE_ENTITY, "invalid_image", "file").await;

    // Over 5 MB: refused once the limit is passed, nothing kept.
    let mut big = good.clone();
    big.resize(5 * 1024 * 1024 + 1, 0);
    let big = upload(
        &venue,
        &manager,
        &path,
        multipart("file", "big.jpg", "image/jpeg", &big),
    )
    .await;
    let body = check(big, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "file").await;
    assert!(body["detail"].as_str().unwrap().contains("5 MB"));

    // Far over: answered without reading the body.
    let mut huge = good.clone();
    huge.resize(20 * 1024 * 1024, 0);
    let huge = upload(
        &venue,
        &manager,
        &path,
        multipart("file", "huge.jpg", "image/jpeg", &huge),
    )
    .await;
    check(huge, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "file").await;

    // The image in another field, no field at all, not multipart at all.
    let stray = upload(
        &venue,
        &manager,
        &path,
        multipart("picture", "a.jpg", "image/jpeg", &good),
    )
    .await;
    check(stray, StatusCode::BAD_REQUEST, "unknown_field", "picture").await;
    let empty = upload(
        &venue,
        &manager,
        &path,
        (
            "multipart/form-data; boundary=xyz".to_owned(),
            b"--xyz--\r\n".to_vec(),
        ),
    )
    .await;
    // (A body with no part at all: refused as unreadable or as missing `file`.)
    assert_eq!(empty.status(), StatusCode::BAD_REQUEST);
    let body: Value = empty.json().await.unwrap();
    assert_eq!(body["field"], "file", "{body}");
    let json_body = reqwest::Client::new()
        .post(format!("{}{path}", venue.server.base_url))
        .bearer_auth(&manager)
        .json(&json!({"file": "aGVsbG8="}))
        .send()
        .await
        .unwrap();
    check(
        json_body,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        "file",
    )
    .await;

    // A good image for a product that does not exist: 404, and no orphan file.
    let unknown = upload(
        &venue,
        &manager,
        &format!("/api/admin/products/{}/image", uuid::Uuid::new_v4()),
        multipart("file", "a.jpg", "image/jpeg", &good),
    )
    .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);

    // Cashiers may not; nobody anonymous may.
    let cashier = adopt(&venue.server, "phiona").await;
    let refused = upload(
        &venue,
        &cashier,
        &path,
        multipart("file", "a.jpg", "image/jpeg", &good),
    )
    .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let anonymous = reqwest::Client::new()
        .post(format!("{}{path}", venue.server.base_url))
        .body(good.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    // Nothing changed anywhere.
    assert!(
        tree(venue.uploads.path()).is_empty(),
        "{:?}",
        tree(venue.uploads.path())
    );
    assert_eq!(image_url_of(&venue.db, "products", &product), before_url);
    assert_eq!(
        texts(&venue.db, "SELECT count(*)::text AS t FROM events"),
        before_events
    );

    // Paths that try to leave the image folder find nothing.
    std::fs::write(
        venue
            .uploads
            .path()
            .parent()
            .unwrap()
            .join("images-bad-secret.txt"),
        "secret",
    )
    .unwrap();
    for hostile in [
        "/pos-images/products/..%2F..%2Fimages-bad-secret.txt",
        "/pos-images/../images-bad-secret.txt",
        "/pos-images/products/%2e%2e/%2e%2e/images-bad-secret.txt",
    ] {
        let response = reqwest::get(format!("{}{hostile}", venue.server.base_url))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{hostile}");
    }
    let _ = std::fs::remove_file(
        venue
            .uploads
            .path()
            .parent()
            .unwrap()
            .join("images-bad-secret.txt"),
    );

    // Still works afterwards.
    let fine = upload(
        &venue,
        &manager,
        &path,
        multipart("file", "ok.jpg", "image/jpeg", &good),
    )
    .await;
    assert_eq!(fine.status(), StatusCode::OK);
}
