//! `db delete --host H [--from T] [--to T] --yes`: removes one host's stored snapshots through
//! the running server (which holds the store). Without `--yes` nothing happens and the command
//! says what would go.

use idlewatch_protocol::api::Deleted;
use reqwest::StatusCode;

use super::history::segment;
use crate::api::{Api, ApiFailure};
use crate::cli::{DbDeleteArgs, Format};
use crate::error::{CliError, failed};
use crate::output::{self, Output};

/// What goes, in words: "all snapshots of host H", "the snapshots of host H captured ...".
fn what(args: &DbDeleteArgs) -> String {
    let host = &args.host;
    match (&args.from, &args.to) {
        (None, None) => format!("all snapshots of host {host:?}"),
        (Some(f), None) => format!("the snapshots of host {host:?} captured from {f}"),
        (None, Some(t)) => format!("the snapshots of host {host:?} captured before {t}"),
        (Some(f), Some(t)) => {
            format!("the snapshots of host {host:?} captured from {f} to {t}")
        }
    }
}

/// Runs `db delete`.
///
/// # Errors
/// Without `--yes`; the server unreachable or refusing; an unknown host.
pub fn run(api: &Api, out: &Output, args: &DbDeleteArgs) -> Result<(), CliError> {
    if !args.yes {
        return Err(failed(format!(
            "this deletes {} from {} for good; add --yes to do it",
            what(args),
            api.server()
        )));
    }
    let mut query = Vec::new();
    if let Some(from) = &args.from {
        query.push(("from", from.clone()));
    }
    if let Some(to) = &args.to {
        query.push(("to", to.clone()));
    }
    let path = format!("/api/v1/hosts/{}/snapshots", segment(&args.host));
    let answer = match api.delete_with(&path, &query) {
        Ok(answer) => answer,
        Err(ApiFailure::Status { status, .. }) if status == StatusCode::NOT_FOUND => {
            return Err(failed(format!(
                "no host named {:?} has stored snapshots; `idlewatch-admin hosts` lists them",
                args.host
            )));
        }
        Err(f) => return Err(api.explain(f)),
    };
    let answer: Deleted = crate::api::decode(&path, answer)?;
    let deleted = answer.deleted;
    let text = match out.format {
        Format::Json => output::json_of(&answer),
        Format::Csv => out.rows(
            &["HOST", "DELETED"],
            &[vec![
                output::Cell::text(&args.host),
                output::Cell::text(deleted.to_string()),
            ]],
        ),
        Format::Table => format!("deleted {deleted} snapshots: {}\n", what(args)),
    };
    output::print(&text)
}
