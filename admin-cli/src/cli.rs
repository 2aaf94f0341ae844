//! The command line: global options and commands (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The supervisor's command line for an Idlewatch server: hosts, history, usage and exports.
///
/// Exit status: 0 ok, 1 failure, 2 usage error.
#[derive(Debug, Parser)]
#[command(name = "idlewatch-admin", version, about, propagate_version = true)]
pub struct Cli {
    /// The server [default: http://127.0.0.1:5000, or `server` in the config file].
    #[arg(long, global = true, env = "IDLEWATCH_SERVER", value_name = "URL")]
    pub server: Option<String>,
    /// The admin token [or `token` in the config file].
    #[arg(
        long,
        global = true,
        env = "IDLEWATCH_ADMIN_TOKEN",
        value_name = "T",
        hide_env_values = true,
        // Tokens made before they had a prefix may start with '-'.
        allow_hyphen_values = true
    )]
    pub token: Option<String>,
    /// PEM certificate of the CA that signed an https:// server's certificate [default: the
    /// system's authorities, or `ca_file` in the config file].
    #[arg(long, global = true, env = "IDLEWATCH_CA_FILE", value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Config file with `server`, `token` and `ca_file` [default: ~/.config/idlewatch/admin.toml].
    #[arg(
        long,
        global = true,
        env = "IDLEWATCH_ADMIN_CONFIG",
        value_name = "FILE"
    )]
    pub config: Option<PathBuf>,
    /// Output: aligned tables for people, JSON or CSV for scripts.
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns (colour on a terminal, never with NO_COLOR).
    Table,
    /// One JSON document.
    Json,
    /// A header row, then one row per item.
    Csv,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Server version, uptime, hosts online and offline, store size, last Sheets upload.
    Status,
    /// Every known host with its state and latest figures.
    Hosts(HostsArgs),
    /// A host's stored snapshots.
    History(HistoryArgs),
    /// Utilization per host per day (active, idle, offline hours; share of opening hours).
    Usage(UsageArgs),
    /// Download the XLSX report, or run the Google Sheets upload now.
    Export(ExportArgs),
    /// Licence seats: peaks and the week's shape from what the PCs show (`--app` for one app's
    /// hour-of-week grid), the licence servers' view (`servers`), and what reclaiming idle seats
    /// would save (`simulate`).
    Licences(LicencesArgs),
    /// Alerts: firing now, and those resolved in a time range.
    Alerts(AlertsArgs),
    /// Per-host agent tokens: issue, list, revoke.
    Tokens {
        /// What to do.
        #[command(subcommand)]
        command: TokensCommand,
    },
    /// The store: check and stats of a stopped server's file; delete a host's data through the
    /// running server.
    Db {
        /// What to do with it.
        #[command(subcommand)]
        command: DbCommand,
    },
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// `licences [--app A] [--from] [--to] [--group G]`, or one of its views.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct LicencesArgs {
    /// Another view than the peaks.
    #[command(subcommand)]
    pub command: Option<LicencesCommand>,
    /// Only this watched app, with its hour-of-week grid (peak seats in use per hour).
    #[arg(long, value_name = "A")]
    pub app: Option<String>,
    /// The range.
    #[command(flatten)]
    pub range: SeatsRange,
}

/// The range and PCs of a licence view.
#[derive(Debug, Args)]
pub struct SeatsRange {
    /// From [default: 30 days ago].
    #[arg(long, value_parser = time_arg, value_name = "TIME")]
    pub from: Option<String>,
    /// To [default: now].
    #[arg(long, value_parser = time_arg, value_name = "TIME")]
    pub to: Option<String>,
    /// Only this group's PCs.
    #[arg(long, value_name = "G")]
    pub group: Option<String>,
}

/// `licences ...`.
#[derive(Debug, Subcommand)]
pub enum LicencesCommand {
    /// Each licence server's seats (issued, in use, seen in use, orphaned) and every checkout
    /// beside what the agent on its PC reports.
    Servers(LicenceServersArgs),
    /// Replay the stored states as if every seat idle longer than a limit had been released:
    /// the peak seats needed beside the peak held, week by week.
    Simulate(SimulateArgs),
}

/// `licences simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// The watched app.
    #[arg(long, value_name = "A")]
    pub app: String,
    /// Release a seat once its app has sat idle this long (`30m`, `2h`).
    #[arg(long, value_name = "DURATION")]
    pub reclaim_after: String,
    /// The range.
    #[command(flatten)]
    pub range: SeatsRange,
}

/// `licences servers`.
#[derive(Debug, Args)]
pub struct LicenceServersArgs {
    /// Only the seats held for nothing (the app idle or not running on the PC, or no agent).
    #[arg(long)]
    pub orphaned: bool,
}

/// `alerts`.
#[derive(Debug, Args)]
pub struct AlertsArgs {
    /// Only the alerts firing now.
    #[arg(long, conflicts_with = "resolved")]
    pub firing: bool,
    /// Only the alerts that resolved.
    #[arg(long)]
    pub resolved: bool,
    /// Alerts active from [default: 7 days ago].
    #[arg(long, value_parser = time_arg, value_name = "TIME")]
    pub from: Option<String>,
    /// Alerts active until [default: now].
    #[arg(long, value_parser = time_arg, value_name = "TIME")]
    pub to: Option<String>,
}

