//! The real agent against the real server: snapshots arrive with the machine's processes,
//! nothing is lost or doubled across a server outage or an agent restart, idle time comes from
//! a real X server, watched applications get their states from real processes.

use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

use idlewatch_protocol::Snapshot;
use idlewatch_protocol::api::HostsAnswer;
use idlewatch_tests::{
    Agent, Server, Xvfb, assert_contiguous, free_address, once, spooled, wait_until,
};
use serde_json::Value;

fn start_open_on(dir: &Path, listen: &str) -> Server {
    Server::try_start(&["--open", "--listen", listen], &[], Some(dir))
        .unwrap_or_else(|f| panic!("{}", f.stderr))
}

#[test]
fn snapshots_arrive_with_this_machines_processes() {
    let server = Server::start();
    let spool = tempfile::tempdir().unwrap();
    let token = server.tokens().agent.clone();
    let url = server.url();
    let mut agent = Agent::start(
        &[
            "--server",
            &url,
            "--token",
            &token,
            "--interval",
            "1",
            "--host",
            "e2e-pc",
            "--group",
            "lab-a",
        ],
        spool.path(),
    );
    let viewer = server.tokens().viewer.clone();
    let mut data = Value::Null;
    wait_until(
        "the agent's snapshot in /data",
        Duration::from_secs(20),
        || {
            data = server.get("/data", Some(&viewer)).json();
            data["e2e-pc"].is_object()
        },
    );
    let snapshot = &data["e2e-pc"];
    let processes = snapshot["processes"].as_array().unwrap();
    assert!(processes.len() > 3, "{snapshot}");
    let me = std::process::id();
    assert!(
        processes.iter().any(|p| p["pid"] == me),
        "this test process is among the processes"
    );
    assert_eq!(snapshot["group"], "lab-a");
    assert!(snapshot["agent_id"].as_str().unwrap().len() >= 32);
    assert!(snapshot["captured_at"].is_string());
    let hosts: HostsAnswer = server.get("/api/v1/hosts", Some(&viewer)).json_as();
    assert!(hosts.hosts[0].online, "{hosts:?}");
    wait_until("acks to empty the spool", Duration::from_secs(10), || {
        agent.spooled() == 0
    });
    agent.stop();
}

#[test]
fn a_server_outage_loses_nothing_and_doubles_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let listen = free_address();
    let mut server = start_open_on(&data, &listen);
    let spool = tempfile::tempdir().unwrap();
    let url = format!("http://{listen}");
    let mut agent = Agent::start(
        &["--server", &url, "--interval", "1", "--host", "outage-pc"],
        spool.path(),
    );
    wait_until("a first snapshot", Duration::from_secs(20), || {
        server.get("/api/v1/hosts/outage-pc/history", None).status == 200
    });
    assert!(
        server
            .signal_and_wait("TERM", Duration::from_secs(15))
            .success()
    );
    // The server is away for 30 s; the agent keeps taking snapshots into its spool.
    std::thread::sleep(Duration::from_secs(30));
    let waiting = agent.spooled();
    assert!(
        waiting >= 25,
        "snapshots spooled during the outage: {waiting}"
    );
    let server = start_open_on(&data, &listen);
    wait_until("the spool to drain", Duration::from_secs(90), || {
        agent.spooled() == 0
    });
    agent.stop();
    let seqs = server.seqs("outage-pc");
    assert_contiguous(&seqs);
    assert!(
        seqs.len() > waiting,
        "{} stored, {waiting} were waiting",
        seqs.len()
    );
    assert!(agent.log().contains("connection lost") || agent.log().contains("cannot reach"));
}

