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

/// The scope a token request must ask for.
pub const SCOPE: &str = "https://www.googleapis.com/auth/spreadsheets";

/// One tab.
#[derive(Debug, Clone, Default)]
pub struct Tab {
    /// `sheetId`.
    pub id: i64,
    /// `title`.
    pub title: String,
    /// Grid rows.
    pub grid_rows: usize,
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

/// `'Tab'!A1:J5` → (tab, first column, first row, last row) — 0-based, last row exclusive.
fn parse_range(range: &str) -> Option<(String, usize, usize, Option<usize>)> {
    let (tab, cells) = range.rsplit_once('!')?;
    let tab = tab.trim_matches('\'').to_owned();
    let (start, end) = cells
        .split_once(':')
        .map_or((cells, None), |(a, b)| (a, Some(b)));
    let cell = |c: &str| -> Option<(usize, Option<usize>)> {
        let letters: String = c.chars().take_while(char::is_ascii_alphabetic).collect();
        let digits = &c[letters.len()..];
        let col = letters.bytes().fold(0usize, |n, b| {
            n * 26 + usize::from(b.to_ascii_uppercase() - b'A' + 1)
        });
        let row = if digits.is_empty() {
            None
        } else {
            Some(digits.parse::<usize>().ok()?)
        };
        Some((col.max(1) - 1, row))
    };
    let (col, row) = cell(start)?;
    let last = match end {
        Some(e) => cell(e)?.1,
        None => row,
    };
    Some((tab, col, row.unwrap_or(1) - 1, last))
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

fn metadata(s: &State) -> Value {
    let sheets: Vec<Value> = s
        .tabs
        .iter()
        .map(|t| {
            json!({"properties": {"sheetId": t.id, "title": t.title,
                "gridProperties": {"rowCount": t.grid_rows, "columnCount": 26, "frozenRowCount": t.frozen_rows}}})
        })
        .collect();
    json!({ "spreadsheetId": s.spreadsheet_id, "sheets": sheets })
}

fn tab_by_id(s: &mut State, id: i64) -> Result<&mut Tab, String> {
    s.tabs
        .iter_mut()
        .find(|t| t.id == id)
        .ok_or_else(|| format!("No grid with id: {id}"))
}

fn batch_update(s: &mut State, body: &Value) -> Result<Value, String> {
    let requests = body["requests"].as_array().ok_or("requests missing")?;
    for r in requests {
        if let Some(add) = r.get("addSheet") {
            let p = &add["properties"];
            let title = p["title"].as_str().ok_or("title missing")?.to_owned();
            let id = p["sheetId"].as_i64().ok_or("sheetId missing")?;
            if s.tabs.iter().any(|t| t.title == title || t.id == id) {
                return Err(format!("A sheet with the name \"{title}\" already exists."));
            }
            s.tabs.push(Tab {
                id,
                title,
                grid_rows: usize::try_from(
                    p["gridProperties"]["rowCount"].as_u64().unwrap_or(1000),
                )
                .unwrap_or(1000),
                frozen_rows: p["gridProperties"]["frozenRowCount"].as_u64().unwrap_or(0),
                ..Tab::default()
            });
        } else if let Some(u) = r.get("updateCells") {
            let tab = tab_by_id(s, u["start"]["sheetId"].as_i64().ok_or("sheetId missing")?)?;
            let cells = u["rows"][0]["values"].as_array().ok_or("rows missing")?;
            let values: Vec<Value> = cells
                .iter()
                .map(|c| c["userEnteredValue"]["stringValue"].clone())
                .collect();
            tab.bold_header = cells
                .iter()
                .all(|c| c["userEnteredFormat"]["textFormat"]["bold"] == true);
            if tab.cells.is_empty() {
                tab.cells.push(Vec::new());
            }
            tab.cells[0] = values;
        } else if let Some(rc) = r.get("repeatCell") {
            let tab = tab_by_id(s, rc["range"]["sheetId"].as_i64().ok_or("sheetId missing")?)?;
            let col = rc["range"]["startColumnIndex"].as_u64().unwrap_or(0);
            let pattern = rc["cell"]["userEnteredFormat"]["numberFormat"]["pattern"]
                .as_str()
                .unwrap_or_default();
            tab.formats.push((col, pattern.to_owned()));
        } else if let Some(ad) = r.get("appendDimension") {
            let tab = tab_by_id(s, ad["sheetId"].as_i64().ok_or("sheetId missing")?)?;
            tab.grid_rows += usize::try_from(ad["length"].as_u64().unwrap_or(0)).unwrap_or(0);
        } else {
            return Err(format!("unsupported request {r}"));
        }
    }
    Ok(json!({"spreadsheetId": s.spreadsheet_id, "replies": []}))
}

fn write(tab: &mut Tab, col: usize, row: usize, values: &[Value]) -> Result<(), String> {
    if row + values.len() > tab.grid_rows {
        return Err(format!(
            "Range ('{}'!A{}) exceeds grid limits. Max rows: {}",
            tab.title,
            row + values.len(),
            tab.grid_rows
        ));
    }
    for (i, v) in values.iter().enumerate() {
        let cells = v.as_array().ok_or("a row is not a list")?;
        while tab.cells.len() <= row + i {
            tab.cells.push(Vec::new());
        }
        let line = &mut tab.cells[row + i];
        while line.len() < col + cells.len() {
            line.push(Value::Null);
        }
        for (j, c) in cells.iter().enumerate() {
            if c.is_object() || c.is_array() {
                return Err("a cell value must be a string, number or boolean".to_owned());
            }
            line[col + j] = c.clone();
        }
    }
    Ok(())
}

fn values_batch_update(s: &mut State, body: &Value) -> Result<Value, String> {
    if body["valueInputOption"] != "RAW" && body["valueInputOption"] != "USER_ENTERED" {
        return Err("valueInputOption is required".to_owned());
    }
    for d in body["data"].as_array().ok_or("data missing")? {
        let range = d["range"].as_str().ok_or("range missing")?;
        let (title, col, row, _) = parse_range(range).ok_or("bad range")?;
        let tab = s
            .tabs
            .iter_mut()
            .find(|t| t.title == title)
            .ok_or_else(|| format!("Unable to parse range: {range}"))?;
        write(
            tab,
            col,
            row,
            d["values"].as_array().ok_or("values missing")?,
        )?;
    }
    Ok(json!({"spreadsheetId": s.spreadsheet_id}))
}

fn values_batch_clear(s: &mut State, body: &Value) -> Result<Value, String> {
    for r in body["ranges"].as_array().ok_or("ranges missing")? {
        let range = r.as_str().ok_or("range is not text")?;
        let (title, _, row, last) = parse_range(range).ok_or("bad range")?;
        let tab = s
            .tabs
            .iter_mut()
            .find(|t| t.title == title)
            .ok_or_else(|| format!("Unable to parse range: {range}"))?;
        let end = last.unwrap_or(usize::MAX).min(tab.cells.len());
        for line in tab.cells.iter_mut().take(end).skip(row) {
            line.clear();
        }
        while tab.cells.last().is_some_and(Vec::is_empty) {
            tab.cells.pop();
        }
    }
    Ok(json!({"spreadsheetId": s.spreadsheet_id}))
}

fn append(s: &mut State, range: &str, body: &Value) -> Result<Value, String> {
    let (title, col, _, _) = parse_range(range).ok_or("bad range")?;
    let tab = s
        .tabs
        .iter_mut()
        .find(|t| t.title == title)
        .ok_or_else(|| format!("Unable to parse range: {range}"))?;
    let values = body["values"].as_array().ok_or("values missing")?;
    let row = tab.cells.len();
    // INSERT_ROWS: the grid grows by the rows appended.
    tab.grid_rows += values.len();
    write(tab, col, row, values)?;
    Ok(json!({"spreadsheetId": s.spreadsheet_id, "updates": {"updatedRows": values.len()}}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a1_ranges() {
        assert_eq!(
            parse_range("'Status'!A1"),
            Some(("Status".into(), 0, 0, Some(1)))
        );
        assert_eq!(
            parse_range("'My tab'!A5:J"),
            Some(("My tab".into(), 0, 4, None))
        );
        assert_eq!(
            parse_range("Data!B2:C10"),
            Some(("Data".into(), 1, 1, Some(10)))
        );
        assert_eq!(percent_decode("a%3Ab+c"), "a:b c");
    }
}
