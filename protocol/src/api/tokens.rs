//! `/api/v1/tokens`: tokens an admin issues, lists and revokes — per-host agent tokens, and
//! viewer tokens scoped to groups (labs), which read only those labs everywhere.

use serde::{Deserialize, Serialize};

/// The body of `POST /api/v1/tokens`: `{"host": "pc-07"}` (an agent token) or
/// `{"viewer": true, "groups": ["Lab CTI"]}` (a viewer token of those labs).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueToken {
    /// The host an agent token may report as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// A viewer token rather than an agent token.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub viewer: bool,
    /// The groups a viewer token may read (at least one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
}

/// The most groups one viewer token may read.
pub const MAX_TOKEN_GROUPS: usize = 64;

/// The answer of `POST /api/v1/tokens` (201): the token itself, shown only this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedToken {
    /// Its id, for `tokens revoke`.
    pub id: u64,
    /// An agent token's host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// A viewer token's groups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// The token (`iwh_...` for an agent, `iwv_...` for a viewer); the server keeps only its
    /// hash.
    pub token: String,
    /// When it was issued (RFC 3339).
    pub created_at: String,
}

/// One token in `GET /api/v1/tokens` (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    /// Its id.
    pub id: u64,
    /// An agent token's host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// A viewer token's groups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
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
