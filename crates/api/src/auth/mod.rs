//! Authentication. For now, password and PIN hashing; sessions and guards build on it.

pub mod hasher;

pub use hasher::Argon2Hasher;