#[test]
fn an_agent_moves_on_to_the_next_server_when_one_is_killed_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let listens = [free_address(), free_address()];
    let data = [dir.path().join("a"), dir.path().join("b")];
    let mut servers = [
        start_open_on(&data[0], &listens[0]),
        start_open_on(&data[1], &listens[1]),
    ];
    let list = format!("http://{},http://{}", listens[0], listens[1]);
    let spool = tempfile::tempdir().unwrap();
    let mut agent = Agent::start(
        &["--server", &list, "--interval", "1", "--host", "cluster-pc"],
        spool.path(),
    );
    let history = "/api/v1/hosts/cluster-pc/history";
    wait_until(
        "a first snapshot on one server",
        Duration::from_secs(20),
        || servers.iter().any(|s| s.get(history, None).status == 200),
    );
    let first = usize::from(servers[0].get(history, None).status != 200);
    let other = 1 - first;
    assert_eq!(
        servers[other].get(history, None).status,
        404,
        "one server at a time"
    );
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        !servers[first]
            .signal_and_wait("KILL", Duration::from_secs(15))
            .success()
    );
    // The agent goes on with the other server at once, its spool first.
    wait_until(
        "snapshots on the other server",
        Duration::from_secs(30),
        || {
            servers[other].get(history, None).status == 200
                && servers[other].seqs("cluster-pc").len() >= 5
        },
    );
    wait_until("the spool to drain", Duration::from_secs(30), || {
        agent.spooled() == 0
    });
    agent.stop();
    assert!(agent.log().contains("trying the next"), "{}", agent.log());
    // What the killed server acked is on its disk; a snapshot it stored but could not ack
    // was sent again to the other (two stores here, not one cluster store).
    servers[first] = start_open_on(&data[first], &listens[first]);
    let on_first = servers[first].seqs("cluster-pc");
    let on_other = servers[other].seqs("cluster-pc");
    assert_contiguous(&on_first);
    assert_contiguous(&on_other);
    assert_eq!(
        on_first[0], 1,
        "the first snapshot went to the first server"
    );
    assert!(
        on_other[0] <= on_first.last().unwrap() + 1,
        "nothing between the two: {on_first:?} then {on_other:?}"
    );
    assert!(on_first.len() >= 3 && on_other.len() >= 5);
}

#[test]
fn the_spool_survives_an_agent_restart_during_an_outage() {
    let dir = tempfile::tempdir().unwrap();
    let listen = free_address(); // nothing listens there yet
    let url = format!("http://{listen}");
    let spool = tempfile::tempdir().unwrap();
    let args = [
        "--server",
        url.as_str(),
        "--interval",
        "1",
        "--host",
        "restart-pc",
    ];
    let mut first = Agent::start(&args, spool.path());
    wait_until("three spooled snapshots", Duration::from_secs(20), || {
        spooled(spool.path()) >= 3
    });
    first.stop();
    let mut second = Agent::start(&args, spool.path());
    let before = spooled(spool.path());
    wait_until("more spooled snapshots", Duration::from_secs(20), || {
        spooled(spool.path()) >= before + 2
    });
    second.stop();
    let total = spooled(spool.path());
    let server = start_open_on(&dir.path().join("data"), &listen);
    let mut third = Agent::start(&args, spool.path());
    wait_until("the spool to drain", Duration::from_secs(60), || {
        third.spooled() == 0
    });
    third.stop();
    let seqs = server.seqs("restart-pc");
    assert_contiguous(&seqs);
    assert_eq!(seqs[0], 1, "the first snapshot ever taken arrived");
    assert!(
        seqs.len() >= total,
        "{} stored, {total} were spooled",
        seqs.len()
    );
}

