//! The HTTP error type: a status and the wire `{"error": {"code", "message"}}` body.
//!
//! The message is written for the client; server-side details go to the log only.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use idlewatch_protocol::{ErrorBody, ErrorCode};
use serde_json::json;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
}

impl ApiError {
    /// An error with an explicit status.
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            body: ErrorBody::new(code, message),
        }
    }

    /// 401: no or unknown credentials.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized, message)
    }

    /// 403: valid credentials, insufficient role.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden, message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, message)
    }

    /// 500, for a fault whose detail is in the server log.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            message,
        )
    }

    /// 503: a dependency (the store) cannot serve right now.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Unavailable,
            message,
        )
    }

    /// The same error with `more` added to its message.
    #[must_use]
    pub fn hint(mut self, more: &str) -> Self {
        self.body.message.push_str(more);
        self
    }

    /// The HTTP status of this error.
    #[must_use]
    pub fn status_code(&self) -> StatusCode {
        self.status
    }
}

impl From<idlewatch_store::Error> for ApiError {
    /// A store failure as an answer: an unknown host is 404; a store that is busy, stopping or
    /// cannot write for now is 503 (ask again later); anything else is 500, its detail logged.
    fn from(e: idlewatch_store::Error) -> Self {
        match e {
            idlewatch_store::Error::UnknownHost(host) => {
                Self::not_found(format!("no host named {host:?} is known"))
            }
            e if e.is_transient() => {
                tracing::warn!("store unavailable for a request: {e}");
                Self::unavailable(format!(
                    "the store cannot serve this right now ({e}); retry later"
                ))
            }
            e => {
                tracing::error!("store failure: {e}");
                Self::internal("the store failed; the server log says why")
            }
        }
    }
}

impl From<crate::auth::issued::IssueError> for ApiError {
    fn from(e: crate::auth::issued::IssueError) -> Self {
        match e {
            crate::auth::issued::IssueError::Store(e) => Self::from(e),
            e @ crate::auth::issued::IssueError::Random(_) => {
                tracing::error!("{e}");
                Self::internal("no token could be generated; the server log says why")
            }
        }
    }
}

impl From<crate::report::daily::Error> for ApiError {
    fn from(e: crate::report::daily::Error) -> Self {
        match e {
            crate::report::daily::Error::Store(e) => Self::from(e),
            e @ crate::report::daily::Error::Time(_) => ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::BadRequest,
                format!("the range cannot be counted in the report's time zone ({e})"),
            ),
        }
    }
}

/// Runs `work` (store calls) on the blocking pool, its failure as an answer; `what` names the
/// work in the log when the task itself dies.
///
/// # Errors
/// The store's error as [`ApiError::from`] maps it, or 500 when the task panicked.
pub async fn blocking<T: Send + 'static, E: Into<ApiError> + Send + 'static>(
    what: &'static str,
    work: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, ApiError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(Into::into),
        Err(e) => {
            tracing::error!("{what} failed: {e}");
            Err(ApiError::internal(format!("{what} failed")))
        }
    }
}

/// 400 with the message (a malformed request parameter).
pub fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::BadRequest, message)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(json!({ "error": self.body }))).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"idlewatch\""),
            );
        }
        response
    }
}

/// Answer for unknown routes.
pub async fn fallback(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("no route for {}", uri.path()))
}
