//! Logging setup. `RUST_LOG` overrides the default filter.

use tracing_subscriber::{EnvFilter, fmt};

/// Installs the global subscriber (once; later calls are ignored). Logs go to standard
/// error so that standard output carries only what a command prints for people and scripts.
pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=error,tower_http=warn"));
    let _ = fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .try_init();
}
