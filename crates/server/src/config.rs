//! Configuration from the environment (spec §8).
//!
//! Parsing works on a map, not on the process environment, so tests never mutate global
//! state. A missing or bad value is a [`ConfigError`] naming the variable; `main` prints it
//! as one line and exits with code 2. Secrets are `SecretString`s and the `Debug` output of
//! [`Config`] never shows them (URLs are shown with their password masked).

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

use pos_pesapal::{PesapalConfig, PesapalEnv};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

/// Every variable the server reads; `from_env` looks at these and nothing else.
pub const VARIABLES: &[&str] = &[
    "DATABASE_URL",
    "POS_JWT_SECRET",
    "JWT_TTL_HOURS",
    "REDIS_URL",
    "APP_BASE_URL",
    "APP_ORIGIN",
    "NEXT_PUBLIC_APP_ORIGIN",
    "BACKUP_DIR",
    "BACKUP_SCHEDULE",
    "PG_BIN_DIR",
    "UPLOAD_DIR",
    "CAFE_NAME",
    "PESAPAL_CONSUMER_KEY",
    "PESAPAL_CONSUMER_SECRET",
    "PESAPAL_ENV",
    "PESAPAL_IPN_ID",
    "BIND",
    "PORT",
    "WEB_DIR",
    "LOG_FORMAT",
    "RUST_LOG",
    "DB_POOL_SIZE",
    "BODY_TIMEOUT_SECS",
    "MAX_CONNECTIONS_PER_IP",
    "METRICS_ADDR",
];

pub const MIN_JWT_SECRET_LEN: usize = 16;
pub const DEFAULT_PORT: u16 = 3000;
pub const DEFAULT_POOL_SIZE: usize = 10;
pub const DEFAULT_JWT_TTL_HOURS: u32 = 8;
pub const DEFAULT_LOG_FILTER: &str = "info,actix_web=info";
/// Where `WEB_DIR` points when unset, if the SPA has been built there.
pub const DEFAULT_WEB_DIR: &str = "web/dist";

/// One bad or missing variable: `Display` is the whole line printed after `error: `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable} {message}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

impl ConfigError {
    pub fn new(variable: &'static str, message: impl Into<String>) -> Self {
        Self {
            variable,
            message: message.into(),
        }
    }
}

/// Which variables the command being run cannot do without.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Required {
    pub database_url: bool,
    pub jwt_secret: bool,
}

impl Required {
    /// `pos serve`.
    pub const SERVE: Required = Required {
        database_url: true,
        jwt_secret: true,
    };
    /// `pos migrate`, `pos seed`.
    pub const DATABASE: Required = Required {
        database_url: true,
        jwt_secret: false,
    };
    /// `pos dev`: brings its own database and development secret when these are unset.
    pub const NOTHING: Required = Required {
        database_url: false,
        jwt_secret: false,
    };
}

/// A connection URL that may carry a password: exposed only to the code that connects.
#[derive(Clone)]
pub struct SecretUrl(SecretString);

impl SecretUrl {
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// The URL with any password replaced by `***`, for logs.
    pub fn redacted(&self) -> String {
        redact_url(self.expose())
    }
}

