//! Sample storage behind the plots: a bounded, time-ordered store of every
//! channel of one device, and per-pixel min/max thinning of a time range.

mod store;

pub use store::{History, ThinnedSeries};
