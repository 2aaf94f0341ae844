//! Blocking HTTP for the tests (reqwest): status, headers and body text of one request.

use std::net::SocketAddr;
use std::time::Duration;

/// A response: status, headers (lower-case names) and body text.
#[derive(Debug, Clone)]
pub struct HttpAnswer {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Body as text.
    pub body: String,
}

impl HttpAnswer {
    /// The body parsed as JSON.
    ///
    /// # Panics
    /// When the body is not JSON.
    #[must_use]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.body))
    }

    /// The body read as one of the protocol's answers (`idlewatch_protocol::api`).
    ///
    /// # Panics
    /// When the body is not that answer, naming the field that did not fit.
    #[must_use]
    pub fn json_as<T: serde::de::DeserializeOwned>(&self) -> T {
        serde_json::from_str(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not a {} ({e}): {}",
                std::any::type_name::<T>(),
                self.body
            )
        })
    }

    /// First header of that (lower-case) name.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// `GET path` with optional extra headers.
///
/// # Panics
/// On connection failure or a malformed response.
#[must_use]
pub fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> HttpAnswer {
    request(addr, "GET", path, headers, None)
}

/// Any request, with an optional JSON body; waits up to 60 s for the answer. Redirects are
/// not followed (tests look at them). Runs on a thread of its own, so it may be called from
/// inside an async test too.
///
/// # Panics
/// On connection failure or a body that is not UTF-8.
#[must_use]
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    json_body: Option<&str>,
) -> HttpAnswer {
    std::thread::scope(|scope| {
        scope
            .spawn(|| send(addr, method, path, headers, json_body))
            .join()
            .expect("the request thread panicked")
    })
}

fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    json_body: Option<&str>,
) -> HttpAnswer {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client");
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("HTTP method");
    let is_get = method == reqwest::Method::GET;
    let mut request = client.request(method, format!("http://{addr}{path}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if json_body.is_some() || !is_get {
        request = request
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(json_body.unwrap_or_default().to_owned());
    }
    let response = request.send().expect("send the request");
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let bytes = response.bytes().expect("read the answer");
    let body = String::from_utf8(bytes.to_vec()).expect("utf-8 answer");
    HttpAnswer {
        status,
        headers,
        body,
    }
}
