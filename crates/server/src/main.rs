//! `pos`: the point-of-sale server binary.
//!
//! Commands live in their own modules; this file parses the command line, runs one, and
//! turns its outcome into an exit code: 0 success, 1 failure, 2 bad configuration or setup
//! (a `ConfigError` or a `SetupError`), always with a single `error: …` line on stderr.

mod allocator;
mod audit_cli;
mod backup_cli;
mod bench;
mod bench_reports;
mod config;
mod dev;
mod http;
mod metrics_probe;
mod migrate;
mod openapi;
mod pg_cluster;
mod retention;
mod seed;
mod seed_file;
mod serve;
mod shutdown;
mod telemetry;
mod web_bundle;
mod wiring;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "pos", version, about = "Restaurant and café point-of-sale server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server (applies pending migrations first). Needs DATABASE_URL and POS_JWT_SECRET.
    Serve,
    /// Apply pending database migrations and exit. Needs DATABASE_URL.
    Migrate,
    /// Load the demo venue (staff, terminals, tables, menu, settings); a second run adds nothing.
    Seed(SeedArgs),
    /// Write the OpenAPI document of the API.
    Openapi(OpenapiArgs),
    /// Run everything on this machine: a private PostgreSQL under ./var/postgres (unless
    /// DATABASE_URL is set), migrated and seeded, served on http://127.0.0.1:3000.
    Dev(DevArgs),
    /// Measure a running server: order placement throughput and latency, send → KDS delay
    /// over many event streams, and its peak memory (see docs/benchmarks.md).
    Bench(Box<bench::BenchArgs>),
    /// Measure GET /api/menu on a large catalogue (default 20,000 products; --prepare adds
    /// them through the admin API), with and without If-None-Match (see docs/benchmarks.md).
    BenchMenu(Box<bench::menu::MenuBenchArgs>),
    /// Time the reports and the Z report over a year of a busy café written into an empty
    /// database at DATABASE_URL (see docs/benchmarks.md).
    BenchReports(bench_reports::BenchReportsArgs),
    /// Back up the database at DATABASE_URL into BACKUP_DIR (pg_dump custom format, with a
    /// FILE.sha256 beside it); prints the backup's name, size, SHA-256 and path.
    Backup,
    /// Restore a backup into the (empty) database at DATABASE_URL, after checking its SHA-256.
    Restore(backup_cli::RestoreArgs),
    /// The audit log: `pos audit verify` checks its hash chain (DATABASE_URL).
    #[command(subcommand)]
    Audit(audit_cli::AuditCommand),
}

#[derive(Debug, Args)]
struct SeedArgs {
    /// The venue data file [default: seed/havilah.json if present, else the built-in copy].
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct OpenapiArgs {
    /// Where to write the document.
    #[arg(long, value_name = "PATH", default_value = openapi::DEFAULT_PATH)]
    out: PathBuf,
    /// Write nothing; exit 1 if the file differs from what would be written.
    #[arg(long)]
    check: bool,
}

#[derive(Debug, Args)]
struct DevArgs {
    /// The venue data file to seed [default: seed/havilah.json if present, else the built-in copy].
    #[arg(long, value_name = "PATH")]
    seed_file: Option<PathBuf>,
}

/// A problem with how `pos` is set up (as opposed to a failure while running): exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SetupError(pub String);

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Serve => run_async(serve::run()),
        Command::Migrate => run_async(migrate::run()),
        Command::Seed(args) => run_async(seed::run(args.file)),
        Command::Openapi(args) => openapi::run(&args.out, args.check),
        Command::Dev(args) => run_async(dev::run(args.seed_file)),
        Command::Bench(args) => bench::run(*args),
        Command::BenchMenu(args) => bench::menu::run(*args),
        Command::BenchReports(args) => bench_reports::run(args),
        Command::Backup => run_async(backup_cli::backup()),
        Command::Restore(args) => run_async(backup_cli::restore(args)),
        Command::Audit(command) => run_async(audit_cli::run(command)),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // `{:#}` joins the cause chain into one line; keep it one line whatever a cause says.
            let line = format!("{error:#}").replace(['\n', '\r'], " ");
            eprintln!("error: {line}");
            let setup = error.downcast_ref::<config::ConfigError>().is_some()
                || error.downcast_ref::<SetupError>().is_some();
            if setup {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// Loads the configuration a command needs and starts logging.
fn startup(required: config::Required) -> anyhow::Result<config::Config> {
    let config = config::from_env(required)?;
    telemetry::init(config.log_format, &config.log_filter)?;
    Ok(config)
}

/// Runs a command on actix's runtime (which HTTP serving needs; the other commands don't
/// mind it).
fn run_async(command: impl std::future::Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(command)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn openapi_defaults_to_the_committed_path() {
        let cli = Cli::try_parse_from(["pos", "openapi"]).map_err(|e| e.to_string());
        match cli.map(|c| c.command) {
            Ok(Command::Openapi(args)) => {
                assert_eq!(args.out, PathBuf::from("openapi/openapi.json"));
                assert!(!args.check);
            }
            other => panic!("unexpected parse: {other:?}"),
        }
    }

    #[test]
    fn unknown_command_is_refused() {
        assert!(Cli::try_parse_from(["pos", "frobnicate"]).is_err());
    }
}
