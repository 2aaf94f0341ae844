//! One poll of one licence server: its command run without a shell, killed at the timeout,
//! its output (at most [`MAX_OUTPUT`]) parsed.

use std::process::Stdio;
use std::time::Instant;

use idlewatch_licences::lmstat;
use idlewatch_protocol::time::now_ms;
use tokio::io::{AsyncRead, AsyncReadExt};

use super::Poll;
use crate::config::LicenceServerConfig;

/// The most output read from one poll: `lmstat -a` of a very large server is a few MB, and
/// the licence server's text is not to be trusted with the server's memory.
pub const MAX_OUTPUT: u64 = 16 << 20;

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

/// Reads `from` to its end or `limit` bytes; whether it stopped at the limit.
async fn read_capped(from: Option<impl AsyncRead + Unpin>, limit: u64) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    if let Some(from) = from {
        let _ = from.take(limit + 1).read_to_end(&mut out).await;
    }
    let over = out.len() as u64 > limit;
    out.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    (out, over)
}

/// Lines lmutil prints before anything about the server.
fn is_banner(line: &str) -> bool {
    line.starts_with("lmutil - ")
        || line.starts_with("Flexible License Manager status")
        || line.starts_with('[')
}

async fn run(config: &LicenceServerConfig) -> Result<lmstat::Status, String> {
    let Some((program, args)) = config.command.split_first() else {
        return Err("no command configured".to_owned());
    };
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            format!(
                "cannot run {program}: {e}; check `command` (is it installed and on the \
                 server's PATH?)"
            )
        })?;
    let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
    let finished = tokio::time::timeout(config.timeout(), async {
        let ((out, over), (err, _)) = tokio::join!(
            read_capped(stdout, MAX_OUTPUT),
            read_capped(stderr, 64 << 10)
        );
        if over {
            return Err(format!(
                "{program} printed more than {} MiB; is `command` an lmstat?",
                MAX_OUTPUT >> 20
            ));
        }
        let status = child.wait().await.map_err(|e| format!("{program}: {e}"))?;
        Ok((status, out, err))
    })
    .await;
    // On a timeout or too much output the child is dropped, and so killed.
    let (exit, out, err) = match finished {
        Err(_) => {
            return Err(format!(
                "{program} did not finish within {}s and was stopped; raise `timeout` or check \
                 the licence server",
                config.timeout().as_secs()
            ));
        }
        Ok(result) => result?,
    };
    let text = String::from_utf8_lossy(&out);
    let status = lmstat::parse(&text);
    if status.pools.is_empty() && !exit.success() {
        // The server's own words when lmstat gave them; else the first line that is not
        // lmutil's banner.
        let said = String::from_utf8_lossy(&err);
        let said = status.problems.first().cloned().unwrap_or_else(|| {
            said.lines()
                .chain(text.lines())
                .map(str::trim)
                .find(|l| !l.is_empty() && !is_banner(l))
                .unwrap_or("nothing")
                .to_owned()
        });
        return Err(format!("{program} failed ({exit}): {said}"));
    }
    Ok(status)
}
