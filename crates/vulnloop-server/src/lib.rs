//! The vulnloop fleet server: agents enroll and upload their host inventories,
//! the server matches them against the advisory database and keeps each host's
//! findings with a lifecycle status, and people read them through `/api/v1`.
//!
//! [`app`] builds the router over an [`AppState`], so tests drive it without
//! sockets; [`run`] opens the database, creates the first admin and serves.
// The OpenAPI document is one json! literal, deeper than the default limit.
#![recursion_limit = "512"]

mod api;
pub mod auth;
pub mod console;
mod error;
mod identity;
mod ingest;
pub mod jobs;
pub mod matching;
pub mod openapi;
pub mod rematch;
pub mod rules;
pub mod secret;
pub mod settings;
pub mod store;
pub mod tasks;
pub mod tls;
pub mod webhooks;

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

pub use error::ApiError;
pub use store::Store;

/// Largest inventory upload in bytes: it bounds the memory one request can
/// make the server spend on parsing. NOTE: chosen without measuring the
/// largest real inventories; raise it if a large host is rejected with 413.
pub const MAX_INVENTORY_BYTES: usize = 16 * 1024 * 1024;

/// State shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// Advisory database file; without one, uploads are stored but not matched.
    pub advisory_db: Option<PathBuf>,
    /// Open handles of `advisory_db`, shared by every match.
    pub matcher: Option<std::sync::Arc<matching::MatchPool>>,
}

impl AppState {
    /// Creates the state over an open store and an optional advisory database
    /// file, with one concurrent match per CPU.
    pub fn new(store: Store, advisory_db: Option<PathBuf>) -> Self {
        let parallel = std::thread::available_parallelism().map_or(1, usize::from);
        let matcher = advisory_db
            .as_ref()
            .map(|path| std::sync::Arc::new(matching::MatchPool::new(path.clone(), parallel)));
        Self {
            store,
            advisory_db,
            matcher,
        }
    }
}

/// Builds the router of the `/api/v1` routes and the console pages.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/api/v1/health", get(api::health))
        .route("/api/v1/openapi.json", get(api::openapi))
        .route(
            "/api/v1/users",
            get(identity::list_users).post(api::create_user),
        )
        .route(
            "/api/v1/users/{id}/tokens",
            post(identity::create_user_token).delete(identity::revoke_user_tokens),
        )
        .route(
            "/api/v1/enrollment-tokens",
            get(identity::list_enrollment_tokens).post(api::create_enrollment_token),
        )
        .route(
            "/api/v1/enrollment-tokens/{id}",
            delete(identity::revoke_enrollment_token),
        )
        .route("/api/v1/agent-tokens", get(identity::list_agent_tokens))
        .route(
            "/api/v1/agent-tokens/{id}",
            delete(identity::revoke_agent_token),
        )
        .route("/api/v1/audit-log", get(identity::audit_log))
        .route("/api/v1/agents/enroll", post(api::enroll))
        .route(
            "/api/v1/agents/self/inventory",
            put(api::upload_inventory).layer(DefaultBodyLimit::max(MAX_INVENTORY_BYTES)),
        )
        .route("/api/v1/hosts", get(api::list_hosts))
        .route("/api/v1/hosts/{id}/findings", get(api::host_findings))
        .route("/api/v1/vulnerabilities/{id}", get(api::vulnerability))
        .route("/api/v1/tasks", post(api::create_task).get(api::list_tasks))
        .route("/api/v1/tasks/{id}", get(api::get_task))
        .route("/api/v1/agents/self/tasks", get(api::claim_tasks))
        .route(
            "/api/v1/agents/self/tasks/{id}/result",
            post(api::report_task),
        )
        .route("/api/v1/hosts/{id}/group", put(api::set_host_group))
        .route(
            "/api/v1/ignore-rules",
            post(api::create_ignore_rule).get(api::list_ignore_rules),
        )
        .route("/api/v1/ignore-rules/{id}", delete(api::delete_ignore_rule))
        .route(
            "/api/v1/settings",
            get(api::get_settings).put(api::update_settings),
        )
        .route(
            "/api/v1/webhooks",
            post(api::create_webhook).get(api::list_webhooks),
        )
        .route("/api/v1/webhooks/{id}", delete(api::delete_webhook))
        .route("/api/v1/job-runs", get(api::list_job_runs))
        .merge(console::router())
        .fallback(|| async { ApiError::NotFound("no such route".to_string()) })
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("request handler panicked");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        axum::Json(serde_json::json!({ "error": "internal error" })),
    )
        .into_response()
}

/// Settings of `vulnloop server`.
#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub data_dir: PathBuf,
    /// Database URL; `None` means `server.db` in `data_dir`.
    pub database: Option<String>,
    pub advisory_db: Option<PathBuf>,
    /// How often the server checks whether the advisory database file
    /// changed, and then re-matches the hosts whose packages it affects.
    pub advisory_db_check: std::time::Duration,
    pub tls: Option<TlsFiles>,
    /// Serve HTTPS with the self-signed certificate even on a loopback address.
    pub tls_self_signed: bool,
    /// Serve plain HTTP on a non-loopback address.
    pub insecure_http: bool,
    /// Runs every background job at this interval instead of its own.
    pub job_interval: Option<std::time::Duration>,
}

