//! `idlewatch-admin`: the supervisor's command line. It talks to the server's HTTP API
//! (`status`, `hosts`, `history`, `usage`, `export`, `tokens`, `db delete`) and opens a stopped
//! server's store read-only for `db check` and `db stats`.
//!
//! - [`cli`]: the flags and commands;
//! - [`settings`]: server address and token from flags, environment and `admin.toml`;
//! - [`api`]: HTTP calls and their failures in words;
//! - [`output`]: tables, CSV and JSON;
//! - [`commands`]: one module per command.

pub mod api;
pub mod cli;
pub mod commands;
pub mod error;
pub mod output;
pub mod settings;
pub mod time;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use crate::api::Api;
use crate::cli::{Cli, Command, DbCommand, LicencesCommand};
use crate::error::CliError;
use crate::output::Output;

/// Parses `args`, runs the command, prints any error as one line, and returns the exit status.
pub fn main_with(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("idlewatch-admin: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Runs one parsed command.
///
/// # Errors
/// The command's failure, in words.
pub fn run(cli: Cli) -> Result<(), CliError> {
    let out = Output::new(cli.format);
    let api = || -> Result<Api, CliError> {
        Api::new(settings::resolve(
            cli.server.as_deref(),
            cli.token.as_deref(),
            cli.ca_file.as_deref(),
            cli.config.as_deref(),
        )?)
    };
    match &cli.command {
        Command::Status => commands::status::run(&api()?, &out),
        Command::Hosts(args) => commands::hosts::run(&api()?, &out, args),
        Command::History(args) => commands::history::run(&api()?, &out, args),
        Command::Usage(args) => commands::usage::run(&api()?, &out, args),
        Command::Export(args) => commands::export::run(&api()?, &out, args),
        Command::Licences(args) => match &args.command {
            None => commands::seats::overview(&api()?, &out, args),
            Some(LicencesCommand::Servers(servers)) => {
                commands::licences::servers(&api()?, &out, servers)
            }
            Some(LicencesCommand::Simulate(simulate)) => {
                commands::seats::simulate(&api()?, &out, simulate)
            }
        },
        Command::Alerts(args) => commands::alerts::run(&api()?, &out, args),
        Command::Tokens { command } => commands::tokens::run(&api()?, &out, command),
        Command::Db { command } => match command {
            DbCommand::Check(args) => commands::db::check(&out, &args.data_dir),
            DbCommand::Stats(args) if args.shared => commands::db::shared_stats(&api()?, &out),
            DbCommand::Stats(args) => commands::db::stats(&out, &args.data_dir),
            DbCommand::Delete(args) => commands::delete::run(&api()?, &out, args),
        },
        Command::Completions { shell } => {
            let mut text = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "idlewatch-admin", &mut text);
            output::print(&String::from_utf8_lossy(&text))
        }
    }
}
