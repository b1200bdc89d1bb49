//! The deployment files agree with each other where no linter can tell (hadolint and the
//! Compose schema check run in .ci/run; nginx in topology.rs).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

fn read(name: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::read_to_string(root.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// `pg_dump` refuses to dump a server of a newer major than its own: the image's client
/// and compose's server must be the same major.
#[test]
fn the_image_postgresql_client_matches_the_compose_server_major() {
    let dockerfile = read("Dockerfile");
    let client = dockerfile
        .lines()
        .find_map(|l| l.trim().strip_prefix("ARG PG_MAJOR="))
        .expect("Dockerfile: ARG PG_MAJOR=<major>");
    assert!(
        dockerfile.contains("\"postgresql-client-${PG_MAJOR}=${PG_MAJOR}.*\""),
        "the runtime installs postgresql-client of PG_MAJOR"
    );
    let compose = read("docker-compose.yml");
    let server = compose
        .lines()
        .find_map(|l| l.trim().strip_prefix("image: postgres:"))
        .expect("docker-compose.yml: image: postgres:<major>…");
    let server_major = server.split(['-', '.']).next().unwrap();
    assert_eq!(
        client, server_major,
        "Dockerfile PG_MAJOR vs compose postgres:{server}"
    );
}

#[test]
fn compose_scales_the_app_and_publishes_only_nginx() {
    let compose = read("docker-compose.yml");
    // Services, each as its block of lines.
    let mut services: Vec<(String, String)> = Vec::new();
    let mut in_services = false;
    for line in compose.lines() {
        if line == "services:" {
            in_services = true;
            continue;
        }
        if in_services && !line.starts_with(' ') && !line.is_empty() {
            in_services = false;
        }
        if !in_services {
            continue;
        }
        if let Some(name) = line.strip_prefix("  ").and_then(|l| l.strip_suffix(':'))
            && !name.starts_with(' ')
        {
            services.push((name.to_owned(), String::new()));
        } else if let Some((_, block)) = services.last_mut() {
            block.push_str(line);
            block.push('\n');
        }
    }
    let names: Vec<&str> = services.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["postgres", "redis", "pos-app", "nginx"]);
    for (name, block) in &services {
        assert!(block.contains("restart: unless-stopped"), "{name}");
        assert!(block.contains("logging: *logging"), "{name} rotates its logs");
        assert_eq!(
            block.contains("ports:"),
            name == "nginx",
            "{name}: only nginx publishes ports"
        );
        assert!(!block.contains("container_name"), "{name}");
    }
    assert!(compose.contains("max-size:"));
    let redis = &services[1].1;
    assert!(redis.contains("--appendonly\", \"yes\""));
    let app = &services[2].1;
    assert!(
        app.contains("MAX_CONNECTIONS_PER_IP: \"0\""),
        "behind nginx the app's own per-address limit is off"
    );
}

#[test]
fn nginx_matches_the_app_limits() {
    let nginx = read("deploy/nginx.conf");
    let active: String = nginx
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    // The app: head within 10 s (crates/server/src/http.rs), body within BODY_TIMEOUT_SECS (30).
    assert!(active.contains("client_header_timeout 10s;"));
    assert!(active.contains("client_body_timeout 30s;"));
    let example = read(".env.docker.example");
    assert!(example.contains("BODY_TIMEOUT_SECS=30"));
    for sse in [
        "proxy_buffering off;",
        "proxy_read_timeout 3600s;",
        "proxy_http_version 1.1;",
    ] {
        assert!(active.contains(sse), "{sse}");
    }
    assert!(
        !active.contains("text/event-stream"),
        "the stream is never gzipped"
    );
    for header in [
        "X-Frame-Options",
        "X-Content-Type-Options",
        "Content-Security-Policy",
        "Referrer-Policy",
    ] {
        assert!(
            !nginx.contains(header),
            "{header} is the app's to set; nginx would double it"
        );
    }
}
