//! Fingerprints the migration set, so a changed schema gets a new template database instead
//! of tests running against a stale one, and re-embeds the migrations when they change.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

const MIGRATIONS_DIR: &str = "../../migrations";

fn main() -> io::Result<()> {
    println!("cargo:rerun-if-changed={MIGRATIONS_DIR}");
    let root = Path::new(MIGRATIONS_DIR);
    let mut files = Vec::new();
    collect(root, &mut files)?;
    files.sort();
    // FNV-1a: deterministic across Rust versions, unlike std's hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for file in files {
        let relative = file
            .strip_prefix(root)
            .unwrap_or(&file)
            .to_string_lossy()
            .into_owned();
        for byte in relative.bytes().chain([0]).chain(fs::read(&file)?).chain([0]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    println!("cargo:rustc-env=POS_TESTKIT_MIGRATIONS_HASH={hash:016x}");
    Ok(())
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, files)?;
        } else {
            files.push(path);
        }
    }
    Ok(())
}
