//! `GET /dashboard` (hosts, live), `GET /dashboard/licences` (seats over a range and the
//! licence servers' view), `GET /seats` (the free-seat page, public with `[seats] public`) and
//! their assets: the web dashboard, embedded in the binary (labs often
//! have no internet, so nothing comes from a CDN — the Socket.IO client is the npm package
//! `socket.io-client` 4.8.4's `dist/socket.io.min.js`, pinned and checked in).
//!
//! The page holds no data and is served to anyone; it reads everything through the API with
//! the viewer token, and says so when the token is rejected.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::state::AppState;

const PAGE: &str = include_str!("../../assets/dashboard/index.html");
const SCRIPT: &str = include_str!("../../assets/dashboard/app.js");
const COMMON: &str = include_str!("../../assets/dashboard/common.js");
const LICENCES_PAGE: &str = include_str!("../../assets/dashboard/licences.html");
const LICENCES_SCRIPT: &str = include_str!("../../assets/dashboard/licences.js");
const SEATS_PAGE: &str = include_str!("../../assets/dashboard/seats.html");
const SEATS_SCRIPT: &str = include_str!("../../assets/dashboard/seats.js");
const SEATS_STYLE: &str = include_str!("../../assets/dashboard/seats.css");
const SEAT_MAP: &str = include_str!("../../assets/dashboard/seatmap.js");
const ROOMS: &str = include_str!("../../assets/dashboard/rooms.js");
const STYLE: &str = include_str!("../../assets/dashboard/style.css");
const ICON: &str = include_str!("../../assets/dashboard/icon.svg");
const SOCKET_IO: &str = include_str!("../../assets/dashboard/socket.io.min.js");

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/dashboard",
            get(|| asset("text/html; charset=utf-8", PAGE)),
        )
        .route(
            "/dashboard/",
            get(|| asset("text/html; charset=utf-8", PAGE)),
        )
        .route(
            "/dashboard/app.js",
            get(|| asset("text/javascript; charset=utf-8", SCRIPT)),
        )
        .route(
            "/dashboard/common.js",
            get(|| asset("text/javascript; charset=utf-8", COMMON)),
        )
        .route(
            "/dashboard/licences",
            get(|| asset("text/html; charset=utf-8", LICENCES_PAGE)),
        )
        .route(
            "/dashboard/licences.js",
            get(|| asset("text/javascript; charset=utf-8", LICENCES_SCRIPT)),
        )
        .route(
            "/seats",
            get(|| asset("text/html; charset=utf-8", SEATS_PAGE)),
        )
        .route(
            "/dashboard/seats.js",
            get(|| asset("text/javascript; charset=utf-8", SEATS_SCRIPT)),
        )
        .route(
            "/dashboard/seatmap.js",
            get(|| asset("text/javascript; charset=utf-8", SEAT_MAP)),
        )
        .route(
            "/dashboard/rooms.js",
            get(|| asset("text/javascript; charset=utf-8", ROOMS)),
        )
        .route(
            "/dashboard/seats.css",
            get(|| asset("text/css; charset=utf-8", SEATS_STYLE)),
        )
        .route("/dashboard/icon.svg", get(|| asset("image/svg+xml", ICON)))
        .route(
            "/dashboard/style.css",
            get(|| asset("text/css; charset=utf-8", STYLE)),
        )
        .route(
            "/dashboard/socket.io.min.js",
            get(|| asset("text/javascript; charset=utf-8", SOCKET_IO)),
        )
}

/// What the pages may load and run: their own scripts and styles (inline styles too: floor
/// plans carry them), their own API and Socket.IO, no plugins, no forms posting anywhere. A
/// floor plan inlined in a page can therefore run nothing even if it held a script.
const PAGE_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'";

async fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    let policy = if content_type.starts_with("text/html") {
        PAGE_POLICY
    } else {
        "default-src 'none'"
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            // Revalidated on every load, so an upgraded server never serves a stale page.
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CONTENT_SECURITY_POLICY, policy),
        ],
        body,
    )
}
