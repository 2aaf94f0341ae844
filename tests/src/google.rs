//! A stand-in for Google's token endpoint and Sheets API v4, on 127.0.0.1, for the Sheets
//! upload tests. It checks what Google checks — the signed token request (RS256 signature with
//! the test key's public half, `iss`, `aud`, `scope`, `exp`), bearer tokens, the spreadsheet
//! id, grid limits — keeps the tabs' cells, logs every request, and can answer 429, 500 or 403,
//! or hang, on demand.

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};

use self::cells::{append, batch_update, metadata, values_batch_clear, values_batch_update};

mod cells;

/// The scope a token request must ask for.
pub const SCOPE: &str = "https://www.googleapis.com/auth/spreadsheets";

/// The service account of the checked-in test key (`tests/fixtures/google/`).
pub const TEST_EMAIL: &str = "idlewatch-test@idlewatch-test.iam.gserviceaccount.com";

fn test_key_dir() -> std::path::PathBuf {
    crate::workspace_root().join("tests/fixtures/google")
}

/// One tab.
#[derive(Debug, Clone, Default)]
pub struct Tab {
    /// `sheetId`.
    pub id: i64,
    /// `title`.
    pub title: String,
    /// Grid rows.
    pub grid_rows: usize,
    /// Grid columns.
    pub grid_columns: usize,
    /// Frozen rows.
    pub frozen_rows: u64,
    /// Cell values by row.
    pub cells: Vec<Vec<Value>>,
    /// Whether the header row was made bold.
    pub bold_header: bool,
    /// Number formats set with `repeatCell`: (column, pattern).
    pub formats: Vec<(u64, String)>,
}

/// A request the stand-in received.
#[derive(Debug, Clone)]
pub struct Logged {
    /// `GET`, `POST`.
    pub method: String,
    /// Path, percent-decoded.
    pub path: String,
    /// The status answered.
    pub status: u16,
}

#[derive(Default)]
struct State {
    spreadsheet_id: String,
    issuer: String,
    token_uri: String,
    key: Option<DecodingKey>,
    tokens: HashSet<String>,
    tabs: Vec<Tab>,
    log: Vec<Logged>,
    token_requests: u32,
    faults: VecDeque<(u16, Option<u64>)>,
    deny: bool,
    hang: bool,
}

