//! `/api/v1/tokens`: per-host agent tokens, issued, listed and revoked by an admin.

use serde::{Deserialize, Serialize};

/// The body of `POST /api/v1/tokens`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueToken {
    /// The host the token may report as.
    pub host: String,
}

/// The answer of `POST /api/v1/tokens` (201): the token itself, shown only this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedToken {
    /// Its id, for `tokens revoke`.
    pub id: u64,
    /// The host it may report as.
    pub host: String,
    /// The token (`iwh_...`); the server keeps only its hash.
    pub token: String,
    /// When it was issued (RFC 3339).
    pub created_at: String,
}

/// One token in `GET /api/v1/tokens` (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    /// Its id.
    pub id: u64,
    /// The host it may report as.
    pub host: String,
    /// When it was issued (RFC 3339).
    pub created_at: String,
}

/// The answer of `GET /api/v1/tokens`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenList {
    /// Every live token, oldest first.
    pub tokens: Vec<TokenInfo>,
}

/// The answer of `DELETE /api/v1/tokens/{id}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revoked {
    /// The id revoked.
    pub revoked: u64,
}
