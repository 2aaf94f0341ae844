//! One poll of one licence server: its command run without a shell, killed at the timeout,
//! its output parsed.

use std::process::Stdio;
use std::time::Instant;

use idlewatch_licences::lmstat;
use idlewatch_protocol::time::now_ms;

use super::Poll;
use crate::config::LicenceServerConfig;

/// Runs `config.command` once and parses what it printed.
pub async fn once(config: &LicenceServerConfig) -> Poll {
    let started = Instant::now();
    let outcome = run(config).await;
    Poll {
        at_ms: now_ms(),
        took_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        outcome,
    }
}

async fn run(config: &LicenceServerConfig) -> Result<lmstat::Status, String> {
    let Some((program, args)) = config.command.split_first() else {
        return Err("no command configured".to_owned());
    };
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let output = match tokio::time::timeout(config.timeout(), command.output()).await {
        Err(_) => {
            return Err(format!(
                "{program} did not finish within {}s and was stopped; raise `timeout` or check \
                 the licence server",
                config.timeout().as_secs()
            ));
        }
        Ok(Err(e)) => {
            return Err(format!(
                "cannot run {program}: {e}; check `command` (is it installed and on the \
                 server's PATH?)"
            ));
        }
        Ok(Ok(output)) => output,
    };
    let text = String::from_utf8_lossy(&output.stdout);
    let status = lmstat::parse(&text);
    if status.pools.is_empty() && !output.status.success() {
        let said = String::from_utf8_lossy(&output.stderr);
        let said = said
            .lines()
            .chain(text.lines())
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("nothing");
        return Err(format!("{program} failed ({}): {said}", output.status));
    }
    Ok(status)
}