/// The running stand-in; stops with the test process.
pub struct Google {
    /// Where it listens.
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

fn google_error(status: StatusCode, message: &str) -> Response {
    let name = match status.as_u16() {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        _ => "INTERNAL",
    };
    let body = json!({"error": {"code": status.as_u16(), "message": message, "status": name}});
    (status, axum::Json(body)).into_response()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                if let Ok(b) = u8::from_str_radix(hex, 16) {
                    out.push(b);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn form_value(body: &str, key: &str) -> Option<String> {
    body.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (percent_decode(k) == key).then(|| percent_decode(v))
    })
}

impl Google {
    /// Starts a stand-in for `spreadsheet_id` accepting token requests signed by the key whose
    /// public half is `public_pem`, issued by `issuer`.
    ///
    /// # Panics
    /// When it cannot bind or the key does not parse.
    #[must_use]
    pub fn start(spreadsheet_id: &str, issuer: &str, public_pem: &[u8]) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind stand-in");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("address");
        let state = Arc::new(Mutex::new(State {
            spreadsheet_id: spreadsheet_id.to_owned(),
            issuer: issuer.to_owned(),
            token_uri: format!("http://{addr}/token"),
            key: Some(DecodingKey::from_rsa_pem(public_pem).expect("public key")),
            ..State::default()
        }));
        let shared = state.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let app = axum::Router::new().fallback(
                    move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                        let state = shared.clone();
                        async move { handle(&state, method, uri, headers, body).await }
                    },
                );
                let _ = axum::serve(listener, app).await;
            });
        });
        Self { addr, state }
    }

    /// A stand-in for `spreadsheet_id` accepting the test key issued by [`TEST_EMAIL`].
    ///
    /// # Panics
    /// As [`Google::start`], or when the test key is missing.
    #[must_use]
    pub fn with_test_key(spreadsheet_id: &str) -> Self {
        let public = std::fs::read(test_key_dir().join("test-key.pub.pem")).expect("test key");
        Self::start(spreadsheet_id, TEST_EMAIL, &public)
    }

    /// Writes into `dir` a `credentials.json` like Google's, with the test key, issued by
    /// `email` (another one than [`TEST_EMAIL`] is refused by this stand-in), pointing at this
    /// stand-in's token endpoint; returns its path.
    ///
    /// # Panics
    /// When the test key cannot be read or the file written.
    #[must_use]
    pub fn test_credentials(&self, dir: &std::path::Path, email: &str) -> std::path::PathBuf {
        let key = std::fs::read_to_string(test_key_dir().join("test-key.pem")).expect("test key");
        let path = dir.join("credentials.json");
        let file = json!({
            "type": "service_account",
            "project_id": "idlewatch-test",
            "private_key_id": "test-key-1",
            "private_key": key,
            "client_email": email,
            "client_id": "1",
            "auth_uri": "http://127.0.0.1:9/auth",
            "token_uri": self.token_uri(),
        });
        std::fs::write(&path, file.to_string()).expect("write credentials.json");
        path
    }

    /// The `[sheets]` section of a server configuration that uploads to this stand-in with
    /// `credentials`, every `interval` (e.g. "15s"), 2 s per request, 3 attempts.
    #[must_use]
    pub fn sheets_section(
        &self,
        spreadsheet_id: &str,
        credentials: &std::path::Path,
        interval: &str,
    ) -> String {
        format!(
            "[sheets]\nenabled = true\nspreadsheet_id = \"{spreadsheet_id}\"\n\
             credentials_file = \"{}\"\napi_base = \"{}\"\ninterval = \"{interval}\"\n\
             request_timeout = \"2s\"\nmax_attempts = 3\n",
            credentials.display(),
            self.api_base()
        )
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("stand-in state")
    }

    /// The token endpoint's address, for `credentials.json`.
    #[must_use]
    pub fn token_uri(&self) -> String {
        self.lock().token_uri.clone()
    }

    /// `http://127.0.0.1:PORT`, for `sheets.api_base`.
    #[must_use]
    pub fn api_base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The next `count` API requests are answered `status` (with `Retry-After` when given).
    pub fn fail_next(&self, count: usize, status: u16, retry_after: Option<u64>) {
        let mut s = self.lock();
        for _ in 0..count {
            s.faults.push_back((status, retry_after));
        }
    }

    /// Answer every API request 403, as when the sheet is not shared with the account.
    pub fn deny(&self, on: bool) {
        self.lock().deny = on;
    }

    /// Back to answering normally: no queued failures, no 403, no hanging.
    pub fn heal(&self) {
        let mut s = self.lock();
        s.faults.clear();
        s.deny = false;
        s.hang = false;
    }

    /// Hold every API request without answering until turned off.
    pub fn hang(&self, on: bool) {
        self.lock().hang = on;
    }

    /// The requests logged since the last call (token requests not included).
    pub fn take_log(&self) -> Vec<Logged> {
        std::mem::take(&mut self.lock().log)
    }

    /// Token requests answered so far (successful or not).
    #[must_use]
    pub fn token_requests(&self) -> u32 {
        self.lock().token_requests
    }

    /// A copy of a tab.
    #[must_use]
    pub fn tab(&self, title: &str) -> Option<Tab> {
        self.lock().tabs.iter().find(|t| t.title == title).cloned()
    }

    /// Adds a tab as an earlier version of the server made it: `columns` wide, with `header`.
    pub fn add_tab(&self, id: i64, title: &str, columns: usize, header: &[&str]) {
        self.lock().tabs.push(Tab {
            id,
            title: title.to_owned(),
            grid_rows: 1000,
            grid_columns: columns,
            frozen_rows: 1,
            cells: vec![header.iter().map(|h| json!(h)).collect()],
            bold_header: true,
            formats: Vec::new(),
        });
    }

    /// Every tab's title.
    #[must_use]
    pub fn titles(&self) -> Vec<String> {
        self.lock().tabs.iter().map(|t| t.title.clone()).collect()
    }
}

