//! `GET /dashboard`: the web dashboard, embedded in the binary (labs often have no internet).
//!
//! The page itself holds no data and is served to anyone; it reads everything through the API
//! with the viewer token, and says so when the token is rejected.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::state::AppState;

const PAGE: &str = include_str!("../../assets/dashboard.html");

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new().route("/dashboard", get(page))
}

async fn page() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        PAGE,
    )
}
