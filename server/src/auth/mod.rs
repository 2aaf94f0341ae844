//! Who may do what, in one place: the three role tokens ([`roles`]: the token file, roles,
//! refusals), the tokens an admin issues ([`issued`]: per-host agent tokens and viewer tokens
//! scoped to labs, [`scope`]), where a caller presents its token ([`presented`]), and
//! [`caller_of`], which maps a presented token to a [`Caller`]. It knows nothing of HTTP or
//! Socket.IO: the transports' adapters stay thin and call [`caller_of`] — the route extractors
//! in `http/access.rs`, the connect middleware in `socket/auth.rs`.

pub mod issued;
pub mod presented;
mod roles;
pub mod scope;

use std::sync::Arc;

pub use roles::{Auth, Error, Refusal, Role, RoleTokens, TOKEN_FILE, TokenSource};
pub use scope::Scope;

use issued::{Bound, Grant, IssuedTokens};

/// Who presented a token: its role, and what an issued token narrows it to.
#[derive(Debug, Clone)]
pub struct Caller {
    /// What the caller may do.
    pub role: Role,
    /// A per-host agent token's host.
    pub bound: Option<Bound>,
    /// A scoped viewer token's labs (`None`: every lab).
    pub scope: Option<Arc<Scope>>,
}

/// The caller a presented token makes: one of the three role tokens, a per-host agent token
/// (the agent role, bound to its host), or a scoped viewer token (the viewer role, over its
/// labs).
///
/// # Errors
/// No token, or one that matches nothing.
pub fn caller_of(
    auth: &Auth,
    tokens: &IssuedTokens,
    presented: Option<&str>,
) -> Result<Caller, Refusal> {
    match auth.role_for(presented) {
        Err(Refusal::Invalid) => match presented.and_then(|t| tokens.lookup(t.trim())) {
            Some(Grant::Host(bound)) => Ok(Caller {
                role: Role::Agent,
                bound: Some(bound),
                scope: None,
            }),
            Some(Grant::Labs(scope)) => Ok(Caller {
                role: Role::Viewer,
                bound: None,
                scope: Some(scope),
            }),
            None => Err(Refusal::Invalid),
        },
        other => other.map(|role| Caller {
            role,
            bound: None,
            scope: None,
        }),
    }
}
