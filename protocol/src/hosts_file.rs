//! Hosts files: one PC per line, as IT staff keep them (exported from Active Directory, a
//! spreadsheet column, a hand-written list), optionally followed by its group —
//! `LAB-CTI-01  Lab CTI`, `LAB-CTI-01,Lab CTI` or `LAB-CTI-01<TAB>Lab CTI`. Blank lines and `#`
//! comments are skipped. Read whole and checked before use, so a typo never leaves half a lab
//! with tokens (`idlewatch-admin tokens issue --hosts-file`) or half a lab unexpected (the
//! server's `[directory] hosts_file`).

use std::collections::HashMap;
use std::path::Path;

use crate::limits::MAX_HOST_CHARS as MAX_HOST;

/// One line of a hosts file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedHost {
    /// The PC's name.
    pub host: String,
    /// Its group, when the line gives one.
    pub group: Option<String>,
}

/// The hosts of the file at `path`, in file order.
///
/// # Errors
/// The file unreadable, not UTF-8, empty of hosts, or a bad line — a sentence naming the file.
pub fn read(path: &Path) -> Result<Vec<ListedHost>, String> {
    let text = std::fs::read(path)
        .map_err(|e| format!("cannot read hosts file {}: {e}", path.display()))?;
    let text = String::from_utf8(text).map_err(|_| {
        format!(
            "hosts file {} is not UTF-8 text: save it as UTF-8 (one host per line)",
            path.display()
        )
    })?;
    parse(&text).map_err(|why| format!("hosts file {}: {why}", path.display()))
}

/// The hosts of `text`: lines trimmed, blank ones and `#` comments skipped; a duplicate name
/// (without case), a control character or an over-long name is an error naming its line.
///
/// # Errors
/// What is wrong and on which line.
pub fn parse(text: &str) -> Result<Vec<ListedHost>, String> {
    let mut hosts = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let number = i + 1;
        let line = line.trim_start_matches('\u{feff}').trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.chars().any(char::is_control) && !line.contains('\t') {
            return Err(format!("line {number} holds a control character"));
        }
        let (host, group) = match line
            .char_indices()
            .find(|(_, c)| *c == ',' || c.is_whitespace())
        {
            Some((at, c)) => (&line[..at], line[at + c.len_utf8()..].trim()),
            None => (line, ""),
        };
        if host.chars().any(char::is_control) || group.chars().any(char::is_control) {
            return Err(format!("line {number} holds a control character"));
        }
        if host.chars().count() > MAX_HOST {
            return Err(format!(
                "line {number}: a host name is at most {MAX_HOST} characters"
            ));
        }
        if let Some(first) = seen.insert(host.to_lowercase(), number) {
            return Err(format!(
                "line {number} repeats {host} (first on line {first}); list each host once"
            ));
        }
        hosts.push(ListedHost {
            host: host.to_owned(),
            group: (!group.is_empty()).then(|| group.to_owned()),
        });
    }
    if hosts.is_empty() {
        return Err("no host names in it (one per line)".to_owned());
    }
    Ok(hosts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<String> {
        parse(text).unwrap().into_iter().map(|h| h.host).collect()
    }

    #[test]
    fn lines_are_trimmed_and_comments_and_blanks_skipped() {
        let text = "\u{feff}# Lab 1\r\nLAB1-PC01\r\n\r\n  LAB1-PC02  \n# end\n";
        assert_eq!(names(text), ["LAB1-PC01", "LAB1-PC02"]);
    }

    #[test]
    fn a_group_may_follow_the_name() {
        let hosts = parse("pc01  Lab CTI\npc02,Library \npc03\tRoom 9\npc04\n").unwrap();
        let groups: Vec<Option<&str>> = hosts.iter().map(|h| h.group.as_deref()).collect();
        assert_eq!(
            groups,
            [Some("Lab CTI"), Some("Library"), Some("Room 9"), None]
        );
        assert_eq!(hosts[2].host, "pc03");
        // A spreadsheet's no-break space separates too.
        let hosts = parse("pc05\u{a0}Lab CTI\n").unwrap();
        assert_eq!(
            (hosts[0].host.as_str(), hosts[0].group.as_deref()),
            ("pc05", Some("Lab CTI"))
        );
    }

    #[test]
    fn duplicates_whatever_their_case_name_both_lines() {
        let err = parse("pc-01\npc-02\nPC-01 Lab\n").unwrap_err();
        assert!(err.contains("line 3") && err.contains("line 1"), "{err}");
    }

    #[test]
    fn bad_lines_and_empty_files_are_refused() {
        assert!(parse("pc\u{7}01\n").unwrap_err().contains("line 1"));
        let long = "x".repeat(MAX_HOST + 1);
        assert!(parse(&long).unwrap_err().contains(&MAX_HOST.to_string()));
        assert!(parse("# nothing\n\n").unwrap_err().contains("no host"));
    }

    #[test]
    fn a_missing_file_is_named() {
        let why = read(Path::new("/nonexistent/hosts.txt")).unwrap_err();
        assert!(why.contains("/nonexistent/hosts.txt"), "{why}");
    }
}
