//! `motiontune params`: apply parameter writes, then print every parameter
//! with the value in force (a choice with its name, a switch as on/off, a
//! firmware's "not set" as such, the number always shown; `--json` adds
//! each kind, the value's name and a choice's names, and prints each
//! number as the shortest decimal of the device's `f32`).
//! Every name and value goes through the write guard before the first
//! write, so a bad argument changes nothing; the gains auto-tune proposes
//! go through the same guard, as auto-tune's ([`super::guarded_writes`]).
//! Reading changes nothing on the device: no stream is started, and the
//! link leaves the output alone.

use super::ParamsArgs;
use super::connect::connect;
use super::guarded_writes::{apply, resolve};
use super::report;
use crate::protocol::{ParamInfo, ParamKind};

pub fn run(args: &ParamsArgs) -> anyhow::Result<()> {
    let (link, mut info) = connect(args.port.target(), 0)?;
    let writes = resolve(&info.params, &args.writes)?;
    apply(&link, &writes, &mut info)?;
    let params = &info.params;
    if args.json {
        report::print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&as_json(params))?
        ))?;
    } else {
        let header = format!(
            "# {} ({}) on {}, speaking {}\n",
            info.name,
            info.firmware,
            link.target().name(),
            link.protocol()
                .map_or_else(|| "an unknown protocol".to_owned(), |p| p.to_string())
        );
        report::print(&(header + &table(params)))?;
    }
    Ok(())
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
