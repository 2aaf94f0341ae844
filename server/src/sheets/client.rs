//! The Sheets REST v4 client: a cached OAuth access token, JSON requests with retries (see
//! [`super::retry`]), and Google's error answers turned into one line that names the cause.
//! It counts the requests and retries of each run.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use idlewatch_protocol::api::SheetsCounts;
use reqwest::{Method, StatusCode, Url};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::Mutex;
use tracing::{debug, warn};

use super::credentials::{SPREADSHEETS_SCOPE, ServiceAccount};
use super::error::SheetsError;
use super::retry::{self, Failure};

/// A token is renewed this long before Google says it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(120);

struct CachedToken {
    value: String,
    renew_at: Instant,
}

/// One spreadsheet on one Sheets API, as one service account.
pub struct Google {
    http: reqwest::Client,
    account: ServiceAccount,
    spreadsheet: Url,
    spreadsheet_id: String,
    max_attempts: u32,
    token: Mutex<Option<CachedToken>>,
    requests: AtomicU32,
    retries: AtomicU32,
    token_requests: AtomicU32,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// The two error shapes Google uses: `{"error": {"code", "message", "status"}}` for APIs,
/// `{"error": "invalid_grant", "error_description": "..."}` for the token endpoint.
fn google_reason(body: &str) -> String {
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        let text: String = body.chars().take(200).collect();
        return text.trim().to_owned();
    };
    match v.get("error") {
        Some(Value::Object(e)) => {
            let status = e.get("status").and_then(Value::as_str).unwrap_or_default();
            let message = e.get("message").and_then(Value::as_str).unwrap_or_default();
            format!("{status} {message}").trim().to_owned()
        }
        Some(Value::String(code)) => {
            let description = v
                .get("error_description")
                .and_then(Value::as_str)
                .unwrap_or_default();
            format!("{code} {description}").trim().to_owned()
        }
        _ => String::new(),
    }
}

impl Google {
    /// A client for `spreadsheet_id` under `api_base`.
    ///
    /// # Errors
    /// When `api_base` is not a URL or the HTTP client cannot be built.
    pub fn new(
        account: ServiceAccount,
        api_base: &str,
        spreadsheet_id: &str,
        request_timeout: Duration,
        max_attempts: u32,
    ) -> Result<Self, SheetsError> {
        let mut spreadsheet =
            Url::parse(api_base.trim_end_matches('/')).map_err(|e| SheetsError::ApiBase {
                api_base: api_base.to_owned(),
                reason: e.to_string(),
            })?;
        spreadsheet
            .path_segments_mut()
            .map_err(|()| SheetsError::ApiBase {
                api_base: api_base.to_owned(),
                reason: "it cannot have a path".to_owned(),
            })?
            .pop_if_empty()
            .extend(["v4", "spreadsheets", spreadsheet_id]);
        let http = reqwest::Client::builder()
            .timeout(request_timeout)
            .connect_timeout(request_timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("idlewatch-server/", env!("CARGO_PKG_VERSION")))
            .no_proxy()
            .build()
            .map_err(|e| SheetsError::HttpClient(e.to_string()))?;
        Ok(Self {
            http,
            account,
            spreadsheet,
            spreadsheet_id: spreadsheet_id.to_owned(),
            max_attempts: max_attempts.max(1),
            token: Mutex::new(None),
            requests: AtomicU32::new(0),
            retries: AtomicU32::new(0),
            token_requests: AtomicU32::new(0),
        })
    }

    /// The service account's email (the spreadsheet must be shared with it).
    #[must_use]
    pub fn account_email(&self) -> &str {
        &self.account.client_email
    }

    /// The counts since the last call, and resets them.
    pub fn take_counts(&self) -> SheetsCounts {
        SheetsCounts {
            requests: self.requests.swap(0, Ordering::Relaxed),
            retries: self.retries.swap(0, Ordering::Relaxed),
            token_requests: self.token_requests.swap(0, Ordering::Relaxed),
        }
    }

    /// The spreadsheet's address with `tail` as further path segments.
    #[must_use]
    pub fn url(&self, tail: &[&str]) -> Url {
        let mut url = self.spreadsheet.clone();
        if let Some(last) = tail.first()
            && last.starts_with(':')
        {
            // `{id}:batchUpdate` is one segment.
            let id = format!("{}{last}", self.spreadsheet_id);
            url.path_segments_mut()
                .map(|mut s| {
                    s.pop().push(&id).extend(&tail[1..]);
                })
                .ok();
            return url;
        }
        url.path_segments_mut()
            .map(|mut s| {
                s.extend(tail);
            })
            .ok();
        url
    }

    async fn access_token(&self) -> Result<String, SheetsError> {
        let mut cached = self.token.lock().await;
        if let Some(t) = cached.as_ref()
            && Instant::now() < t.renew_at
        {
            return Ok(t.value.clone());
        }
        let fresh = self.fetch_token().await?;
        let value = fresh.access_token.clone();
        let lifetime = Duration::from_secs(fresh.expires_in.unwrap_or(3600));
        *cached = Some(CachedToken {
            value: fresh.access_token,
            renew_at: Instant::now() + lifetime.saturating_sub(TOKEN_MARGIN),
        });
        Ok(value)
    }

    async fn forget_token(&self) {
        *self.token.lock().await = None;
    }

