//! What servers of a cluster tell each other over one Redis channel: each snapshot a server
//! accepted, each alert it showed, each licence-server poll it made, and the hosts whose
//! agents it holds. The same bytes of a
//! snapshot are kept under the host's key, so a server that starts later reads every host's
//! latest state from Redis.
//!
//! Servers exchange what happened rather than Socket.IO packets: one server's events reach the
//! other servers' dashboards through each one's own relay (its flow control, its scoped
//! dashboards; docs/SCALING.md). A message is binary, written here because it carries the
//! snapshot as the server already holds it, compressed (~4 KB instead of ~30 KB of JSON):
//!
//! ```text
//! version (1) | kind (b'T', b'A', b'L' or b'P') | id length (1) | id | body
//! T body: received_ms (i64 LE) | compressed (0 or 1) | zstd frame of the JSON (or the JSON)
//! A body: the alert as JSON          L body: the agent list as JSON ({"seq", "hosts"})
//! P body: a licence server's poll as JSON ({"server", "poll"})
//! ```

use std::sync::Arc;

use idlewatch_format::PackedJson;
use idlewatch_protocol::api::Alert;

use crate::licences::Poll;

/// The layout's version: a server meeting another version skips the message.
const VERSION: u8 = 1;

/// One message on the cluster's channel.
#[derive(Debug)]
pub struct Envelope {
    /// The id of the server that sent it.
    pub from: String,
    /// What happened.
    pub event: Event,
}

/// What happened on the server that sent an [`Envelope`].
#[derive(Debug)]
pub enum Event {
    /// A snapshot it accepted and that is its host's latest.
    Telemetry {
        /// When it was received, epoch ms.
        received_ms: i64,
        /// The snapshot exactly as its agent sent it, packed.
        json: Arc<PackedJson>,
    },
    /// An alert it fired, repeated or resolved.
    Alert(Box<Alert>),
    /// The hosts with an agent connected to it now.
    Agents(super::presence::AgentList),
    /// A licence server it polled (the lead polls for every server).
    LicencePoll(Box<LicencePoll>),
}

/// One poll of one `[[licence_servers]]` entry.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct LicencePoll {
    /// The entry's name.
    pub server: String,
    /// What it answered.
    pub poll: Poll,
}

/// Why a message was skipped.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Not a message of this layout (another program on the channel, or another version).
    #[error("not a cluster message of version {VERSION}")]
    Layout,
    /// A snapshot whose text would be longer than the server accepts.
    #[error("a snapshot longer than limits.max_message_bytes, or not compressed as expected")]
    Snapshot,
    /// An alert or host list that is not the expected JSON.
    #[error("{0}")]
    Json(#[from] serde_json::Error),
}

impl Envelope {
    /// The bytes sent.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let (kind, body) = match &self.event {
            Event::Telemetry { received_ms, json } => {
                let (compressed, bytes) = json.as_wire();
                let mut body = Vec::with_capacity(9 + bytes.len());
                body.extend_from_slice(&received_ms.to_le_bytes());
                body.push(u8::from(compressed));
                body.extend_from_slice(bytes);
                (b'T', body)
            }
            // Strings and numbers only: serialising cannot fail.
            Event::Alert(alert) => (b'A', serde_json::to_vec(alert).unwrap_or_default()),
            Event::Agents(list) => (b'L', serde_json::to_vec(list).unwrap_or_default()),
            Event::LicencePoll(poll) => (b'P', serde_json::to_vec(poll).unwrap_or_default()),
        };
        let id = &self.from.as_bytes()[..self.from.len().min(255)];
        let mut out = Vec::with_capacity(3 + id.len() + body.len());
        out.extend_from_slice(&[VERSION, kind, id.len() as u8]);
        out.extend_from_slice(id);
        out.extend_from_slice(&body);
        out
    }

    /// Reads a message; a snapshot's text may be at most `max_json` bytes.
    ///
    /// # Errors
    /// Bytes that are not a message this server reads.
    pub fn decode(bytes: &[u8], max_json: usize) -> Result<Self, DecodeError> {
        let [VERSION, kind, id_len, rest @ ..] = bytes else {
            return Err(DecodeError::Layout);
        };
        let (id, body) = rest
            .split_at_checked(usize::from(*id_len))
            .ok_or(DecodeError::Layout)?;
        let from = std::str::from_utf8(id)
            .map_err(|_| DecodeError::Layout)?
            .to_owned();
        let event = match kind {
            b'T' => {
                let (ms, rest) = body.split_at_checked(8).ok_or(DecodeError::Layout)?;
                let [compressed @ (0 | 1), frame @ ..] = rest else {
                    return Err(DecodeError::Layout);
                };
                let received_ms =
                    i64::from_le_bytes(ms.try_into().map_err(|_| DecodeError::Layout)?);
                let json = PackedJson::from_wire(*compressed == 1, frame, max_json)
                    .map(Arc::new)
                    .ok_or(DecodeError::Snapshot)?;
                Event::Telemetry { received_ms, json }
            }
            b'A' => Event::Alert(Box::new(serde_json::from_slice(body)?)),
            b'L' => Event::Agents(serde_json::from_slice(body)?),
            b'P' => Event::LicencePoll(serde_json::from_slice(body)?),
            _ => return Err(DecodeError::Layout),
        };
        Ok(Self { from, event })
    }
}

