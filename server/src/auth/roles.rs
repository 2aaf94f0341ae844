//! The three role tokens (agent, viewer, admin), and how a presented one maps to a role.
//!
//! Owns the token file in the data dir (generated on first start, mode 0600). Knows nothing of
//! HTTP or Socket.IO: the transports extract the presented token and ask [`Auth::role_for`].

use std::path::{Path, PathBuf};

use base64::Engine;
use subtle::ConstantTimeEq;

use crate::config::AuthConfig;

/// What a caller may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// May register and send snapshots.
    Agent,
    /// May read: dashboard, `/data`, history.
    Viewer,
    /// May do everything.
    Admin,
}

impl Role {
    /// Dashboard, `/data`, history, live telemetry.
    #[must_use]
    pub fn can_view(self) -> bool {
        matches!(self, Self::Viewer | Self::Admin)
    }

    /// Register as an agent and send snapshots.
    #[must_use]
    pub fn can_report(self) -> bool {
        matches!(self, Self::Agent | Self::Admin)
    }

    /// Exports and administration.
    #[must_use]
    pub fn can_admin(self) -> bool {
        matches!(self, Self::Admin)
    }

    /// Lower-case name for logs and messages.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agent => "agent",
            Self::Viewer => "viewer",
            Self::Admin => "admin",
        }
    }
}

/// Why a caller got no role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No token was presented.
    #[error(
        "authentication required: pass a token as `Authorization: Bearer <token>`, \
         as ?token=<token>, or in the Socket.IO auth object {{\"token\": \"...\"}}"
    )]
    Missing,
    /// A token was presented that matches no role.
    #[error("invalid token: it matches no agent, viewer or admin token of this server")]
    Invalid,
}

/// The server's authentication policy.
#[derive(Clone)]
pub enum Auth {
    /// Everyone is admin (the Python original's behaviour).
    Open,
    /// Each role has its token.
    Tokens(RoleTokens),
}

pub use idlewatch_protocol::startup::RoleTokens;

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Open => "Auth::Open",
            Self::Tokens(_) => "Auth::Tokens(<redacted>)",
        })
    }
}

/// Failure to set up the tokens.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The token file exists but cannot be read or parsed.
    #[error(
        "cannot read token file {path}: {reason}; fix or delete it to have new tokens generated"
    )]
    Read {
        /// The file.
        path: PathBuf,
        /// What was wrong with it.
        reason: String,
    },
    /// The token file could not be written.
    #[error("cannot write token file {path}: {source}; check that the data dir is writable")]
    Write {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// No randomness available.
    #[error("cannot generate a token: {0}")]
    Random(String),
}

/// Where generated tokens are kept, inside the data dir.
pub use idlewatch_protocol::startup::TOKEN_FILE;

/// How the tokens were obtained, for the start-up log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// Open mode: no tokens.
    Open,
    /// All three came from config or environment.
    Configured,
    /// Some or all were read from (or newly written to) the token file.
    File {
        /// The token file.
        path: PathBuf,
        /// Whether this start created or extended it.
        generated: bool,
    },
}

impl Auth {
    /// Builds the policy from config, filling unset tokens from the token file in `data_dir`,
    /// which is created (mode 0600) with fresh random tokens when needed.
    ///
    /// # Errors
    /// When the token file is unreadable or cannot be written.
    pub fn init(config: &AuthConfig, data_dir: &Path) -> Result<(Self, TokenSource), Error> {
        if config.open {
            return Ok((Self::Open, TokenSource::Open));
        }
        // The shared agent token: as configured, else kept where one exists (configured, or
        // in an existing token file) and off for a new install (per-host tokens instead).
        let shared = config.shared_agent_token;
        if let (Some(v), Some(k)) = (&config.viewer_token, &config.admin_token)
            && (config.agent_token.is_some() || shared == Some(false))
        {
            let tokens = RoleTokens {
                agent_token: config.agent_token.clone().filter(|_| shared != Some(false)),
                viewer_token: v.clone(),
                admin_token: k.clone(),
            };
            return Ok((Self::Tokens(tokens), TokenSource::Configured));
        }
        let path = data_dir.join(TOKEN_FILE);
        let (mut tokens, mut generated) = match std::fs::read_to_string(&path) {
            Ok(text) => (
                toml::from_str::<RoleTokens>(&text).map_err(|e| Error::Read {
                    path: path.clone(),
                    reason: e.to_string().trim().replace('\n', " "),
                })?,
                false,
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let tokens = RoleTokens {
                    agent_token: if shared == Some(true) && config.agent_token.is_none() {
                        Some(new_token()?)
                    } else {
                        None
                    },
                    viewer_token: new_token()?,
                    admin_token: new_token()?,
                };
                write_private(&path, &tokens)?;
                (tokens, true)
            }
            Err(e) => {
                return Err(Error::Read {
                    path,
                    reason: e.to_string(),
                });
            }
        };
        // Configured tokens take precedence over the file's, role by role.
        for (configured, slot) in [
            (&config.viewer_token, &mut tokens.viewer_token),
            (&config.admin_token, &mut tokens.admin_token),
        ] {
            if let Some(t) = configured {
                slot.clone_from(t);
            }
        }
        if config.agent_token.is_some() {
            tokens.agent_token.clone_from(&config.agent_token);
        }
        match shared {
            Some(false) => tokens.agent_token = None,
            Some(true) if tokens.agent_token.is_none() => {
                // Enabled on an install that had none: add one to the file.
                tokens.agent_token = Some(new_token()?);
                rewrite_private(&path, &tokens)?;
                generated = true;
            }
            _ => {}
        }
        Ok((Self::Tokens(tokens), TokenSource::File { path, generated }))
    }

