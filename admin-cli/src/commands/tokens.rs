//! `tokens issue --host H | --hosts-file FILE | --viewer --group G…`, `tokens list`,
//! `tokens revoke ID`: per-host agent tokens and viewer tokens scoped to labs.

use idlewatch_protocol::api::{IssueToken, IssuedToken, Revoked, TokenInfo, TokenList};

use crate::api::{Api, ApiFailure, decode};
use crate::cli::{Format, TokensCommand};
use crate::error::{CliError, failed};
use crate::output::{self, Cell, Output};

/// Issues one token per host, in order, and prints them — also when a later one fails, so
/// that no token shown only once is lost.
fn issue(api: &Api, out: &Output, hosts: &[String], single: bool) -> Result<(), CliError> {
    let mut issued = Vec::with_capacity(hosts.len());
    let mut failure = None;
    for host in hosts {
        let body = IssueToken {
            host: Some(host.clone()),
            ..IssueToken::default()
        };
        let request = serde_json::to_value(&body).map_err(|e| failed(e.to_string()))?;
        // A token issued is shown whatever happens next: a failure stops the loop, never
        // the printing of what came before it.
        let answer = api
            .post_body("/api/v1/tokens", &request)
            .map_err(|f| api.explain(f))
            .and_then(|token| decode::<IssuedToken>("/api/v1/tokens", token));
        match answer {
            Ok(token) => issued.push(token),
            Err(why) => {
                failure = Some((host, why));
                break;
            }
        }
    }
    let rows: Vec<Vec<Cell>> = issued
        .iter()
        .map(|t| {
            vec![
                Cell::text(t.id.to_string()),
                Cell::text(t.host.as_deref().unwrap_or_default()),
                Cell::text(&t.token),
            ]
        })
        .collect();
    let text = match (out.format, single) {
        (Format::Json, true) => issued.first().map(output::json_of).unwrap_or_default(),
        (Format::Json, false) => output::json_of(&issued),
        (Format::Csv, _) => out.rows(&["ID", "HOST", "TOKEN"], &rows),
        (Format::Table, true) => issued
            .first()
            .map(|t| {
                format!(
                    "token {} for host {} (shown only now; give it to that host's agent as its token):\n{}\n",
                    t.id, t.host.as_deref().unwrap_or_default(), t.token
                )
            })
            .unwrap_or_default(),
        (Format::Table, false) => format!(
            "{}{} tokens, shown only now: give each to its host's agent (--format csv keeps them \
             in a file)\n",
            out.rows(&["ID", "HOST", "TOKEN"], &rows),
            issued.len()
        ),
    };
    output::print(&text)?;
    match failure {
        None => Ok(()),
        Some((host, why)) if issued.is_empty() => Err(failed(format!(
            "no token issued: the one for {host} failed: {why}"
        ))),
        Some((host, why)) => Err(failed(format!(
            "the token for {host} failed: {why}; the {} issued before it are printed above (keep \
             them: they are not shown again); issue the rest with a hosts file starting at {host}",
            issued.len()
        ))),
    }
}

/// Issues a viewer token scoped to `groups` and prints it.
fn issue_viewer(api: &Api, out: &Output, groups: &[String]) -> Result<(), CliError> {
    let body = IssueToken {
        viewer: true,
        groups: groups.to_vec(),
        ..IssueToken::default()
    };
    let request = serde_json::to_value(&body).map_err(|e| failed(e.to_string()))?;
    let token = api
        .post_body("/api/v1/tokens", &request)
        .map_err(|f| api.explain(f))
        .and_then(|token| decode::<IssuedToken>("/api/v1/tokens", token))?;
    let text = match out.format {
        Format::Json => output::json_of(&token),
        Format::Csv => out.rows(
            &["ID", "GROUPS", "TOKEN"],
            &[vec![
                Cell::text(token.id.to_string()),
                Cell::text(token.groups.join("; ")),
                Cell::text(&token.token),
            ]],
        ),
        Format::Table => format!(
            "viewer token {} for {} (shown only now; it reads those labs only — their hosts, \
             history, reports, alerts and seats — on the dashboard and the API):\n{}\n",
            token.id,
            token.groups.join(", "),
            token.token
        ),
    };
    output::print(&text)
}

/// Who a listed token is for.
fn holder(token: &TokenInfo) -> String {
    match &token.host {
        Some(host) => format!("agent of {host}"),
        None => format!("viewer of {}", token.groups.join(", ")),
    }
}

/// Runs a `tokens` command.
///
/// # Errors
/// The server unreachable or refusing, or an unknown id.
pub fn run(api: &Api, out: &Output, command: &TokensCommand) -> Result<(), CliError> {
    match command {
        TokensCommand::Issue {
            viewer: true,
            group,
            ..
        } => issue_viewer(api, out, group),
        TokensCommand::Issue {
            host, hosts_file, ..
        } => {
            let hosts = match (host, hosts_file) {
                (Some(host), _) => vec![host.clone()],
                (None, Some(file)) => super::hosts_file::read(file)?,
                (None, None) => return Err(failed("give --host H or --hosts-file FILE")),
            };
            issue(api, out, &hosts, host.is_some())
        }
        TokensCommand::List => {
            let tokens = api.get_as::<TokenList>("/api/v1/tokens", &[])?.tokens;
            if out.format == Format::Json {
                return output::print(&output::json_of(&tokens));
            }
            let rows: Vec<Vec<Cell>> = tokens
                .iter()
                .map(|t| {
                    vec![
                        Cell::text(t.id.to_string()),
                        Cell::text(holder(t)),
                        Cell::text(&t.created_at),
                    ]
                })
                .collect();
            output::print(&out.rows(&["ID", "FOR", "ISSUED"], &rows))
        }
        TokensCommand::Revoke { id } => {
            match api.delete(&format!("/api/v1/tokens/{id}")) {
                Ok(_) => {}
                Err(ApiFailure::Status { status, .. })
                    if status == reqwest::StatusCode::NOT_FOUND =>
                {
                    return Err(failed(format!(
                        "no token has id {id}; `idlewatch-admin tokens list` shows them"
                    )));
                }
                Err(f) => return Err(api.explain(f)),
            }
            let text = match out.format {
                Format::Json => output::json_of(&Revoked { revoked: *id }),
                _ => format!("token {id} revoked\n"),
            };
            output::print(&text)
        }
    }
}
