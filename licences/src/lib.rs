//! Licence intelligence: what the licence server says about the seats of a watched app, to set
//! beside what the agents see on the PCs. Pure computation, no I/O: the server polls the
//! licence server and stores the answers; this crate reads them.
//!
//! - [`lmstat`]: FlexNet's `lmutil lmstat -a` output, parsed into pools and checkouts;
//! - [`join`]: each checkout beside what the agent on its PC reports (orphaned seats);
//! - [`seats`]: seats over time from what the PCs report (peaks, the week's shape, reclaiming).

pub mod join;
pub mod lmstat;
pub mod seats;
