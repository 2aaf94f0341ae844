//! TLS for the listener (rustls): the certificate chain and private key named by `[tls]`,
//! reloaded on demand (SIGHUP) without dropping connections, and a [`TlsListener`] that hands
//! axum only connections whose handshake has finished, so one slow or broken client never
//! holds up the others.

use prometheus_client::metrics::counter::Counter;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tracing::{debug, error};

/// Longest a client may take to finish the TLS handshake before its connection is closed.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections whose handshake finished, waiting for axum to take them.
const READY_QUEUE: usize = 256;

/// Handshakes in progress at once (a reconnect storm of thousands of agents queues briefly).
pub const MAX_HANDSHAKES: usize = 4096;

/// Why the certificate or key cannot be used; each names the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read.
    #[error("cannot read TLS {what} {path}: {source}")]
    Read {
        /// "certificate" or "private key".
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The operating system's error (missing, unreadable, ...).
        source: std::io::Error,
    },
    /// A file holds no usable PEM section of the expected kind.
    #[error(
        "TLS {what} {path} has no {expected}; give a PEM file with {expected} \
         (-----BEGIN {label}-----)"
    )]
    Missing {
        /// "certificate" or "private key".
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What was looked for, in words.
        expected: &'static str,
        /// The PEM label shown as an example.
        label: &'static str,
    },
    /// A PEM section is malformed.
    #[error("TLS {what} {path} is not valid PEM: {reason}")]
    Pem {
        /// "certificate" or "private key".
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The parser's message.
        reason: String,
    },
    /// rustls refused the pair (most often: the key does not belong to the certificate).
    #[error(
        "TLS certificate {cert} and key {key} cannot be used together: {reason}; check that \
         the key is the certificate's own (the first certificate in the file must be the \
         server's)"
    )]
    Refused {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// rustls' message.
        reason: String,
    },
}

/// The listener's certificate and key: loaded once at start, swapped by [`Tls::reload`].
#[derive(Debug)]
pub struct Tls {
    cert: PathBuf,
    key: PathBuf,
    current: RwLock<Arc<ServerConfig>>,
}

impl Tls {
    /// Loads the PEM certificate chain (server certificate first) and its private key.
    ///
    /// # Errors
    /// A file that cannot be read, holds nothing usable, or a key that does not match.
    pub fn load(cert: &Path, key: &Path) -> Result<Self, Error> {
        let config = server_config(cert, key)?;
        Ok(Self {
            cert: cert.to_owned(),
            key: key.to_owned(),
            current: RwLock::new(Arc::new(config)),
        })
    }

    /// Reads both files again; new handshakes use them, open connections keep theirs. On an
    /// error the previous certificate stays in use.
    ///
    /// # Errors
    /// As [`Tls::load`].
    pub fn reload(&self) -> Result<(), Error> {
        let config = server_config(&self.cert, &self.key)?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(config);
        Ok(())
    }

    /// The certificate file.
    #[must_use]
    pub fn cert_path(&self) -> &Path {
        &self.cert
    }

    fn acceptor(&self) -> TlsAcceptor {
        let config = self
            .current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        TlsAcceptor::from(config)
    }
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|source| Error::Read {
        what,
        path: path.to_owned(),
        source,
    })
}