impl From<String> for SecretUrl {
    fn from(url: String) -> Self {
        SecretUrl(SecretString::from(url))
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

fn redact_url(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(mut url) if url.password().is_some() => {
            // Setting a password only fails on URLs that cannot have one, which this has.
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        Ok(url) => url.to_string(),
        Err(_) => "<unparsable url>".to_owned(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

/// Where Pesapal's IPNs reach us, under `APP_BASE_URL`.
pub const PESAPAL_IPN_PATH: &str = "api/payments/pesapal/ipn";

#[derive(Clone)]
pub struct Config {
    pub database_url: Option<SecretUrl>,
    pub jwt_secret: Option<SecretString>,
    pub jwt_ttl_hours: u32,
    pub redis_url: Option<SecretUrl>,
    /// The public URL (`APP_BASE_URL`, default `http://127.0.0.1:<PORT>`).
    pub app_base_url: Url,
    /// The browser origin allowed to call the API (CORS, cookie checks), e.g. `https://pos.example`.
    /// Default: the origin of `app_base_url`.
    pub app_origin: String,
    pub backup_dir: PathBuf,
    /// `BACKUP_SCHEDULE`: a cron pattern (UTC) for automatic backups; `None`: none.
    pub backup_schedule: Option<croner::Cron>,
    /// `PG_BIN_DIR`: where `pg_dump`/`pg_restore` are; `None`: looked for (see `pos_postgres::backup`).
    pub pg_bin_dir: Option<PathBuf>,
    pub upload_dir: PathBuf,
    /// `None`: the seed decides the venue's name.
    pub cafe_name: Option<String>,
    /// Online payments: present only when both credentials are set. Its `Debug` redacts them.
    pub pesapal: Option<PesapalConfig>,
    /// `None` when `BIND` is unset: `serve` then listens on every interface, `dev` on loopback.
    pub bind: Option<IpAddr>,
    pub port: u16,
    pub web_dir: Option<PathBuf>,
    pub log_format: LogFormat,
    pub log_filter: String,
    pub db_pool_size: usize,
    /// How long a request body may take to arrive after its head (`BODY_TIMEOUT_SECS`).
    pub body_timeout: std::time::Duration,
    /// Open connections one client address may hold; `None` is unlimited
    /// (`MAX_CONNECTIONS_PER_IP=0`, for an instance only a proxy talks to).
    pub max_connections_per_ip: Option<usize>,
    /// Where `GET /metrics` is served (`METRICS_ADDR`); never on the public port.
    pub metrics: MetricsAddr,
}

/// The metrics listener's address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsAddr {
    /// `METRICS_ADDR` unset: loopback, [`DEFAULT_METRICS_PORT`]. Taken already (a second
    /// instance on the machine), the server logs it and serves without metrics.
    Default(std::net::SocketAddr),
    /// Set by the operator: failing to bind it stops start-up.
    Explicit(std::net::SocketAddr),
    /// `METRICS_ADDR=off`.
    Off,
}

/// The metrics listener's port when `METRICS_ADDR` is unset or names an address only
/// (Prometheus's customary port for an application exporter).
pub const DEFAULT_METRICS_PORT: u16 = 9464;

/// `off`, `IP` (port 9464) or `IP:PORT`; IPv6 as `[::1]:9464`.
fn parse_metrics_addr(raw: Option<&str>) -> Result<MetricsAddr, ConfigError> {
    use std::net::{Ipv4Addr, SocketAddr};
    let Some(raw) = raw.map(str::trim) else {
        return Ok(MetricsAddr::Default(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            DEFAULT_METRICS_PORT,
        )));
    };
    if raw.eq_ignore_ascii_case("off") {
        return Ok(MetricsAddr::Off);
    }
    if let Ok(address) = raw.parse::<SocketAddr>() {
        return Ok(MetricsAddr::Explicit(address));
    }
    if let Ok(ip) = raw.parse::<IpAddr>() {
        return Ok(MetricsAddr::Explicit(SocketAddr::new(ip, DEFAULT_METRICS_PORT)));
    }
    Err(ConfigError::new(
        "METRICS_ADDR",
        format!("must be off, an IP address or IP:PORT such as 127.0.0.1:9464, not {raw:?}"),
    ))
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &self.database_url)
            .field("jwt_secret", &self.jwt_secret.as_ref().map(|_| "***"))
            .field("jwt_ttl_hours", &self.jwt_ttl_hours)
            .field("redis_url", &self.redis_url)
            .field("app_base_url", &self.app_base_url.as_str())
            .field("app_origin", &self.app_origin)
            .field("backup_dir", &self.backup_dir)
            .field(
                "backup_schedule",
                &self.backup_schedule.as_ref().map(|c| c.pattern.to_string()),
            )
            .field("pg_bin_dir", &self.pg_bin_dir)
            .field("upload_dir", &self.upload_dir)
            .field("cafe_name", &self.cafe_name)
            .field("pesapal", &self.pesapal)
            .field("bind", &self.bind)
            .field("port", &self.port)
            .field("web_dir", &self.web_dir)
            .field("log_format", &self.log_format)
            .field("log_filter", &self.log_filter)
            .field("db_pool_size", &self.db_pool_size)
            .field("body_timeout", &self.body_timeout)
            .field("max_connections_per_ip", &self.max_connections_per_ip)
            .field("metrics", &self.metrics)
            .finish()
    }
}

/// What parsing needs to know about the machine besides the variables.
#[derive(Debug, Clone, Copy)]
pub struct Host {
    /// Logs default to pretty for a person at a terminal, JSON for a log collector.
    pub stderr_is_tty: bool,
    /// Whether `web/dist` exists, for the `WEB_DIR` default.
    pub default_web_dir_exists: bool,
}

impl Host {
    pub fn current() -> Host {
        use std::io::IsTerminal;
        Host {
            stderr_is_tty: std::io::stderr().is_terminal(),
            default_web_dir_exists: std::path::Path::new(DEFAULT_WEB_DIR).is_dir(),
        }
    }
}

/// Reads the process environment (only [`VARIABLES`]).
pub fn from_env(required: Required) -> Result<Config, ConfigError> {
    let mut vars = HashMap::new();
    for &name in VARIABLES {
        match std::env::var(name) {
            Ok(value) => {
                vars.insert(name, value);
            }
            Err(std::env::VarError::NotPresent) => {}
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(ConfigError::new(name, "is not valid UTF-8"));
            }
        }
    }
    parse(&vars, required, Host::current())
}

