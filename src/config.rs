//! Configuration, read once at start-up from flags and environment variables (a `.env` file
//! in the working directory is loaded first when present). Secrets never reach `Debug` output.

use std::fmt;

/// A secret string whose `Debug` and `Display` never show the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

/// Where the database is and how many connections to keep.
#[derive(Clone, clap::Args)]
pub struct DatabaseArgs {
    /// `sqlite://FILE` (default, created when missing) or `postgres://user:pass@host/db`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://ai-dialer.db",
        global = true,
        hide_env_values = true
    )]
    pub database_url: String,

    /// Most pooled database connections.
    #[arg(
        long,
        env = "DATABASE_MAX_CONNECTIONS",
        default_value_t = 10,
        global = true
    )]
    pub database_max_connections: u32,
}

impl fmt::Debug for DatabaseArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseArgs")
            .field("database_url", &redact_url(&self.database_url))
            .field("database_max_connections", &self.database_max_connections)
            .finish()
    }
}

/// Settings for `ai-dialer serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "BIND", default_value = "127.0.0.1:3000")]
    pub bind: String,

    /// Email of the admin created on first start when no user exists.
    #[arg(long, env = "DIALER_ADMIN_EMAIL", default_value = "admin@example.com")]
    pub admin_email: String,

    /// Password for that first admin; a random one is generated and printed when unset.
    #[arg(long, env = "DIALER_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<Secret>,

    /// The URL people and webhooks reach this server at, e.g. `https://dialer.example.com`.
    /// When it is https, session cookies are marked Secure.
    #[arg(long, env = "PUBLIC_URL")]
    pub public_url: Option<String>,
}

/// Shows a database URL with any password replaced, for logs and `Debug`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_passwords() {
        assert_eq!(
            redact_url("postgres://u:hunter2@db:5432/x"),
            "postgres://u:***@db:5432/x"
        );
        assert_eq!(redact_url("sqlite://ai-dialer.db"), "sqlite://ai-dialer.db");
    }

    #[test]
    fn secrets_do_not_debug_print() {
        assert_eq!(
            format!("{:?}", Secret::new("hunter2")),
            "Secret([redacted])"
        );
    }
}
