//! Server state in SQLite or PostgreSQL through sqlx's `Any` driver.
//!
//! Queries are checked at run time (`sqlx::query`), because no database
//! exists at build time. They use `$1` placeholders, which both SQLite and
//! PostgreSQL accept.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::{AnyPool, Row};

use crate::auth::Role;
use crate::secret;

/// Migrations, embedded so that the binary carries them.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "initial", include_str!("../migrations/0001_initial.sql")),
    (2, "tasks", include_str!("../migrations/0002_tasks.sql")),
    (
        3,
        "rules_jobs_webhooks",
        include_str!("../migrations/0003_rules_jobs_webhooks.sql"),
    ),
    (
        4,
        "identity_rematch",
        include_str!("../migrations/0004_identity_rematch.sql"),
    ),
    (
        5,
        "console sessions",
        include_str!("../migrations/0005_console_sessions.sql"),
    ),
    (
        6,
        "rematch claims",
        include_str!("../migrations/0006_rematch_claims.sql"),
    ),
    (
        7,
        "host package names",
        include_str!("../migrations/0007_host_package_names.sql"),
    ),
    (
        8,
        "matched digest",
        include_str!("../migrations/0008_matched_digest.sql"),
    ),
];

/// Connection pools of the server database.
///
/// SQLite lets one connection write at a time, so its write pool has one
/// connection. Its reader pool has a few more, which read the last committed
/// state while a write transaction runs (write-ahead log). On PostgreSQL
/// both are the same pool.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    reader: AnyPool,
}

/// Connections of the SQLite reader pool.
const SQLITE_READERS: u32 = 4;

/// Opens a pool of at most `connections` connections to `url` that runs
/// `pragmas` on each connection it opens.
async fn open_pool(
    url: &str,
    connections: u32,
    pragmas: &'static [&'static str],
) -> Result<AnyPool, sqlx::Error> {
    AnyPoolOptions::new()
        .max_connections(connections)
        .after_connect(move |connection, _| {
            Box::pin(async move {
                for pragma in pragmas {
                    sqlx::query(pragma).execute(&mut *connection).await?;
                }
                Ok(())
            })
        })
        .connect(url)
        .await
}

