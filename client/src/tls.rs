//! Which servers a `https://` / `wss://` connection trusts: the system's certificate
//! authorities, or only those of a PEM file (a private CA, `--ca-file`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{ClientConfig, RootCertStore};

/// Why no TLS configuration could be built; each names what to do.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The CA file could not be read.
    #[error("cannot read CA file {path}: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What was wrong with it.
        reason: String,
    },
    /// The CA file holds no usable certificate.
    #[error(
        "CA file {path} has no usable certificate ({reason}); give the PEM certificate of the \
         authority that signed the server's certificate (-----BEGIN CERTIFICATE-----)"
    )]
    NoCertificate {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// rustls refused the configuration itself (no protocol version its crypto supports).
    #[error("cannot set up TLS: {0}")]
    Config(String),
    /// Neither a CA file nor any system authority.
    #[error(
        "no trusted certificate authorities found on this system ({0}); install the system's \
         CA certificates or pass --ca-file with the server's CA"
    )]
    NoSystemRoots(String),
}

/// A configuration trusting exactly the certificates in `ca_file` (PEM, one or more), or the
/// system's authorities when `ca_file` is `None`.
///
/// # Errors
/// A CA file that cannot be read or holds no certificate; no system authorities.
pub fn client_config(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, TlsError> {
    let roots = match ca_file {
        Some(path) => file_roots(path)?,
        None => system_roots()?,
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The system-authorities configuration, built once per process (thousands of connections
/// share it).
pub(crate) fn system_config() -> Result<Arc<ClientConfig>, TlsError> {
    static SYSTEM: OnceLock<Result<Arc<ClientConfig>, TlsError>> = OnceLock::new();
    SYSTEM.get_or_init(|| client_config(None)).clone()
}

fn file_roots(path: &Path) -> Result<RootCertStore, TlsError> {
    let pem = std::fs::read(path).map_err(|e| TlsError::Read {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    let no_certificate = |reason: String| TlsError::NoCertificate {
        path: path.to_owned(),
        reason,
    };
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| no_certificate(format!("not valid PEM: {e}")))?;
    if certs.is_empty() {
        return Err(no_certificate("no CERTIFICATE section".to_owned()));
    }
    let mut roots = RootCertStore::empty();
    for cert in certs {
        roots
            .add(cert)
            .map_err(|e| no_certificate(format!("not a usable certificate: {e}")))?;
    }
    Ok(roots)
}

fn system_roots() -> Result<RootCertStore, TlsError> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        let why = found.errors.first().map_or_else(
            || "the system store is empty".to_owned(),
            ToString::to_string,
        );
        return Err(TlsError::NoSystemRoots(why));
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_must_hold_a_certificate() {
        let dir = std::env::temp_dir().join(format!("idlewatch-client-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let missing = dir.join("missing.pem");
        let e = client_config(Some(&missing))
            .expect_err("missing")
            .to_string();
        assert!(
            e.starts_with("cannot read CA file") && e.contains("missing.pem"),
            "{e}"
        );
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "just text\n").expect("write");
        let e = client_config(Some(&empty)).expect_err("empty").to_string();
        assert!(
            e.contains("has no usable certificate") && e.contains("BEGIN CERTIFICATE"),
            "{e}"
        );
        let junk = dir.join("junk.pem");
        std::fs::write(
            &junk,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .expect("write");
        let e = client_config(Some(&junk)).expect_err("junk").to_string();
        assert!(e.contains("not a usable certificate"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
