//! `[cluster]`: several servers sharing one live view through Redis, and their checks.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use idlewatch_protocol::time::duration;

use super::Error;

/// `[cluster]`: unset, the server runs on its own; with `redis_url`, every server given the
/// same Redis (and `prefix`) shows every host, and does the work that must run once only while
/// it holds the lead.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterConfig {
    /// `redis://[:password@]host:port/db`; empty: no cluster.
    pub redis_url: String,
    /// `postgres://USER:PASSWORD@HOST:PORT/DATABASE`: the snapshot store every server of the
    /// cluster shares (needs `redis_url`); empty: each server keeps its snapshots in its own
    /// redb store.
    pub postgres_url: String,
    /// The authorities that may sign PostgreSQL's certificate (PEM), for a `postgres_url` with
    /// `sslmode=require`; empty: the system's.
    pub postgres_ca_file: PathBuf,
    /// Prefix of every Redis key and channel, so several clusters can share one Redis.
    pub prefix: String,
    /// How long the lead is held without renewal: a leader that dies is replaced within two.
    #[serde(with = "duration")]
    pub lease: Duration,
    /// How long a host silent since its last snapshot stays in the shared view for servers
    /// that start later.
    #[serde(with = "duration")]
    pub host_ttl: Duration,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            redis_url: String::new(),
            postgres_url: String::new(),
            postgres_ca_file: PathBuf::new(),
            prefix: "idlewatch:".to_owned(),
            lease: Duration::from_secs(10),
            host_ttl: Duration::from_secs(7 * 86_400),
        }
    }
}

impl std::fmt::Debug for ClusterConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterConfig")
            .field("redis_url", &without_password(&self.redis_url))
            .field("postgres_url", &without_password(&self.postgres_url))
            .field("postgres_ca_file", &self.postgres_ca_file)
            .field("prefix", &self.prefix)
            .field("lease", &self.lease)
            .field("host_ttl", &self.host_ttl)
            .finish()
    }
}

/// `url` with the user and password it may carry replaced, for logs.
#[must_use]
pub fn without_password(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***{}", &url[..scheme], &url[at..])
        }
        _ => url.to_owned(),
    }
}

impl ClusterConfig {
    /// Whether this server is one of a cluster.
    #[must_use]
    pub fn enabled(&self) -> bool {
        !self.redis_url.is_empty()
    }
}