/// Parses the variables in `vars`. An empty value counts as unset (compose files often
/// write `REDIS_URL=` to mean "none").
pub fn parse(vars: &HashMap<&str, String>, required: Required, host: Host) -> Result<Config, ConfigError> {
    let get =
        |name: &'static str| -> Option<&str> { vars.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) };

    let database_url = match get("DATABASE_URL") {
        Some(raw) => Some(parse_database_url(raw)?),
        None if required.database_url => {
            return Err(ConfigError::new(
                "DATABASE_URL",
                "is required (e.g. postgres://user:password@host:5432/pos)",
            ));
        }
        None => None,
    };

    // The secret is taken untrimmed: whitespace a person put there is part of it.
    let jwt_secret = match vars.get("POS_JWT_SECRET").filter(|v| !v.is_empty()) {
        Some(raw) if raw.chars().count() < MIN_JWT_SECRET_LEN => {
            return Err(ConfigError::new(
                "POS_JWT_SECRET",
                format!("must be at least {MIN_JWT_SECRET_LEN} characters"),
            ));
        }
        Some(raw) => Some(SecretString::from(raw.clone())),
        None if required.jwt_secret => {
            return Err(ConfigError::new(
                "POS_JWT_SECRET",
                format!("is required (at least {MIN_JWT_SECRET_LEN} characters)"),
            ));
        }
        None => None,
    };

    let jwt_ttl_hours = parse_number(
        "JWT_TTL_HOURS",
        get("JWT_TTL_HOURS"),
        1..=720,
        DEFAULT_JWT_TTL_HOURS,
    )?;

    let redis_url = match get("REDIS_URL") {
        Some(raw) => {
            parse_url_with_schemes("REDIS_URL", raw, &["redis", "rediss"])?;
            Some(SecretUrl::from(raw.to_owned()))
        }
        None => None,
    };

    let port = parse_number("PORT", get("PORT"), 0..=u16::MAX, DEFAULT_PORT)?;

    let explicit_base_url = get("APP_BASE_URL")
        .map(|raw| parse_url_with_schemes("APP_BASE_URL", raw, &["http", "https"]))
        .transpose()?;
    let app_base_url = match &explicit_base_url {
        Some(url) => url.clone(),
        None => Url::parse(&format!("http://127.0.0.1:{port}/"))
            .map_err(|e| ConfigError::new("PORT", format!("gives no usable base URL: {e}")))?,
    };

    let app_origin = match (get("APP_ORIGIN"), get("NEXT_PUBLIC_APP_ORIGIN")) {
        (Some(raw), _) => parse_origin("APP_ORIGIN", raw)?,
        (None, Some(raw)) => parse_origin("NEXT_PUBLIC_APP_ORIGIN", raw)?,
        (None, None) => app_base_url.origin().ascii_serialization(),
    };

    let backup_dir = PathBuf::from(get("BACKUP_DIR").unwrap_or("backups/"));
    let backup_schedule = get("BACKUP_SCHEDULE")
        .filter(|raw| !raw.trim().is_empty())
        .map(|raw| {
            raw.trim()
                .parse::<croner::Cron>()
                .map_err(|e| ConfigError::new("BACKUP_SCHEDULE", format!("is not a cron pattern: {e}")))
        })
        .transpose()?;
    let pg_bin_dir = get("PG_BIN_DIR").map(PathBuf::from);
    let upload_dir = PathBuf::from(get("UPLOAD_DIR").unwrap_or("uploads/"));

    let cafe_name = get("CAFE_NAME")
        .map(|raw| {
            pos_domain::validate::Label::parse_field("CAFE_NAME", raw)
                .map(String::from)
                .map_err(|e| ConfigError::new("CAFE_NAME", e.message))
        })
        .transpose()?;

    // Only a base URL someone set is worth registering with Pesapal for IPNs.
    let pesapal = parse_pesapal(&get, explicit_base_url.as_ref())?;

    let bind = get("BIND")
        .map(|raw| {
            raw.parse::<IpAddr>().map_err(|_| {
                ConfigError::new(
                    "BIND",
                    format!("must be an IP address such as 0.0.0.0 or 127.0.0.1, not {raw:?}"),
                )
            })
        })
        .transpose()?;

    let web_dir = match get("WEB_DIR") {
        Some(raw) => Some(PathBuf::from(raw)),
        None if host.default_web_dir_exists => Some(PathBuf::from(DEFAULT_WEB_DIR)),
        None => None,
    };

    let log_format = match get("LOG_FORMAT").map(str::to_ascii_lowercase).as_deref() {
        Some("json") => LogFormat::Json,
        Some("pretty") => LogFormat::Pretty,
        Some(_) => return Err(ConfigError::new("LOG_FORMAT", "must be json or pretty")),
        None if host.stderr_is_tty => LogFormat::Pretty,
        None => LogFormat::Json,
    };
    let log_filter = get("RUST_LOG").unwrap_or(DEFAULT_LOG_FILTER).to_owned();
    if let Err(e) = tracing_subscriber::EnvFilter::try_new(&log_filter) {
        return Err(ConfigError::new(
            "RUST_LOG",
            format!("is not a valid log filter: {e}"),
        ));
    }

    let db_pool_size = parse_number("DB_POOL_SIZE", get("DB_POOL_SIZE"), 1..=100, DEFAULT_POOL_SIZE)?;

    let body_timeout_secs = parse_number(
        "BODY_TIMEOUT_SECS",
        get("BODY_TIMEOUT_SECS"),
        1..=3600,
        pos_api::limits::DEFAULT_BODY_TIMEOUT.as_secs(),
    )?;
    let max_connections_per_ip = parse_number(
        "MAX_CONNECTIONS_PER_IP",
        get("MAX_CONNECTIONS_PER_IP"),
        0..=1_000_000,
        pos_api::limits::DEFAULT_MAX_CONNECTIONS_PER_IP,
    )?;

    Ok(Config {
        database_url,
        jwt_secret,
        jwt_ttl_hours,
        redis_url,
        app_base_url,
        app_origin,
        backup_dir,
        backup_schedule,
        pg_bin_dir,
        upload_dir,
        cafe_name,
        pesapal,
        bind,
        port,
        web_dir,
        log_format,
        log_filter,
        db_pool_size,
        body_timeout: std::time::Duration::from_secs(body_timeout_secs),
        max_connections_per_ip: (max_connections_per_ip > 0).then_some(max_connections_per_ip),
        metrics: parse_metrics_addr(get("METRICS_ADDR"))?,
    })
}

