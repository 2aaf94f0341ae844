//! Reports: utilization defined once, for the XLSX export, Google Sheets and the admin CLI.
//!
//! - [`hours`]: the lab's opening hours (`Mon-Fri 08:00-22:00; Sat 09:00-13:00`);
//! - [`usage`]: per host per local day, the time active, idle and offline, the time of each
//!   watched application in each state, and utilization as a share of opening hours;
//! - [`minutes`]: the same days and bands from the minute tier, for ranges that aged;
//! - [`scan`]: a host's stored snapshots over a range, page by page;
//! - [`seats`]: each PC's watched apps as spans of time in one state, for the licence views;
//! - [`host_days`]: those spans rolled up per PC per settled day, built in the background;
//! - [`stream`]: those days computed as the points stream by, one day held at a time;
//! - [`daily`]: many hosts' usage over whole local days (Sheets, the usage API);
//! - [`xlsx`]: the XLSX workbook;
//! - [`cell`]: text cut to what spreadsheet cells accept.

pub mod cell;
pub mod daily;
pub mod host_days;
pub mod hours;
pub mod minutes;
pub mod scan;
pub mod seats;
pub mod stream;
pub mod usage;
pub mod xlsx;