fn server_config(cert_path: &Path, key_path: &Path) -> Result<ServerConfig, Error> {
    fn pem_error<'a>(
        what: &'static str,
        path: &'a Path,
    ) -> impl FnOnce(rustls::pki_types::pem::Error) -> Error + 'a {
        move |e| Error::Pem {
            what,
            path: path.to_owned(),
            reason: e.to_string(),
        }
    }
    let cert_pem = read("certificate", cert_path)?;
    let certs = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem_error("certificate", cert_path))?;
    if certs.is_empty() {
        return Err(Error::Missing {
            what: "certificate",
            path: cert_path.to_owned(),
            expected: "certificate",
            label: "CERTIFICATE",
        });
    }
    let key_pem = read("private key", key_path)?;
    let key = match PrivateKeyDer::from_pem_slice(&key_pem) {
        Ok(key) => key,
        Err(rustls::pki_types::pem::Error::NoItemsFound) => {
            return Err(Error::Missing {
                what: "private key",
                path: key_path.to_owned(),
                expected: "private key",
                label: "PRIVATE KEY",
            });
        }
        Err(e) => return Err(pem_error("private key", key_path)(e)),
    };
    let refused = |e: rustls::Error| Error::Refused {
        cert: cert_path.to_owned(),
        key: key_path.to_owned(),
        reason: e.to_string(),
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(refused)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(refused)?;
    // HTTP/1.1 only: Socket.IO's WebSocket upgrade is an HTTP/1.1 mechanism.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// An [`axum::serve::Listener`] of TLS connections: TCP connections are accepted on a task of
/// their own and each handshake runs on its own task (at most [`HANDSHAKE_TIMEOUT`], at most
/// [`MAX_HANDSHAKES`] at once); only finished handshakes reach axum. Dropping the listener
/// stops accepting and abandons the handshakes in progress.
#[derive(Debug)]
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    acceptor: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    /// Starts accepting on `tcp` with the certificate in `tls`; failed handshakes are counted
    /// in `failed`.
    ///
    /// # Errors
    /// When the listener's own address cannot be read.
    pub fn new(tcp: TcpListener, tls: Arc<Tls>, failed: Counter) -> std::io::Result<Self> {
        let local = tcp.local_addr()?;
        let (tx, ready) = mpsc::channel(READY_QUEUE);
        let acceptor = tokio::spawn(accept_loop(tcp, tls, failed, tx));
        Ok(Self {
            ready,
            local,
            acceptor,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accept loop only ends when this listener is dropped: nothing more will come.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

async fn accept_loop(
    tcp: TcpListener,
    tls: Arc<Tls>,
    failed: Counter,
    ready: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    // Owned here: when the listener is dropped and this loop aborted, so are the handshakes.
    let mut handshakes = JoinSet::new();
    let slots = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    loop {
        while handshakes.try_join_next().is_some() {}
        // At most MAX_HANDSHAKES at once: beyond that, connections wait in the kernel's
        // backlog instead of each costing a task and a file descriptor for up to 10 s.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let (stream, peer) = match tcp.accept().await {
            Ok(accepted) => accepted,
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                // Out of file descriptors and the like: say so, and wait instead of spinning.
                error!("cannot accept connections: {e}; retrying in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        // Small Socket.IO packets (acks, `registered`) must not wait for the peer's delayed ACK.
        let _ = stream.set_nodelay(true);
        let acceptor = tls.acceptor();
        let ready = ready.clone();
        let failed = failed.clone();
        handshakes.spawn(async move {
            let _slot = slot;
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(stream)) => {
                    let _ = ready.send((stream, peer)).await;
                }
                Ok(Err(e)) => {
                    failed.inc();
                    debug!(%peer, "TLS handshake failed: {e}");
                }
                Err(_) => {
                    failed.inc();
                    debug!(%peer, "TLS handshake not finished within {HANDSHAKE_TIMEOUT:?}");
                }
            }
        });
    }
}

/// Errors of one connection (reset or aborted before it was accepted), not of the listener.
fn is_connection_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let dir = tempfile::tempdir().expect("temp dir");
        let key = rcgen::KeyPair::generate().expect("key");
        let params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
        let cert = params.self_signed(&key).expect("cert");
        let cert_path = dir.path().join("cert.pem");
        let key_path = dir.path().join("key.pem");
        std::fs::write(&cert_path, cert.pem()).expect("write cert");
        std::fs::write(&key_path, key.serialize_pem()).expect("write key");
        (dir, cert_path, key_path)
    }

    #[test]
    fn loads_a_matching_pair_and_reloads_it() {
        let (_dir, cert, key) = pair();
        let tls = Tls::load(&cert, &key).expect("load");
        tls.reload().expect("reload");
        assert_eq!(tls.cert_path(), cert);
    }

    #[test]
    fn each_bad_input_names_the_file_and_the_fix() {
        let (dir, cert, key) = pair();
        let missing = dir.path().join("nope.pem");
        let e = Tls::load(&missing, &key)
            .expect_err("missing cert")
            .to_string();
        assert!(
            e.starts_with("cannot read TLS certificate ") && e.contains("nope.pem"),
            "{e}"
        );

        let e = Tls::load(&key, &key).expect_err("key as cert").to_string();
        assert!(
            e.contains("has no certificate") && e.contains("BEGIN CERTIFICATE"),
            "{e}"
        );

        let e = Tls::load(&cert, &cert)
            .expect_err("cert as key")
            .to_string();
        assert!(
            e.contains("has no private key") && e.contains("cert.pem"),
            "{e}"
        );

        let garbled = dir.path().join("garbled.pem");
        std::fs::write(
            &garbled,
            "-----BEGIN CERTIFICATE-----\n@@@@\n-----END CERTIFICATE-----\n",
        )
        .expect("write");
        let e = Tls::load(&garbled, &key).expect_err("garbled").to_string();
        assert!(e.contains("is not valid PEM"), "{e}");

        let (_other_dir, _, other_key) = pair();
        let e = Tls::load(&cert, &other_key)
            .expect_err("wrong key")
            .to_string();
        assert!(e.contains("cannot be used together"), "{e}");
    }

    #[test]
    fn a_failed_reload_keeps_the_previous_certificate() {
        let (_dir, cert, key) = pair();
        let tls = Tls::load(&cert, &key).expect("load");
        let before = Arc::as_ptr(&tls.current.read().expect("lock"));
        std::fs::write(&cert, "not a certificate").expect("overwrite");
        assert!(tls.reload().is_err());
        assert_eq!(Arc::as_ptr(&tls.current.read().expect("lock")), before);
    }
}
