//! The hosts file of `tokens issue --hosts-file`: one host name per line, as IT staff keep
//! them (exported from Active Directory, a spreadsheet column, a hand-written list). Read and
//! checked whole before any token is issued, so a typo never leaves half a lab with tokens.

use std::collections::HashMap;
use std::path::Path;

use crate::error::{CliError, failed};

use idlewatch_protocol::limits::MAX_HOST_CHARS as MAX_HOST;

/// The host names of `path`, in file order: lines trimmed, blank ones and `#` comments
/// skipped; a duplicate, a control character or an over-long name is an error naming its line.
///
/// # Errors
/// The file unreadable, not UTF-8, empty of hosts, or a bad line.
pub fn read(path: &Path) -> Result<Vec<String>, CliError> {
    let text = std::fs::read(path)
        .map_err(|e| failed(format!("cannot read hosts file {}: {e}", path.display())))?;
    let text = String::from_utf8(text).map_err(|_| {
        failed(format!(
            "hosts file {} is not UTF-8 text: save it as UTF-8 (one host per line)",
            path.display()
        ))
    })?;
    parse(&text).map_err(|why| failed(format!("hosts file {}: {why}", path.display())))
}

fn parse(text: &str) -> Result<Vec<String>, String> {
    let mut hosts = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let number = i + 1;
        let host = line.trim_start_matches('\u{feff}').trim();
        if host.is_empty() || host.starts_with('#') {
            continue;
        }
        if host.chars().any(char::is_control) {
            return Err(format!("line {number} holds a control character"));
        }
        if host.chars().count() > MAX_HOST {
            return Err(format!(
                "line {number}: a host name is at most {MAX_HOST} characters"
            ));
        }
        if let Some(first) = seen.insert(host.to_lowercase(), number) {
            return Err(format!(
                "line {number} repeats {host} (first on line {first}); one token per host"
            ));
        }
        hosts.push(host.to_owned());
    }
    if hosts.is_empty() {
        return Err("no host names in it (one per line)".to_owned());
    }
    Ok(hosts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_trimmed_and_comments_and_blanks_skipped() {
        let text = "\u{feff}# Lab 1\r\nLAB1-PC01\r\n\r\n  LAB1-PC02  \n# end\n";
        assert_eq!(parse(text).unwrap(), ["LAB1-PC01", "LAB1-PC02"]);
    }

    #[test]
    fn duplicates_whatever_their_case_name_both_lines() {
        let err = parse("pc-01\npc-02\nPC-01\n").unwrap_err();
        assert!(err.contains("line 3") && err.contains("line 1"), "{err}");
    }

    #[test]
    fn bad_lines_and_empty_files_are_refused() {
        assert!(parse("pc\u{7}01\n").unwrap_err().contains("line 1"));
        let long = "x".repeat(MAX_HOST + 1);
        assert!(parse(&long).unwrap_err().contains(&MAX_HOST.to_string()));
        assert!(parse("# nothing\n\n").unwrap_err().contains("no host"));
    }
}