#[test]
fn once_prints_a_snapshot_the_protocol_accepts() {
    let snapshot = once(
        &["--host", "once-pc", "--watch", "ansys=ansys.exe,runwb2"],
        &[],
    );
    let text = snapshot.to_string();
    let parsed = Snapshot::parse(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(parsed.host(), "once-pc");
    assert!(parsed.fields().processes().unwrap() > 3);
    // Seed dashboards get their flat fields for the apps they knew.
    assert_eq!(snapshot["ansys_running"], false);
    assert_eq!(snapshot["watched"]["ansys"]["state"], "not_running");
    // No display here: idle time is unknown, and the snapshot says why.
    assert_eq!(snapshot["idle_seconds"], Value::Null);
    assert!(
        snapshot["idle_source"]
            .as_str()
            .unwrap()
            .starts_with("unavailable")
    );
}

#[test]
fn idle_time_comes_from_a_real_x_server() {
    let x = Xvfb::start();
    let env = [("DISPLAY", x.display.as_str())];
    x.xdotool(&["mousemove", "100", "100"]);
    let fresh = once(&[], &env);
    assert_eq!(fresh["idle_source"], "x11", "{fresh}");
    let idle = fresh["idle_seconds"].as_f64().unwrap();
    assert!(idle < 1.5, "just moved the mouse: {idle}");
    assert_eq!(fresh["user_active"], true);
    std::thread::sleep(Duration::from_millis(2500));
    let later = once(&["--idle-threshold", "2"], &env);
    let idle = later["idle_seconds"].as_f64().unwrap();
    assert!(idle >= 2.0, "no input for 2.5 s: {idle}");
    assert_eq!(later["user_active"], false, "idle past the 2 s threshold");
    x.xdotool(&["mousemove", "200", "200"]);
    let again = once(&[], &env)["idle_seconds"].as_f64().unwrap();
    assert!(again < 1.5, "moved again: {again}");
}

struct Children(Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
fn watched_apps_get_their_state_from_real_processes() {
    let dir = tempfile::tempdir().unwrap();
    let busy = dir.path().join("busyapp");
    let idle = dir.path().join("idleapp");
    std::fs::copy("/bin/sh", &busy).unwrap();
    std::fs::copy("/bin/sleep", &idle).unwrap();
    let children = Children(vec![
        Command::new(&busy)
            .args(["-c", "while :; do :; done"])
            .spawn()
            .unwrap(),
        Command::new(&idle).arg("120").spawn().unwrap(),
    ]);
    std::thread::sleep(Duration::from_millis(300));
    let snapshot = once(
        &[
            "--watch",
            "solver=busyapp",
            "--watch",
            "licence=IDLEAPP.exe",
            "--watch",
            "absent=nothere",
            "--busy-cpu",
            "5",
        ],
        &[],
    );
    let watched = &snapshot["watched"];
    assert_eq!(watched["solver"]["state"], "computing", "{watched}");
    // A busy loop gets well over 5 % of a core even on a loaded 2-core machine.
    assert!(
        watched["solver"]["cpu_percent"].as_f64().unwrap() >= 5.0,
        "{watched}"
    );
    assert_eq!(
        watched["licence"]["state"], "idle",
        "running but unused: {watched}"
    );
    assert_eq!(watched["licence"]["running"], true);
    assert_eq!(watched["absent"]["state"], "not_running");
    drop(children);
}

#[test]
fn an_agent_whose_clock_is_ahead_keeps_its_snapshots_and_says_why() {
    let preload = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
    assert!(
        Path::new(preload).exists(),
        "libfaketime is missing: run scripts/install-test-deps (Debian's faketime)"
    );
    let server = Server::start();
    let spool = tempfile::tempdir().unwrap();
    let token = server.tokens().agent.clone();
    let url = server.url();
    // The PC's clock is an hour ahead of the server's.
    let agent = Agent::start_with_env(
        &[
            "--server",
            &url,
            "--token",
            &token,
            "--interval",
            "1",
            "--host",
            "pc-ahead",
        ],
        spool.path(),
        &[
            ("LD_PRELOAD", preload),
            ("FAKETIME", "+1h"),
            ("DONT_FAKE_MONOTONIC", "1"),
        ],
    );
    agent.wait_for_log("ahead of the server's clock", Duration::from_secs(20));
    wait_until(
        "snapshots pile up in the spool",
        Duration::from_secs(20),
        || spooled(spool.path()) >= 3,
    );
    let log = agent.log();
    assert!(!log.contains("dropping"), "nothing is dropped:\n{log}");
    assert_eq!(
        log.matches("snapshots are kept in the spool meanwhile")
            .count(),
        1,
        "said once:\n{log}"
    );
    let viewer = server.tokens().viewer.clone();
    assert!(server.get("/data", Some(&viewer)).json()["pc-ahead"].is_null());
}
