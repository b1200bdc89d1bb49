//! `pos openapi`: write the API's OpenAPI document (or check the committed one).

use std::path::Path;

/// Where the document is committed, relative to the repository root.
pub const DEFAULT_PATH: &str = "openapi/openapi.json";

pub fn run(out: &Path, check: bool) -> anyhow::Result<()> {
    let document = pos_api::openapi_json_pretty();
    if check {
        let current = std::fs::read_to_string(out).unwrap_or_default();
        if current != document {
            anyhow::bail!(
                "{} is out of date; run `cargo run -p pos-server -- openapi` and commit it",
                out.display()
            );
        }
        println!("{} is up to date", out.display());
        return Ok(());
    }
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(out, &document).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", out.display()))?;
    println!("wrote {}", out.display());
    Ok(())
}
