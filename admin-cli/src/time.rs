//! Times on the command line, as the server reads them: RFC 3339, a date (`2026-11-26`,
//! midnight UTC), `now`, or relative (`-24h`, `7d`, `30m`: that long ago). Relative times are
//! fixed here, when the command runs, and sent to the server as RFC 3339.

use idlewatch_protocol::time::{now_ms, parse_time_arg, rfc3339_ms};

/// A command-line time as RFC 3339.
///
/// # Errors
/// The accepted forms, when `text` is none of them.
pub fn absolute(text: &str) -> Result<String, String> {
    parse_time_arg(text, now_ms()).map(rfc3339_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        assert_eq!(absolute("2026-11-26").unwrap(), "2026-11-26T00:00:00.000Z");
        assert!(absolute("yesterday").unwrap_err().contains("RFC 3339"));
        let ago = absolute("-24h").unwrap();
        assert_eq!(ago, rfc3339_ms(parse_time_arg(&ago, 0).unwrap()));
    }
}
