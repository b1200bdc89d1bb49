//! The deployment of docker-compose.yml, run from real binaries on loopback (no Docker
//! engine needed): nginx with `deploy/nginx.conf` itself, rendered for loopback upstreams,
//! in front of two `pos serve` replicas sharing one PostgreSQL database and Redis.
//!
//! Through nginx: health; a cookie login; an order placed on one replica reaches an SSE
//! client served by the other; the stream survives 60 s of silence (heartbeats pass
//! unbuffered); killing the client's replica mid-stream, it reconnects with `Last-Event-ID`
//! to the survivor and misses no event; 5 MB bodies pass, 50 MB ones are refused by nginx.
//!
//! nginx is a Debian package (`apt-get install nginx`; .ci/run installs it). Without it
//! these tests fail, saying so: they never pass silently.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{JWT_SECRET, Running, TempDir, free_port, pos, succeed};
use pos_testkit::{TestDb, TestRedis};
use serde_json::{Value, json};

const DEMO_PASSWORD: &str = "password123";
const NEW_PASSWORD: &str = "a proper new password";
const NGINX_CONF: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/nginx.conf");

/// The nginx binary, or a failure that says how to get one.
fn nginx() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .chain([PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("nginx"))
        .find(|candidate| candidate.is_file());
    on_path.unwrap_or_else(|| {
        panic!(
            "nginx is not installed: the deployment topology test needs it. \
             Install it with `apt-get install nginx` (.ci/run does)"
        )
    })
}

