//! The long fault tests, in one binary so that they run side by side (each mostly waits):
//! a server down for five minutes under three real agents, and a Google Sheets outage of ten
//! minutes — five hanging, five answering 500 — under steady ingest.
//!
//! `IDLEWATCH_SOAK_SECS` shortens the Sheets outage for a quick local run; the test command
//! runs it in full.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use idlewatch_client::Client;
use idlewatch_protocol::api::ServerStatus;
use idlewatch_tests::google::{Google, TEST_EMAIL};
use idlewatch_tests::{
    Agent, Server, assert_contiguous, free_address, request, seed_payloads, wait_until,
};
use serde_json::{Value, json};

#[test]
fn three_agents_replay_a_five_minute_outage_within_the_default_rate_limit() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let listen = free_address();
    // The server's real default limit (2 snapshots/s per connection, bursts of 20), which the
    // harness otherwise lifts.
    let limited = [("IDLEWATCH_SNAPSHOT_RATE", "2")];
    let start = || {
        Server::try_start(&["--open", "--listen", &listen], &limited, Some(&data))
            .unwrap_or_else(|f| panic!("{}", f.stderr))
    };
    let mut server = start();
    let url = format!("http://{listen}");
    let hosts = ["lab-a", "lab-b", "lab-c"];
    let spools: Vec<_> = hosts.iter().map(|_| tempfile::tempdir().unwrap()).collect();
    let mut agents: Vec<Agent> = hosts
        .iter()
        .zip(&spools)
        .map(|(h, s)| {
            Agent::start(
                &["--server", &url, "--interval", "2", "--host", h],
                s.path(),
            )
        })
        .collect();
    wait_until("first snapshots", Duration::from_secs(30), || {
        hosts.iter().all(|h| {
            server
                .get(&format!("/api/v1/hosts/{h}/history"), None)
                .status
                == 200
        })
    });
    assert!(
        server
            .signal_and_wait("TERM", Duration::from_secs(15))
            .success()
    );
    std::thread::sleep(Duration::from_secs(300));
    let waiting: Vec<usize> = agents.iter().map(Agent::spooled).collect();
    assert!(
        waiting.iter().all(|w| *w >= 140),
        "spooled during 5 minutes: {waiting:?}"
    );
    let server = start();
    // 150 snapshots each at 2/s after a burst of 20: about a minute and a half.
    wait_until("every spool to drain", Duration::from_secs(240), || {
        agents.iter().all(|a| a.spooled() == 0)
    });
    for agent in &mut agents {
        agent.stop();
    }
    for (host, waited) in hosts.iter().zip(&waiting) {
        let seqs = server.seqs(host);
        assert_contiguous(&seqs);
        assert!(
            seqs.len() > *waited,
            "{host}: {} stored, {waited} were waiting",
            seqs.len()
        );
    }
    let limited = server.metric("idlewatch_snapshots_rate_limited_total");
    assert!(limited > 0, "the replay did meet the rate limit");
    // The agents kept their connections through the busy answers (one registration each per
    // server start), rather than reconnecting to get a fresh allowance.
    assert_eq!(server.metric("idlewatch_registrations_total"), 3);
}

/// Agents sending during the Sheets outage, one snapshot per second each.
const SOAK_AGENTS: usize = 20;
/// Longest an ack may take while uploads hang or fail: an upload attempt that blocked ingest
/// would show as a delay of its request timeout (2 s) or more.
const ACK_LIMIT: Duration = Duration::from_millis(1500);

