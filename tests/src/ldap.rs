//! A real OpenLDAP server for the directory tests: Debian's `slapd` (installed by
//! `scripts/install-test-deps`), started on a free loopback port with a generated `slapd.conf`
//! and an mdb database loaded from an LDIF with `slapadd`, stopped when dropped. Like Active
//! Directory, it answers at most 1,000 entries per search unless the client pages; the server
//! binds as an ordinary reader account, to which that limit applies (the rootdn is exempt from
//! limits, so there is none).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::wait_until;

/// The suffix of the test directory.
pub const SUFFIX: &str = "dc=college,dc=example";
/// The account the server binds as: it may read the directory, nothing else.
pub const BIND_DN: &str = "cn=idlewatch,dc=college,dc=example";
/// Its password.
pub const BIND_PASSWORD: &str = "directory-test-secret";

const SLAPD: &str = "/usr/sbin/slapd";
const SLAPADD: &str = "/usr/sbin/slapadd";

/// A running slapd.
pub struct Slapd {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Slapd {
    /// Starts slapd in `dir` holding `ldif` (entries below [`SUFFIX`], the suffix itself is
    /// added here).
    ///
    /// # Panics
    /// When slapd is missing, the LDIF does not load, or the server does not listen within 20 s.
    #[must_use]
    pub fn start(dir: &Path, ldif: &str) -> Self {
        assert!(
            Path::new(SLAPD).exists(),
            "{SLAPD} is missing: run scripts/install-test-deps (it installs Debian's slapd)"
        );
        let db = dir.join("db");
        std::fs::create_dir_all(&db).expect("db dir");
        let conf = dir.join("slapd.conf");
        std::fs::write(
            &conf,
            format!(
                "include /etc/ldap/schema/core.schema\n\
                 include /etc/ldap/schema/cosine.schema\n\
                 include /etc/ldap/schema/inetorgperson.schema\n\
                 pidfile {dir}/slapd.pid\n\
                 modulepath /usr/lib/ldap\n\
                 moduleload back_mdb\n\
                 sizelimit size.soft=1000 size.hard=1000 size.pr=1000 size.prtotal=unlimited\n\
                 database mdb\n\
                 maxsize 104857600\n\
                 suffix \"{SUFFIX}\"\n\
                 directory {db}\n\
                 access to attrs=userPassword by anonymous auth by * none\n\
                 access to * by dn.exact=\"{BIND_DN}\" read by * none\n",
                dir = dir.display(),
                db = db.display(),
            ),
        )
        .expect("slapd.conf");
        let data = dir.join("data.ldif");
        std::fs::write(
            &data,
            format!(
                "dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\no: College\ndc: college\n\n\
                 dn: {BIND_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n\
                 cn: idlewatch\nuserPassword: {BIND_PASSWORD}\n\n{ldif}"
            ),
        )
        .expect("ldif");
        let loaded = Command::new(SLAPADD)
            .arg("-f")
            .arg(&conf)
            .arg("-l")
            .arg(&data)
            .arg("-q")
            .output()
            .expect("run slapadd");
        assert!(
            loaded.status.success(),
            "slapadd failed: {}",
            String::from_utf8_lossy(&loaded.stderr)
        );
        let port = crate::free_address()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("a port");
        let child = Command::new(SLAPD)
            .arg("-f")
            .arg(&conf)
            .arg("-h")
            .arg(format!("ldap://127.0.0.1:{port}/"))
            .args(["-d", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start slapd");
        wait_until("slapd to listen", Duration::from_secs(20), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        Self {
            child,
            port,
            dir: dir.to_owned(),
        }
    }

    /// Its address, `ldap://127.0.0.1:PORT`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    /// A file holding the bind account's password, for `password_file`.
    #[must_use]
    pub fn password_file(&self) -> PathBuf {
        let path = self.dir.join("bind-password");
        std::fs::write(&path, format!("{BIND_PASSWORD}\n")).expect("password file");
        path
    }

    /// Stops it (the directory becomes unreachable).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        self.stop();
    }
}
