//! A missing or bad variable stops `pos` before it does anything: exit code 2 and exactly
//! one line on stderr naming the variable.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{JWT_SECRET, output, pos, stderr};

const GOOD_DB: &str = "postgres://postgres@127.0.0.1:1/pos";

/// Runs `pos <args>` with `vars` and checks the refusal: code 2, one line, naming `variable`.
fn refused(args: &[&str], vars: &[(&str, &str)], expected_start: &str) {
    let mut command = pos(args);
    command.envs(vars.iter().copied());
    let out = output(&mut command);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "expected one line, got: {err}");
    assert!(err.starts_with(&format!("error: {expected_start}")), "got: {err}");
    assert!(
        out.stdout.is_empty(),
        "nothing on stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn missing_database_url() {
    refused(
        &["serve"],
        &[("POS_JWT_SECRET", JWT_SECRET)],
        "DATABASE_URL is required",
    );
    refused(&["migrate"], &[], "DATABASE_URL is required");
    refused(&["seed"], &[], "DATABASE_URL is required");
}

#[test]
fn short_jwt_secret() {
    refused(
        &["serve"],
        &[("DATABASE_URL", GOOD_DB), ("POS_JWT_SECRET", "too-short")],
        "POS_JWT_SECRET must be at least 16 characters",
    );
}

#[test]
fn missing_jwt_secret_for_serve() {
    refused(
        &["serve"],
        &[("DATABASE_URL", GOOD_DB)],
        "POS_JWT_SECRET is required",
    );
}

#[test]
fn malformed_database_url() {
    refused(
        &["serve"],
        &[
            ("DATABASE_URL", "postgres://u:p@host:notaport/pos"),
            ("POS_JWT_SECRET", JWT_SECRET),
        ],
        "DATABASE_URL must be a postgres:// or postgresql:// URL",
    );
    refused(
        &["migrate"],
        &[("DATABASE_URL", "mysql://db/pos")],
        "DATABASE_URL must be a postgres:// or postgresql:// URL, not mysql://",
    );
}

#[test]
fn bad_port() {
    for bad in ["http", "65536"] {
        refused(
            &["serve"],
            &[
                ("DATABASE_URL", GOOD_DB),
                ("POS_JWT_SECRET", JWT_SECRET),
                ("PORT", bad),
            ],
            "PORT must be a whole number from 0 to 65535",
        );
    }
    refused(&["dev"], &[("PORT", "-3")], "PORT must be a whole number");
}

#[test]
fn bad_log_format() {
    refused(
        &["serve"],
        &[
            ("DATABASE_URL", GOOD_DB),
            ("POS_JWT_SECRET", JWT_SECRET),
            ("LOG_FORMAT", "yaml"),
        ],
        "LOG_FORMAT must be json or pretty",
    );
}

#[test]
fn bad_redis_url_and_pool_size() {
    refused(
        &["serve"],
        &[
            ("DATABASE_URL", GOOD_DB),
            ("POS_JWT_SECRET", JWT_SECRET),
            ("REDIS_URL", "localhost:6379"),
        ],
        "REDIS_URL must be a redis:// or rediss:// URL",
    );
    refused(
        &["migrate"],
        &[("DATABASE_URL", GOOD_DB), ("DB_POOL_SIZE", "0")],
        "DB_POOL_SIZE must be a whole number from 1 to 100",
    );
}

#[test]
fn usage_errors_exit_2_too() {
    let out = output(&mut pos(&["no-such-command"]));
    assert_eq!(out.status.code(), Some(2));
}