    async fn fetch_token(&self) -> Result<TokenAnswer, SheetsError> {
        let uri = self.account.token_uri.as_str();
        self.with_retries(uri, || self.token_attempt()).await
    }

    /// One request for an access token, signed with the service-account key.
    async fn token_attempt(&self) -> Result<TokenAnswer, Failure> {
        let uri = &self.account.token_uri;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
        let assertion = self
            .account
            .assertion(SPREADSHEETS_SCOPE, now)
            .map_err(|e| Failure::Final(SheetsError::Signing(e)))?;
        self.token_requests.fetch_add(1, Ordering::Relaxed);
        let answer = self
            .http
            .post(uri)
            .form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("assertion", assertion.as_str()),
            ])
            .send()
            .await
            .map_err(network)?;
        let status = answer.status();
        if status.is_success() {
            return answer.json::<TokenAnswer>().await.map_err(|e| {
                Failure::Final(SheetsError::Unreadable {
                    what: format!("the token endpoint {uri}"),
                    detail: format!("not a token: {e}"),
                })
            });
        }
        if retry::retryable(status) {
            return Err(transient(answer).await);
        }
        let reason = google_reason(&answer.text().await.unwrap_or_default());
        Err(Failure::Final(SheetsError::KeyRefused {
            endpoint: uri.clone(),
            account: self.account.client_email.clone(),
            status: status.as_u16(),
            reason,
        }))
    }

    /// Runs `attempt` with this client's retry policy, logging and counting each retry.
    async fn with_retries<T, Fut>(
        &self,
        what: &str,
        attempt: impl FnMut() -> Fut,
    ) -> Result<T, SheetsError>
    where
        Fut: Future<Output = Result<T, Failure>>,
    {
        retry::with_retries(what, self.max_attempts, attempt, |reason, made, pause| {
            warn!(
                "Sheets upload: {what} failed ({}), attempt {made} of {}; retrying in {:.1}s",
                reason.trim(),
                self.max_attempts,
                pause.as_secs_f64()
            );
            self.retries.fetch_add(1, Ordering::Relaxed);
        })
        .await
    }

    /// Sends one API request (with retries) and returns its JSON answer.
    ///
    /// # Errors
    /// A final refusal with its cause, or [`SheetsError::Exhausted`] when attempts run out.
    pub async fn call(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
    ) -> Result<Value, SheetsError> {
        let what = format!("{method} {}", url.path());
        self.with_retries(&what, || self.call_attempt(&method, &url, body, &what))
            .await
    }

    /// One API request; a 401 (a token revoked or expired early) is sent once more with a
    /// fresh token before it counts.
    async fn call_attempt(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&Value>,
        what: &str,
    ) -> Result<Value, Failure> {
        let mut answer = self.send(method, url, body, what).await?;
        if answer.status() == StatusCode::UNAUTHORIZED {
            self.forget_token().await;
            answer = self.send(method, url, body, what).await?;
        }
        let status = answer.status();
        if status.is_success() {
            return answer.json::<Value>().await.map_err(|e| {
                Failure::Final(SheetsError::Unreadable {
                    what: what.to_owned(),
                    detail: e.to_string(),
                })
            });
        }
        if retry::retryable(status) {
            return Err(transient(answer).await);
        }
        let reason = google_reason(&answer.text().await.unwrap_or_default());
        Err(Failure::Final(SheetsError::Refused {
            status: status.as_u16(),
            reason,
            spreadsheet: self.spreadsheet_id.clone(),
            account: self.account.client_email.clone(),
        }))
    }

    /// Sends one request with the current access token.
    async fn send(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&Value>,
        what: &str,
    ) -> Result<reqwest::Response, Failure> {
        let token = self.access_token().await.map_err(Failure::Final)?;
        let mut request = self
            .http
            .request(method.clone(), url.clone())
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(body);
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        debug!("Sheets upload: {what}");
        request.send().await.map_err(network)
    }
}

/// A 429 or 5xx answer as a failure worth another attempt, with Google's reason and pause.
async fn transient(answer: reqwest::Response) -> Failure {
    let status = answer.status();
    let retry_after = retry::retry_after(answer.headers(), SystemTime::now());
    let reason = google_reason(&answer.text().await.unwrap_or_default());
    Failure::Transient {
        reason: format!("{} {reason}", status.as_u16()),
        retry_after,
    }
}

/// A request that got no answer: worth another attempt.
fn network(e: reqwest::Error) -> Failure {
    Failure::Transient {
        reason: describe(&e),
        retry_after: None,
    }
}

/// A network failure in a few words.
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "no answer within sheets.request_timeout".to_owned()
    } else if e.is_connect() {
        format!("cannot connect: {}", root_cause(e))
    } else {
        root_cause(e)
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_of_googles_error_shapes() {
        assert_eq!(
            google_reason(
                r#"{"error": {"code": 403, "message": "The caller does not have permission", "status": "PERMISSION_DENIED"}}"#
            ),
            "PERMISSION_DENIED The caller does not have permission"
        );
        assert_eq!(
            google_reason(
                r#"{"error": "invalid_grant", "error_description": "Invalid JWT Signature."}"#
            ),
            "invalid_grant Invalid JWT Signature."
        );
        assert_eq!(
            google_reason("<html>Bad Gateway</html>"),
            "<html>Bad Gateway</html>"
        );
    }
}
