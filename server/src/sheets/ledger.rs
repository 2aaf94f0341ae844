//! What has been appended to the `Utilization` tab, kept in `<data_dir>/sheets-ledger.json` so
//! that no day is appended twice, across runs and restarts. It is bound to the spreadsheet and
//! tab: pointing the server at another one starts that one afresh.

use std::io::Write;
use std::path::{Path, PathBuf};

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// The ledger's file name in the data dir.
pub const FILE_NAME: &str = "sheets-ledger.json";

/// The last local day whose rows were appended to one spreadsheet's tab.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    /// The spreadsheet.
    pub spreadsheet_id: String,
    /// The tab.
    pub utilization_tab: String,
    /// The last appended day, `YYYY-MM-DD`.
    pub appended_through: Option<String>,
}

impl Ledger {
    /// The last appended day for this spreadsheet and tab, if any.
    #[must_use]
    pub fn through(&self, spreadsheet_id: &str, tab: &str) -> Option<Date> {
        if self.spreadsheet_id != spreadsheet_id || self.utilization_tab != tab {
            return None;
        }
        self.appended_through.as_deref()?.parse().ok()
    }
}

/// Reads the ledger at `path`; a missing file is an empty ledger.
///
/// # Errors
/// A file that exists but cannot be read or parsed (say which, and how to start afresh).
pub fn load(path: &Path) -> Result<Ledger, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| {
            format!(
                "the Sheets ledger {} is damaged ({e}); delete it to append the last days again",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Ledger::default()),
        Err(e) => Err(format!(
            "cannot read the Sheets ledger {}: {e}",
            path.display()
        )),
    }
}

/// Writes the ledger to `path` atomically (a temporary file renamed over it, synced).
///
/// # Errors
/// When the data dir cannot be written.
pub fn save(path: &Path, ledger: &Ledger) -> Result<(), String> {
    let dir = path
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_owned);
    let write = || -> std::io::Result<()> {
        let mut file = tempfile::NamedTempFile::new_in(&dir)?;
        file.write_all(&serde_json::to_vec_pretty(ledger).map_err(std::io::Error::other)?)?;
        file.as_file().sync_all()?;
        file.persist(path).map_err(|e| e.error)?;
        Ok(())
    };
    write().map_err(|e| format!("cannot save the Sheets ledger {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_is_bound_to_its_spreadsheet() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        assert_eq!(load(&path).unwrap(), Ledger::default());
        let ledger = Ledger {
            spreadsheet_id: "abc".to_owned(),
            utilization_tab: "Utilization".to_owned(),
            appended_through: Some("2026-11-25".to_owned()),
        };
        save(&path, &ledger).unwrap();
        let back = load(&path).unwrap();
        assert_eq!(
            back.through("abc", "Utilization"),
            Some(jiff::civil::date(2026, 11, 25))
        );
        assert_eq!(back.through("other", "Utilization"), None);
        assert_eq!(back.through("abc", "Usage"), None);
        std::fs::write(&path, "{").unwrap();
        assert!(load(&path).unwrap_err().contains("delete it"));
    }
}