/// `deploy/nginx.conf` as docker-compose.yml runs it, with the replicas' loopback
/// addresses in place of Docker's DNS name and nginx listening on `listen`. Each anchor
/// must be found, so the real file and this rendering cannot drift apart unnoticed.
fn render(conf: &str, replicas: &[u16], listen: u16) -> String {
    let mut found = (0, 0, 0);
    let mut out = String::new();
    for line in conf.lines() {
        let code = line.trim_start();
        if code.starts_with("resolver ") {
            // Docker's DNS: loopback addresses need no resolving.
            found.0 += 1;
            continue;
        }
        if code.starts_with("server pos-app:3000") {
            found.1 += 1;
            for port in replicas {
                out.push_str(&format!(
                    "    server 127.0.0.1:{port} max_fails=1 fail_timeout=30s;\n"
                ));
            }
            continue;
        }
        if code == "listen 80;" {
            found.2 += 1;
            out.push_str(&format!("    listen 127.0.0.1:{listen};\n"));
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    assert_eq!(
        found,
        (1, 1, 1),
        "deploy/nginx.conf lost an anchor the test renders (resolver, server pos-app:3000, listen 80)"
    );
    out
}

/// A main nginx.conf around `site` (which, like conf.d/default.conf, sits in `http`),
/// everything it writes kept in `dir`.
fn main_conf(dir: &Path, site: &Path) -> PathBuf {
    for temp in ["body", "proxy", "fastcgi", "uwsgi", "scgi"] {
        let path = dir.join(temp);
        std::fs::create_dir_all(&path).unwrap();
        // Workers may run as another user than the master (root starts them as nobody).
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    }
    let d = dir.display();
    let conf = format!(
        "daemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log info;\n\
         events {{ worker_connections 1024; }}\n\
         http {{\n  access_log {d}/access.log;\n  client_body_temp_path {d}/body;\n  \
         proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  \
         scgi_temp_path {d}/scgi;\n  default_type application/octet-stream;\n  include {};\n}}\n",
        site.display()
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf).unwrap();
    path
}

/// `nginx -t` on a configuration: the static check CI relies on.
fn nginx_test(dir: &Path, conf: &Path) {
    let out = Command::new(nginx())
        .arg("-t")
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(conf)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "nginx -t failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Nginx {
    child: Child,
    dir: PathBuf,
}

impl Nginx {
    fn start(dir: &Path, conf: &Path, port: u16) -> Nginx {
        nginx_test(dir, conf);
        let child = Command::new(nginx())
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let nginx = Nginx {
            child,
            dir: dir.to_path_buf(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nginx did not listen:\n{}",
                nginx.error_log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        nginx
    }

    fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGQUIT would wait for the open streams; SIGTERM stops at once, workers included.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

async fn replica(db: &TestDb, redis: &TestRedis, base_url: &str, logs: &TempDir) -> Running {
    let port = free_port();
    let mut command = pos(&["serve"]);
    // As docker-compose.yml sets them for pos-app.
    command
        .env("DATABASE_URL", db.url())
        .env("REDIS_URL", redis.url())
        .env("POS_JWT_SECRET", JWT_SECRET)
        .env("APP_BASE_URL", base_url)
        .env("MAX_CONNECTIONS_PER_IP", "0")
        // One volume for every replica, as in docker-compose.yml.
        .env("UPLOAD_DIR", logs.path().join("uploads"))
        .env("BIND", "127.0.0.1")
        .env("PORT", port.to_string());
    Running::start(command, port, logs.path()).await
}

fn port_of(server: &Running) -> u16 {
    server.base_url.rsplit(':').next().unwrap().parse().unwrap()
}

/// The `name=value` of a cookie a response set.
fn cookie(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie in {:?}", response.headers()))
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

#[derive(Debug, PartialEq)]
enum Frame {
    Event { id: i64, event_type: String },
    Ready,
    Ping,
    Other(String),
}

/// An EventSource through nginx, reconnecting by hand (as a browser would, with
/// `Last-Event-ID`).
struct Sse {
    response: reqwest::Response,
    buffer: String,
    last_id: Option<i64>,
}

impl Sse {
    async fn open(base: &str, session: &str, last_event_id: Option<i64>) -> Sse {
        let mut request = reqwest::Client::new()
            .get(format!("{base}/api/realtime/stream"))
            .header("cookie", session)
            .header("accept", "text/event-stream")
            .header("accept-encoding", "gzip");
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id.to_string());
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        // The app marks the stream `identity`; nginx must not gzip it anyway.
        assert!(
            response
                .headers()
                .get("content-encoding")
                .is_none_or(|v| v == "identity"),
            "the stream must never be compressed: {:?}",
            response.headers()
        );
        Sse {
            response,
            buffer: String::new(),
            last_id: last_event_id,
        }
    }

    fn request_id(&self) -> String {
        self.response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned()
    }

    /// The next frame within `limit`; `None` when the stream ended (or broke).
    async fn next(&mut self, limit: Duration) -> Option<Frame> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let frame: String = self.buffer.drain(..end + 2).collect();
                let frame = parse(&frame);
                if let Frame::Event { id, .. } = frame {
                    self.last_id = Some(id);
                }
                return Some(frame);
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .unwrap_or_else(|_| panic!("no frame within {limit:?}; buffered {:?}", self.buffer));
            match chunk {
                Ok(Some(bytes)) => self.buffer.push_str(std::str::from_utf8(&bytes).unwrap()),
                Ok(None) | Err(_) => return None,
            }
        }
    }

    /// Events (ids and types) until one of `wanted` type arrives, within `limit`.
    async fn until(&mut self, wanted: &str, limit: Duration) -> Vec<(i64, String)> {
        let mut seen = Vec::new();
        loop {
            match self.next(limit).await {
                Some(Frame::Event { id, event_type }) => {
                    let done = event_type == wanted;
                    seen.push((id, event_type));
                    if done {
                        return seen;
                    }
                }
                Some(_) => {}
                None => panic!("the stream ended while waiting for {wanted}; saw {seen:?}"),
            }
        }
    }
}

fn parse(frame: &str) -> Frame {
    if frame.starts_with(": ping") {
        return Frame::Ping;
    }
    let field = |name: &str| {
        frame
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .map(str::to_owned)
    };
    match (field("id"), field("event")) {
        (Some(id), Some(event_type)) => Frame::Event {
            id: id.parse().unwrap(),
            event_type,
        },
        (None, Some(t)) if t == "ready" => Frame::Ready,
        _ => Frame::Other(frame.to_owned()),
    }
}

/// A staff account signed in with a bearer token, its seeded password changed.
async fn bearer(base: &str, username: &str) -> String {
    let http = reqwest::Client::new();
    let first: Value = http
        .post(format!("{base}/api/auth/login"))
        .json(&json!({"username": username, "password": DEMO_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let changed: Value = http
        .post(format!("{base}/api/auth/change-password"))
        .bearer_auth(first["token"].as_str().unwrap())
        .json(&json!({"current_password": DEMO_PASSWORD, "new_password": NEW_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    changed["token"]
        .as_str()
        .unwrap_or_else(|| panic!("{changed}"))
        .to_owned()
}

/// Places a takeaway order of one orderable product directly on `server`; its id.
async fn place_order(server: &Running, token: &str, product_id: &str) -> String {
    let response = reqwest::Client::new()
        .post(format!("{}/api/orders", server.base_url))
        .bearer_auth(token)
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .json(&json!({"type": "takeaway", "items": [{"product_id": product_id, "quantity": 1}]}))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

fn event_ids_after(db: &TestDb, after: i64) -> Vec<i64> {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }
    diesel::sql_query(format!("SELECT id FROM events WHERE id > {after} ORDER BY id"))
        .load::<Id>(&mut db.connect())
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect()
}

#[test]
fn the_shipped_nginx_config_passes_nginx_t_with_and_without_https() {
    let dir = TempDir::new("nginx-static");
    let conf = std::fs::read_to_string(NGINX_CONF).unwrap();
    let plain = dir.path().join("site.conf");
    std::fs::write(&plain, render(&conf, &[3000, 3001], free_port())).unwrap();
    nginx_test(dir.path(), &main_conf(dir.path(), &plain));

    // The HTTPS server block, uncommented as docs/operations.md says, with a throwaway
    // certificate where deploy/ssl/ would hold the real one.
    let ssl = dir.path().join("ssl");
    std::fs::create_dir_all(&ssl).unwrap();
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
        ])
        .arg("-keyout")
        .arg(ssl.join("privkey.pem"))
        .arg("-out")
        .arg(ssl.join("fullchain.pem"))
        .output()
        .expect("openssl (Debian package openssl) makes the test certificate");
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let mut in_https = false;
    let mut https = String::new();
    for line in render(&conf, &[3000], free_port()).lines() {
        if line.starts_with("# server {") {
            in_https = true;
        }
        if in_https && let Some(code) = line.strip_prefix("# ").or(line.strip_prefix("#")) {
            https.push_str(&code.replace("/etc/nginx/ssl", &ssl.display().to_string()));
            https.push('\n');
            if line == "# }" {
                in_https = false;
            }
            continue;
        }
        https.push_str(line);
        https.push('\n');
    }
    assert!(https.contains("listen 443 ssl") && https.contains("Strict-Transport-Security"));
    let https = https.replace("listen 443 ssl", &format!("listen 127.0.0.1:{} ssl", free_port()));
    let site = dir.path().join("site-https.conf");
    std::fs::write(&site, https).unwrap();
    nginx_test(dir.path(), &main_conf(dir.path(), &site));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_behind_nginx_serve_login_live_orders_failover_and_uploads() {
    nginx();
    let db = TestDb::new();
    succeed(pos(&["seed"]).env("DATABASE_URL", db.url()));
    let redis = TestRedis::new();
    let logs = TempDir::new("topology");
    let nginx_port = free_port();
    let base = format!("http://127.0.0.1:{nginx_port}");

    let mut a = replica(&db, &redis, &base, &logs).await;
    let mut b = replica(&db, &redis, &base, &logs).await;
    let conf = std::fs::read_to_string(NGINX_CONF).unwrap();
    let site = logs.path().join("site.conf");
    std::fs::write(&site, render(&conf, &[port_of(&a), port_of(&b)], nginx_port)).unwrap();
    let nginx = Nginx::start(logs.path(), &main_conf(logs.path(), &site), nginx_port);
    let http = reqwest::Client::new();

    // Health, and the app's security headers once each (nginx adds none of its own).
    let health = http.get(format!("{base}/api/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    for name in [
        "x-frame-options",
        "x-content-type-options",
        "content-security-policy",
    ] {
        assert_eq!(health.headers().get_all(name).iter().count(), 1, "{name}");
    }
    let health: Value = health.json().await.unwrap();
    assert_eq!(health["status"], "ok", "{health}");
    let metrics = http.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), 404, "/metrics stays private");

    // JSON is compressed on the way out.
    let doc = http
        .get(format!("{base}/api/openapi.json"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(doc.status(), 200);
    assert_eq!(
        doc.headers().get("content-encoding").map(|v| v.to_str().unwrap()),
        Some("gzip")
    );

    // A cookie login (the browser's way), the seeded password changed, a cookie session read.
    let login = http
        .post(format!("{base}/api/auth/login"))
        .json(&json!({"username": "able", "password": DEMO_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let first_session = cookie(&login, "pos_session");
    let changed = http
        .post(format!("{base}/api/auth/change-password"))
        .header("cookie", &first_session)
        .header("origin", &base)
        .json(&json!({"current_password": DEMO_PASSWORD, "new_password": NEW_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    let session = cookie(&changed, "pos_session");
    let me = http
        .get(format!("{base}/api/auth/me"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);

    // The manager's screen (every topic) streams through nginx; which replica serves it shows in its log.
    let mut screen = Sse::open(&base, &session, None).await;
    assert_eq!(screen.next(Duration::from_secs(10)).await, Some(Frame::Ready));
    let request_id = screen.request_id();
    let on_a = a.log().contains(&request_id);
    assert!(
        on_a || b.log().contains(&request_id),
        "no replica logged {request_id}"
    );
    let (streaming, other) = if on_a { (&mut a, &mut b) } else { (&mut b, &mut a) };

    // An order placed on the other replica reaches it.
    let cashier = bearer(&other.base_url, "phiona").await;
    let menu: Value = http
        .get(format!("{}/api/menu", other.base_url))
        .bearer_auth(&cashier)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let product = menu["categories"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["products"].as_array().unwrap())
        .find(|p| p["orderable"] == true)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    place_order(other, &cashier, &product).await;
    let seen = screen.until("order.created", Duration::from_secs(15)).await;
    assert!(!seen.is_empty());

    // 60 s of silence: heartbeats arrive as they are sent (nothing buffers them) and the
    // stream stays open; then an event still arrives at once.
    let silence = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut pings = 0;
    while tokio::time::Instant::now() < silence {
        let left = silence - tokio::time::Instant::now();
        match tokio::time::timeout(left, screen.next(Duration::from_secs(120))).await {
            Ok(Some(Frame::Ping)) => pings += 1,
            Ok(Some(frame)) => panic!("nothing happened, yet {frame:?}"),
            Ok(None) => panic!("the stream closed during the silence after {pings} heartbeats"),
            Err(_) => break,
        }
    }
    assert!(
        pings >= 2,
        "{pings} heartbeats in 60 s (the app sends one every 15 s)"
    );
    place_order(other, &cashier, &product).await;
    screen.until("order.created", Duration::from_secs(15)).await;

    // Kill the screen's replica mid-stream; orders keep coming on the survivor while the
    // screen is away; it reconnects through nginx with Last-Event-ID and misses nothing.
    let last_seen = screen.last_id.unwrap();
    streaming.child.kill().unwrap();
    streaming.child.wait().unwrap();
    loop {
        match screen.next(Duration::from_secs(30)).await {
            None => break,
            Some(Frame::Ping) => {}
            Some(frame) => panic!("after its replica died the stream still brought {frame:?}"),
        }
    }
    for _ in 0..3 {
        place_order(other, &cashier, &product).await;
    }
    let expected = event_ids_after(&db, last_seen);
    assert!(expected.len() >= 3, "{expected:?}");
    let mut resumed = Sse::open(&base, &session, Some(last_seen)).await;
    let mut got = Vec::new();
    while got.len() < expected.len() {
        match resumed.next(Duration::from_secs(15)).await {
            Some(Frame::Event { id, .. }) => got.push(id),
            Some(_) => {}
            None => panic!("the resumed stream ended after {got:?}"),
        }
    }
    assert_eq!(got, expected, "every event after {last_seen}, once, in order");
    assert!(
        other.log().contains(&resumed.request_id()),
        "the survivor serves the resumed stream"
    );

    // Uploads: 5 MB pass nginx and reach the app (its answer, problem+json); 50 MB are
    // refused by nginx itself (413, its own page).
    let five = http
        .post(format!("{base}/api/auth/login"))
        .header("content-type", "application/json")
        .body(vec![b' '; 5 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    let from_app = five.headers()["content-type"].to_str().unwrap().to_owned();
    assert_eq!(
        from_app,
        "application/problem+json",
        "5 MB reached the app ({})",
        five.status()
    );
    let fifty = http
        .post(format!("{base}/api/auth/login"))
        .header("content-type", "application/json")
        .body(vec![b' '; 50 * 1024 * 1024])
        .send()
        .await;
    match fifty {
        Ok(response) => {
            assert_eq!(response.status(), 413);
            let kind = response.headers()["content-type"].to_str().unwrap().to_owned();
            assert!(
                kind.starts_with("text/html"),
                "refused by nginx, not the app: {kind}"
            );
        }
        // nginx may answer 413 and close before the client has finished sending.
        Err(e) => assert!(
            nginx
                .error_log()
                .contains("client intended to send too large body"),
            "{e}"
        ),
    }
    assert!(
        nginx.error_log().contains("too large body"),
        "{}",
        nginx.error_log()
    );

    // An image uploaded through nginx is served through nginx by either replica, with the
    // app's immutable cache header.
    let manager = bearer(&base, "linus").await;
    let product = menu["categories"][0]["products"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let pixels = image::RgbaImage::from_pixel(32, 24, image::Rgba([9, 99, 199, 255]));
    let mut png = Vec::new();
    image::ImageEncoder::write_image(
        image::codecs::png::PngEncoder::new(&mut png),
        pixels.as_raw(),
        32,
        24,
        image::ExtendedColorType::Rgba8,
    )
    .unwrap();
    let boundary = "topology-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.png\"\r\n\
         Content-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&png);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let uploaded = http
        .post(format!("{base}/api/admin/products/{product}/image"))
        .bearer_auth(&manager)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), 200);
    let image_url = uploaded.json::<Value>().await.unwrap()["image_url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(image_url.starts_with("/pos-images/products/"), "{image_url}");
    for _ in 0..4 {
        let served = http.get(format!("{base}{image_url}")).send().await.unwrap();
        assert_eq!(served.status(), 200);
        assert_eq!(served.headers()["content-type"], "image/png");
        assert_eq!(
            served.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        assert!(served.bytes().await.unwrap().starts_with(b"\x89PNG"));
    }

    drop(resumed);
    drop(screen);
}
