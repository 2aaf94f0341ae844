//! Socket.IO event names. The first six are the Python original's and must never change:
//! unchanged agents and dashboards written for it rely on them.

/// Server → a newly connected socket: `{"msg": "connected"}`.
pub const HELLO: &str = "hello";
/// Agent → server: `{"host": str, ...}`.
pub const AGENT_REGISTER: &str = "agent_register";
/// Server → the registering agent: `{"host": str}`.
pub const REGISTERED: &str = "registered";
/// Server → dashboards: `{"hosts": [str]}`, the hosts with a connected agent.
pub const AGENT_LIST: &str = "agent_list";
/// Agent → server: a snapshot object, optionally with an ack callback.
pub const AGENT_SNAPSHOT: &str = "agent_snapshot";
/// Server → dashboards: a snapshot exactly as the agent sent it.
pub const TELEMETRY: &str = "telemetry";
/// Server → dashboards: an alert that fired, repeated or resolved (`api::Alert`).
pub const ALERT: &str = "alert";
/// Server → seat-view sockets and dashboards: the PCs whose seat changed (`api::SeatsEvent`).
pub const SEATS: &str = "seats";
/// Server → a socket whose input was rejected and that asked for no ack: `{"error": {...}}`.
pub const ERROR: &str = "error";

/// The payload of [`HELLO`].
pub const HELLO_MESSAGE: &str = "connected";
