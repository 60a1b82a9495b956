//! Bearer token authentication and role checks.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use sqlx::Row;

use crate::error::ApiError;
use crate::secret;
use crate::store::text;
use crate::AppState;

/// Role of a user; each role may do everything the roles below it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Reads hosts, findings and vulnerabilities.
    Viewer,
    /// A viewer who may also start scans and fixes.
    Operator,
    /// An operator who may also manage users and enrollment tokens.
    Admin,
}

impl Role {
    /// Returns the name stored in the database and sent in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    /// Parses a role name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "viewer" => Some(Role::Viewer),
            "operator" => Some(Role::Operator),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub enum Principal {
    User { id: String, role: Role },
    Agent { host_id: String },
}

impl Principal {
    /// Returns the audit log's name of the caller.
    pub fn actor(&self) -> String {
        match self {
            Principal::User { id, .. } => format!("user:{id}"),
            Principal::Agent { host_id } => format!("agent:{host_id}"),
        }
    }

    /// Returns the user id when the caller is a user with at least `role`.
    pub fn require(&self, role: Role) -> Result<&str, ApiError> {
        match self {
            Principal::User { id, role: held } if *held >= role => Ok(id),
            Principal::User { .. } => {
                Err(ApiError::Forbidden("your role does not allow this request"))
            }
            Principal::Agent { .. } => {
                Err(ApiError::Forbidden("agent tokens cannot make this request"))
            }
        }
    }

    /// Returns the host id when the caller is an agent.
    pub fn require_agent(&self) -> Result<&str, ApiError> {
        match self {
            Principal::Agent { host_id } => Ok(host_id),
            Principal::User { .. } => Err(ApiError::Forbidden(
                "only an agent token can make this request",
            )),
        }
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or(ApiError::Unauthorized)?;
        let token = header
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or(ApiError::Unauthorized)?
            .trim();

        if let Some((id, secret)) = secret::parse(secret::USER_TOKEN, token) {
            return authenticate_user(state, id, secret).await;
        }
        if let Some((id, secret)) = secret::parse(secret::AGENT_TOKEN, token) {
            return authenticate_agent(state, id, secret).await;
        }
        Err(ApiError::Unauthorized)
    }
}

/// Returns the user of a `vlu_` token after checking its secret; 401 when
/// the token is unknown, revoked or wrong.
pub(crate) async fn authenticate_user(
    state: &AppState,
    token_id: &str,
    secret: &str,
) -> Result<Principal, ApiError> {
    let row = sqlx::query(
        "SELECT t.secret_hash, u.id AS user_id, u.role FROM api_tokens t JOIN users u ON u.id = t.user_id
         WHERE t.id = $1 AND t.revoked_at IS NULL",
    )
    .bind(token_id)
    .fetch_optional(state.store.reader())
    .await?
    .ok_or(ApiError::Unauthorized)?;

    let secret_hash: String = row.try_get("secret_hash")?;
    if !secret::verify(secret, &secret_hash) {
        return Err(ApiError::Unauthorized);
    }
    let role: String = row.try_get("role")?;
    let role =
        Role::parse(&role).ok_or_else(|| anyhow::anyhow!("user has the unknown role {role:?}"))?;
    Ok(Principal::User {
        id: row.try_get("user_id")?,
        role,
    })
}

async fn authenticate_agent(
    state: &AppState,
    host_id: &str,
    secret: &str,
) -> Result<Principal, ApiError> {
    let row = sqlx::query(
        "SELECT agent_secret_hash FROM hosts WHERE id = $1 AND agent_revoked_at IS NULL",
    )
    .bind(host_id)
    .fetch_optional(state.store.reader())
    .await?
    .ok_or(ApiError::Unauthorized)?;
    let secret_hash = text(&row, "agent_secret_hash")?.unwrap_or_default();
    if !secret::verify(secret, &secret_hash) {
        return Err(ApiError::Unauthorized);
    }
    Ok(Principal::Agent {
        host_id: host_id.to_string(),
    })
}
