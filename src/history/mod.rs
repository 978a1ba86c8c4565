//! Sample storage behind the plots: a bounded, chunked store of every
//! channel of one device with a multi-level min/max summary, and reading a
//! time range thinned to the pixel columns that will draw it.

mod store;
mod summary;
mod thin;
mod timeline;

pub use store::{DEFAULT_CHANNEL_SAMPLES, Gap, History, HistorySize};
pub use summary::MinMax;
pub use thin::ThinnedLine;
