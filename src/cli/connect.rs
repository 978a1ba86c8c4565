//! Opening a link headless and waiting until the device has described
//! itself, for commands that run to completion; and the one way those
//! commands wait, for the link or for work of their own, which wakes for
//! Ctrl-C and SIGTERM.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::link::{Link, LinkEvent, LinkOptions, PortTarget};
use crate::protocol::adapter::LONGEST_HANDSHAKE;
use crate::protocol::auto::probe_time;
use crate::protocol::{DeviceInfo, Event};

/// Extra time on top of the link's own HELLO timeout before giving up.
const CONNECT_SLACK: Duration = Duration::from_secs(3);
/// Longest a wait sleeps before looking at the interrupt flag: an
/// interrupted command has then well under its 2 s to end.
pub(super) const INTERRUPT_POLL: Duration = Duration::from_millis(50);

/// What waiting for the link's next event came to.
pub(super) enum Wait {
    Event(LinkEvent),
    /// The deadline passed first.
    TimedOut,
    /// Ctrl-C or SIGTERM came first (or had come before the wait).
    Interrupted,
}

/// The link's next event before `deadline`, unless the process is asked
/// to stop first.
pub(super) fn next_event(link: &Link, deadline: Instant) -> Wait {
    loop {
        if crate::interrupt::requested() {
            return Wait::Interrupted;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Wait::TimedOut;
        }
        match link.events().recv_timeout(left.min(INTERRUPT_POLL)) {
            Ok(event) => return Wait::Event(event),
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                // The thread reports Closed before it ends, so this is
                // only reached after that: nothing more will come.
                return Wait::Event(LinkEvent::Closed(None));
            }
        }
    }
}

/// Connects and returns the link with the device's description.
pub fn connect(target: PortTarget, stream_divider: u16) -> anyhow::Result<(Link, DeviceInfo)> {
    connect_seeing(target, stream_divider, &mut |_| {})
}

/// [`connect`], showing `seen` every event of the device's before its
/// description (a board's banner, for `record --text-out`).
pub fn connect_seeing(
    target: PortTarget,
    stream_divider: u16,
    seen: &mut dyn FnMut(&Event),
) -> anyhow::Result<(Link, DeviceInfo)> {
    let (link, deadline) = open(target, stream_divider);
    let info = described(&link, deadline, seen)?;
    Ok((link, info))
}

/// Connects to every target at once and returns each link with its
/// device's description, in the order given. The links probe and greet
/// side by side, so several devices take as long as the slowest; one that
/// fails ends the command, naming its port, and the others are closed.
pub fn connect_all(
    targets: Vec<PortTarget>,
    stream_divider: u16,
) -> anyhow::Result<Vec<(Link, DeviceInfo)>> {
    let opened: Vec<(Link, Instant)> = targets
        .into_iter()
        .map(|target| open(target, stream_divider))
        .collect();
    let mut connected = Vec::with_capacity(opened.len());
    for (link, deadline) in opened {
        let port = link.target().name().to_owned();
        // Name the port unless the error already does.
        let info = described(&link, deadline, &mut |_| {}).map_err(|error| {
            if error.to_string().contains(&port) {
                error
            } else {
                error.context(port)
            }
        })?;
        connected.push((link, info));
    }
    Ok(connected)
}

/// Opens a link, with the time by which it must have connected.
fn open(target: PortTarget, stream_divider: u16) -> (Link, Instant) {
    let mut options = LinkOptions::new(target);
    options.stream_divider = stream_divider;
    // The link gives up on its own; this only guards against a link thread
    // that never reports, so it allows for the longest wait: probing, or a
    // device that keeps showing progress (a board still booting).
    let longest = options
        .hello_timeout
        .max(probe_time())
        .max(LONGEST_HANDSHAKE);
    let deadline = Instant::now() + longest + CONNECT_SLACK;
    (Link::open(options), deadline)
}

/// Waits until the device on `link` has described itself, showing `seen`
/// every event before.
fn described(
    link: &Link,
    deadline: Instant,
    seen: &mut dyn FnMut(&Event),
) -> anyhow::Result<DeviceInfo> {
    loop {
        match next_event(link, deadline) {
            Wait::Event(LinkEvent::Device(Event::Described(info))) => return Ok(info),
            Wait::Event(LinkEvent::Closed(Some(error))) => bail!(error),
            Wait::Event(LinkEvent::Closed(None)) => {
                bail!("the link closed before the device described itself")
            }
            Wait::Event(LinkEvent::Device(event)) => seen(&event),
            Wait::Event(_) => {}
            Wait::Interrupted => bail!(
                "interrupted while connecting to {}: nothing was written",
                link.target().name()
            ),
            Wait::TimedOut => bail!(
                "{} did not describe itself in time: no answer",
                link.target().name()
            ),
        }
    }
}

/// Runs `work` on a thread of its own, looking for Ctrl-C or SIGTERM while
/// it runs: fitting a model takes about a second in a debug build, longer
/// on a loaded machine, and an interrupt must not wait for it. Interrupted,
/// the command ends at once (the output is off between the steps) and the
/// thread ends with the process.
pub(super) fn interruptible<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> anyhow::Result<T> {
    let (done, result) = crossbeam_channel::bounded(1);
    std::thread::Builder::new()
        .name("fit".into())
        .spawn(move || {
            let _ = done.send(work());
        })
        .context("cannot start the model fit")?;
    loop {
        if crate::interrupt::requested() {
            bail!("interrupted while fitting the model: nothing was written, the output is off");
        }
        match result.recv_timeout(Duration::from_millis(50)) {
            Ok(value) => return Ok(value),
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                bail!("the model fit ended without a result")
            }
        }
    }
}
