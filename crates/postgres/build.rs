//! The migrations are embedded at compile time: rebuild when any of them changes
//! (diesel#3119), or the binary would silently carry a stale schema.

fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
