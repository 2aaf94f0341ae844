//! What a connected socket is — dashboard, agent of a host, or neither — kept in the socket's
//! extensions, with the metrics gauges and room membership that follow from it.

use socketioxide::adapter::Adapter;
use socketioxide::socket::Socket;

use std::sync::Arc;

use super::DASHBOARDS;
use crate::auth::Scope;
use crate::relay::Flow;
use crate::serve::ConnMeter;
use crate::state::AppState;

/// The role a socket plays now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketKind {
    /// Receives `telemetry` and `agent_list`.
    Dashboard,
    /// The agent socket of this host.
    Agent(String),
    /// Receives only `seats` (the free-seat view: no telemetry).
    SeatView,
    /// Neither: an agent-token socket that has not registered yet.
    Unbound,
}

impl SocketKind {
    /// The kind recorded on `socket` (unbound when none is).
    pub fn of<A: Adapter>(socket: &Socket<A>) -> Self {
        socket.extensions.get::<Self>().unwrap_or(Self::Unbound)
    }

    /// Makes `socket` a dashboard, with the flow control of its relay: its session's drain
    /// (given its WebSocket connection's meter when the session began as a WebSocket). A
    /// dashboard of a token scoped to labs joins their rooms only ([`super::scoped`]).
    pub fn make_dashboard<A: Adapter>(
        socket: &Socket<A>,
        state: &AppState,
        scope: Option<Arc<Scope>>,
    ) {
        let drain = state.relay.drains.claim(&socket.id.to_string());
        if socket.transport_type() == socketioxide::TransportType::Websocket
            && let Some(meter) = socket.req_parts().extensions.get::<Arc<ConnMeter>>()
        {
            drain.set_websocket(meter.clone());
        }
        if let Some(scope) = scope {
            super::scoped::join(socket, state, scope, Flow::new(drain, 0));
        } else {
            socket
                .extensions
                .insert(Flow::new(drain, state.relay.relayed()));
            socket.join(DASHBOARDS);
            // Dashboards draw the labs' rooms too.
            socket.join(crate::seats::live::ALL);
        }
        socket.extensions.insert(Self::Dashboard);
        state.metrics.dashboards_connected.inc();
    }

    /// Makes `socket` a seat-view socket of the labs `only` (lower-cased; `None`: all).
    pub fn make_seat_view<A: Adapter>(
        socket: &Socket<A>,
        state: &AppState,
        only: Option<Vec<String>>,
    ) {
        socket.extensions.insert(Self::SeatView);
        state.metrics.seat_viewers_connected.inc();
        crate::seats::live::join(socket, only);
    }

    /// Binds `socket` as the agent of `host`: it leaves the dashboards (agents never receive
    /// other agents' telemetry) and counts as a connected agent of `host`.
    ///
    /// Returns false when it already was that host's agent (nothing changed).
    pub fn bind_agent<A: Adapter>(socket: &Socket<A>, state: &AppState, host: &str) -> bool {
        match Self::of(socket) {
            Self::Agent(current) if current == host => return false,
            Self::Agent(previous) => {
                state.registry.agent_disconnected(&previous);
            }
            Self::Dashboard => {
                // (A scoped dashboard is a viewer's, which may not report: never here. Were it
                // one, it would stop being counted as one.)
                super::scoped::left(socket, state);
                socket.leave(DASHBOARDS);
                socket.leave(crate::seats::live::ALL);
                socket.leave(crate::relay::PAUSED);
                state.relay.left(socket);
                socket.extensions.remove::<Arc<Flow>>();
                state.metrics.dashboards_connected.dec();
                state.metrics.agents_connected.inc();
            }
            // Seat-view sockets get no report handlers; they cannot get here.
            Self::Unbound | Self::SeatView => {
                state.metrics.agents_connected.inc();
            }
        }
        state.registry.agent_connected(host, super::now());
        socket.extensions.insert(Self::Agent(host.to_owned()));
        true
    }
}
