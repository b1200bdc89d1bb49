//! SIGINT and SIGTERM, caught from the moment a long-running command starts.
//!
//! `pos` handles the signals itself instead of leaving them to actix: `pos dev` must be
//! able to stop its PostgreSQL cluster whether a signal arrives while it is still starting
//! (initdb, migrations, seeding) or while it serves, and one listener for the whole run
//! leaves no gap in which a signal would be lost.

use tokio::signal::unix::{Signal, SignalKind, signal};

pub struct ShutdownSignals {
    interrupt: Signal,
    terminate: Signal,
}

impl ShutdownSignals {
    /// From now on SIGINT and SIGTERM no longer end the process: they are reported by
    /// [`ShutdownSignals::received`]. Needs a running tokio runtime.
    pub fn install() -> anyhow::Result<ShutdownSignals> {
        Ok(ShutdownSignals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// Resolves with the signal's name when one arrives (including one that arrived since
    /// `install`).
    pub async fn received(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }
}