fn parse_database_url(raw: &str) -> Result<SecretUrl, ConfigError> {
    parse_url_with_schemes("DATABASE_URL", raw, &["postgres", "postgresql"])?;
    Ok(SecretUrl::from(raw.to_owned()))
}

/// Parses a URL and checks its scheme. The error never repeats the value: it may hold a password.
fn parse_url_with_schemes(variable: &'static str, raw: &str, schemes: &[&str]) -> Result<Url, ConfigError> {
    let expected = schemes
        .iter()
        .map(|s| format!("{s}://"))
        .collect::<Vec<_>>()
        .join(" or ");
    let url =
        Url::parse(raw).map_err(|e| ConfigError::new(variable, format!("must be a {expected} URL ({e})")))?;
    if !schemes.contains(&url.scheme()) {
        return Err(ConfigError::new(
            variable,
            format!("must be a {expected} URL, not {}://", url.scheme()),
        ));
    }
    Ok(url)
}

/// A browser origin: scheme, host and optional port, nothing else.
fn parse_origin(variable: &'static str, raw: &str) -> Result<String, ConfigError> {
    let url = parse_url_with_schemes(variable, raw, &["http", "https"])?;
    let bare = url.path() == "/" && url.query().is_none() && url.fragment().is_none();
    if !bare || !url.username().is_empty() || url.host().is_none() {
        return Err(ConfigError::new(
            variable,
            "must be an origin like https://pos.example.com (no path, query or credentials)",
        ));
    }
    Ok(url.origin().ascii_serialization())
}

