//! The serial ports this process holds open. A port another program holds
//! is said to be busy; one this very window holds (a device connected on
//! it, found by `auto` or spoken to as one device) is said so, with how
//! the axes of one board share a port instead.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, MutexGuard};

use super::LinkError;

/// The ports open here, with how many times each is.
static OPEN: LazyLock<Mutex<HashMap<String, usize>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

fn open() -> MutexGuard<'static, HashMap<String, usize>> {
    // A count is whole before anything that could panic: poison says
    // nothing about it.
    OPEN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A port held open by this process, for as long as it lives.
#[derive(Debug)]
pub(super) struct HeldHere {
    path: String,
}

impl HeldHere {
    /// `path` was opened here.
    pub(super) fn new(path: &str) -> Self {
        *open().entry(path.to_owned()).or_default() += 1;
        Self {
            path: path.to_owned(),
        }
    }
}

impl Drop for HeldHere {
    fn drop(&mut self) {
        let mut open = open();
        if let Some(count) = open.get_mut(&self.path) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.path);
            }
        }
    }
}

/// `error` from opening `path`, said as this window's own when the port
/// is busy because this process holds it.
pub(super) fn told_here(path: &str, error: LinkError) -> LinkError {
    match error {
        LinkError::PortBusy(port) if open().contains_key(path) => LinkError::Open {
            port,
            reason: "a device in this window has it open. Only an ODrive's axes, the motors \
                     of a SimpleFOC sketch and a native device's axes share one port, each \
                     connected with its protocol chosen (not auto)"
                .to_owned(),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_busy_here_is_said_to_be_this_window_s() {
        let path = "/dev/open-here-test";
        let busy = || LinkError::PortBusy(path.to_owned());
        assert_eq!(told_here(path, busy()), busy(), "not held here");
        let first = HeldHere::new(path);
        let second = HeldHere::new(path);
        let said = told_here(path, busy()).to_string();
        assert!(
            said.starts_with("cannot open /dev/open-here-test: a device in this window"),
            "{said}"
        );
        drop(first);
        assert_ne!(told_here(path, busy()), busy(), "still held once");
        drop(second);
        assert_eq!(told_here(path, busy()), busy());
        let missing = LinkError::NoSuchPort(path.to_owned());
        assert_eq!(told_here(path, missing.clone()), missing);
    }
}
