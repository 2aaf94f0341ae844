//! What one hostile agent, one hostile viewer and one anonymous client can make a server spend:
//! each scenario runs against a spawned `idlewatch-server` with its default limits (token auth,
//! a fresh data dir) and reports what got through, what the server kept on disk and its
//! memory. The same binary can be pointed at an older server build to compare, side by side.
//!
//! - [`agent`]: one per-host token opening many connections and flooding 1 MB snapshots;
//! - [`viewer`]: dashboards that stop reading while large telemetry flows, and report ranges
//!   from year 1;
//! - [`anonymous`]: tokenless Engine.IO handshakes and slow (slowloris) connections.

pub mod agent;
pub mod anonymous;
pub mod viewer;

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use serde::Serialize;

use crate::resources;
use crate::spawn::{AuthMode, Limits, SpawnedServer};

/// One measured figure.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    /// Which client: `agent`, `viewer`, `anonymous`.
    pub who: &'static str,
    /// What was measured.
    pub what: String,
    /// The figure, with its unit.
    pub value: String,
}

/// Figures of one scenario, in order.
#[derive(Debug, Default)]
pub struct Figures(pub Vec<Figure>);

impl Figures {
    /// Adds a figure.
    pub fn add(&mut self, who: &'static str, what: impl Into<String>, value: impl Into<String>) {
        self.0.push(Figure {
            who,
            what: what.into(),
            value: value.into(),
        });
    }
}

/// The server under attack.
pub struct Target {
    /// The spawned server.
    pub server: SpawnedServer,
    http: reqwest::Client,
}

impl Target {
    /// Starts `binary` with token auth and its default limits.
    ///
    /// # Errors
    /// When it does not start.
    pub async fn start(binary: &Path) -> anyhow::Result<Self> {
        let server = SpawnedServer::start_with(binary, AuthMode::Tokens, Limits::Defaults, None)
            .await
            .context("cannot start the server under test")?;
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(120))
            .build()?;
        Ok(Self { server, http })
    }

    /// The agent, viewer and admin tokens.
    ///
    /// # Panics
    /// Never: the server runs with tokens.
    #[must_use]
    pub fn tokens(&self) -> &crate::spawn::Tokens {
        self.server.tokens().expect("a server with tokens")
    }

    /// Resident memory now and at its peak, MiB.
    #[must_use]
    pub fn memory_mib(&self) -> (f64, f64) {
        resources::sample(self.server.pid())
            .map_or((0.0, 0.0), |u| (mib(u.rss_bytes), mib(u.peak_rss_bytes)))
    }

    /// Bytes in the data dir (the store).
    #[must_use]
    pub fn stored_bytes(&self) -> u64 {
        crate::spawn::dir_size(self.server.data_dir()).unwrap_or(0)
    }

    /// `GET path` with `token`: status, body and seconds taken.
    ///
    /// # Errors
    /// When the server cannot be reached.
    pub async fn get(
        &self,
        path: &str,
        token: Option<&str>,
    ) -> anyhow::Result<(u16, Vec<u8>, f64)> {
        let started = std::time::Instant::now();
        let mut request = self.http.get(format!("{}{path}", self.server.url()));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let body = response.bytes().await?.to_vec();
        Ok((status, body, started.elapsed().as_secs_f64()))
    }

    /// Issues a per-host agent token for `host` (the server may predate them: `None`).
    ///
    /// # Errors
    /// When the server cannot be reached.
    pub async fn issue(&self, host: &str) -> anyhow::Result<Option<String>> {
        let Some(admin) = &self.tokens().admin_token else {
            return Ok(None);
        };
        let response = self
            .http
            .post(format!("{}/api/v1/tokens", self.server.url()))
            .bearer_auth(admin)
            .json(&serde_json::json!({ "host": host }))
            .send()
            .await?;
        if !response.status().is_success() {
            return Ok(None);
        }
        let body: serde_json::Value = response.json().await?;
        Ok(body["token"].as_str().map(str::to_owned))
    }
}

/// Bytes as MiB.
#[must_use]
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1u32 << 20)
}

/// `len` characters of hex digits that zstd cannot shrink below half, different for each
/// `seed`.
#[must_use]
pub fn incompressible(len: usize, seed: u64) -> String {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut out = String::with_capacity(len + 16);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.push_str(&format!("{state:016x}"));
    }
    out.truncate(len);
    out
}
