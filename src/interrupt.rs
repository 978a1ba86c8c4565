//! Ctrl-C and SIGTERM for the whole process: one handler, installed once,
//! sets one flag that every command and the GUI read. An interrupt then
//! never ends the process in the middle of a procedure: whoever runs one
//! sees [`requested`] within a fraction of a second and ends as it
//! documents (setpoint back, output off, the link closed the normal way).
//!
//! The handler is process-wide and can be installed only once (the `ctrlc`
//! crate refuses a second one), which is why no command installs its own.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// Wakes whoever sleeps until something happens (the GUI's event loop).
static WAKE: OnceLock<Box<dyn Fn() + Send + Sync>> = OnceLock::new();
static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();

/// Installs the handler for Ctrl-C and SIGTERM; later calls return the
/// first one's outcome.
pub fn install() -> Result<(), String> {
    INSTALLED
        .get_or_init(|| {
            ctrlc::set_handler(|| {
                INTERRUPTED.store(true, Ordering::SeqCst);
                if let Some(wake) = WAKE.get() {
                    wake();
                }
            })
            .map_err(|e| e.to_string())
        })
        .clone()
}

/// Ctrl-C or SIGTERM has come since the process started.
pub fn requested() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Calls `wake` on an interrupt, after the flag is set: for a loop that
/// sleeps until an event (the GUI repaints only when asked). The first
/// call's `wake` is kept.
pub fn wake_with(wake: impl Fn() + Send + Sync + 'static) {
    let _ = WAKE.set(Box::new(wake));
}
