//! Reading a TOML config file, the same way for the server, the agent and the admin CLI: one
//! error that names the file, and the parser's message (key and line) on one log line.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// A config file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's error (missing, unreadable, ...).
        source: std::io::Error,
    },
    /// The file is not valid TOML for this schema.
    #[error("config file {path} is invalid: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, naming the key and line.
        message: String,
    },
}

impl FileError {
    /// Whether the file does not exist (a default location may be absent).
    #[must_use]
    pub fn is_missing(&self) -> bool {
        matches!(self, Self::Read { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }
}

/// Parses TOML text into `T` (over its serde defaults).
///
/// # Errors
/// The parser's message on one line: it names unknown keys and wrong types with their line.
pub fn parse<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    toml::from_str(text).map_err(|e| e.to_string().trim().replace('\n', " "))
}

/// Reads and parses the TOML file at `path`.
///
/// # Errors
/// [`FileError::Read`] or [`FileError::Parse`], naming the file.
pub fn load<T: DeserializeOwned>(path: &Path) -> Result<T, FileError> {
    let text = std::fs::read_to_string(path).map_err(|source| FileError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(&text).map_err(|message| FileError::Parse {
        path: path.to_owned(),
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Sample {
        #[serde(default)]
        name: String,
        #[serde(default)]
        count: u32,
    }

    #[test]
    fn names_the_file_the_key_and_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sample.toml");
        std::fs::write(&path, "name = \"a\"\ncount = \"three\"\n").unwrap();
        let message = load::<Sample>(&path).unwrap_err().to_string();
        assert!(message.starts_with("config file "), "{message}");
        assert!(message.contains("sample.toml is invalid"), "{message}");
        assert!(
            message.contains("line 2") && message.contains("count"),
            "{message}"
        );
        assert!(!message.contains('\n'), "{message}");

        std::fs::write(&path, "colour = 1\n").unwrap();
        let message = load::<Sample>(&path).unwrap_err().to_string();
        assert!(message.contains("colour"), "{message}");

        std::fs::write(&path, "count = 3\n").unwrap();
        assert_eq!(
            load::<Sample>(&path).unwrap(),
            Sample {
                name: String::new(),
                count: 3
            }
        );
    }

    #[test]
    fn a_missing_file_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let err = load::<Sample>(&dir.path().join("absent.toml")).unwrap_err();
        assert!(err.is_missing());
        assert!(err.to_string().starts_with("cannot read config file "));
    }
}
