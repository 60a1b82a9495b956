//! The vulnloop fleet server: agents enroll and upload their host inventories,
//! the server matches them against the advisory database and keeps each host's
//! findings with a lifecycle status, and people read them through `/api/v1`.
//!
//! [`app`] builds the router over an [`AppState`], so tests drive it without
//! sockets; [`run`] opens the database, creates the first admin and serves.

mod api;
pub mod auth;
pub mod console;
mod error;
mod ingest;
pub mod jobs;
pub mod openapi;
pub mod rules;
pub mod secret;
pub mod settings;
pub mod store;
pub mod tasks;
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
}

/// Builds the router of the `/api/v1` routes and the console pages.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/api/v1/health", get(api::health))
        .route("/api/v1/openapi.json", get(api::openapi))
        .route("/api/v1/users", post(api::create_user))
        .route(
            "/api/v1/enrollment-tokens",
            post(api::create_enrollment_token),
        )
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
    pub tls: Option<TlsFiles>,
    /// Serve plain HTTP on a non-loopback address.
    pub insecure_http: bool,
    /// Runs every background job at this interval instead of its own.
    pub job_interval: Option<std::time::Duration>,
}

/// PEM certificate chain and private key files.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Checks the transport settings before anything is opened.
fn check_transport(config: &Config) -> anyhow::Result<()> {
    if config.tls.is_none() && !config.insecure_http && !config.bind.ip().is_loopback() {
        anyhow::bail!(
            "plain HTTP on the non-loopback address {} would send tokens in clear; \
             give --tls-cert and --tls-key, or --insecure-http to accept that",
            config.bind
        );
    }
    Ok(())
}

/// Opens the database, creates the first admin on first start, and serves
/// until SIGINT or SIGTERM.
///
/// Prints the first admin's token (once, on first start) and the listening
/// address on stdout; logs go to stderr.
pub async fn run(config: Config) -> anyhow::Result<()> {
    check_transport(&config)?;
    std::fs::create_dir_all(&config.data_dir).with_context(|| {
        format!(
            "failed to create the data directory {}",
            config.data_dir.display()
        )
    })?;
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

    let router = app(AppState {
        store,
        advisory_db: config.advisory_db.clone(),
    });
    let served = match &config.tls {
        None => serve_plain(config.bind, router).await,
        // The console sets its cookies Secure when this extension is present.
        Some(files) => {
            serve_tls(
                config.bind,
                files,
                router.layer(axum::Extension(console::ServedOverTls)),
            )
            .await
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

async fn serve_tls(bind: SocketAddr, files: &TlsFiles, router: Router) -> anyhow::Result<()> {
    // Several crates may link rustls; an already installed provider is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(&files.cert, &files.key)
        .await
        .with_context(|| {
            format!(
                "failed to load the TLS certificate {} and key {}",
                files.cert.display(),
                files.key.display()
            )
        })?;
    let handle = axum_server::Handle::new();
    let server = axum_server::bind_rustls(bind, tls)
        .handle(handle.clone())
        .serve(router.into_make_service());
    let server = tokio::spawn(server);
    let address = handle
        .listening()
        .await
        .with_context(|| format!("failed to listen on {bind}"))?;
    announce(&format!("https://{address}"));
    shutdown_signal().await;
    handle.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
    server.await.context("server task failed")??;
    tracing::info!("server stopped");
    Ok(())
}

fn announce(url: &str) {
    use std::io::Write;
    println!("listening on {url}");
    // Tests and service managers read this line through a pipe.
    let _ = std::io::stdout().flush();
    tracing::info!(%url, "server started");
}

async fn shutdown_signal() {
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