/// Returns `url` with any user name and password left out, for messages.
fn without_credentials(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((_, host)) => format!("{scheme}://{host}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// Returns the current time as RFC 3339 text in UTC with microseconds.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

impl Store {
    /// Connects to `url` (`sqlite://…` or `postgres://…`) and applies the migrations.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let sqlite = url.starts_with("sqlite:");
        // Per connection, so set whenever the pool opens one. SQLite leaves
        // foreign keys off unless asked. The write-ahead log lets readers of
        // other processes go on during a write and makes a commit one append.
        // With synchronous NORMAL a power cut may lose the last commits, but
        // it does not corrupt the file. The 64 MiB page cache keeps the findings
        // indexes in memory while uploads write. A statement that writes many
        // rows keeps its undo journal in memory rather than in a temporary
        // file. A checkpoint every 64 MiB of log instead of every 4 MiB syncs
        // the database file less often inside some upload's commit.
        const WRITER: &[&str] = &[
            "PRAGMA foreign_keys = ON",
            "PRAGMA journal_mode = WAL",
            "PRAGMA synchronous = NORMAL",
            "PRAGMA cache_size = -65536",
            "PRAGMA temp_store = MEMORY",
            "PRAGMA busy_timeout = 5000",
            "PRAGMA wal_autocheckpoint = 16384",
        ];
        // query_only makes a write through a reader fail instead of
        // competing with the write pool.
        const READER: &[&str] = &[
            "PRAGMA query_only = ON",
            "PRAGMA cache_size = -16384",
            "PRAGMA busy_timeout = 5000",
        ];
        let (connections, pragmas) = if sqlite { (1, WRITER) } else { (8, &[][..]) };
        let pool = open_pool(url, connections, pragmas)
            .await
            .map_err(|error| {
                anyhow::anyhow!(
                    "failed to open the server database {}: {error}; check that the database \
                     server is running and that the URL (--database) is right",
                    without_credentials(url)
                )
            })?;
        Migrator::new(EmbeddedMigrations)
            .await?
            .run(&pool)
            .await
            .map_err(|error| anyhow::anyhow!("failed to migrate the server database: {error}"))?;
        let reader = if sqlite {
            open_pool(url, SQLITE_READERS, READER)
                .await
                .map_err(|error| {
                    anyhow::anyhow!(
                        "failed to open the server database {} for reading: {error}",
                        without_credentials(url)
                    )
                })?
        } else {
            pool.clone()
        };
        Ok(Self { pool, reader })
    }

    /// Returns the connection pool, for queries and transactions.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Returns the pool for reads outside a transaction that may see the
    /// state before a write that runs at the same time: on SQLite they then
    /// do not wait for the write connection.
    pub fn reader(&self) -> &AnyPool {
        &self.reader
    }

    /// Creates the first admin and an API token for it when no user exists yet.
    ///
    /// Returns the token, which exists nowhere else in clear: the caller prints it once.
    pub async fn create_first_admin(&self) -> anyhow::Result<Option<String>> {
        let mut transaction = self.pool.begin().await?;
        let count: i64 = sqlx::query("SELECT COUNT(*) FROM users")
            .fetch_one(&mut *transaction)
            .await?
            .try_get(0)?;
        if count > 0 {
            return Ok(None);
        }

        let created = create_user(&mut transaction, "server", "admin", Role::Admin).await?;
        transaction.commit().await?;
        Ok(Some(created.token))
    }
}

/// A new user and its first API token in clear.
pub struct CreatedUser {
    pub user_id: String,
    pub token: String,
}

/// Issues an API token named `name` for the user `user_id` and stores its
/// digest inside `transaction`; the returned token is the only clear copy.
pub async fn insert_api_token(
    transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
    user_id: &str,
    name: &str,
    at: &str,
) -> anyhow::Result<secret::IssuedToken> {
    let token = secret::issue(secret::USER_TOKEN, &secret::new_id()?)?;
    sqlx::query("INSERT INTO api_tokens (id, user_id, name, secret_hash, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(&token.id)
        .bind(user_id)
        .bind(name)
        .bind(&token.secret_hash)
        .bind(at)
        .execute(&mut **transaction)
        .await?;
    Ok(token)
}

/// Creates a user with one API token inside `transaction`, with an audit row naming `actor`.
pub async fn create_user(
    transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
    actor: &str,
    name: &str,
    role: Role,
) -> anyhow::Result<CreatedUser> {
    let user_id = secret::new_id()?;
    let at = now();
    sqlx::query("INSERT INTO users (id, name, role, created_at) VALUES ($1, $2, $3, $4)")
        .bind(&user_id)
        .bind(name)
        .bind(role.as_str())
        .bind(&at)
        .execute(&mut **transaction)
        .await?;
    let token = insert_api_token(transaction, &user_id, "initial", &at).await?;
    audit(
        transaction,
        actor,
        "user.create",
        Some(&user_id),
        serde_json::json!({ "name": name, "role": role.as_str() }),
    )
    .await?;
    Ok(CreatedUser {
        user_id,
        token: token.token,
    })
}

/// Writes one audit row inside `transaction`.
pub async fn audit(
    transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
    actor: &str,
    action: &str,
    target: Option<&str>,
    detail: serde_json::Value,
) -> anyhow::Result<()> {
    sqlx::query("INSERT INTO audit_log (id, at, actor, action, target, detail_json) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(secret::new_id()?)
        .bind(now())
        .bind(actor)
        .bind(action)
        .bind(target)
        .bind(detail.to_string())
        .execute(&mut **transaction)
        .await?;
    Ok(())
}

/// Reads an optional text column.
pub fn text(row: &AnyRow, column: &str) -> Result<Option<String>, sqlx::Error> {
    row.try_get::<Option<String>, _>(column)
}

/// The embedded migrations as a sqlx migration source.
#[derive(Debug)]
struct EmbeddedMigrations;

impl MigrationSource<'static> for EmbeddedMigrations {
    fn resolve(self) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send>> {
        let migrations = MIGRATIONS
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    Cow::Borrowed(*description),
                    MigrationType::Simple,
                    Cow::Borrowed(*sql),
                    false,
                )
            })
            .collect();
        Box::pin(std::future::ready(Ok(migrations)))
    }
}

#[cfg(test)]
mod tests {
    use super::without_credentials;

    #[test]
    fn credentials_left_out_of_url() {
        assert_eq!(
            without_credentials("postgres://vulnloop:secret@127.0.0.1:5432/fleet"),
            "postgres://127.0.0.1:5432/fleet"
        );
        assert_eq!(
            without_credentials("sqlite:///var/lib/vulnloop/server.db?mode=rwc"),
            "sqlite:///var/lib/vulnloop/server.db?mode=rwc"
        );
    }
}
