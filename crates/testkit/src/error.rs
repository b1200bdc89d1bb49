use std::fmt;

/// Why a test database or Redis could not be provided. The message says what to install or
/// set, since it is what a developer sees when a test cannot start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestkitError(pub String);

impl TestkitError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl fmt::Display for TestkitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TestkitError {}

impl From<diesel::result::Error> for TestkitError {
    fn from(e: diesel::result::Error) -> Self {
        Self(format!("postgres: {e}"))
    }
}

impl From<diesel::ConnectionError> for TestkitError {
    fn from(e: diesel::ConnectionError) -> Self {
        Self(format!("postgres connection: {e}"))
    }
}

impl From<std::io::Error> for TestkitError {
    fn from(e: std::io::Error) -> Self {
        Self(format!("io: {e}"))
    }
}
