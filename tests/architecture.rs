//! The dependency direction of the hexagon, read from `cargo metadata` so it cannot rot:
//! the domain depends on no IO crate, adapters never depend on each other or on the API,
//! and the API never reaches for an adapter (only the server wires them together).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// Crates that do IO or own a runtime; none may be reachable from `pos-domain`.
const IO_CRATES: &[&str] = &[
    "actix-web",
    "actix-rt",
    "actix-http",
    "actix-server",
    "diesel",
    "deadpool",
    "deadpool-diesel",
    "pq-sys",
    "fred",
    "redis",
    "reqwest",
    "hyper",
    "jsonwebtoken",
    "tokio",
    "mio",
    "sqlx",
];

const ADAPTERS: &[&str] = &["pos-postgres", "pos-redis", "pos-pesapal"];

struct Graph {
    /// package name -> names of its normal (non-dev, non-build) dependencies
    normal_deps: BTreeMap<String, BTreeSet<String>>,
}

impl Graph {
    fn load() -> Graph {
        let output = Command::new(env!("CARGO"))
            .args(["metadata", "--format-version", "1", "--manifest-path"])
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml"))
            .output()
            .expect("cargo metadata runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let meta: Value = serde_json::from_slice(&output.stdout).expect("metadata is JSON");
        let names: BTreeMap<&str, &str> = meta["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
            .collect();
        let mut normal_deps = BTreeMap::new();
        for node in meta["resolve"]["nodes"].as_array().unwrap() {
            let name = names[node["id"].as_str().unwrap()].to_owned();
            let deps: BTreeSet<String> = node["deps"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| {
                    d["dep_kinds"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|k| k["kind"].is_null())
                })
                .map(|d| names[d["pkg"].as_str().unwrap()].to_owned())
                .collect();
            normal_deps.entry(name).or_insert_with(BTreeSet::new).extend(deps);
        }
        Graph { normal_deps }
    }

    fn direct(&self, package: &str) -> &BTreeSet<String> {
        self.normal_deps
            .get(package)
            .unwrap_or_else(|| panic!("{package} is not in the workspace"))
    }

    fn transitive(&self, package: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![package.to_owned()];
        while let Some(next) = stack.pop() {
            for dep in self.normal_deps.get(&next).into_iter().flatten() {
                if seen.insert(dep.clone()) {
                    stack.push(dep.clone());
                }
            }
        }
        seen
    }
}

#[test]
fn domain_depends_on_no_io_crate() {
    let graph = Graph::load();
    let reachable = graph.transitive("pos-domain");
    let offending: Vec<&str> = IO_CRATES
        .iter()
        .copied()
        .filter(|c| reachable.contains(*c))
        .collect();
    assert!(offending.is_empty(), "pos-domain reaches IO crates {offending:?}");
    let workspace: Vec<&String> = reachable.iter().filter(|d| d.starts_with("pos-")).collect();
    assert!(
        workspace.is_empty(),
        "pos-domain must depend on no other pos crate, found {workspace:?}"
    );
}

#[test]
fn adapters_depend_only_on_the_domain() {
    let graph = Graph::load();
    for adapter in ADAPTERS {
        let forbidden: Vec<String> = graph
            .transitive(adapter)
            .into_iter()
            .filter(|d| d.starts_with("pos-") && d != "pos-domain")
            .collect();
        assert!(forbidden.is_empty(), "{adapter} depends on {forbidden:?}");
        assert!(
            graph.direct(adapter).contains("pos-domain"),
            "{adapter} should implement domain ports"
        );
    }
}

#[test]
fn api_knows_the_domain_but_no_adapter() {
    let graph = Graph::load();
    let reachable = graph.transitive("pos-api");
    assert!(reachable.contains("pos-domain"));
    for adapter in ADAPTERS.iter().chain(&["pos-server"]) {
        assert!(
            !reachable.contains(*adapter),
            "pos-api must not depend on {adapter}"
        );
    }
}

#[test]
fn only_the_server_wires_every_crate() {
    let graph = Graph::load();
    let server = graph.direct("pos-server");
    for krate in ADAPTERS.iter().chain(&["pos-api", "pos-domain"]) {
        assert!(server.contains(*krate), "pos-server should wire {krate}");
    }
    for (package, deps) in &graph.normal_deps {
        if package != "pos-server" {
            assert!(
                !deps.contains("pos-server"),
                "{package} depends on the binary crate"
            );
        }
    }
}

#[test]
fn test_support_is_never_a_normal_dependency() {
    let graph = Graph::load();
    for (package, deps) in &graph.normal_deps {
        assert!(
            !deps.contains("pos-testkit"),
            "{package} depends on pos-testkit outside [dev-dependencies]"
        );
    }
}

#[test]
fn the_checker_sees_a_forbidden_edge_when_there_is_one() {
    // Guards the test itself: the server reaches tokio and diesel, so the same walk used
    // above must report them for it.
    let graph = Graph::load();
    let reachable = graph.transitive("pos-server");
    assert!(reachable.contains("tokio") && reachable.contains("diesel"));
}
