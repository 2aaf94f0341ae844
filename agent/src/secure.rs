//! Files only the system and administrators may read: the agent token and its configuration.
//! On Unix, mode 0600 for the owner (root, for the system service; a directory keeps its mode);
//! on Windows, a protected access list for SYSTEM and Administrators on the directory and the
//! files (the parent `%ProgramData%` lets every user read and create files, which must not
//! reach the token).

use std::path::Path;

/// Creates `dir` (and parents) if needed, and restricts it to its owner / the system.
///
/// # Errors
/// When it cannot be created or restricted.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    restrict(dir, true)
}

/// Writes `bytes` to `path` (through a temporary file renamed over it) readable by its owner /
/// the system only.
///
/// # Errors
/// When it cannot be written or restricted.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let temp = path.with_extension("tmp");
    std::fs::write(&temp, bytes)?;
    restrict(&temp, false)?;
    std::fs::rename(&temp, path)
}

#[cfg(unix)]
fn restrict(path: &Path, dir: bool) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    // A shared parent such as /etc/idlewatch keeps its mode: the files in it are what is
    // private.
    if dir {
        return Ok(());
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

#[cfg(windows)]
fn restrict(path: &Path, _dir: bool) -> std::io::Result<()> {
    windows_acl::protect(path)
}

#[cfg(not(any(unix, windows)))]
fn restrict(_path: &Path, _dir: bool) -> std::io::Result<()> {
    Ok(())
}

#[cfg(windows)]
mod windows_acl {
    #![allow(unsafe_code)] // the Win32 security calls below; each result is checked

    use std::path::Path;

    use windows::Win32::Foundation::{HLOCAL, LocalFree};
    use windows::Win32::Security::Authorization::{
        ConvertStringSecurityDescriptorToSecurityDescriptorW, SDDL_REVISION_1, SE_FILE_OBJECT,
        SetNamedSecurityInfoW,
    };
    use windows::Win32::Security::{
        ACL, DACL_SECURITY_INFORMATION, GetSecurityDescriptorDacl,
        PROTECTED_DACL_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR,
    };
    use windows::core::PCWSTR;

    /// SYSTEM and Administrators: full control, inherited by what is inside; nobody else.
    const SDDL: &str = "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)";

    pub fn protect(path: &Path) -> std::io::Result<()> {
        let sddl: Vec<u16> = SDDL.encode_utf16().chain(Some(0)).collect();
        let target: Vec<u16> = path
            .as_os_str()
            .to_string_lossy()
            .encode_utf16()
            .chain(Some(0))
            .collect();
        let mut sd = PSECURITY_DESCRIPTOR::default();
        // SAFETY: both strings are NUL-terminated and outlive the calls; the descriptor is
        // LocalAlloc'ed by the conversion and freed at the end.
        unsafe {
            ConvertStringSecurityDescriptorToSecurityDescriptorW(
                PCWSTR(sddl.as_ptr()),
                SDDL_REVISION_1,
                &mut sd,
                None,
            )
            .map_err(std::io::Error::other)?;
            let mut present = false.into();
            let mut defaulted = false.into();
            let mut dacl: *mut ACL = std::ptr::null_mut();
            let got = GetSecurityDescriptorDacl(sd, &mut present, &mut dacl, &mut defaulted);
            let result = got.map_err(std::io::Error::other).and_then(|()| {
                SetNamedSecurityInfoW(
                    PCWSTR(target.as_ptr()),
                    SE_FILE_OBJECT,
                    DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
                    None,
                    None,
                    Some(dacl),
                    None,
                )
                .ok()
                .map_err(std::io::Error::other)
            });
            let _ = LocalFree(Some(HLOCAL(sd.0)));
            result
        }
    }
}
