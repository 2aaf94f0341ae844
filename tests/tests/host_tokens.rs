//! Per-host agent tokens end to end: issued with `idlewatch-admin tokens issue`, a token lets
//! its one host register and report and refuses any other host; it cannot read the API; it is
//! stored only hashed; `tokens list` never shows it; `tokens revoke` stops it at once, on an
//! open connection too; tokens survive a restart.

use std::time::Duration;

use idlewatch_client::{Client, Error};
use idlewatch_tests::{Server, acked as send};
use serde_json::{Value, json};

#[test]
fn a_host_token_reports_for_its_host_only_and_revoking_it_stops_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server =
        Server::try_start(&[], &[], Some(&data)).unwrap_or_else(|f| panic!("{}", f.stderr));
    let (id, token) = server.issue_host_token("pc-07");
    assert!(token.starts_with("iwh_"));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let (agent, _events) = Client::connect(&server.url(), Some(&token)).await.unwrap();
        let ack = agent
            .emit_with_ack("agent_register", &json!({"host": "pc-07"}))
            .await
            .unwrap();
        assert_eq!(ack["ok"], true, "{ack}");
        let ack = send(&agent, &json!({"host": "pc-07", "idle_seconds": 3})).await;
        assert_eq!(ack["ok"], true, "{ack}");
        // Host names are case-insensitive.
        let ack = send(&agent, &json!({"host": "PC-07", "idle_seconds": 3})).await;
        assert_eq!(ack["ok"], true, "{ack}");
        let ack = send(&agent, &json!({"host": "pc-08", "idle_seconds": 3})).await;
        assert_eq!(ack["error"]["code"], "forbidden", "{ack}");
        let message = ack["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("belongs to host \"pc-07\"") && message.contains("pc-08"),
            "{message}"
        );
        let ack = agent
            .emit_with_ack("agent_register", &json!({"host": "pc-08"}))
            .await
            .unwrap();
        assert_eq!(ack["error"]["code"], "forbidden", "{ack}");
    });
    // It may not read.
    assert_eq!(server.get("/data", Some(&token)).status, 403);
    assert!(
        server.history("pc-07").len() == 1
            && server
                .get("/api/v1/hosts/pc-08/history", Some(&server.tokens().viewer))
                .status
                == 404
    );

    // Listed without the token; stored only hashed.
    let (code, list, _) = server.admin(&["tokens", "list"]);
    assert_eq!(code, 0);
    assert!(list.contains("pc-07") && !list.contains(&token), "{list}");
    let (id2, token2) = server.issue_host_token("pc-09");
    server.signal_and_wait("TERM", Duration::from_secs(20));
    let file = std::fs::read(data.join("idlewatch.redb")).unwrap();
    assert!(
        !file.windows(token.len()).any(|w| w == token.as_bytes()),
        "the token is in the store file in clear"
    );
    let tokens_toml = std::fs::read_to_string(data.join("tokens.toml")).unwrap();
    assert!(!tokens_toml.contains(&token));

    // After a restart both tokens still work; revoking one stops it on its open connection.
    let server =
        Server::try_start(&[], &[], Some(&data)).unwrap_or_else(|f| panic!("{}", f.stderr));
    runtime.block_on(async {
        let (agent, _events) = Client::connect(&server.url(), Some(&token)).await.unwrap();
        assert_eq!(send(&agent, &json!({"host": "pc-07"})).await["ok"], true);
        let (other, _e) = Client::connect(&server.url(), Some(&token2)).await.unwrap();
        assert_eq!(send(&other, &json!({"host": "pc-09"})).await["ok"], true);

        let (code, out, err) = server.admin(&["tokens", "revoke", &id.to_string()]);
        assert_eq!(code, 0, "{err}");
        assert!(out.contains(&format!("token {id} revoked")), "{out}");
        let ack = send(&agent, &json!({"host": "pc-07"})).await;
        assert_eq!(ack["error"]["code"], "unauthorized", "{ack}");
        assert!(
            ack["error"]["message"]
                .as_str()
                .unwrap()
                .contains("revoked")
        );
        match Client::connect(&server.url(), Some(&token))
            .await
            .err()
            .unwrap()
        {
            Error::Refused { message } => assert!(message.contains("invalid token"), "{message}"),
            other => panic!("{other}"),
        }
        // The other host's token is untouched.
        assert_eq!(send(&other, &json!({"host": "pc-09"})).await["ok"], true);
    });
    let (code, _, err) = server.admin(&["tokens", "revoke", &id.to_string()]);
    assert_eq!(code, 1);
    assert!(err.contains(&format!("no token has id {id}")), "{err}");
    let (code, _, err) = server.admin(&["tokens", "issue", "--host", ""]);
    assert_eq!(code, 1, "{err}");
    let _ = id2;
}

#[test]
fn a_lab_gets_its_tokens_from_a_hosts_file_as_csv() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let lab1 = dir.path().join("lab1.txt");
    std::fs::write(
        &lab1,
        "# Lab 1, room 2.07\r\nLAB1-PC01\r\nLAB1-PC02\r\n\r\nLAB1-PC03\r\n",
    )
    .unwrap();
    let (code, out, err) = server.admin(&[
        "tokens",
        "issue",
        "--hosts-file",
        lab1.to_str().unwrap(),
        "--format",
        "csv",
    ]);
    assert_eq!(code, 0, "{err}");
    let mut reader = csv::Reader::from_reader(out.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        ["ID", "HOST", "TOKEN"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let hosts: Vec<&str> = rows.iter().map(|r| &r[1]).collect();
    assert_eq!(hosts, ["LAB1-PC01", "LAB1-PC02", "LAB1-PC03"]);
    // Each token works for its own host.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        for row in &rows {
            let (agent, _events) = Client::connect(&server.url(), Some(&row[2])).await.unwrap();
            let ack = send(&agent, &json!({"host": &row[1], "idle_seconds": 1})).await;
            assert_eq!(ack["ok"], true, "{ack}");
        }
    });
    let (_, list, _) = server.admin(&["tokens", "list", "--format", "json"]);
    assert_eq!(
        serde_json::from_str::<Value>(&list)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // A typo is caught before any token is issued.
    let typo = dir.path().join("typo.txt");
    std::fs::write(&typo, "LAB2-PC01\nLAB2-PC02\nlab2-pc01\n").unwrap();
    let (code, out, err) =
        server.admin(&["tokens", "issue", "--hosts-file", typo.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("line 3") && err.contains("line 1"), "{err}");
    let (_, list, _) = server.admin(&["tokens", "list", "--format", "json"]);
    assert_eq!(
        serde_json::from_str::<Value>(&list)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let (code, _, err) = server.admin(&["tokens", "issue", "--hosts-file", "/nonexistent/lab.txt"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("cannot read hosts file /nonexistent/lab.txt"),
        "{err}"
    );
    let (code, _, err) = server.admin(&["tokens", "issue"]);
    assert_eq!(code, 2, "neither --host nor --hosts-file: {err}");
}
