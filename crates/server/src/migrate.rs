//! `pos migrate`: apply pending migrations and exit.

use crate::config::Required;
use crate::wiring;

pub async fn run() -> anyhow::Result<()> {
    let config = crate::startup(Required::DATABASE)?;
    let database_url = config
        .database_url
        .ok_or_else(|| anyhow::anyhow!("DATABASE_URL is required"))?;
    let applied = wiring::migrate(&database_url).await?;
    println!("migrate: applied {} migration(s)", applied.len());
    Ok(())
}
