//! `tokens issue --host H`, `tokens list`, `tokens revoke ID`: per-host agent tokens.

use serde_json::{Value, json};

use crate::api::{Api, ApiFailure};
use crate::cli::{Format, TokensCommand};
use crate::error::{CliError, failed};
use crate::output::{self, Cell, Output};

/// Runs a `tokens` command.
///
/// # Errors
/// The server unreachable or refusing, or an unknown id.
pub fn run(api: &Api, out: &Output, command: &TokensCommand) -> Result<(), CliError> {
    match command {
        TokensCommand::Issue { host } => {
            let issued = api
                .post_body("/api/v1/tokens", &json!({ "host": host }))
                .map_err(|f| api.explain(f))?;
            let text = match out.format {
                Format::Json => output::json(&issued),
                Format::Csv => out.rows(
                    &["ID", "HOST", "TOKEN"],
                    &[vec![
                        Cell::json(&issued["id"]),
                        Cell::json(&issued["host"]),
                        Cell::json(&issued["token"]),
                    ]],
                ),
                Format::Table => format!(
                    "token {} for host {} (shown only now; give it to that host's agent as its token):\n{}\n",
                    issued["id"],
                    issued["host"].as_str().unwrap_or_default(),
                    issued["token"].as_str().unwrap_or_default()
                ),
            };
            output::print(&text)
        }
        TokensCommand::List => {
            let list = api.get("/api/v1/tokens", &[])?;
            let tokens = list["tokens"].as_array().cloned().unwrap_or_default();
            if out.format == Format::Json {
                return output::print(&output::json(&Value::Array(tokens)));
            }
            let rows: Vec<Vec<Cell>> = tokens
                .iter()
                .map(|t| {
                    vec![
                        Cell::json(&t["id"]),
                        Cell::json(&t["host"]),
                        Cell::json(&t["created_at"]),
                    ]
                })
                .collect();
            output::print(&out.rows(&["ID", "HOST", "ISSUED"], &rows))
        }
        TokensCommand::Revoke { id } => {
            match api.delete(&format!("/api/v1/tokens/{id}")) {
                Ok(_) => {}
                Err(ApiFailure::Status { status, .. })
                    if status == reqwest::StatusCode::NOT_FOUND =>
                {
                    return Err(failed(format!(
                        "no agent token has id {id}; `idlewatch-admin tokens list` shows them"
                    )));
                }
                Err(f) => return Err(api.explain(f)),
            }
            let text = match out.format {
                Format::Json => output::json(&json!({ "revoked": id })),
                _ => format!("token {id} revoked\n"),
            };
            output::print(&text)
        }
    }
}