    /// The role a presented token grants.
    ///
    /// # Errors
    /// [`Refusal::Missing`] without a token, [`Refusal::Invalid`] for an unknown one.
    pub fn role_for(&self, presented: Option<&str>) -> Result<Role, Refusal> {
        let tokens = match self {
            Self::Open => return Ok(Role::Admin),
            Self::Tokens(t) => t,
        };
        let presented = presented.map(str::trim).filter(|t| !t.is_empty());
        let Some(presented) = presented else {
            return Err(Refusal::Missing);
        };
        // Check every role without early exit, in constant time per comparison.
        let mut role = None;
        for (token, r) in [
            (Some(&tokens.admin_token), Role::Admin),
            (Some(&tokens.viewer_token), Role::Viewer),
            (tokens.agent_token.as_ref(), Role::Agent),
        ] {
            let Some(token) = token else {
                continue;
            };
            if bool::from(presented.as_bytes().ct_eq(token.as_bytes())) && role.is_none() {
                role = Some(r);
            }
        }
        role.ok_or(Refusal::Invalid)
    }

    /// Whether one agent token shared by all agents is accepted.
    #[must_use]
    pub fn has_shared_agent_token(&self) -> bool {
        matches!(self, Self::Tokens(t) if t.agent_token.is_some())
    }

    /// Whether the server runs without authentication.
    #[must_use]
    pub fn is_open(&self) -> bool {
        matches!(self, Self::Open)
    }
}

