//! The local channel on Windows: the named pipe `\\.\pipe\idlewatch-agent`, which SYSTEM and
//! Administrators may open fully and interactive users (each session's helper) may read and
//! write; the service learns each helper's process from the pipe
//! (`GetNamedPipeClientProcessId`).

#![allow(unsafe_code)] // the Win32 security and pipe calls below; each result is checked

use std::ffi::c_void;
use std::path::{Path, PathBuf};

use tokio::net::windows::named_pipe::{
    ClientOptions, NamedPipeClient, NamedPipeServer, ServerOptions,
};
use tracing::warn;
use windows::Win32::Foundation::{HANDLE, HLOCAL, LocalFree};
use windows::Win32::Security::Authorization::{
    ConvertStringSecurityDescriptorToSecurityDescriptorW, SDDL_REVISION_1,
};
use windows::Win32::Security::{PSECURITY_DESCRIPTOR, SECURITY_ATTRIBUTES};
use windows::Win32::System::Pipes::GetNamedPipeClientProcessId;
use windows::core::PCWSTR;

use super::channel::Hub;

/// SYSTEM and Administrators: full access; interactive users: read and write.
const PIPE_SDDL: &str = "D:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;GRGW;;;IU)";

/// The pipe's name, unless configured.
#[must_use]
pub fn default_path() -> PathBuf {
    PathBuf::from(r"\\.\pipe\idlewatch-agent")
}

/// A security descriptor made from SDDL, freed on drop.
struct Descriptor(PSECURITY_DESCRIPTOR);

impl Descriptor {
    fn from_sddl(sddl: &str) -> std::io::Result<Self> {
        let wide: Vec<u16> = sddl.encode_utf16().chain(Some(0)).collect();
        let mut sd = PSECURITY_DESCRIPTOR::default();
        // SAFETY: `wide` is NUL-terminated and outlives the call; `sd` receives a LocalAlloc'ed
        // descriptor freed in Drop.
        unsafe {
            ConvertStringSecurityDescriptorToSecurityDescriptorW(
                PCWSTR(wide.as_ptr()),
                SDDL_REVISION_1,
                &mut sd,
                None,
            )
        }
        .map_err(std::io::Error::other)?;
        Ok(Self(sd))
    }
}

// SAFETY: the descriptor is heap memory owned by this value alone, only read after it is
// built; moving it to another thread (the accept loop's task) is sound.
unsafe impl Send for Descriptor {}

impl Drop for Descriptor {
    fn drop(&mut self) {
        // SAFETY: the descriptor was allocated by the conversion above and is freed once.
        unsafe {
            let _ = LocalFree(Some(HLOCAL(self.0.0)));
        }
    }
}

/// Listens on the pipe at `path`: the first instance, which later ones follow.
pub struct Listener {
    path: PathBuf,
    descriptor: Descriptor,
    next: NamedPipeServer,
}

impl Listener {
    fn instance(&self, first: bool) -> std::io::Result<NamedPipeServer> {
        create(&self.path, &self.descriptor, first)
    }
}

fn create(path: &Path, descriptor: &Descriptor, first: bool) -> std::io::Result<NamedPipeServer> {
    let mut attributes = SECURITY_ATTRIBUTES {
        nLength: u32::try_from(std::mem::size_of::<SECURITY_ATTRIBUTES>()).unwrap_or(0),
        lpSecurityDescriptor: descriptor.0.0,
        bInheritHandle: false.into(),
    };
    // SAFETY: `attributes` and the descriptor it points to live until the call returns.
    unsafe {
        ServerOptions::new()
            .first_pipe_instance(first)
            .reject_remote_clients(true)
            .create_with_security_attributes_raw(
                path,
                std::ptr::from_mut(&mut attributes).cast::<c_void>(),
            )
    }
}

/// Creates the pipe at `path` (refused if another process already has one of that name).
///
/// # Errors
/// When the pipe cannot be created.
pub fn bind(path: &Path) -> std::io::Result<Listener> {
    let descriptor = Descriptor::from_sddl(PIPE_SDDL)?;
    let next = create(path, &descriptor, true)?;
    Ok(Listener {
        path: path.to_owned(),
        descriptor,
        next,
    })
}

fn client_pid(server: &NamedPipeServer) -> Option<u32> {
    use std::os::windows::io::AsRawHandle;
    let mut pid = 0u32;
    // SAFETY: the handle belongs to the connected pipe instance for the whole call.
    unsafe { GetNamedPipeClientProcessId(HANDLE(server.as_raw_handle()), &mut pid) }.ok()?;
    (pid != 0).then_some(pid)
}

/// Accepts helpers until aborted.
pub async fn accept(mut listener: Listener, hub: Hub) {
    loop {
        if let Err(e) = listener.next.connect().await {
            warn!("session pipe: a helper could not connect ({e})");
        } else {
            match listener.instance(false) {
                Ok(next) => {
                    let connected = std::mem::replace(&mut listener.next, next);
                    let pid = client_pid(&connected);
                    let hub = hub.clone();
                    tokio::spawn(async move { hub.serve(connected, pid).await });
                    continue;
                }
                Err(e) => warn!("session pipe: cannot create the next instance ({e})"),
            }
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        if let Ok(next) = listener.instance(false) {
            listener.next = next;
        }
    }
}

/// Connects a helper to the service's pipe at `path`.
///
/// # Errors
/// When nothing listens there (or every instance is busy).
pub async fn connect(path: &Path) -> std::io::Result<NamedPipeClient> {
    ClientOptions::new().open(path)
}
