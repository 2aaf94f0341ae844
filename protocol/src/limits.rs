//! Hard limits on what an agent may send. The server enforces them on every message; the agent
//! uses them to refuse to build a snapshot the server would reject.

/// Longest accepted host name, in characters (a DNS name's limit).
pub const MAX_HOST_CHARS: usize = 253;
/// Most processes one snapshot may list.
pub const MAX_PROCESSES: usize = 10_000;
/// Largest accepted message, in bytes of JSON text (the default transport limit too).
pub const MAX_MESSAGE_BYTES: usize = 1 << 20;
