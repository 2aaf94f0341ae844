//! Posting an alert to a webhook: the JSON notification (or the `{"text"}` Slack and Teams
//! incoming webhooks take), signed with HMAC-SHA256 when the notifier has a secret, retried
//! with exponential backoff on network failures, 429 and 5xx answers.

use std::time::Duration;

use aws_lc_rs::hmac;
use idlewatch_protocol::api::AlertNotification;
use reqwest::StatusCode;
use serde_json::json;

use super::{Attempt, text_of};
use crate::config::WebhookFormat;

/// The header carrying the body's signature: `sha256=<hex of HMAC-SHA256(secret, body)>`.
pub const SIGNATURE_HEADER: &str = "X-Idlewatch-Signature";

/// How long one request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// One webhook.
pub struct Webhook {
    url: String,
    format: WebhookFormat,
    /// Boxed: a key holds its hash state (over a kilobyte).
    secret: Option<Box<hmac::Key>>,
    http: reqwest::Client,
}

/// `sha256=<hex>` of `body` under `secret`: what a receiver recomputes to trust the body.
#[must_use]
pub fn signature(secret: &hmac::Key, body: &[u8]) -> String {
    let tag = hmac::sign(secret, body);
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256=");
    for b in tag.as_ref() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

impl Webhook {
    /// A webhook posting to `url`, signing with `secret` (the file's bytes, trailing
    /// whitespace removed) when given.
    #[must_use]
    pub fn new(
        url: String,
        format: WebhookFormat,
        secret: Option<&[u8]>,
        http: reqwest::Client,
    ) -> Self {
        Self {
            url,
            format,
            secret: secret.map(|s| Box::new(hmac::Key::new(hmac::HMAC_SHA256, s))),
            http,
        }
    }

    /// The body posted for `n`.
    #[must_use]
    pub fn body(&self, n: &AlertNotification) -> Vec<u8> {
        let value = match self.format {
            WebhookFormat::Json => serde_json::to_value(n).unwrap_or_default(),
            WebhookFormat::Slack | WebhookFormat::Teams => json!({ "text": text_of(n) }),
        };
        serde_json::to_vec(&value).unwrap_or_default()
    }

    /// One attempt at posting `body`.
    pub async fn post(&self, body: &[u8]) -> Attempt {
        let mut request = self
            .http
            .post(&self.url)
            .timeout(REQUEST_TIMEOUT)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_vec());
        if let Some(secret) = &self.secret {
            request = request.header(SIGNATURE_HEADER, signature(secret, body));
        }
        match request.send().await {
            Ok(answer) if answer.status().is_success() => Attempt::Done,
            Ok(answer) => {
                let status = answer.status();
                let reason = format!("{} answered {status}", self.url);
                if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
                    Attempt::Retry(reason)
                } else {
                    Attempt::Fail(format!(
                        "{reason}; check the notifier's webhook URL (a 4xx is not retried)"
                    ))
                }
            }
            Err(e) => Attempt::Retry(format!("cannot post to {}: {e}", self.url)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_in_hex() {
        // RFC 4231, test case 2.
        let key = hmac::Key::new(hmac::HMAC_SHA256, b"Jefe");
        assert_eq!(
            signature(&key, b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
