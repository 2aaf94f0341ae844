//! Who may do what, in one place: the three role tokens ([`roles`]: the token file, roles,
//! refusals), per-host agent tokens ([`agent_tokens`]), where a caller presents its token
//! ([`presented`]), and [`role_of`], which maps a presented token to a role. It knows nothing of
//! HTTP or Socket.IO: the transports' adapters stay thin and call [`role_of`] — the route
//! extractors in `http/access.rs`, the connect middleware in `socket/auth.rs`.

pub mod agent_tokens;
pub mod presented;
mod roles;

pub use roles::{Auth, Error, Refusal, Role, RoleTokens, TOKEN_FILE, TokenSource};

use agent_tokens::{AgentTokens, Bound};

/// The role of a presented token: one of the three role tokens, or a per-host agent token (the
/// agent role, bound to its host).
///
/// # Errors
/// No token, or one that matches nothing.
pub fn role_of(
    auth: &Auth,
    agent_tokens: &AgentTokens,
    presented: Option<&str>,
) -> Result<(Role, Option<Bound>), Refusal> {
    match auth.role_for(presented) {
        Err(Refusal::Invalid) => presented
            .and_then(|t| agent_tokens.lookup(t.trim()))
            .map(|bound| (Role::Agent, Some(bound)))
            .ok_or(Refusal::Invalid),
        other => other.map(|role| (role, None)),
    }
}
