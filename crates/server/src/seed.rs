//! `pos seed`: load the demo venue; a second run adds nothing.

use std::path::PathBuf;

use pos_domain::seed::SeedReport;

use crate::SetupError;
use crate::config::Required;
use crate::seed_file::SeedSource;
use crate::wiring;

pub async fn run(file: Option<PathBuf>) -> anyhow::Result<()> {
    let config = crate::startup(Required::DATABASE)?;
    let database_url = config
        .database_url
        .clone()
        .ok_or_else(|| anyhow::anyhow!("DATABASE_URL is required"))?;
    // A bad file is a setup problem (exit 2) found before touching the database.
    let source = SeedSource::resolve(file);
    let parsed = source.load().map_err(|e| SetupError(format!("{e:#}")))?;
    let store = wiring::connect_store(&database_url, 2).await?;
    let report = wiring::seed(&store, parsed, config.cafe_name.as_deref()).await?;
    tracing::info!(source = %source.describe(), ?report, "seed finished");
    println!("{}", summary(&report));
    Ok(())
}

/// One line, the same shape whether or not anything was added.
pub fn summary(report: &SeedReport) -> String {
    format!(
        "seed: added {} staff, {} terminals, {} tables, {} categories, {} products, settings: {}",
        report.staff,
        report.terminals,
        report.tables,
        report.categories,
        report.products,
        if report.settings { "added" } else { "unchanged" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_is_one_line_with_every_count() {
        let report = SeedReport {
            staff: 14,
            terminals: 3,
            tables: 15,
            categories: 2,
            products: 96,
            settings: true,
        };
        assert_eq!(
            summary(&report),
            "seed: added 14 staff, 3 terminals, 15 tables, 2 categories, 96 products, settings: added"
        );
        assert_eq!(
            summary(&SeedReport::default()),
            "seed: added 0 staff, 0 terminals, 0 tables, 0 categories, 0 products, settings: unchanged"
        );
    }
}