fn parse_number<T>(
    variable: &'static str,
    raw: Option<&str>,
    range: std::ops::RangeInclusive<T>,
    default: T,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + fmt::Display + Copy,
{
    let Some(raw) = raw else {
        return Ok(default);
    };
    let out_of_range = || {
        ConfigError::new(
            variable,
            format!(
                "must be a whole number from {} to {}, not {raw:?}",
                range.start(),
                range.end()
            ),
        )
    };
    let value = raw.parse::<T>().map_err(|_| out_of_range())?;
    if !range.contains(&value) {
        return Err(out_of_range());
    }
    Ok(value)
}

fn parse_pesapal<'a>(
    get: &impl Fn(&'static str) -> Option<&'a str>,
    app_base_url: Option<&Url>,
) -> Result<Option<PesapalConfig>, ConfigError> {
    let env = match get("PESAPAL_ENV").map(str::to_ascii_lowercase).as_deref() {
        None | Some("sandbox") => PesapalEnv::Sandbox,
        Some("live") => PesapalEnv::Live,
        Some(_) => return Err(ConfigError::new("PESAPAL_ENV", "must be sandbox or live")),
    };
    match (get("PESAPAL_CONSUMER_KEY"), get("PESAPAL_CONSUMER_SECRET")) {
        (Some(key), Some(secret)) => {
            let mut config = PesapalConfig::new(
                env,
                SecretString::from(key.to_owned()),
                SecretString::from(secret.to_owned()),
            );
            config.ipn_id = get("PESAPAL_IPN_ID").map(str::to_owned);
            // Without a registered IPN id the client registers this URL on first use.
            config.ipn_url = app_base_url.map(ipn_url);
            Ok(Some(config))
        }
        (Some(_), None) => Err(ConfigError::new(
            "PESAPAL_CONSUMER_SECRET",
            "is required when PESAPAL_CONSUMER_KEY is set",
        )),
        (None, Some(_)) => Err(ConfigError::new(
            "PESAPAL_CONSUMER_KEY",
            "is required when PESAPAL_CONSUMER_SECRET is set",
        )),
        (None, None) => Ok(None),
    }
}

/// `<APP_BASE_URL>/api/payments/pesapal/ipn`, whether or not the base ends in `/`.
fn ipn_url(base: &Url) -> String {
    format!("{}/{PESAPAL_IPN_PATH}", base.as_str().trim_end_matches('/'))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef";

    fn host() -> Host {
        Host {
            stderr_is_tty: false,
            default_web_dir_exists: false,
        }
    }

    fn vars(pairs: &[(&'static str, &str)]) -> HashMap<&'static str, String> {
        pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
    }

    fn serve(pairs: &[(&'static str, &str)]) -> Result<Config, ConfigError> {
        let mut all = vars(&[
            ("DATABASE_URL", "postgres://pos:hunter2hunter2@db:5432/pos"),
            ("POS_JWT_SECRET", SECRET),
        ]);
        all.extend(vars(pairs));
        parse(&all, Required::SERVE, host())
    }

    fn error_of(pairs: &[(&'static str, &str)]) -> String {
        serve(pairs).map(|_| ()).unwrap_err().to_string()
    }

    #[test]
    fn metrics_default_to_loopback_and_can_be_moved_or_switched_off() {
        use std::net::SocketAddr;
        let loopback: SocketAddr = "127.0.0.1:9464".parse().unwrap();
        assert_eq!(serve(&[]).unwrap().metrics, MetricsAddr::Default(loopback));
        assert_eq!(
            serve(&[("METRICS_ADDR", "off")]).unwrap().metrics,
            MetricsAddr::Off
        );
        assert_eq!(
            serve(&[("METRICS_ADDR", "10.0.0.5:9100")]).unwrap().metrics,
            MetricsAddr::Explicit("10.0.0.5:9100".parse().unwrap())
        );
        assert_eq!(
            serve(&[("METRICS_ADDR", "0.0.0.0")]).unwrap().metrics,
            MetricsAddr::Explicit("0.0.0.0:9464".parse().unwrap())
        );
        assert!(error_of(&[("METRICS_ADDR", "localhost:x")]).starts_with("METRICS_ADDR must be off"));
    }

    #[test]
    fn minimal_serve_config_takes_the_defaults() {
        let config = serve(&[]).unwrap();
        assert_eq!(config.port, 3000);
        assert_eq!(config.bind, None);
        assert_eq!(config.db_pool_size, 10);
        assert_eq!(config.jwt_ttl_hours, 8);
        assert_eq!(config.backup_dir, PathBuf::from("backups/"));
        assert_eq!(config.upload_dir, PathBuf::from("uploads/"));
        assert_eq!(config.log_format, LogFormat::Json);
        assert_eq!(config.log_filter, DEFAULT_LOG_FILTER);
        assert!(config.redis_url.is_none());
        assert!(config.pesapal.is_none());
        assert!(config.web_dir.is_none());
        assert!(config.cafe_name.is_none());
        assert_eq!(config.app_base_url.as_str(), "http://127.0.0.1:3000/");
        assert_eq!(config.app_origin, "http://127.0.0.1:3000");
        let on_8080 = serve(&[("PORT", "8080")]).unwrap();
        assert_eq!(on_8080.app_origin, "http://127.0.0.1:8080");
    }

    #[test]
    fn missing_database_url_is_named() {
        let only_secret = vars(&[("POS_JWT_SECRET", SECRET)]);
        let err = parse(&only_secret, Required::SERVE, host())
            .map(|_| ())
            .unwrap_err();
        assert_eq!(err.variable, "DATABASE_URL");
        assert!(err.to_string().starts_with("DATABASE_URL is required"));
        // Dev mode brings its own database.
        assert!(parse(&only_secret, Required::NOTHING, host()).is_ok());
    }

    #[test]
    fn empty_value_counts_as_missing() {
        let err = error_of(&[("DATABASE_URL", "  ")]);
        assert!(err.starts_with("DATABASE_URL is required"), "{err}");
    }

    #[test]
    fn malformed_database_url_is_named_without_echoing_it() {
        for bad in [
            "not a url",
            "mysql://root:pw@db/pos",
            "postgres://pos:secretpw@db:99999/pos",
        ] {
            let err = error_of(&[("DATABASE_URL", bad)]);
            assert!(
                err.starts_with("DATABASE_URL must be a postgres:// or postgresql:// URL"),
                "{err}"
            );
            assert!(!err.contains("secretpw"), "{err}");
        }
        let ok = serve(&[("DATABASE_URL", "postgresql:///pos?host=/var/run/postgresql")]);
        assert!(ok.is_ok());
    }

    #[test]
    fn jwt_secret_must_be_long_enough_and_present_for_serve() {
        assert_eq!(
            error_of(&[("POS_JWT_SECRET", "short")]),
            "POS_JWT_SECRET must be at least 16 characters"
        );
        let no_secret = vars(&[("DATABASE_URL", "postgres://db/pos")]);
        let err = parse(&no_secret, Required::SERVE, host())
            .map(|_| ())
            .unwrap_err();
        assert_eq!(err.variable, "POS_JWT_SECRET");
        // Migrate and seed do not sign tokens, but a bad secret is still refused.
        assert!(parse(&no_secret, Required::DATABASE, host()).is_ok());
        let mut short = no_secret.clone();
        short.insert("POS_JWT_SECRET", "0123456789abcde".to_owned());
        assert_eq!(
            parse(&short, Required::DATABASE, host())
                .map(|_| ())
                .unwrap_err()
                .variable,
            "POS_JWT_SECRET"
        );
    }

    #[test]
    fn redis_url_needs_a_redis_scheme() {
        assert_eq!(
            error_of(&[("REDIS_URL", "http://cache:6379")]),
            "REDIS_URL must be a redis:// or rediss:// URL, not http://"
        );
        let config = serve(&[("REDIS_URL", "rediss://:pw@cache:6380/0")]).unwrap();
        assert_eq!(config.redis_url.unwrap().expose(), "rediss://:pw@cache:6380/0");
    }

    #[test]
    fn port_must_be_a_port_number() {
        for bad in ["abc", "70000", "-1", "30.5"] {
            let err = error_of(&[("PORT", bad)]);
            assert!(
                err.starts_with("PORT must be a whole number from 0 to 65535"),
                "{err}"
            );
        }
        assert_eq!(serve(&[("PORT", "8080")]).unwrap().port, 8080);
    }

    #[test]
    fn bind_must_be_an_ip_address() {
        assert!(error_of(&[("BIND", "my host")]).starts_with("BIND must be an IP address"));
        assert_eq!(
            serve(&[("BIND", "::1")]).unwrap().bind,
            Some("::1".parse::<IpAddr>().unwrap())
        );
    }

    #[test]
    fn log_format_is_json_or_pretty_and_defaults_by_terminal() {
        assert_eq!(
            error_of(&[("LOG_FORMAT", "xml")]),
            "LOG_FORMAT must be json or pretty"
        );
        assert_eq!(
            serve(&[("LOG_FORMAT", "PRETTY")]).unwrap().log_format,
            LogFormat::Pretty
        );
        let base = vars(&[("DATABASE_URL", "postgres://db/pos")]);
        let tty = Host {
            stderr_is_tty: true,
            default_web_dir_exists: false,
        };
        assert_eq!(
            parse(&base, Required::DATABASE, tty).unwrap().log_format,
            LogFormat::Pretty
        );
    }

    #[test]
    fn bad_log_filter_is_named() {
        assert!(error_of(&[("RUST_LOG", "info,[=")]).starts_with("RUST_LOG is not a valid log filter"));
    }

    #[test]
    fn pool_size_is_bounded() {
        for bad in ["0", "101", "ten"] {
            assert!(
                error_of(&[("DB_POOL_SIZE", bad)])
                    .starts_with("DB_POOL_SIZE must be a whole number from 1 to 100")
            );
        }
        assert_eq!(serve(&[("DB_POOL_SIZE", "25")]).unwrap().db_pool_size, 25);
    }

    #[test]
    fn body_timeout_and_connection_limit_have_defaults_bounds_and_an_off_switch() {
        let defaults = serve(&[]).unwrap();
        assert_eq!(defaults.body_timeout, std::time::Duration::from_secs(30));
        assert_eq!(defaults.max_connections_per_ip, Some(512));
        let set = serve(&[("BODY_TIMEOUT_SECS", "5"), ("MAX_CONNECTIONS_PER_IP", "20")]).unwrap();
        assert_eq!(set.body_timeout, std::time::Duration::from_secs(5));
        assert_eq!(set.max_connections_per_ip, Some(20));
        assert_eq!(
            serve(&[("MAX_CONNECTIONS_PER_IP", "0")])
                .unwrap()
                .max_connections_per_ip,
            None
        );
        for bad in ["0", "-1", "abc", "3601"] {
            assert!(
                error_of(&[("BODY_TIMEOUT_SECS", bad)])
                    .starts_with("BODY_TIMEOUT_SECS must be a whole number from 1 to 3600"),
                "{bad}"
            );
        }
        assert!(
            error_of(&[("MAX_CONNECTIONS_PER_IP", "many")]).starts_with("MAX_CONNECTIONS_PER_IP must be")
        );
    }

    #[test]
    fn every_variable_is_documented_for_docker_and_in_the_readme() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let example = std::fs::read_to_string(root.join(".env.docker.example")).unwrap();
        let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
        for name in VARIABLES {
            let in_example = example.lines().any(|line| {
                let line = line.trim_start_matches(['#', ' ']);
                line.strip_prefix(name).is_some_and(|rest| rest.starts_with('='))
            });
            assert!(in_example, "{name} is missing from .env.docker.example");
            assert!(
                readme.contains(&format!("`{name}`")),
                "{name} is missing from README.md"
            );
        }
    }

    #[test]
    fn jwt_ttl_is_bounded() {
        assert!(error_of(&[("JWT_TTL_HOURS", "0")]).starts_with("JWT_TTL_HOURS must be"));
        assert_eq!(serve(&[("JWT_TTL_HOURS", "12")]).unwrap().jwt_ttl_hours, 12);
    }

    #[test]
    fn app_urls_are_checked() {
        assert!(error_of(&[("APP_BASE_URL", "ftp://x")]).starts_with("APP_BASE_URL must be"));
        assert!(
            error_of(&[("APP_ORIGIN", "https://pos.example/app")])
                .starts_with("APP_ORIGIN must be an origin")
        );
        assert!(
            error_of(&[("NEXT_PUBLIC_APP_ORIGIN", "nope")]).starts_with("NEXT_PUBLIC_APP_ORIGIN must be")
        );
        let config = serve(&[("NEXT_PUBLIC_APP_ORIGIN", "https://POS.example:8443/")]).unwrap();
        assert_eq!(config.app_origin, "https://pos.example:8443");
        let config = serve(&[
            ("APP_ORIGIN", "http://localhost:5173"),
            ("NEXT_PUBLIC_APP_ORIGIN", "https://ignored.example"),
        ])
        .unwrap();
        assert_eq!(config.app_origin, "http://localhost:5173");
        let config = serve(&[("APP_BASE_URL", "https://pos.example.com/till/")]).unwrap();
        assert_eq!(config.app_origin, "https://pos.example.com");
    }

    #[test]
    fn pesapal_needs_both_credentials_and_a_known_env() {
        assert_eq!(
            error_of(&[("PESAPAL_CONSUMER_KEY", "key")]),
            "PESAPAL_CONSUMER_SECRET is required when PESAPAL_CONSUMER_KEY is set"
        );
        assert_eq!(
            error_of(&[("PESAPAL_ENV", "production")]),
            "PESAPAL_ENV must be sandbox or live"
        );
        let config = serve(&[
            ("PESAPAL_CONSUMER_KEY", "key"),
            ("PESAPAL_CONSUMER_SECRET", "very-secret-value"),
            ("PESAPAL_ENV", "live"),
            ("PESAPAL_IPN_ID", "ipn-1"),
            ("APP_BASE_URL", "https://pos.example.com/"),
        ])
        .unwrap();
        let pesapal = config.pesapal.unwrap();
        assert_eq!(pesapal.base_url, PesapalEnv::Live.base_url());
        assert_eq!(pesapal.consumer_secret.expose_secret(), "very-secret-value");
        assert_eq!(pesapal.ipn_id.as_deref(), Some("ipn-1"));
        assert_eq!(
            pesapal.ipn_url.as_deref(),
            Some("https://pos.example.com/api/payments/pesapal/ipn")
        );
        let sandbox = serve(&[
            ("PESAPAL_CONSUMER_KEY", "key"),
            ("PESAPAL_CONSUMER_SECRET", "very-secret-value"),
        ])
        .unwrap()
        .pesapal
        .unwrap();
        assert_eq!(sandbox.base_url, PesapalEnv::Sandbox.base_url());
        assert_eq!(sandbox.ipn_url, None);
    }

    #[test]
    fn cafe_name_is_a_label() {
        let long = "x".repeat(81);
        assert!(error_of(&[("CAFE_NAME", &long)]).starts_with("CAFE_NAME must be at most 80"));
        assert_eq!(
            serve(&[("CAFE_NAME", " Kampala Corner ")])
                .unwrap()
                .cafe_name
                .as_deref(),
            Some("Kampala Corner")
        );
    }

    #[test]
    fn web_dir_defaults_to_the_built_spa_when_present() {
        let base = vars(&[("DATABASE_URL", "postgres://db/pos")]);
        let with_spa = Host {
            stderr_is_tty: false,
            default_web_dir_exists: true,
        };
        let config = parse(&base, Required::DATABASE, with_spa).unwrap();
        assert_eq!(config.web_dir, Some(PathBuf::from("web/dist")));
        assert_eq!(
            serve(&[("WEB_DIR", "/srv/spa")]).unwrap().web_dir,
            Some(PathBuf::from("/srv/spa"))
        );
    }

    #[test]
    fn debug_never_shows_secrets() {
        let config = serve(&[
            ("REDIS_URL", "redis://:redispassword@cache:6379"),
            ("PESAPAL_CONSUMER_KEY", "pesapal-key-value"),
            ("PESAPAL_CONSUMER_SECRET", "pesapal-secret-value"),
        ])
        .unwrap();
        let shown = format!("{config:?}");
        for secret in [
            SECRET,
            "hunter2hunter2",
            "redispassword",
            "pesapal-key-value",
            "pesapal-secret-value",
        ] {
            assert!(!shown.contains(secret), "{secret} leaked in {shown}");
        }
        assert!(shown.contains("postgres://pos:***@db:5432/pos"), "{shown}");
    }
}
