//! The HTTP API: one router per resource module, merged here with the shared layers.

mod access;
mod alerts;
mod dashboard;
mod data;
mod delete;
mod error;
mod free_seats;
mod history;
mod hosts;
mod licences;
mod metrics;
mod root;
mod seats;
mod selection;
mod sheets;
mod status;
mod timeline;
mod tokens;
mod usage;
mod xlsx;

use axum::Router;
use axum::http::StatusCode;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::timeout::TimeoutLayer;

pub use error::{ApiError, bad, blocking};

use crate::state::AppState;

/// Cross-origin access for the configured origins (`auth.allowed_origins`): none by default,
/// so browsers keep pages of other sites away from the API and Socket.IO's polling transport.
pub fn cors(origins: &[String]) -> CorsLayer {
    use axum::http::{HeaderValue, Method, header};
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o.trim_end_matches('/')).ok()),
        )
    };
    CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
}

/// Every route, with the request timeout, bound to `state`.
pub fn router(state: AppState) -> Router {
    let timeout = state.config.limits.request_timeout;
    Router::new()
        .merge(root::routes())
        .merge(data::routes())
        .merge(hosts::routes())
        .merge(licences::routes())
        .merge(seats::routes())
        .merge(free_seats::routes())
        .merge(alerts::routes())
        .merge(history::routes())
        .merge(metrics::routes())
        .merge(dashboard::routes())
        .merge(xlsx::routes())
        .merge(sheets::routes())
        .merge(status::routes())
        .merge(usage::routes())
        .merge(timeline::routes())
        .merge(tokens::routes())
        .fallback(error::fallback)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        // Deleting a large host's data takes longer than a request may.
        .merge(delete::routes())
        .with_state(state)
}