/// `hosts`.
#[derive(Debug, Args)]
pub struct HostsArgs {
    /// Only hosts of this group (lab, room).
    #[arg(long, value_name = "G")]
    pub group: Option<String>,
    /// Only hosts online now.
    #[arg(long, conflicts_with = "offline")]
    pub online: bool,
    /// Only hosts offline now.
    #[arg(long, conflicts_with = "missing")]
    pub offline: bool,
    /// Only the PCs the server's directory lists that are not reporting: never seen, or silent
    /// since their last report.
    #[arg(long, conflicts_with = "online")]
    pub missing: bool,
}

/// A time on the command line: RFC 3339, a date, `now`, or relative (`-24h`, `7d`).
fn time_arg(text: &str) -> Result<String, String> {
    crate::time::absolute(text)
}

/// `history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The host.
    pub host: String,
    /// From (inclusive): RFC 3339, a date (2026-11-26), or relative (-24h, 7d) [default: -24h].
    #[arg(long, value_parser = time_arg, value_name = "TIME")]
    pub from: Option<String>,
    /// To (exclusive) [default: now].
    #[arg(long, value_parser = time_arg, value_name = "TIME")]
    pub to: Option<String>,
    /// Most snapshots shown.
    #[arg(long, default_value_t = 1000, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: u64,
}

/// `usage`.
#[derive(Debug, Args)]
pub struct UsageArgs {
    /// From [default: 7 days ago].
    #[arg(long, value_parser = time_arg, value_name = "TIME")]
    pub from: Option<String>,
    /// To [default: now].
    #[arg(long, value_parser = time_arg, value_name = "TIME")]
    pub to: Option<String>,
    /// Only this group's hosts.
    #[arg(long, value_name = "G")]
    pub group: Option<String>,
    /// Only these hosts (repeatable).
    #[arg(long = "host", value_name = "H")]
    pub hosts: Vec<String>,
}

/// `export`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["xlsx", "sheets"])))]
pub struct ExportArgs {
    /// Write the XLSX report to FILE (through a temporary file renamed on success).
    #[arg(long, value_name = "FILE")]
    pub xlsx: Option<PathBuf>,
    /// Run the Google Sheets upload now and show its result.
    #[arg(long)]
    pub sheets: bool,
    /// From [default: 7 days ago].
    #[arg(long, value_parser = time_arg, value_name = "TIME", requires = "xlsx")]
    pub from: Option<String>,
    /// To [default: now].
    #[arg(long, value_parser = time_arg, value_name = "TIME", requires = "xlsx")]
    pub to: Option<String>,
    /// Only these hosts (repeatable).
    #[arg(long = "host", value_name = "H", requires = "xlsx")]
    pub hosts: Vec<String>,
    /// Only this group's hosts.
    #[arg(long, value_name = "G", requires = "xlsx")]
    pub group: Option<String>,
    /// Replace FILE if it exists.
    #[arg(long, requires = "xlsx")]
    pub force: bool,
}

/// `tokens`.
#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Issue a token that lets one host register and report, or (--viewer --group G) one that
    /// reads only some labs: their hosts, history, reports, alerts and seats, in every route
    /// and event (printed once; give it to that host's agent, or to the lab's supervisor).
    Issue {
        /// The host it is for.
        #[arg(long, value_name = "H", required_unless_present_any = ["hosts_file", "viewer"])]
        host: Option<String>,
        /// A file naming one host per line (blank lines and `#` comments skipped): one token
        /// each, e.g. a lab's PCs for their installers (with --format csv: ID,HOST,TOKEN).
        #[arg(long, value_name = "FILE", conflicts_with = "host")]
        hosts_file: Option<PathBuf>,
        /// A viewer token scoped to the labs given with --group, rather than an agent token.
        #[arg(long, conflicts_with_all = ["host", "hosts_file"], requires = "group")]
        viewer: bool,
        /// With --viewer: a lab (group) it may read; repeat for several.
        #[arg(long, value_name = "G", requires = "viewer")]
        group: Vec<String>,
    },
    /// List the tokens (their ids and who they are for, never the tokens).
    List,
    /// Revoke a token at once, also on its open connections.
    Revoke {
        /// The token's id (from `tokens list`).
        id: u64,
    },
}

/// `db`.
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Verify every record and index of the store.
    Check(DbArgs),
    /// Sizes and counts, per host: a stopped server's file (--data-dir), or the database a
    /// cluster on PostgreSQL shares (--shared, through the server).
    Stats(DbStatsArgs),
    /// Delete one host's stored snapshots (all, or those captured in --from/--to) through the
    /// running server; its other data and other hosts are untouched.
    Delete(DbDeleteArgs),
}

/// `db delete`.
#[derive(Debug, Args)]
pub struct DbDeleteArgs {
    /// The host whose snapshots go.
    #[arg(long, value_name = "H")]
    pub host: String,
    /// Only those captured from this time (inclusive) [default: the first].
    #[arg(long, value_parser = time_arg, value_name = "TIME")]
    pub from: Option<String>,
    /// Only those captured before this time [default: the last].
    #[arg(long, value_parser = time_arg, value_name = "TIME")]
    pub to: Option<String>,
    /// Delete for good: without it, nothing is deleted and the command says what would be.
    #[arg(long)]
    pub yes: bool,
}

/// `db stats`: which store.
#[derive(Debug, Args)]
pub struct DbStatsArgs {
    /// The stopped server's data dir.
    #[arg(long, value_name = "DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// The database of a cluster on PostgreSQL instead, through the running server given by
    /// --server.
    #[arg(long, conflicts_with = "data_dir")]
    pub shared: bool,
}

/// Where the store is.
#[derive(Debug, Args)]
pub struct DbArgs {
    /// The server's data dir.
    #[arg(long, value_name = "DIR", default_value = "./data")]
    pub data_dir: PathBuf,
}