/// Transport of the listening socket.
enum Transport {
    Plain,
    Tls(TlsFiles),
}

/// PEM certificate chain and private key files.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Chooses the transport. Certificate files come first. Without them,
/// loopback and `--insecure-http` get plain HTTP, and anything else gets the
/// self-signed certificate, made in the data directory on first start.
///
/// Loopback stays plain HTTP unless `--tls-self-signed` is given, because
/// traffic on loopback does not leave the machine.
fn choose_transport(config: &Config) -> anyhow::Result<Transport> {
    if let Some(files) = &config.tls {
        return Ok(Transport::Tls(files.clone()));
    }
    if !config.tls_self_signed && (config.insecure_http || config.bind.ip().is_loopback()) {
        return Ok(Transport::Plain);
    }
    Ok(Transport::Tls(tls::self_signed(
        &config.data_dir,
        config.bind,
    )?))
}

/// Opens the database, creates the first admin on first start, and serves
/// until SIGINT or SIGTERM.
///
/// Prints the first admin's token (once, on first start) and the listening
/// address on stdout; logs go to stderr.
pub async fn run(config: Config) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.data_dir).with_context(|| {
        format!(
            "failed to create the data directory {}",
            config.data_dir.display()
        )
    })?;
    let transport = choose_transport(&config)?;
    let url = match &config.database {
        Some(url) => url.clone(),
        None => format!(
            "sqlite://{}?mode=rwc",
            config.data_dir.join("server.db").display()
        ),
    };
    let store = Store::connect(&url).await?;
    if let Some(token) = store.create_first_admin().await? {
        println!("first start: created the user admin; its API token, shown only now:");
        println!("admin token: {token}");
    }
    if let Some(path) = &config.advisory_db {
        vulnloop_db::Database::open(path)
            .with_context(|| format!("failed to open the advisory database {}", path.display()))?;
    } else {
        tracing::warn!(
            "no advisory database given (--advisory-db): inventories are stored but not matched"
        );
    }

    let mut jobs = jobs::default_jobs();
    if let Some(interval) = config.job_interval {
        for job in &mut jobs {
            job.interval = interval;
        }
    }
    let instance_id = secret::new_id()?;
    let runner = tokio::spawn(jobs::run(store.clone(), jobs, instance_id));

    let state = AppState::new(store, config.advisory_db.clone());
    rematch::spawn_watch(&state, config.advisory_db_check);
    let router = app(state);
    let served = match &transport {
        Transport::Plain => serve_plain(config.bind, router).await,
        // The console sets its cookies Secure when this extension is present.
        Transport::Tls(files) => {
            let router = router.layer(axum::Extension(console::ServedOverTls));
            tls::serve_tls(config.bind, files, router).await
        }
    };
    runner.abort();
    served
}

async fn serve_plain(bind: SocketAddr, router: Router) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("failed to listen on {bind}"))?;
    let address = listener.local_addr()?;
    announce(&format!("http://{address}"));
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("server stopped");
    Ok(())
}

pub(crate) fn announce(url: &str) {
    use std::io::Write;
    println!("listening on {url}");
    // Tests and service managers read this line through a pipe.
    let _ = std::io::stdout().flush();
    tracing::info!(%url, "server started");
}

pub(crate) async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(error) => {
                    tracing::error!(%error, "failed to listen for SIGTERM");
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    tracing::info!("shutdown requested");
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn config(bind: &str, data_dir: &std::path::Path) -> Config {
        Config {
            bind: bind.parse().unwrap(),
            data_dir: data_dir.to_path_buf(),
            database: None,
            advisory_db: None,
            advisory_db_check: std::time::Duration::from_secs(60),
            tls: None,
            tls_self_signed: false,
            insecure_http: false,
            job_interval: None,
        }
    }

    #[test]
    fn loopback_stays_plain_http() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            choose_transport(&config("127.0.0.1:0", dir.path())).unwrap(),
            Transport::Plain
        ));
        assert!(!dir.path().join(tls::SELF_SIGNED_CERT).exists());
    }

    #[test]
    fn other_address_gets_self_signed() {
        // Only the choice is tested: nothing binds to the address.
        let dir = tempfile::tempdir().unwrap();
        let Transport::Tls(files) = choose_transport(&config("0.0.0.0:8443", dir.path())).unwrap()
        else {
            panic!("a non-loopback address without certificate files must get TLS");
        };
        assert_eq!(files.cert, dir.path().join(tls::SELF_SIGNED_CERT));
        assert!(files.key.exists());
    }

    #[test]
    fn insecure_http_keeps_plain() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = config("0.0.0.0:8443", dir.path());
        config.insecure_http = true;
        assert!(matches!(
            choose_transport(&config).unwrap(),
            Transport::Plain
        ));
    }
}
