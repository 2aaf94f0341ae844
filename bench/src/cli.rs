//! What the store benchmarks' command lines share: the directory they write to (the one given,
//! or a temporary one removed when the benchmark ends), and how they end (the summary on
//! stderr, the report as one JSON line on stdout when asked, an error and exit code 1).

use std::path::PathBuf;
use std::process::ExitCode;

use serde::Serialize;

/// The directory to use, and the temporary directory to keep alive while it is used.
///
/// # Errors
/// When no directory is given and a temporary one cannot be created.
pub fn work_dir(given: Option<PathBuf>) -> anyhow::Result<(PathBuf, Option<tempfile::TempDir>)> {
    match given {
        Some(dir) => Ok((dir, None)),
        None => {
            let temp = tempfile::tempdir()
                .map_err(|e| anyhow::anyhow!("cannot create a temporary dir: {e}"))?;
            Ok((temp.path().to_path_buf(), Some(temp)))
        }
    }
}

/// Prints what `tool` measured (`summary` of it on stderr, and the JSON line when `json`), or
/// its error.
pub fn finish<R: Serialize>(
    tool: &str,
    json: bool,
    result: anyhow::Result<R>,
    summary: impl FnOnce(&R) -> String,
) -> ExitCode {
    match result {
        Ok(report) => {
            eprintln!("{}", summary(&report));
            if json {
                println!("{}", serde_json::to_string(&report).unwrap_or_default());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{tool}: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
