//! TLS to PostgreSQL: a URL with `sslmode=require` connects only over TLS, verifying the
//! database's certificate against the system's authorities or, with a CA file, only those in
//! it (a private CA); any other mode connects in the clear. libpq's `prefer` (try TLS, accept
//! any certificate) is not offered: a connection is either verified or plainly unencrypted.

use std::path::Path;
use std::sync::Arc;

use idlewatch_store::Error;
use postgres::config::SslMode;
use rustls::{ClientConfig, RootCertStore};
use tokio_postgres_rustls::MakeRustlsConnect;

/// The connector for `config`, whose SSL mode it settles (`require`, or `disable`).
///
/// # Errors
/// A CA file that cannot be used, or one given without `sslmode=require`; no system
/// authorities to verify with.
pub(crate) fn connector(
    config: &mut postgres::Config,
    ca_file: Option<&Path>,
) -> Result<MakeRustlsConnect, Error> {
    if config.get_ssl_mode() == SslMode::Require {
        let client = idlewatch_client::client_config(ca_file).map_err(|e| {
            Error::Postgres(format!(
                "TLS to PostgreSQL (sslmode=require): {e} (cluster.postgres_ca_file)"
            ))
        })?;
        return Ok(MakeRustlsConnect::new((*client).clone()));
    }
    if let Some(path) = ca_file {
        return Err(Error::Postgres(format!(
            "cluster.postgres_ca_file ({}) is set but cluster.postgres_url does not ask for TLS; \
             add ?sslmode=require to the URL, or remove the CA file",
            path.display()
        )));
    }
    config.ssl_mode(SslMode::Disable);
    // Never used to connect: a plain connection still needs a connector of the same type.
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let unused = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Postgres(format!("cannot set up TLS: {e}")))?
        .with_root_certificates(RootCertStore::empty())
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(unused))
}
