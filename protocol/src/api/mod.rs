//! The HTTP API's answers, typed once for the server that writes them and the admin CLI, tests
//! and load generator that read them. Every field an answer carries is here, in the order it is
//! written; optional figures are `null` when unknown (and read as `None` when absent, so a
//! client can talk to an older server).

mod alerts;
mod free_seats;
mod history;
mod hosts;
mod licences;
mod seats;
mod sheets;
mod status;
mod timeline;
mod tokens;
mod usage;

pub use alerts::{Alert, AlertKind, AlertNotification, AlertState, AlertsAnswer};
pub use free_seats::{Seat, SeatGroup, SeatMap, SeatState, SeatsEvent, SeatsView};
pub use history::{Deleted, HistoryPage, MeanMax, MinuteRow};
pub use hosts::{HostSummary, HostsAnswer};
pub use licences::{
    CheckoutView, LicenceServerView, LicenceServersAnswer, PoolHistory, PoolPollPoint, PoolView,
    Seen,
};
pub use seats::{
    AppSeats, Heatmap, HeatmapCell, HeatmapDay, PeakView, ReclaimAnswer, ReclaimWeek, SeatsAnswer,
};
pub use sheets::{
    SheetsCounts, SheetsFailure, SheetsOutcome, SheetsRun, SheetsRunError, SheetsStatus,
    SheetsStatusAnswer, SheetsTrigger,
};
pub use status::{
    ClusterStatus, HostCounts, HostStoreStats, ServerStatus, SharedBytes, StoreInfo, StoreStats,
};
pub use timeline::{Band, Timeline};
pub use tokens::{IssueToken, IssuedToken, MAX_TOKEN_GROUPS, Revoked, TokenInfo, TokenList};
pub use usage::{AppHours, GroupDay, HostUsage, UsageAnswer, UsageDay};
