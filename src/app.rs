//! Building and serving the application, shared by `ai-dialer serve` and the tests.

use std::{future::Future, sync::Arc, time::Duration};

use axum::Router;
use tokio::net::TcpListener;

use crate::{
    auth::{check_new_password, hash_password, random_password},
    config::IntegrationSecrets,
    dialer::{Dialer, DialerOptions, clock::Clock},
    domain::{email::Email, user::Role},
    http::{AppState, rate_limit::LoginLimiter, routes},
    integrations::{
        calcom::{CalcomClient, CalcomConfig},
        resend::{ResendClient, ResendConfig},
        vapi::{VapiClient, VapiConfig},
    },
    store::Store,
};

/// Everything needed to serve requests.
pub struct App {
    pub router: Router,
    pub state: AppState,
}

/// What the application is built from, besides its store.
#[derive(Clone, Default)]
pub struct BuildOptions {
    pub public_url: Option<String>,
    pub vapi: Option<VapiConfig>,
    pub calcom: Option<CalcomConfig>,
    pub resend: Option<ResendConfig>,
    pub secrets: IntegrationSecrets,
    pub sandbox: Option<crate::sandbox::Sandbox>,
    pub clock: Clock,
    pub dialer: DialerOptions,
}

/// Assembles the router and its shared state around an open, migrated store.
pub fn build(store: Store, options: BuildOptions) -> App {
    let (public_api, private_api, doc) = routes::api_parts();
    let openapi_json = doc.to_pretty_json().unwrap_or_else(|_| "{}".into());
    let dialer = Dialer::new(
        store.clone(),
        options.vapi.map(VapiClient::new),
        options.resend.map(ResendClient::new),
        options.clock,
        options.dialer,
    );
    let state = AppState {
        store,
        limiter: Arc::new(LoginLimiter::default()),
        public_url: options.public_url,
        openapi_json: Arc::new(openapi_json),
        dialer,
        calcom: options.calcom.map(CalcomClient::new),
        sandbox: options.sandbox,
        secrets: Arc::new(options.secrets),
        status_cache: Default::default(),
        imports: Default::default(),
    };
    let router = routes::build(state.clone(), public_api, private_api);
    App { router, state }
}

/// A client gets this long to send a request's headers; slow-loris connections that
/// trickle them in are closed rather than held open.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a stop waits for open requests (event streams never end by themselves).
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `router` on `listener` until `shutdown` resolves, then finishes in-flight requests
/// (for at most [`DRAIN_TIMEOUT`]).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::{
        rt::{TokioIo, TokioTimer},
        server::graceful::GracefulShutdown,
        service::TowerToHyperService,
    };
    use tower::ServiceExt;

    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                // Out of file descriptors and the like: wait a moment rather than spin.
                Err(err) => {
                    tracing::warn!(error = %err, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service =
            router
                .clone()
                .map_request(move |req: hyper::Request<hyper::body::Incoming>| {
                    let mut req = req.map(axum::body::Body::new);
                    req.extensions_mut()
                        .insert(axum::extract::ConnectInfo(peer));
                    req
                });
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT)
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(err) = conn.await {
                tracing::debug!(error = %err, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections were still open after {DRAIN_TIMEOUT:?}; closing them");
    }
    Ok(())
}

/// The admin created on first start, for printing once.
pub struct FirstAdmin {
    pub email: String,
    /// Set when the password was generated rather than given.
    pub generated_password: Option<String>,
}

/// Creates the first admin when no user exists yet; `None` when users already exist.
pub async fn ensure_admin(
    store: &Store,
    email: &str,
    password: Option<&str>,
) -> anyhow::Result<Option<FirstAdmin>> {
    if store.count_users().await? > 0 {
        return Ok(None);
    }
    let email =
        Email::parse_field("DIALER_ADMIN_EMAIL", email).map_err(|e| anyhow::anyhow!("{e}"))?;
    let (password, generated) = match password {
        Some(p) => {
            check_new_password(p).map_err(|m| anyhow::anyhow!("DIALER_ADMIN_PASSWORD {m}"))?;
            (p.to_owned(), None)
        }
        None => {
            let p = random_password();
            (p.clone(), Some(p))
        }
    };
    let hash = hash_password(password).await?;
    match store.create_user(email.as_str(), &hash, Role::Admin).await {
        Ok(user) => Ok(Some(FirstAdmin {
            email: user.email,
            generated_password: generated,
        })),
        // Another instance created the first admin at the same moment.
        Err(e) if e.is_conflict_on("email") => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
