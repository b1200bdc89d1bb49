//! `pos audit verify`: walks the audit log's hash chain with the database URL (no token:
//! whoever holds `DATABASE_URL` can read the log anyway) through the same domain walk as
//! `GET /api/admin/audit/verify`, and names the first altered row.

use clap::Subcommand;
use pos_domain::access::walk_audit_chain;

use crate::config::Required;
use crate::wiring;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain from the first row to the last; exit 1 naming the first row that
    /// was altered, deleted or inserted out of the chain.
    Verify,
}

/// Runs `pos audit …`. `Ok` only when the chain holds.
pub async fn run(command: AuditCommand) -> anyhow::Result<()> {
    match command {
        AuditCommand::Verify => verify().await,
    }
}

async fn verify() -> anyhow::Result<()> {
    let config = crate::startup(Required::DATABASE)?;
    let url = config
        .database_url
        .clone()
        .ok_or_else(|| anyhow::anyhow!("DATABASE_URL is required"))?;
    let store = wiring::connect_store(&url, 1).await?;
    let verdict = walk_audit_chain(&store)
        .await
        .map_err(|e| anyhow::anyhow!("reading the audit log: {e}"))?;
    match verdict.broken {
        None => {
            println!(
                "audit chain intact: {} rows, last hash {}",
                verdict.rows_checked, verdict.last_hash
            );
            Ok(())
        }
        Some(broken) => {
            tracing::error!(row = broken.row_id(), %broken, "the audit chain is broken");
            println!(
                "audit chain BROKEN at row {} ({} intact rows before it)",
                broken.row_id(),
                verdict.rows_checked
            );
            Err(anyhow::anyhow!("{broken}"))
        }
    }
}
