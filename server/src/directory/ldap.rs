//! Reading the lab PCs from LDAP / Active Directory with `ldap3`: bind (as `bind_dn` with the
//! password in `password_file`, or anonymously), search `base_dn` for `filter` in pages of
//! 500 (Active Directory answers at most 1,000 entries per search otherwise), and take each
//! entry's name from `name_attribute` and its group from its nearest OU or an attribute.

use ldap3::adapters::{EntriesOnly, PagedResults};
use ldap3::{LdapConnAsync, LdapConnSettings, Scope, SearchEntry};

use crate::config::DirectoryConfig;

/// Entries per page of the search.
const PAGE: i32 = 500;

/// The PCs the directory lists: name and group.
///
/// # Errors
/// A sentence naming what failed (connecting, binding, searching, the password file), for one
/// log line.
pub async fn read(config: &DirectoryConfig) -> Result<Vec<(String, Option<String>)>, String> {
    let url = config.url.as_deref().unwrap_or_default();
    tokio::time::timeout(config.timeout, search(config, url))
        .await
        .map_err(|_| {
            format!(
                "LDAP server {url} did not answer within {:?} (directory.timeout)",
                config.timeout
            )
        })?
}

async fn search(
    config: &DirectoryConfig,
    url: &str,
) -> Result<Vec<(String, Option<String>)>, String> {
    let password = match &config.password_file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                format!("cannot read the LDAP password file {}: {e}", path.display())
            })?;
            let first = text.lines().next().unwrap_or_default().to_owned();
            // An empty password makes an unauthenticated bind that servers accept as anonymous.
            if first.is_empty() {
                return Err(format!(
                    "the LDAP password file {} is empty; put bind_dn's password on its first line",
                    path.display()
                ));
            }
            Some(first)
        }
        None => None,
    };
    let settings = LdapConnSettings::new()
        .set_conn_timeout(config.timeout)
        .set_starttls(config.starttls);
    let (conn, mut ldap) = LdapConnAsync::with_settings(settings, url)
        .await
        .map_err(|e| format!("cannot connect to the LDAP server {url}: {e}"))?;
    ldap3::drive!(conn);
    if let (Some(dn), Some(password)) = (&config.bind_dn, &password) {
        ldap.simple_bind(dn, password)
            .await
            .and_then(ldap3::LdapResult::success)
            .map_err(|e| format!("the LDAP server {url} refused to bind as {dn:?}: {e}; check bind_dn and password_file"))?;
    }
    let group_from = config.group_from.trim().to_lowercase();
    let by_attribute = !matches!(group_from.as_str(), "ou" | "none");
    let mut attrs = vec![config.name_attribute.clone()];
    if by_attribute {
        attrs.push(config.group_from.clone());
    }
    let adapters: Vec<Box<dyn ldap3::adapters::Adapter<_, _>>> = vec![
        Box::new(EntriesOnly::new()),
        Box::new(PagedResults::new(PAGE)),
    ];
    let mut stream = ldap
        .streaming_search_with(
            adapters,
            &config.base_dn,
            Scope::Subtree,
            &config.filter,
            attrs,
        )
        .await
        .map_err(|e| format!("the LDAP search of {:?} failed: {e}", config.base_dn))?;
    let mut hosts = Vec::new();
    while let Some(entry) = stream
        .next()
        .await
        .map_err(|e| format!("the LDAP search of {:?} failed: {e}", config.base_dn))?
    {
        let entry = SearchEntry::construct(entry);
        let Some(name) = first(&entry, &config.name_attribute) else {
            continue;
        };
        let group = match group_from.as_str() {
            "none" => None,
            "ou" => nearest_ou(&entry.dn),
            _ => first(&entry, &config.group_from),
        };
        hosts.push((name, group));
    }
    stream
        .finish()
        .await
        .success()
        .map_err(|e| format!("the LDAP search of {:?} failed: {e}", config.base_dn))?;
    let _ = ldap.unbind().await;
    // No PC at all is a wrong base or filter (or an account that may not read them), not an
    // empty lab: the last good list is kept.
    if hosts.is_empty() {
        return Err(format!(
            "the LDAP search of {:?} for {} found no PC; check base_dn, filter and that bind_dn \
             may read them",
            config.base_dn, config.filter
        ));
    }
    Ok(hosts)
}

/// The first value of `attribute` (matched without case, as LDAP does).
fn first(entry: &SearchEntry, attribute: &str) -> Option<String> {
    entry
        .attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(attribute))
        .and_then(|(_, v)| v.first())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// The value of the first `OU=` component of `dn`: the PC's own OU.
fn nearest_ou(dn: &str) -> Option<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut escaped = false;
    // Bytes of hex escapes (`\2C`, RFC 4514) waiting to be decoded as UTF-8.
    let mut bytes: Vec<u8> = Vec::new();
    let mut chars = dn.chars().peekable();
    while let Some(c) = chars.next() {
        if escaped {
            escaped = false;
            let next = chars.peek().copied();
            if let Some(n) = next
                && c.is_ascii_hexdigit()
                && n.is_ascii_hexdigit()
            {
                chars.next();
                let pair: String = [c, n].iter().collect();
                bytes.push(u8::from_str_radix(&pair, 16).unwrap_or(b'?'));
                continue;
            }
            current.push_str(&String::from_utf8_lossy(&std::mem::take(&mut bytes)));
            current.push(c);
            continue;
        }
        if c == '\\' {
            escaped = true;
            continue;
        }
        current.push_str(&String::from_utf8_lossy(&std::mem::take(&mut bytes)));
        match c {
            ',' => parts.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    current.push_str(&String::from_utf8_lossy(&bytes));
    parts.push(current);
    parts.iter().find_map(|part| {
        let (k, v) = part.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("ou")
            .then(|| v.trim().to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::nearest_ou;

    #[test]
    fn a_pcs_group_is_its_own_ou() {
        assert_eq!(
            nearest_ou("CN=PC01,OU=Lab CTI,OU=Labs,DC=college,DC=example").as_deref(),
            Some("Lab CTI")
        );
        assert_eq!(
            nearest_ou("cn=pc02,ou=Room 9\\, east wing,dc=x").as_deref(),
            Some("Room 9, east wing")
        );
        assert_eq!(nearest_ou("CN=PC03,DC=college,DC=example"), None);
        assert_eq!(
            nearest_ou(r"CN=PC04,OU=Sala 2\2C piso \C3\A9,DC=x").as_deref(),
            Some("Sala 2, piso \u{e9}")
        );
    }
}