/// A new role token: `iw_` and 256 random bits in URL-safe base64. The prefix keeps it from
/// starting with `-`, which a command line (`--token T`) would take for an option.
fn new_token() -> Result<String, Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| Error::Random(e.to_string()))?;
    Ok(format!(
        "iw_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

/// Replaces the token file (same mode) with `tokens`.
fn rewrite_private(path: &Path, tokens: &RoleTokens) -> Result<(), Error> {
    std::fs::remove_file(path).map_err(|source| Error::Write {
        path: path.to_owned(),
        source,
    })?;
    write_private(path, tokens)
}

fn write_private(path: &Path, tokens: &RoleTokens) -> Result<(), Error> {
    let text = format!(
        "# Idlewatch server tokens, generated on first start. Keep this file private.\n\
         # viewer_token: dashboards and read-only API; admin_token: everything, exports and\n\
         # agent tokens included (`idlewatch-admin tokens issue --host H` gives each agent its\n\
         # own); agent_token, when present: one token all agents may share.\n{}",
        toml::to_string(tokens).map_err(|e| Error::Random(e.to_string()))?
    );
    let write = |path: &Path| -> std::io::Result<()> {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()
    };
    write(path).map_err(|source| Error::Write {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("idlewatch-auth-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn generated_tokens_never_look_like_an_option() {
        for _ in 0..256 {
            let token = new_token().unwrap();
            assert!(token.starts_with("iw_") && token.len() == 46, "{token}");
        }
    }

    #[test]
    fn open_mode_makes_everyone_admin() {
        let config = AuthConfig {
            open: true,
            ..AuthConfig::default()
        };
        let (auth, source) = Auth::init(&config, Path::new("/nonexistent")).unwrap();
        assert_eq!(source, TokenSource::Open);
        assert_eq!(auth.role_for(None), Ok(Role::Admin));
    }

    #[test]
    fn the_shared_agent_token_is_kept_where_it_exists_and_off_for_new_installs() {
        // An install from before per-host tokens: its file has an agent token, still accepted.
        let dir = temp_dir("shared-old");
        std::fs::write(
            dir.join(TOKEN_FILE),
            "agent_token = \"old-agent-token-0123456789\"\nviewer_token = \"v-0123456789abcdef\"\nadmin_token = \"a-0123456789abcdef\"\n",
        )
        .unwrap();
        let (auth, _) = Auth::init(&AuthConfig::default(), &dir).unwrap();
        assert_eq!(
            auth.role_for(Some("old-agent-token-0123456789")),
            Ok(Role::Agent)
        );
        // Turned off by configuration, it is refused.
        let off = AuthConfig {
            shared_agent_token: Some(false),
            ..AuthConfig::default()
        };
        let (auth, _) = Auth::init(&off, &dir).unwrap();
        assert_eq!(
            auth.role_for(Some("old-agent-token-0123456789")),
            Err(Refusal::Invalid)
        );
        // Turned on for a new install, one is generated into the file.
        let fresh = temp_dir("shared-new");
        let on = AuthConfig {
            shared_agent_token: Some(true),
            ..AuthConfig::default()
        };
        let (auth, _) = Auth::init(&on, &fresh).unwrap();
        let Auth::Tokens(tokens) = auth else {
            panic!("tokens expected")
        };
        let agent = tokens.agent_token.expect("generated");
        let text = std::fs::read_to_string(fresh.join(TOKEN_FILE)).unwrap();
        assert!(text.contains(&agent));
        // Turned on later for an install that had none: added to the file, others kept.
        let later = temp_dir("shared-later");
        let (first, _) = Auth::init(&AuthConfig::default(), &later).unwrap();
        let Auth::Tokens(first) = first else {
            panic!("tokens expected")
        };
        let (auth, source) = Auth::init(&on, &later).unwrap();
        assert!(matches!(
            source,
            TokenSource::File {
                generated: true,
                ..
            }
        ));
        let Auth::Tokens(now) = auth else {
            panic!("tokens expected")
        };
        assert!(now.agent_token.is_some());
        assert_eq!(now.viewer_token, first.viewer_token);
        for d in [dir, fresh, later] {
            std::fs::remove_dir_all(d).unwrap();
        }
    }

    #[test]
    fn tokens_are_generated_once_private_and_reused() {
        let dir = temp_dir("gen");
        let (auth, source) = Auth::init(&AuthConfig::default(), &dir).unwrap();
        let path = dir.join(TOKEN_FILE);
        assert_eq!(
            source,
            TokenSource::File {
                path: path.clone(),
                generated: true
            }
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let Auth::Tokens(first) = auth else {
            panic!("tokens expected")
        };
        assert_eq!(
            first.agent_token, None,
            "a new install has no shared agent token"
        );
        assert_ne!(first.admin_token, first.viewer_token);
        assert!(first.admin_token.len() >= 40);

        let (again, source) = Auth::init(&AuthConfig::default(), &dir).unwrap();
        assert_eq!(
            source,
            TokenSource::File {
                path,
                generated: false
            }
        );
        assert_eq!(again.role_for(Some(&first.viewer_token)), Ok(Role::Viewer));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn configured_tokens_override_the_file_per_role() {
        let dir = temp_dir("override");
        let config = AuthConfig {
            agent_token: Some("agent-token-from-config".to_owned()),
            ..AuthConfig::default()
        };
        let (auth, _) = Auth::init(&config, &dir).unwrap();
        assert_eq!(
            auth.role_for(Some("agent-token-from-config")),
            Ok(Role::Agent)
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn roles_map_and_unknown_tokens_are_refused() {
        let auth = Auth::Tokens(RoleTokens {
            agent_token: Some("a".repeat(20)),
            viewer_token: "v".repeat(20),
            admin_token: "k".repeat(20),
        });
        assert_eq!(auth.role_for(Some(&"a".repeat(20))), Ok(Role::Agent));
        assert_eq!(auth.role_for(Some(&"v".repeat(20))), Ok(Role::Viewer));
        assert_eq!(auth.role_for(Some(&"k".repeat(20))), Ok(Role::Admin));
        assert_eq!(auth.role_for(Some("nope")), Err(Refusal::Invalid));
        assert_eq!(auth.role_for(Some("  ")), Err(Refusal::Missing));
        assert_eq!(auth.role_for(None), Err(Refusal::Missing));
    }

    #[test]
    fn a_corrupt_token_file_is_reported_not_overwritten() {
        let dir = temp_dir("corrupt");
        std::fs::write(dir.join(TOKEN_FILE), "agent_token = 5").unwrap();
        let err = Auth::init(&AuthConfig::default(), &dir).unwrap_err();
        assert!(err.to_string().contains(TOKEN_FILE), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
