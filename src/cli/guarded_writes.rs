//! Parameter writes from the command line, every one through the write
//! guard before the first goes out: `params NAME=VALUE`, `step --set`,
//! and the gains `autotune --write` proposes and `profile load --write`
//! loads ([`reviewed_gains`]). Each write waits for the device's answer, so what
//! is printed after is what is in force.

use std::time::{Duration, Instant};

use anyhow::bail;

use super::Assignment;
use crate::link::{Link, LinkEvent};
use crate::protocol::native::message::host_type;
use crate::protocol::{Command, DeviceInfo, Event, ParamInfo};
use crate::tuning::write_guard::{WriteGuard, WriteOrigin};

/// How long a device has to answer one SET.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(2);

/// Sends resolved writes in order, each after the device answered the one
/// before; says on stderr when the device clamped a value. `info` follows
/// the values in force, and the device's description when a write changed
/// what it measures (a SimpleFOC motion type).
pub(super) fn apply(
    link: &Link,
    writes: &[(u8, f32)],
    info: &mut DeviceInfo,
) -> anyhow::Result<()> {
    for &(index, requested) in writes {
        let applied = write_and_follow(link, index, requested, &mut info.params, |new| {
            info.channels = new.channels;
        })?;
        let name = &info.params[index as usize].name;
        if applied != requested {
            eprintln!(
                "{name}: asked {requested}, device applied {applied} (clamped to its limits)"
            );
        }
    }
    Ok(())
}

/// Maps names to indices and passes the writes through the write guard as
/// the user's own edits: an unknown name, a read-only parameter, a switch
/// given anything but 0 or 1 and a choice out of range are refused in one
/// line before anything is written. The value typed for a parameter by
/// name is the confirmation the GUI asks for a large change, so none is
/// held here.
pub(super) fn resolve(
    params: &[ParamInfo],
    writes: &[Assignment],
) -> anyhow::Result<Vec<(u8, f32)>> {
    let indexed = writes
        .iter()
        .map(|write| {
            params
                .iter()
                .position(|p| p.name == write.name)
                .map(|index| (index as u8, write.value))
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "unknown parameter '{}' (the device has: {})",
                        write.name,
                        params
                            .iter()
                            .map(|p| p.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let review = WriteGuard::default().review(WriteOrigin::Edit, params, &indexed);
    if !review.refused.is_empty() {
        bail!(
            "{} (nothing was written)",
            review
                .refused
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    Ok(review.writes)
}

/// Gains an auto-tune proposed or a profile holds, as the write guard lets
/// `origin` send them ([`WriteOrigin::AutoTune`], [`WriteOrigin::Profile`]:
/// gains and plain settings only); an error naming each gain it refuses,
/// or moves beyond its per-write limit unless `allow_large`.
pub(super) fn reviewed_gains(
    origin: WriteOrigin,
    params: &[ParamInfo],
    writes: &[(u8, f32)],
    allow_large: bool,
) -> anyhow::Result<Vec<(u8, f32)>> {
    let review = WriteGuard::default().review(origin, params, writes);
    let listed = |items: Vec<String>| items.join("; ");
    if !review.refused.is_empty() {
        bail!(
            "gains not written: {}",
            listed(review.refused.iter().map(ToString::to_string).collect())
        );
    }
    if !allow_large && !review.large.is_empty() {
        bail!(
            "gains not written: {}; add --allow-large-change to write {}",
            listed(review.large.iter().map(ToString::to_string).collect()),
            if review.large.len() == 1 {
                "it"
            } else {
                "them"
            }
        );
    }
    Ok(review.writes)
}

/// Sends one SET and waits for the device's answer.
pub(super) fn write_one(
    link: &Link,
    index: u8,
    value: f32,
    params: &mut [ParamInfo],
) -> anyhow::Result<f32> {
    write_and_follow(link, index, value, params, |_| {})
}

/// [`write_one`], handing a description the device gives again meanwhile
/// to `described` (its parameters go into `params`).
fn write_and_follow(
    link: &Link,
    index: u8,
    value: f32,
    params: &mut [ParamInfo],
    mut described: impl FnMut(DeviceInfo),
) -> anyhow::Result<f32> {
    link.send(Command::Set { index, value });
    let deadline = Instant::now() + ANSWER_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match link.events().recv_timeout(left) {
            Ok(LinkEvent::Device(Event::Value { index: i, value })) => {
                if let Some(param) = params.get_mut(i as usize) {
                    param.value = value;
                }
                if i == index {
                    return Ok(value);
                }
            }
            Ok(LinkEvent::Device(Event::Described(new))) if new.params.len() == params.len() => {
                params.clone_from_slice(&new.params);
                described(new);
            }
            Ok(LinkEvent::Device(Event::Refused { request, code }))
                if request == host_type::SET =>
            {
                bail!("device refused {}: {code}", params[index as usize].name)
            }
            Ok(LinkEvent::Closed(Some(error))) => bail!(error),
            Ok(LinkEvent::Closed(None)) => bail!("link closed"),
            Ok(_) => {}
            Err(_) => bail!(
                "device did not answer the write of {} within 2 s",
                params[index as usize].name
            ),
        }
    }
}
