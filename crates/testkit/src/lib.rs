//! `pos-testkit`: real PostgreSQL and Redis for tests, with no shared state between tests.
//!
//! - [`TestDb::new`] gives each test its own database, cloned from a template that was
//!   migrated once (per schema version) with the project's `migrations/`. The server comes
//!   from `TEST_DATABASE_URL`, else `postgres@127.0.0.1:5432` when it answers, else a private
//!   Unix-socket cluster started for the run (see [`postgres`]). The database is dropped when
//!   the `TestDb` is; leftovers of crashed runs older than an hour are swept.
//! - [`TestRedis::new`] gives a Redis URL (`TEST_REDIS_URL`, else `127.0.0.1:6379` when it
//!   answers PING, else a `redis-server` started for the run) and a key/channel prefix no
//!   other test uses.
//! - [`pesapal::FakePesapal`] is a scriptable Pesapal API 3.0 over real HTTP.
//!
//! Everything here is for tests: constructors panic with a message saying what is missing;
//! the `try_` variants return the error instead.

mod cluster;
mod error;
pub mod pesapal;
pub mod postgres;
mod process;
pub mod redis;

pub use error::TestkitError;
pub use postgres::TestDb;
pub use redis::TestRedis;
