//! Opening a link headless and waiting until the device has described
//! itself, for commands that run to completion.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::link::{Link, LinkEvent, LinkOptions, PortTarget};
use crate::protocol::auto::probe_time;
use crate::protocol::{DeviceInfo, Event};

/// Extra time on top of the link's own HELLO timeout before giving up.
const CONNECT_SLACK: Duration = Duration::from_secs(3);

/// Connects and returns the link with the device's description.
pub fn connect(target: PortTarget, stream_divider: u16) -> anyhow::Result<(Link, DeviceInfo)> {
    let mut options = LinkOptions::new(target);
    options.stream_divider = stream_divider;
    // The link gives up on its own; this only guards against a link thread
    // that never reports, so it allows for the longest wait, probing.
    let deadline = Instant::now() + options.hello_timeout.max(probe_time()) + CONNECT_SLACK;
    let link = Link::open(options);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match link.events().recv_timeout(left) {
            Ok(LinkEvent::Device(Event::Described(info))) => return Ok((link, info)),
            Ok(LinkEvent::Closed(Some(error))) => bail!(error),
            Ok(LinkEvent::Closed(None)) => {
                bail!("the link closed before the device described itself")
            }
            Ok(_) => {}
            Err(_) => {
                return Err(anyhow::anyhow!("no answer")).with_context(|| {
                    format!("{} did not describe itself in time", link.target().name())
                });
            }
        }
    }
}
