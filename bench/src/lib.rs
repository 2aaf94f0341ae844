//! Idlewatch load generator: simulated agents and dashboards speaking Socket.IO over WebSocket.
