//! Errors of console pages, rendered as HTML.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use crate::error::ApiError;

/// A console request that failed. A missing or expired session redirects to
/// the login page; the other cases render an error page with the status.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("login required")]
    LoginRequired,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for ConsoleError {
    fn from(error: sqlx::Error) -> Self {
        ConsoleError::Internal(anyhow::Error::new(error).context("database query failed"))
    }
}

impl From<ApiError> for ConsoleError {
    fn from(error: ApiError) -> Self {
        match error {
            ApiError::Unauthorized => ConsoleError::LoginRequired,
            ApiError::Forbidden(message) => ConsoleError::Forbidden(message),
            ApiError::NotFound(message) => ConsoleError::NotFound(message),
            ApiError::Conflict(message) => ConsoleError::Conflict(message),
            ApiError::BadRequest(message)
            | ApiError::Unprocessable(message)
            | ApiError::Rejected(_, message) => ConsoleError::BadRequest(message),
            ApiError::Unavailable(message) => ConsoleError::Internal(anyhow::anyhow!(message)),
            ApiError::Internal(error) => ConsoleError::Internal(error),
        }
    }
}

impl ConsoleError {
    fn status(&self) -> StatusCode {
        match self {
            ConsoleError::LoginRequired => StatusCode::SEE_OTHER,
            ConsoleError::Forbidden(_) => StatusCode::FORBIDDEN,
            ConsoleError::NotFound(_) => StatusCode::NOT_FOUND,
            ConsoleError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ConsoleError::Conflict(_) => StatusCode::CONFLICT,
            ConsoleError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        if let ConsoleError::LoginRequired = self {
            return Redirect::to("/console/login").into_response();
        }
        let status = self.status();
        match &self {
            ConsoleError::Internal(error) => {
                tracing::error!(error = format!("{error:#}"), "console request failed")
            }
            _ => {
                tracing::info!(status = status.as_u16(), error = %self, "console request rejected")
            }
        }
        let body = maud::html! {
            h1 { (status.as_u16()) " " (status.canonical_reason().unwrap_or("")) }
            p.error { (self.to_string()) }
            p { a href="/console" { "Back to the overview" } }
        };
        (status, super::layout::page("Error", None, body)).into_response()
    }
}
