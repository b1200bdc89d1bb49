//! Authentication and access control.
//!
//! - [`token`]: HS256 session tokens (and the CSRF tokens bound to them).
//! - [`sessions`]: [`AuthConfig`] and [`Sessions`], the per-process keys and state.
//! - [`extractor`]: [`Authenticated`], how every protected handler learns its actor, and
//!   [`Authenticated::require`], the one permission guard (the domain's matrix decides).
//! - [`cookies`]: the `pos_session` and `pos_csrf` cookies.
//! - [`credentials`]: argon2 checks off the async executor, with equal work for unknown users.
//! - [`hasher`]: argon2id behind the domain's `PasswordHasher` port.

pub mod access;
pub mod cookies;
pub mod credentials;
pub mod extractor;
pub mod hasher;
pub mod sessions;
pub mod token;

pub use extractor::{Authenticated, AuthenticatedAllowingPasswordChange, Credential};
pub use hasher::Argon2Hasher;
pub use sessions::{AuthConfig, Sessions, StartedSession};
