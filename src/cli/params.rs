//! `motiontune params`: apply parameter writes, then print every parameter
//! with the value in force (a choice with its name, a switch as on/off, a
//! firmware's "not set" as such, the number always shown; `--json` adds
//! each kind, the value's name and a choice's names, and prints each
//! number as the shortest decimal of the device's `f32`).
//! Every name and value goes through the write guard before the first
//! write, so a bad argument changes nothing; the gains auto-tune proposes
//! go through the same guard, as auto-tune's ([`super::guarded_writes`]).
//! Reading changes nothing on the device: no stream is started, and the
//! link leaves the output alone. Several `--port`s list every device's
//! parameters, each under its label; writes then are refused, as they
//! would not say which device they are for.

use anyhow::bail;

use super::ParamsArgs;
use super::connect::{connect, connect_all};
use super::guarded_writes::{apply, resolve};
use super::report;
use crate::device::label::labels;
use crate::link::{Link, PortTarget};
use crate::protocol::{DeviceInfo, ParamInfo, ParamKind};

pub fn run(args: &ParamsArgs) -> anyhow::Result<()> {
    let targets = args.devices.targets()?;
    match (targets.as_slice(), args.devices.labels.len()) {
        ([target], 0) => one(args, target.clone()),
        ([_], _) => bail!("--label names the devices of several --port: one port was given"),
        _ if !args.writes.is_empty() => {
            bail!("NAME=VALUE writes go to one device: give one --port (nothing was written)")
        }
        _ => several(args, targets),
    }
}

/// Writes to one device, then lists its parameters.
fn one(args: &ParamsArgs, target: PortTarget) -> anyhow::Result<()> {
    let (link, mut info) = connect(target, 0)?;
    let writes = resolve(&info.params, &args.writes)?;
    apply(&link, &writes, &mut info)?;
    let params = &info.params;
    if args.json {
        report::print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&as_json(params))?
        ))?;
    } else {
        report::print(&(heading(&link, &info) + &table(params)))?;
    }
    Ok(())
}

/// Lists the parameters of several devices, each under its label; with
/// `--json`, an array of `{label, port, device, firmware, params}`.
fn several(args: &ParamsArgs, targets: Vec<PortTarget>) -> anyhow::Result<()> {
    let connected = connect_all(targets, 0)?;
    let names: Vec<&str> = connected.iter().map(|(_, i)| i.name.as_str()).collect();
    let labels = labels(&args.devices.labels, &names).map_err(anyhow::Error::msg)?;
    if args.json {
        let devices: Vec<serde_json::Value> = connected
            .iter()
            .zip(&labels)
            .map(|((link, info), label)| {
                serde_json::json!({
                    "label": label,
                    "port": link.target().name(),
                    "device": info.name,
                    "firmware": info.firmware,
                    "params": as_json(&info.params),
                })
            })
            .collect();
        report::print(&format!("{}\n", serde_json::to_string_pretty(&devices)?))?;
    } else {
        let tables: Vec<String> = connected
            .iter()
            .zip(&labels)
            .map(|((link, info), label)| {
                format!("## {label}\n{}{}", heading(link, info), table(&info.params))
            })
            .collect();
        report::print(&tables.join("\n"))?;
    }
    Ok(())
}

/// `# NAME (FIRMWARE) on PORT, speaking PROTOCOL`.
fn heading(link: &Link, info: &DeviceInfo) -> String {
    format!(
        "# {} ({}) on {}, speaking {}\n",
        info.name,
        info.firmware,
        link.target().name(),
        link.protocol()
            .map_or_else(|| "an unknown protocol".to_owned(), |p| p.to_string())
    )
}

fn as_json(params: &[ParamInfo]) -> serde_json::Value {
    params
        .iter()
        .map(|p| {
            serde_json::json!({
                "name": p.name,
                "value": shortest(p.value),
                "value_name": p.value_name(p.value),
                "min": shortest(p.min),
                "max": shortest(p.max),
                "unit": p.unit,
                "read_only": p.flags.read_only(),
                "kind": kind_key(&p.kind),
                "choices": p.kind.names(),
            })
        })
        .collect()
}

/// An `f32` as the shortest decimal that reads back as it (`0.2`, not
/// the `0.20000000298023224` its widening to f64 prints); null when not
/// finite.
fn shortest(value: f32) -> serde_json::Value {
    value
        .to_string()
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or(serde_json::Value::Null, serde_json::Value::Number)
}

fn kind_key(kind: &ParamKind) -> &'static str {
    match kind {
        ParamKind::Real => "real",
        ParamKind::Integer => "integer",
        ParamKind::Switch => "switch",
        ParamKind::Choice(_) => "choice",
    }
}

/// The value as the table shows it: the number, after a choice's name or
/// a switch's on/off.
fn value_text(p: &ParamInfo) -> String {
    match p.value_name(p.value) {
        Some(name) => format!("{name} ({})", p.value),
        None => p.value.to_string(),
    }
}

fn table(params: &[ParamInfo]) -> String {
    let width = params
        .iter()
        .map(|p| p.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let values: Vec<String> = params.iter().map(value_text).collect();
    let value_width = values.iter().map(String::len).max().unwrap_or(0).max(12);
    let mut out = format!(
        "{:<width$}  {:>value_width$}  {:>12}  {:>12}  unit\n",
        "name", "value", "min", "max"
    );
    for (p, value) in params.iter().zip(values) {
        out += &format!(
            "{:<width$}  {:>value_width$}  {:>12}  {:>12}  {}{}\n",
            p.name,
            value,
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
    out
}