fn outage() -> Duration {
    let secs = std::env::var("IDLEWATCH_SOAK_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(600);
    Duration::from_secs(secs)
}

/// Acks of one phase: how many, how many not ok, latencies in microseconds.
#[derive(Default)]
struct Tally {
    acked: AtomicU64,
    refused: AtomicU64,
    latencies_us: std::sync::Mutex<Vec<u64>>,
}

impl Tally {
    fn record(&self, ack: &Value, took: Duration) {
        if ack["ok"] == true {
            self.acked.fetch_add(1, Relaxed);
        } else {
            self.refused.fetch_add(1, Relaxed);
        }
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.latencies_us.lock().expect("latencies").push(us);
    }

    /// (count, p50, p99, max) in milliseconds.
    fn summary(&self) -> (usize, f64, f64, f64) {
        let mut all = self.latencies_us.lock().expect("latencies").clone();
        all.sort_unstable();
        let at = |q: f64| {
            all.get(((all.len() as f64 - 1.0) * q).round() as usize)
                .map_or(0.0, |us| *us as f64 / 1000.0)
        };
        (all.len(), at(0.5), at(0.99), at(1.0))
    }
}

fn sheets_status(server: &Server) -> Value {
    server
        .get("/api/v1/exports/status", Some(&server.tokens().viewer))
        .json()["sheets"]
        .clone()
}

fn upload_now(server: &Server) -> u16 {
    request(
        server.addr,
        "POST",
        "/api/v1/exports/sheets",
        &[(
            "Authorization",
            &format!("Bearer {}", server.tokens().admin),
        )],
        None,
    )
    .status
}

#[test]
fn ingest_is_unaffected_by_a_ten_minute_google_outage() {
    let outage = outage();
    let google = Google::with_test_key("sheet-soak");
    let dir = tempfile::tempdir().unwrap();
    let credentials = google.test_credentials(dir.path(), TEST_EMAIL);
    let config = dir.path().join("server.toml");
    std::fs::write(
        &config,
        google.sheets_section("sheet-soak", &credentials, "15s"),
    )
    .unwrap();
    let server = Server::try_start(
        &["--config", config.to_str().unwrap()],
        &[],
        Some(&dir.path().join("data")),
    )
    .unwrap_or_else(|f| panic!("server did not start:\n{}", f.stderr));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let phase = Arc::new(std::sync::Mutex::new(Arc::new(Tally::default())));
    let telemetry = Arc::new(AtomicU64::new(0));
    let url = server.url();
    let (agent_token, viewer_token) = (
        server.tokens().agent.clone(),
        server.tokens().viewer.clone(),
    );

    // A dashboard counting the live relay.
    let (dashboard, mut events) = runtime
        .block_on(Client::connect(&url, Some(&viewer_token)))
        .expect("dashboard");
    let counted = telemetry.clone();
    runtime.spawn(async move {
        while let Some(event) = events.recv().await {
            if event.name() == "telemetry" {
                counted.fetch_add(1, Relaxed);
            }
        }
    });
    // The agents: one snapshot per second each, every one waiting for its ack.
    let mut senders = Vec::new();
    for i in 0..SOAK_AGENTS {
        let (url, token, stop, phase) = (
            url.clone(),
            agent_token.clone(),
            stop.clone(),
            phase.clone(),
        );
        senders.push(runtime.spawn(async move {
            let (client, _events) = Client::connect(&url, Some(&token)).await.expect("agent");
            let host = format!("soak-{i:02}");
            client
                .emit("agent_register", &json!({"host": host}))
                .await
                .expect("register");
            let mut snapshot = seed_payloads()["later_agent_shape"].clone();
            snapshot["host"] = json!(host);
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            let mut sent = 0_u64;
            while !stop.load(Relaxed) {
                tick.tick().await;
                let tally = phase.lock().expect("phase").clone();
                let started = Instant::now();
                let ack = client
                    .emit_with_ack("agent_snapshot", &snapshot)
                    .await
                    .expect("ack");
                tally.record(&ack, started.elapsed());
                sent += 1;
            }
            client.close().await;
            sent
        }));
    }

    // Healthy first: one upload creates the tabs; the baseline phase.
    assert_eq!(upload_now(&server), 200, "{}", sheets_status(&server));
    let baseline = phase.lock().unwrap().clone();
    std::thread::sleep(Duration::from_secs(30));

    let during = Arc::new(Tally::default());
    *phase.lock().unwrap() = during.clone();
    let rss_before = server.memory_kib("VmRSS");
    let failures_before = sheets_status(&server)["failures"].as_u64().unwrap();
    let failures = |server: &Server| sheets_status(server)["failures"].as_u64().unwrap();
    google.hang(true);
    std::thread::sleep(outage / 2);
    // A scheduled run gives up after 3 attempts of 2 s each and their backoff.
    wait_until(
        "a run to fail while Google hangs",
        Duration::from_secs(60),
        || failures(&server) > failures_before,
    );
    let failures_hanging = failures(&server);
    google.hang(false);
    google.fail_next(1_000_000, 500, None);
    std::thread::sleep(outage / 2);
    wait_until("a run to fail on the 500s", Duration::from_secs(60), || {
        failures(&server) > failures_hanging
    });
    let failures_end = failures(&server);
    let rss_after = server.memory_kib("VmRSS");
    google.heal();
    let after = Arc::new(Tally::default());
    *phase.lock().unwrap() = after.clone();

    // Google is back: the next upload succeeds with every host in Status.
    wait_until(
        "an upload to succeed again",
        Duration::from_secs(60),
        || upload_now(&server) == 200,
    );
    let status_rows = google.tab("Status").expect("Status tab").cells.len();
    stop.store(true, Relaxed);
    let sent: u64 = runtime.block_on(async {
        let mut total = 0;
        for s in senders {
            total += s.await.expect("agent task");
        }
        total
    });
    wait_until("every snapshot relayed", Duration::from_secs(10), || {
        telemetry.load(Relaxed) == sent
    });
    runtime.block_on(dashboard.close());

    let (n, p50, p99, max) = during.summary();
    let (bn, bp50, bp99, bmax) = baseline.summary();
    eprintln!(
        "soak: {outage:?} Google outage ({SOAK_AGENTS} agents at 1/s): {n} acks p50 {p50:.2} ms, \
         p99 {p99:.2} ms, max {max:.2} ms (baseline {bn}: {bp50:.2} / {bp99:.2} / {bmax:.2} ms); \
         failed upload runs {} hanging + {} on 500s; server RSS {} -> {} MiB",
        failures_hanging - failures_before,
        failures_end - failures_hanging,
        rss_before / 1024,
        rss_after / 1024
    );
    for tally in [&baseline, &during, &after] {
        assert_eq!(tally.refused.load(Relaxed), 0, "an ack was not ok");
    }
    assert!(
        n as u64 >= outage.as_secs().saturating_sub(5) * SOAK_AGENTS as u64 * 9 / 10,
        "{n} acks"
    );
    assert!(
        Duration::from_secs_f64(max / 1000.0) < ACK_LIMIT,
        "an ack took {max:.0} ms during the outage"
    );
    assert!(
        failures_hanging > failures_before,
        "no upload failed while Google hung"
    );
    assert!(
        failures_end > failures_hanging,
        "no upload failed on the 500s"
    );
    // Every acked snapshot stored, every one relayed, once.
    let status: ServerStatus = server
        .get("/api/v1/status", Some(&server.tokens().viewer))
        .json_as();
    assert_eq!(status.store.snapshots, Some(sent));
    assert_eq!(
        status_rows,
        SOAK_AGENTS + 1,
        "a header and one row per host"
    );
    assert!(
        rss_after < rss_before + 64 * 1024,
        "server RSS grew from {} to {} MiB during the outage",
        rss_before / 1024,
        rss_after / 1024
    );
    assert!(!server.log().contains("panicked"), "{}", server.log());
}
