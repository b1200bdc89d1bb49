//! Logging: `tracing` to stderr, JSON for log collectors or pretty for people.
//!
//! Logs go to stderr so that what a command prints on stdout (the listening URL, the seed
//! summary) stays machine-readable. The API crate opens a span with the request id around
//! every request, so each line logged while handling it carries that id.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber. `filter` was validated when the config was parsed.
pub fn init(format: LogFormat, filter: &str) -> anyhow::Result<()> {
    let filter = quiet_client_protocol_errors(filter, EnvFilter::try_new(filter)?)?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
    installed.map_err(|e| anyhow::anyhow!("cannot install the log subscriber: {e}"))
}

/// actix-http logs a client's malformed request (a NUL byte in a header, a broken chunk) at
/// ERROR as "stream error" from its connection dispatcher, after answering it 400 and before
/// any of our code runs. A client's protocol error is not a server fault, so that target is
/// silenced unless the operator's filter names `actix_http` itself.
fn quiet_client_protocol_errors(text: &str, filter: EnvFilter) -> anyhow::Result<EnvFilter> {
    if text.contains("actix_http") {
        return Ok(filter);
    }
    Ok(filter.add_directive("actix_http::h1::dispatcher=off".parse()?))
}
