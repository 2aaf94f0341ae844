//! `export --xlsx FILE` downloads the XLSX report through a temporary file in FILE's directory,
//! renamed over FILE only once complete (never a half-written report; an existing FILE only
//! with `--force`), with a progress bar on a terminal. `export --sheets` runs the Google Sheets
//! upload now and shows its result.

use std::io::{IsTerminal, Read, Write};
use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::api::{Api, ApiFailure};
use crate::cli::{ExportArgs, Format};
use crate::error::{CliError, failed};
use crate::output::{self, Output};

/// Runs `export`.
///
/// # Errors
/// The server unreachable or refusing, a file that exists, or a write that fails.
pub fn run(api: &Api, out: &Output, args: &ExportArgs) -> Result<(), CliError> {
    match &args.xlsx {
        Some(file) => xlsx(api, out, args, file),
        None => sheets(api, out),
    }
}

fn sheets(api: &Api, out: &Output) -> Result<(), CliError> {
    let report = match api.post_json("/api/v1/exports/sheets") {
        Ok(r) => r,
        Err(ApiFailure::Status { code, message, .. })
            if code.as_deref() == Some("not_configured") =>
        {
            return Err(failed(message));
        }
        Err(ApiFailure::Status { code, message, .. })
            if matches!(code.as_deref(), Some("upstream" | "internal")) =>
        {
            return Err(failed(format!("the Sheets upload failed: {message}")));
        }
        Err(f) => return Err(api.explain(f)),
    };
    if out.format == Format::Json {
        return output::print(&output::json(&report));
    }
    let created = report["tabs_created"]
        .as_array()
        .filter(|t| !t.is_empty())
        .map(|t| {
            format!(
                "; created tabs {}",
                t.iter()
                    .filter_map(|x| x.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .unwrap_or_default();
    output::print(&format!(
        "Sheets upload done in {} ms: {} hosts in Status, {} rows appended to Utilization and {} to Licences{}; {} requests ({} retries)\n",
        report["duration_ms"],
        report["hosts"],
        report["utilization_rows"],
        report["licence_rows"],
        created,
        report["requests"],
        report["retries"]
    ))
}

fn write_error(file: &Path, e: &std::io::Error) -> CliError {
    failed(format!(
        "cannot write {}: {e}; nothing was written there — free some space or choose another path",
        file.display()
    ))
}

fn xlsx(api: &Api, out: &Output, args: &ExportArgs, file: &Path) -> Result<(), CliError> {
    if file.exists() && !args.force {
        return Err(failed(format!(
            "{} exists; pass --force to replace it",
            file.display()
        )));
    }
    if file.is_dir() {
        return Err(failed(format!(
            "{} is a directory; give a file name",
            file.display()
        )));
    }
    let dir = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => std::path::PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(failed(format!(
            "the directory {} does not exist",
            dir.display()
        )));
    }
    let query = super::history::report_query(
        args.from.as_ref(),
        args.to.as_ref(),
        args.group.as_ref(),
        &args.hosts,
    );
    let mut response = match api.download("/export.xlsx", &query) {
        Ok(r) => r,
        Err(f) => return Err(super::history::explain_hosts(api, f, &args.hosts)),
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".idlewatch-export-")
        .suffix(".part")
        .tempfile_in(&dir)
        .map_err(|e| write_error(file, &e))?;
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} {binary_bytes} ({binary_bytes_per_sec})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(format!("writing {}", file.display()));
        bar
    });
    let mut buffer = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = response.read(&mut buffer).map_err(|e| {
            failed(format!(
                "the download from {} broke off: {e}; nothing was written to {}",
                api.server(),
                file.display()
            ))
        })?;
        if n == 0 {
            break;
        }
        temp.write_all(&buffer[..n])
            .map_err(|e| write_error(file, &e))?;
        total += n as u64;
        if let Some(bar) = &bar {
            bar.set_position(total);
        }
    }
    temp.as_file()
        .sync_all()
        .map_err(|e| write_error(file, &e))?;
    let placed = if args.force {
        temp.persist(file).map(|_| ())
    } else {
        temp.persist_noclobber(file).map(|_| ())
    };
    placed.map_err(|e| write_error(file, &e.error))?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let text = match out.format {
        Format::Json => output::json(&json!({"file": file.display().to_string(), "bytes": total})),
        _ => format!("wrote {} ({})\n", file.display(), output::bytes(total)),
    };
    output::print(&text)
}
