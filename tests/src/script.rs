//! Executable shell scripts the tests write as stand-ins for programs the server runs (a
//! licence server's `lmutil`, one that hangs, one that fails).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Writes `body` as an executable `/bin/sh` script at `path`.
///
/// # Panics
/// When the file cannot be written.
pub fn write_script(path: &Path, body: &str) {
    std::fs::write(path, format!("#!/bin/sh\n{body}")).expect("write the script");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .expect("make the script executable");
}

/// A stand-in `lmutil` in `dir` that prints `answer` (lmstat's text) and exits 0.
///
/// # Panics
/// When the file cannot be written.
#[must_use]
pub fn lmutil_printing(dir: &Path, answer: &str) -> PathBuf {
    let path = dir.join("lmutil");
    write_script(&path, &format!("cat <<'OUT'\n{answer}OUT\n"));
    path
}