/// Refuses what cannot work.
pub(super) fn check(c: &ClusterConfig) -> Result<(), Error> {
    if !c.postgres_url.is_empty() {
        if !c.enabled() {
            return Err(Error::Invalid(
                "cluster.postgres_url needs cluster.redis_url: servers sharing one store must \
                 share the live view and the lead too (docs/SCALING.md); set both, or neither \
                 for one server on its own redb store"
                    .to_owned(),
            ));
        }
        if !(c.postgres_url.starts_with("postgres://")
            || c.postgres_url.starts_with("postgresql://"))
        {
            return Err(Error::Invalid(format!(
                "cluster.postgres_url {:?} is not a PostgreSQL address; give one such as \
                 \"postgres://idlewatch:PASSWORD@10.0.0.6:5432/idlewatch\"",
                without_password(&c.postgres_url)
            )));
        }
    }
    if !c.postgres_ca_file.as_os_str().is_empty() && c.postgres_url.is_empty() {
        return Err(Error::Invalid(
            "cluster.postgres_ca_file is set without cluster.postgres_url; set both (with \
             ?sslmode=require in the URL), or remove it"
                .to_owned(),
        ));
    }
    if c.redis_url.starts_with("rediss://") {
        return Err(Error::Invalid(
            "cluster.redis_url: TLS to Redis (rediss://) is not built into this version; reach \
             Redis over a private network, or through a TLS tunnel (e.g. stunnel) with a \
             redis:// address"
                .to_owned(),
        ));
    }
    if c.enabled() && !c.redis_url.starts_with("redis://") {
        return Err(Error::Invalid(format!(
            "cluster.redis_url {:?} is not a Redis address; give one such as \
             \"redis://10.0.0.5:6379/0\" (with a password: \"redis://:PASSWORD@10.0.0.5:6379/0\")",
            without_password(&c.redis_url)
        )));
    }
    // Redis's SCAN MATCH would read these as patterns.
    if c.prefix.is_empty()
        || c.prefix
            .chars()
            .any(|ch| ch.is_whitespace() || matches!(ch, '*' | '?' | '[' | ']' | '\\'))
    {
        return Err(Error::Invalid(format!(
            "cluster.prefix {:?} must be non-empty, without spaces or any of * ? [ ] \\ \
             (default \"idlewatch:\")",
            c.prefix
        )));
    }
    if c.lease < Duration::from_secs(2) || c.lease > Duration::from_secs(600) {
        return Err(Error::Invalid(format!(
            "cluster.lease = {:?} is out of range; give \"2s\" to \"10m\" (default \"10s\"): a \
             leader that dies is replaced within two",
            c.lease
        )));
    }
    if c.host_ttl < Duration::from_secs(60) {
        return Err(Error::Invalid(format!(
            "cluster.host_ttl = {:?} is too short; give at least \"1m\" (default \"7d\")",
            c.host_ttl
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(f: impl FnOnce(&mut ClusterConfig)) -> Result<(), String> {
        let mut c = ClusterConfig::default();
        f(&mut c);
        check(&c).map_err(|e| e.to_string())
    }

    #[test]
    fn unset_is_one_server_and_a_redis_address_makes_a_cluster() {
        assert!(!ClusterConfig::default().enabled());
        assert_eq!(with(|_| {}), Ok(()));
        assert_eq!(
            with(|c| c.redis_url = "redis://:pw@10.0.0.5:6379/0".to_owned()),
            Ok(())
        );
        assert_eq!(
            with(|c| {
                c.redis_url = "redis://10.0.0.5:6379/0".to_owned();
                c.postgres_url = "postgresql://idlewatch:pw@10.0.0.6/idlewatch".to_owned();
            }),
            Ok(())
        );
    }

    #[test]
    fn what_cannot_work_is_refused_with_what_to_do() {
        let err = with(|c| c.postgres_url = "postgres://db/idlewatch".to_owned()).unwrap_err();
        assert!(err.contains("needs cluster.redis_url"), "{err}");
        let err = with(|c| {
            c.redis_url = "redis://h/0".to_owned();
            c.postgres_url = "mysql://u:s3cret@db/idlewatch".to_owned();
        })
        .unwrap_err();
        assert!(err.contains("postgres://idlewatch:PASSWORD@"), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
        let err = with(|c| c.redis_url = "10.0.0.5:6379".to_owned()).unwrap_err();
        assert!(err.contains("redis://10.0.0.5:6379/0"), "{err}");
        let err = with(|c| c.redis_url = "valkey://:s3cret@h/0".to_owned()).unwrap_err();
        assert!(!err.contains("s3cret"), "{err}");
        let err = with(|c| c.redis_url = "rediss://h:6380/0".to_owned()).unwrap_err();
        assert!(err.contains("TLS tunnel"), "{err}");
        let err = with(|c| c.prefix = "lab?".to_owned()).unwrap_err();
        assert!(err.contains("cluster.prefix"), "{err}");
        let err = with(|c| c.prefix = "a b".to_owned()).unwrap_err();
        assert!(err.contains("cluster.prefix"), "{err}");
        let err = with(|c| c.lease = Duration::from_secs(1)).unwrap_err();
        assert!(err.contains("\"2s\" to \"10m\""), "{err}");
        let err = with(|c| c.host_ttl = Duration::from_secs(5)).unwrap_err();
        assert!(err.contains("cluster.host_ttl"), "{err}");
    }

    #[test]
    fn the_password_never_shows() {
        let c = ClusterConfig {
            redis_url: "redis://user:s3cret@10.0.0.5:6379/0".to_owned(),
            ..ClusterConfig::default()
        };
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("***@10.0.0.5:6379/0"), "{shown}");
        assert_eq!(without_password("redis://10.0.0.5/0"), "redis://10.0.0.5/0");
    }
}
