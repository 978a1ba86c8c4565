//! `motiontune params`: apply parameter writes, then print every parameter
//! with the value in force. Every name and value is checked against the
//! device's description before the first write, so a bad argument changes
//! nothing.

use std::time::{Duration, Instant};

use anyhow::bail;

use super::connect::connect;
use super::{Assignment, ParamsArgs};
use crate::link::{Link, LinkEvent};
use crate::protocol::native::message::host_type;
use crate::protocol::{Command, Event, ParamInfo};

/// How long a device has to answer one SET.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(2);

pub fn run(args: &ParamsArgs) -> anyhow::Result<()> {
    let (link, info) = connect(args.port.target(), 0)?;
    let mut params = info.params.clone();
    let writes = resolve(&params, &args.writes)?;
    apply(&link, &writes, &mut params)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&as_json(&params))?);
    } else {
        println!(
            "# {} ({}) on {}, speaking {}",
            info.name,
            info.firmware,
            link.target().name(),
            link.protocol()
                .map_or_else(|| "an unknown protocol".to_owned(), |p| p.to_string())
        );
        print_table(&params);
    }
    Ok(())
}

/// Sends resolved writes in order, each after the device answered the one
/// before; says on stderr when the device clamped a value. `params` follows
/// the values in force.
pub(super) fn apply(
    link: &Link,
    writes: &[(u8, f32)],
    params: &mut [ParamInfo],
) -> anyhow::Result<()> {
    for &(index, requested) in writes {
        let applied = write_one(link, index, requested, params)?;
        let name = &params[index as usize].name;
        if applied != requested {
            eprintln!(
                "{name}: asked {requested}, device applied {applied} (clamped to its limits)"
            );
        }
    }
    Ok(())
}

/// Maps names to indices; refuses unknown and read-only names.
pub(super) fn resolve(
    params: &[ParamInfo],
    writes: &[Assignment],
) -> anyhow::Result<Vec<(u8, f32)>> {
    writes
        .iter()
        .map(|write| {
            let index = params
                .iter()
                .position(|p| p.name == write.name)
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
                })?;
            if params[index].flags.read_only() {
                bail!("parameter '{}' is read-only on this device", write.name);
            }
            Ok((index as u8, write.value))
        })
        .collect()
}

/// Sends one SET and waits for the device's answer.
pub(super) fn write_one(
    link: &Link,
    index: u8,
    value: f32,
    params: &mut [ParamInfo],
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

fn as_json(params: &[ParamInfo]) -> serde_json::Value {
    params
        .iter()
        .map(|p| {
            serde_json::json!({
                "name": p.name,
                "value": p.value,
                "min": p.min,
                "max": p.max,
                "unit": p.unit,
                "read_only": p.flags.read_only(),
            })
        })
        .collect()
}

fn print_table(params: &[ParamInfo]) {
    let width = params
        .iter()
        .map(|p| p.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    println!(
        "{:<width$}  {:>12}  {:>12}  {:>12}  unit",
        "name", "value", "min", "max"
    );
    for p in params {
        println!(
            "{:<width$}  {:>12}  {:>12}  {:>12}  {}{}",
            p.name,
            p.value,
            p.min,
            p.max,
            p.unit,
            if p.flags.read_only() {
                " (read-only)"
            } else {
                ""
            }
        );
    }
}
