//! The server's HTTP API, with every failure a user meets turned into one line: the server
//! unreachable, the token missing or refused, an error the server explains.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::Value;

use crate::error::{CliError, failed};
use crate::settings::Settings;

/// A client for one server.
pub struct Api {
    http: Client,
    settings: Settings,
}

/// Why a request failed, before it is put into words.
#[derive(Debug)]
pub enum ApiFailure {
    /// The server answered with an error status and maybe `{"error": {"code", "message"}}`.
    Status {
        /// The status.
        status: StatusCode,
        /// `error.code`, if the body had one.
        code: Option<String>,
        /// `error.message`, or the body.
        message: String,
    },
    /// Said in full already.
    Other(CliError),
}

impl From<CliError> for ApiFailure {
    fn from(e: CliError) -> Self {
        Self::Other(e)
    }
}

fn root_cause<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> &'a (dyn std::error::Error + 'static) {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause
}

/// Whether `cause` is the server's certificate refused (unknown CA, wrong name, expired).
/// rustls' error arrives wrapped in I/O errors (two deep through reqwest), whose `source()`
/// skips what they wrap: look inside each.
fn is_untrusted_certificate(cause: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(cause);
    while let Some(e) = current {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return matches!(tls, rustls::Error::InvalidCertificate(_));
        }
        current = e
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
            .map(|inner| inner as &(dyn std::error::Error + 'static));
    }
    false
}

/// The JSON body of a successful answer to `path`.
fn json_answer(response: Response, path: &str) -> Result<Value, ApiFailure> {
    response
        .json()
        .map_err(|e| ApiFailure::Other(failed(format!("unreadable answer from {path}: {e}"))))
}

/// The certificates of a PEM CA file, or a usage error naming the file.
fn ca_certificates(path: &std::path::Path) -> Result<Vec<reqwest::Certificate>, CliError> {
    let usage = |why: String| CliError::Usage(format!("--ca-file {}: {why}", path.display()));
    let pem = std::fs::read(path).map_err(|e| usage(format!("cannot read it: {e}")))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| usage(format!("not PEM certificates: {e}")))?;
    if certs.is_empty() {
        return Err(usage(
            "no certificate in it; give the PEM certificate of the CA that signed the \
             server's (-----BEGIN CERTIFICATE-----)"
                .to_owned(),
        ));
    }
    Ok(certs)
}

impl Api {
    /// A client for `settings`.
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(settings: Settings) -> Result<Self, CliError> {
        let mut builder = Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(None)
            .no_proxy()
            .user_agent(concat!("idlewatch-admin/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &settings.ca_file {
            builder = builder.tls_certs_only(ca_certificates(path)?);
        }
        let http = builder
            .build()
            .map_err(|e| failed(format!("cannot start the HTTP client: {e}")))?;
        Ok(Self { http, settings })
    }

    /// The server's address.
    #[must_use]
    pub fn server(&self) -> &str {
        &self.settings.server
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.settings.server)
    }

    fn unreachable(&self, e: &reqwest::Error) -> CliError {
        let cause = root_cause(e);
        let reason = match cause
            .downcast_ref::<std::io::Error>()
            .map(std::io::Error::kind)
        {
            Some(std::io::ErrorKind::ConnectionRefused) => "connection refused".to_owned(),
            _ if e.is_timeout() => "no answer in time".to_owned(),
            _ => cause.to_string(),
        };
        if is_untrusted_certificate(cause) {
            let fix = match &self.settings.ca_file {
                Some(ca) => format!(
                    "check that {} is the certificate of the CA that signed the server's",
                    ca.display()
                ),
                None => "pass --ca-file with the certificate of the CA that signed the \
                         server's"
                    .to_owned(),
            };
            return failed(format!(
                "cannot trust idlewatch-server at {}: {reason} — {fix}",
                self.settings.server
            ));
        }
        failed(format!(
            "cannot reach idlewatch-server at {}: {reason} — is it running? set --server",
            self.settings.server
        ))
    }

