//! `GET /api/v1/hosts/{host}/timeline`: a host's activity as bands, and each watched app's.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The answer of `GET /api/v1/hosts/{host}/timeline`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeline {
    /// The host's name.
    pub host: String,
    /// Start of the range, epoch ms.
    pub from: i64,
    /// End of the range (exclusive), epoch ms.
    pub to: i64,
    /// The host's bands: `active`, `idle` or `offline`, in order, equal neighbours merged.
    pub bands: Vec<Band>,
    /// Each watched app's bands (its states; gaps where it was not reported), by app name.
    pub apps: BTreeMap<String, Vec<Band>>,
}

/// A stretch of time in one state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Band {
    /// Start, epoch ms.
    pub start: i64,
    /// End (exclusive), epoch ms.
    pub end: i64,
    /// `active`, `idle` or `offline` for the host; a watched-app state name for an app.
    pub state: Cow<'static, str>,
}