async fn handle(
    state: &Mutex<State>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = percent_decode(uri.path());
    if path == "/token" {
        return token(state, &body);
    }
    loop {
        if !state.lock().expect("state").hang {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let response = api(state, &method, &path, &headers, &body);
    state.lock().expect("state").log.push(Logged {
        method: method.to_string(),
        path,
        status: response.status().as_u16(),
    });
    response
}

fn token(state: &Mutex<State>, body: &[u8]) -> Response {
    let mut s = state.lock().expect("state");
    s.token_requests += 1;
    let body = String::from_utf8_lossy(body);
    let refuse = |why: &str| {
        (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "invalid_grant", "error_description": why})),
        )
            .into_response()
    };
    if form_value(&body, "grant_type").as_deref()
        != Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
    {
        return refuse("unsupported grant_type");
    }
    let Some(assertion) = form_value(&body, "assertion") else {
        return refuse("no assertion");
    };
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[s.token_uri.clone()]);
    validation.set_issuer(&[s.issuer.clone()]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud"]);
    validation.leeway = 0;
    let Some(key) = s.key.as_ref() else {
        return refuse("no key");
    };
    let claims = match jsonwebtoken::decode::<Value>(&assertion, key, &validation) {
        Ok(data) => data.claims,
        Err(e) => return refuse(&format!("Invalid JWT: {e}")),
    };
    if claims["scope"] != SCOPE {
        return refuse("Invalid OAuth scope or ID token audience provided.");
    }
    let lifetime = claims["exp"].as_i64().unwrap_or(0) - claims["iat"].as_i64().unwrap_or(0);
    if !(1..=3600).contains(&lifetime) {
        return refuse("Invalid JWT: Token must be a short-lived token (60 minutes)");
    }
    let token = format!("ya29.test-{}", s.tokens.len() + 1);
    s.tokens.insert(token.clone());
    axum::Json(json!({"access_token": token, "expires_in": 3599, "token_type": "Bearer"}))
        .into_response()
}

fn api(
    state: &Mutex<State>,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let mut s = state.lock().expect("state");
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if !bearer.is_some_and(|t| s.tokens.contains(t)) {
        return google_error(
            StatusCode::UNAUTHORIZED,
            "Request had invalid authentication credentials.",
        );
    }
    if let Some((status, retry_after)) = s.faults.pop_front() {
        let mut response = google_error(
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            "Quota exceeded for quota metric 'Write requests' (stand-in fault)",
        );
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert("retry-after", secs.to_string().parse().expect("header"));
        }
        return response;
    }
    if s.deny {
        return google_error(StatusCode::FORBIDDEN, "The caller does not have permission");
    }
    let Some(rest) = path.strip_prefix("/v4/spreadsheets/") else {
        return google_error(StatusCode::NOT_FOUND, "no such API");
    };
    let (id, tail) = match rest.split_once('/') {
        Some((id, tail)) => (id.to_owned(), Some(tail.to_owned())),
        None => (rest.to_owned(), None),
    };
    let (id, verb) = match id.split_once(':') {
        Some((id, verb)) => (id.to_owned(), Some(verb.to_owned())),
        None => (id, None),
    };
    if id != s.spreadsheet_id {
        return google_error(StatusCode::NOT_FOUND, "Requested entity was not found.");
    }
    let body: Value = if body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => {
                return google_error(
                    StatusCode::BAD_REQUEST,
                    &format!("Invalid JSON payload: {e}"),
                );
            }
        }
    };
    let result = match (method.as_str(), verb.as_deref(), tail.as_deref()) {
        ("GET", None, None) => Ok(metadata(&s)),
        ("POST", Some("batchUpdate"), None) => batch_update(&mut s, &body),
        ("POST", None, Some("values:batchUpdate")) => values_batch_update(&mut s, &body),
        ("POST", None, Some("values:batchClear")) => values_batch_clear(&mut s, &body),
        ("POST", None, Some(t)) if t.starts_with("values/") && t.ends_with(":append") => {
            let range = &t["values/".len()..t.len() - ":append".len()];
            append(&mut s, range, &body)
        }
        _ => Err(format!("unknown method {method} {path}")),
    };
    match result {
        Ok(v) => axum::Json(v).into_response(),
        Err(message) => google_error(StatusCode::BAD_REQUEST, &message),
    }
}
