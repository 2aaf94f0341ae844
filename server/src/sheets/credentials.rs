//! The service account's key file (`credentials.json`, as Google Cloud downloads it and as the
//! Python original used) and the signed JWT assertion exchanged for an access token.
//!
//! The assertion is RS256 over `{iss, scope, aud, iat, exp}` with `aud` = the file's
//! `token_uri`, as Google's OAuth 2.0 service-account flow specifies.

use std::path::{Path, PathBuf};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};

/// The OAuth scope for reading and writing spreadsheets.
pub const SPREADSHEETS_SCOPE: &str = "https://www.googleapis.com/auth/spreadsheets";

/// How long an assertion is valid (Google accepts at most one hour).
const ASSERTION_LIFETIME_SECS: i64 = 3600;

/// A service account, ready to sign assertions.
pub struct ServiceAccount {
    /// The account's email: the address the spreadsheet must be shared with.
    pub client_email: String,
    /// Where assertions are exchanged for access tokens.
    pub token_uri: String,
    key_id: Option<String>,
    key: EncodingKey,
}

impl std::fmt::Debug for ServiceAccount {
    // The key is a secret: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri)
            .finish_non_exhaustive()
    }
}

/// A key file that cannot be used, with what to do.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// The file cannot be read.
    #[error(
        "cannot read the Google service-account key {path}: {source}; download a JSON key for \
         the service account from Google Cloud (IAM > Service accounts > Keys) and set \
         sheets.credentials_file"
    )]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's error (missing, unreadable, ...).
        source: std::io::Error,
    },
    /// The file is not a service-account key.
    #[error("{path} is not a Google service-account key: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

#[derive(Deserialize)]
struct KeyFile {
    #[serde(rename = "type")]
    kind: Option<String>,
    client_email: Option<String>,
    private_key: Option<String>,
    private_key_id: Option<String>,
    token_uri: Option<String>,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    scope: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
}

impl ServiceAccount {
    /// Reads and checks a key file.
    ///
    /// # Errors
    /// When the file cannot be read, is not JSON, lacks a field, or holds no usable RSA key.
    pub fn load(path: &Path) -> Result<Self, CredentialsError> {
        let text = std::fs::read_to_string(path).map_err(|source| CredentialsError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text).map_err(|reason| CredentialsError::Invalid {
            path: path.to_owned(),
            reason,
        })
    }

    /// Parses the JSON text of a key file.
    ///
    /// # Errors
    /// What is missing or malformed.
    pub fn parse(text: &str) -> Result<Self, String> {
        let file: KeyFile = serde_json::from_str(text).map_err(|e| format!("not JSON ({e})"))?;
        if let Some(kind) = &file.kind
            && kind != "service_account"
        {
            return Err(format!(
                "its \"type\" is {kind:?}, not \"service_account\" (an OAuth client or user \
                 credential will not do)"
            ));
        }
        let need = |v: Option<String>, name: &str| {
            v.filter(|s| !s.trim().is_empty())
                .ok_or_else(|| format!("the field \"{name}\" is missing"))
        };
        let client_email = need(file.client_email, "client_email")?;
        let pem = need(file.private_key, "private_key")?;
        let token_uri = need(file.token_uri, "token_uri")?;
        if !token_uri.starts_with("https://") && !token_uri.starts_with("http://") {
            return Err(format!(
                "\"token_uri\" {token_uri:?} is not an http(s) address"
            ));
        }
        let key = EncodingKey::from_rsa_pem(pem.as_bytes())
            .map_err(|e| format!("\"private_key\" is not an RSA private key in PEM ({e})"))?;
        Ok(Self {
            client_email,
            token_uri,
            key_id: file.private_key_id,
            key,
        })
    }

    /// A signed assertion asking for `scope`, issued at `now_secs` (Unix time).
    ///
    /// # Errors
    /// When signing fails (a key the crypto library refuses).
    pub fn assertion(&self, scope: &str, now_secs: i64) -> Result<String, String> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid.clone_from(&self.key_id);
        let claims = Claims {
            iss: &self.client_email,
            scope,
            aud: &self.token_uri,
            iat: now_secs,
            exp: now_secs + ASSERTION_LIFETIME_SECS,
        };
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|e| format!("cannot sign the token request with the service-account key: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_a_service_account_key() {
        let cases = [
            ("{", "not JSON"),
            (r#"{"type": "authorized_user"}"#, "not \"service_account\""),
            (
                r#"{"type": "service_account"}"#,
                "\"client_email\" is missing",
            ),
            (
                r#"{"client_email": "a@b", "private_key": "x", "token_uri": "https://t"}"#,
                "not an RSA private key",
            ),
            (
                r#"{"client_email": "a@b", "private_key": "x", "token_uri": "file:///t"}"#,
                "not an http(s) address",
            ),
        ];
        for (text, expected) in cases {
            let err = ServiceAccount::parse(text).unwrap_err();
            assert!(err.contains(expected), "{text}: {err}");
        }
    }

    #[test]
    fn signs_an_assertion_the_public_key_verifies() {
        let key = include_str!("../../../tests/fixtures/google/test-key.pem");
        let public = include_str!("../../../tests/fixtures/google/test-key.pub.pem");
        let file = serde_json::json!({
            "type": "service_account",
            "client_email": "a@b.iam.gserviceaccount.com",
            "private_key": key,
            "private_key_id": "k1",
            "token_uri": "http://127.0.0.1:9/token",
        });
        let account = ServiceAccount::parse(&file.to_string()).unwrap();
        let now = jiff::Timestamp::now().as_second();
        let jwt = account.assertion(SPREADSHEETS_SCOPE, now).unwrap();
        let mut check = jsonwebtoken::Validation::new(Algorithm::RS256);
        check.set_audience(&["http://127.0.0.1:9/token"]);
        check.set_issuer(&["a@b.iam.gserviceaccount.com"]);
        let decoding = jsonwebtoken::DecodingKey::from_rsa_pem(public.as_bytes()).unwrap();
        let data = jsonwebtoken::decode::<serde_json::Value>(&jwt, &decoding, &check).unwrap();
        assert_eq!(data.claims["scope"], SPREADSHEETS_SCOPE);
        assert_eq!(data.claims["exp"].as_i64().unwrap() - now, 3600);
        assert_eq!(data.header.kid.as_deref(), Some("k1"));
        // A changed claim no longer matches the signature.
        let mut parts: Vec<&str> = jwt.split('.').collect();
        let forged = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &serde_json::json!({"iss": "x"}),
            &EncodingKey::from_secret(b"x"),
        )
        .unwrap();
        parts[1] = forged.split('.').nth(1).unwrap();
        assert!(
            jsonwebtoken::decode::<serde_json::Value>(&parts.join("."), &decoding, &check).is_err()
        );
    }

    #[test]
    fn a_missing_file_says_where_to_get_one() {
        let err = ServiceAccount::load(Path::new("/nonexistent/credentials.json")).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("/nonexistent/credentials.json"), "{text}");
        assert!(text.contains("sheets.credentials_file"), "{text}");
    }
}