/// The channel every server of a cluster publishes to and listens on.
#[must_use]
pub fn channel(prefix: &str) -> String {
    format!("{prefix}events")
}

/// The key holding a host's latest [`Event::Telemetry`].
#[must_use]
pub fn host_key(prefix: &str, host: &str) -> String {
    format!("{prefix}host:{host}")
}

/// The key holding server `id`'s [`Event::Agents`], while it lives.
#[must_use]
pub fn server_key(prefix: &str, id: &str) -> String {
    format!("{prefix}server:{id}")
}

/// The key holding licence server `name`'s latest [`Event::LicencePoll`].
#[must_use]
pub fn licence_key(prefix: &str, name: &str) -> String {
    format!("{prefix}licence:{name}")
}

/// The key of the lead: who does the work that must run once.
#[must_use]
pub fn lead_key(prefix: &str) -> String {
    format!("{prefix}lead")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_travels_byte_for_byte() {
        let text = r#"{"host":"lab-01","cpu":1.50,"procs":[]}"#.repeat(50);
        let sent = Envelope {
            from: "a1b2".to_owned(),
            event: Event::Telemetry {
                received_ms: -7,
                json: Arc::new(PackedJson::pack(text.as_bytes())),
            },
        };
        let bytes = sent.encode();
        assert!(bytes.len() < text.len() / 5, "sent packed");
        let got = Envelope::decode(&bytes, text.len()).unwrap();
        assert_eq!(got.from, "a1b2");
        match got.event {
            Event::Telemetry { received_ms, json } => {
                assert_eq!(received_ms, -7);
                assert_eq!(json.unpack(), text.as_bytes());
            }
            other => panic!("decoded as {other:?}"),
        }
        assert!(
            matches!(
                Envelope::decode(&bytes, text.len() - 1),
                Err(DecodeError::Snapshot)
            ),
            "a snapshot over the limit is refused"
        );
    }

    #[test]
    fn agent_lists_travel() {
        let sent = Envelope {
            from: "b".to_owned(),
            event: Event::Agents(super::super::presence::AgentList {
                seq: 3,
                hosts: vec!["lab-01".to_owned(), "lab-02".to_owned()],
            }),
        };
        match Envelope::decode(&sent.encode(), 0).unwrap().event {
            Event::Agents(list) => {
                assert_eq!(list.seq, 3);
                assert_eq!(list.hosts, ["lab-01", "lab-02"]);
            }
            other => panic!("decoded as {other:?}"),
        }
    }

    #[test]
    fn licence_polls_travel() {
        let status = idlewatch_licences::lmstat::parse(
            "Users of ansys:  (Total of 4 licenses issued;  Total of 1 license in use)\n\n  \
             \"ansys\" v2024.1, vendor: ansyslmd\n\n    maria lab1-pc07 lab1-pc07 (v2024.1) \
             (lic1/1055 101), start Tue 12/1 9:05\n",
        );
        assert_eq!(status.pools.len(), 1, "the sample parses");
        for outcome in [Ok(status), Err("lmutil failed".to_owned())] {
            let sent = Envelope {
                from: "c".to_owned(),
                event: Event::LicencePoll(Box::new(LicencePoll {
                    server: "lic1".to_owned(),
                    poll: Poll {
                        at_ms: 1_764_600_000_000,
                        took_ms: 120,
                        outcome: outcome.clone(),
                    },
                })),
            };
            match Envelope::decode(&sent.encode(), 0).unwrap().event {
                Event::LicencePoll(got) => {
                    assert_eq!(got.server, "lic1");
                    assert_eq!((got.poll.at_ms, got.poll.took_ms), (1_764_600_000_000, 120));
                    assert_eq!(got.poll.outcome, outcome);
                }
                other => panic!("decoded as {other:?}"),
            }
        }
    }

    #[test]
    fn bytes_of_another_program_or_version_are_refused() {
        assert!(Envelope::decode(b"", 10).is_err());
        assert!(Envelope::decode(b"hello", 10).is_err());
        assert!(Envelope::decode(&[VERSION, b'T', 9, b'a'], 10).is_err());
        assert!(Envelope::decode(&[VERSION, b'X', 1, b'a'], 10).is_err());
        assert!(Envelope::decode(&[2, b'L', 1, b'a', b'{', b'}'], 10).is_err());
        assert!(Envelope::decode(&[VERSION, b'L', 1, b'a', b'{'], 10).is_err());
    }
}