    /// Sends a request with the token; any non-2xx status is an [`ApiFailure::Status`].
    ///
    /// # Errors
    /// The server unreachable, or an error status.
    pub fn send(&self, request: RequestBuilder) -> Result<Response, ApiFailure> {
        let request = match &self.settings.token {
            Some(t) => request.bearer_auth(t),
            None => request,
        };
        let response = request
            .send()
            .map_err(|e| ApiFailure::Other(self.unreachable(&e)))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body = response.text().unwrap_or_default();
        let parsed: Option<Value> = serde_json::from_str(&body).ok();
        let error = parsed.as_ref().and_then(|v| v.get("error"));
        Err(ApiFailure::Status {
            status,
            code: error
                .and_then(|e| e.get("code"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            message: error
                .and_then(|e| e.get("message"))
                .and_then(Value::as_str)
                .map_or_else(|| body.trim().chars().take(300).collect(), str::to_owned),
        })
    }

    /// Puts a failure into words: token problems get their own advice; other errors show the
    /// server's message.
    #[must_use]
    pub fn explain(&self, failure: ApiFailure) -> CliError {
        match failure {
            ApiFailure::Other(e) => e,
            ApiFailure::Status { status, .. } if status == StatusCode::UNAUTHORIZED => {
                if self.settings.token.is_none() {
                    failed(format!(
                        "idlewatch-server at {} needs an admin token: pass --token, set \
                         IDLEWATCH_ADMIN_TOKEN, or put token = \"...\" in {} (the server's \
                         admin_token, in its data dir's tokens.toml)",
                        self.settings.server,
                        crate::settings::default_path()
                            .map_or_else(|| "admin.toml".to_owned(), |p| p.display().to_string())
                    ))
                } else {
                    failed(format!(
                        "idlewatch-server at {} rejected the token: check --token or \
                         IDLEWATCH_ADMIN_TOKEN (the server's admin_token)",
                        self.settings.server
                    ))
                }
            }
            ApiFailure::Status { status, .. } if status == StatusCode::FORBIDDEN => {
                failed(format!(
                    "the token is not an admin token: idlewatch-server at {} refused it for this \
                 command; use the admin_token",
                    self.settings.server
                ))
            }
            ApiFailure::Status {
                status, message, ..
            } => failed(format!(
                "idlewatch-server at {} answered {}: {message}",
                self.settings.server,
                status.as_u16()
            )),
        }
    }

    /// `GET path?query` as JSON.
    ///
    /// # Errors
    /// As [`Api::send`], or an answer that is not JSON.
    pub fn get_json(&self, path: &str, query: &[(&str, String)]) -> Result<Value, ApiFailure> {
        json_answer(self.send(self.http.get(self.url(path)).query(query))?, path)
    }

    /// `POST path` as JSON.
    ///
    /// # Errors
    /// As [`Api::get_json`].
    pub fn post_json(&self, path: &str) -> Result<Value, ApiFailure> {
        json_answer(self.send(self.http.post(self.url(path)))?, path)
    }

    /// `POST path` with a JSON body, answered with JSON.
    ///
    /// # Errors
    /// As [`Api::get_json`].
    pub fn post_body(&self, path: &str, body: &Value) -> Result<Value, ApiFailure> {
        json_answer(self.send(self.http.post(self.url(path)).json(body))?, path)
    }

    /// `DELETE path`, answered with JSON.
    ///
    /// # Errors
    /// As [`Api::get_json`].
    pub fn delete(&self, path: &str) -> Result<Value, ApiFailure> {
        self.delete_with(path, &[])
    }

    /// `DELETE path?query`, answered with JSON.
    ///
    /// # Errors
    /// As [`Api::get_json`].
    pub fn delete_with(&self, path: &str, query: &[(&str, String)]) -> Result<Value, ApiFailure> {
        json_answer(
            self.send(self.http.delete(self.url(path)).query(query))?,
            path,
        )
    }

    /// `GET path?query` as a byte stream.
    ///
    /// # Errors
    /// As [`Api::send`].
    pub fn download(&self, path: &str, query: &[(&str, String)]) -> Result<Response, ApiFailure> {
        self.send(self.http.get(self.url(path)).query(query))
    }

    /// A shortcut: `get_json` with failures put into words.
    ///
    /// # Errors
    /// See [`Api::explain`].
    pub fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value, CliError> {
        self.get_json(path, query).map_err(|f| self.explain(f))
    }

    /// `get` of an answer typed in `idlewatch_protocol::api`.
    ///
    /// # Errors
    /// See [`Api::explain`]; an answer of another shape says so, naming the route.
    pub fn get_as<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, CliError> {
        decode(path, self.get(path, query)?)
    }
}

/// An answer read as its `idlewatch_protocol::api` type.
///
/// # Errors
/// An answer of another shape, naming the route.
pub fn decode<T: serde::de::DeserializeOwned>(path: &str, value: Value) -> Result<T, CliError> {
    serde_json::from_value(value).map_err(|e| {
        crate::error::failed(format!(
            "the server answered {path} in a shape this idlewatch-admin does not know ({e}); use \
             an idlewatch-admin of the server's version"
        ))
    })
}
