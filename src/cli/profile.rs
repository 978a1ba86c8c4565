//! `motiontune profile save` and `profile load`: a machine's gains and
//! settings in one file.
//!
//! - `save` writes the gains and plain settings of one device as the app's
//!   *Save profile* does, or of several, a section per device label
//!   ([`crate::profile::devices`]).
//! - `load` reads the file before connecting (a bad file changes nothing),
//!   then shows, per device present, what it would change and what it
//!   refuses; a section whose device is not connected, and a device the
//!   file has no section for, are named and left alone. Only `--write`
//!   writes, and only after every device's changes passed the write guard
//!   as a profile's ([`WriteOrigin::Profile`]): one refused gain anywhere
//!   and nothing is written anywhere. Reading changes nothing on a device.

use anyhow::{Context, bail};

use super::connect::{connect, connect_all};
use super::guarded_writes::{apply, reviewed_gains};
use super::{DevicesArgs, ProfileCommand, ProfileLoadArgs, ProfileSaveArgs, report};
use crate::device::label::labels;
use crate::link::Link;
use crate::profile::devices::{Connected, DevicesProfile};
use crate::profile::{Profile, ProfileDiff};
use crate::protocol::DeviceInfo;
use crate::tuning::write_guard::WriteOrigin;

pub fn run(command: &ProfileCommand) -> anyhow::Result<()> {
    match command {
        ProfileCommand::Save(args) => save(args),
        ProfileCommand::Load(args) => load(args),
    }
}

/// Each device connected (without streaming) and its label.
fn connected(devices: &DevicesArgs) -> anyhow::Result<Vec<(Link, DeviceInfo, String)>> {
    let targets = devices.targets()?;
    let connected = if let [target] = targets.as_slice() {
        if !devices.labels.is_empty() {
            bail!("--label names the devices of several --port: one port was given");
        }
        vec![connect(target.clone(), 0)?]
    } else {
        connect_all(targets, 0)?
    };
    let names: Vec<&str> = connected.iter().map(|(_, i)| i.name.as_str()).collect();
    let labels = labels(&devices.labels, &names).map_err(anyhow::Error::msg)?;
    Ok(connected
        .into_iter()
        .zip(labels)
        .map(|((link, info), label)| (link, info, label))
        .collect())
}

fn save(args: &ProfileSaveArgs) -> anyhow::Result<()> {
    let devices = connected(&args.devices)?;
    let (count, saved) = match devices.as_slice() {
        [(_, info, _)] => {
            let profile = Profile::from_device(&args.name, info, &info.params);
            profile.save(&args.out)?;
            (profile.params.len(), info.name.clone())
        }
        several => {
            let listed: Vec<_> = several
                .iter()
                .map(|(_, info, label)| (label.as_str(), info, info.params.as_slice()))
                .collect();
            let profile = DevicesProfile::from_devices(&args.name, &listed);
            profile.save(&args.out)?;
            let labels: Vec<&str> = several.iter().map(|(_, _, l)| l.as_str()).collect();
            let count = profile.devices.iter().map(|d| d.profile.params.len()).sum();
            (count, labels.join(", "))
        }
    };
    eprintln!(
        "saved {count} gains and settings of {saved} to {}",
        args.out.display()
    );
    Ok(())
}

fn load(args: &ProfileLoadArgs) -> anyhow::Result<()> {
    let path = args.file.display().to_string();
    let text =
        std::fs::read_to_string(&args.file).with_context(|| format!("cannot read {path}"))?;
    let several = DevicesProfile::is_several(&text);
    // Parsed before connecting: a bad file changes nothing.
    let file = if several {
        Loaded::Several(DevicesProfile::from_toml(&text, &path)?)
    } else {
        Loaded::One(Profile::from_toml(&text, &path)?)
    };
    if !several && args.devices.ports.len() > 1 {
        bail!("{path} is a profile of one device: give one --port");
    }
    let mut devices = connected(&args.devices)?;
    let plan = file.plan(&devices);
    let mut out = String::new();
    for (label, diff) in &plan.devices {
        let (_, info, _) = devices
            .iter()
            .find(|(_, _, l)| l == label)
            .context("a planned device is connected")?;
        out += &shown(label, info, file.saved_from(label), diff);
    }
    for label in &plan.absent {
        out += &format!("## {label}\nnot connected: nothing is written for it\n");
    }
    for label in &plan.not_in_profile {
        out += &format!("## {label}\nnot in the profile: left as it is\n");
    }
    let count: usize = plan.devices.iter().map(|(_, d)| d.changes.len()).sum();
    if !args.write || count == 0 {
        out += &match count {
            0 => "nothing to write\n".to_owned(),
            n => format!("nothing written: add --write to write these {n} changes\n"),
        };
        return report::print(&out);
    }
    // Every device's writes through the guard before the first goes out.
    let mut reviewed = Vec::with_capacity(plan.devices.len());
    for (label, diff) in &plan.devices {
        let at = devices
            .iter()
            .position(|(_, _, l)| l == label)
            .context("a planned device is connected")?;
        let writes: Vec<(u8, f32)> = diff.changes.iter().map(|c| (c.index, c.new)).collect();
        let writes = reviewed_gains(
            WriteOrigin::Profile,
            &devices[at].1.params,
            &writes,
            args.allow_large_change,
        )
        .with_context(|| format!("{label}: nothing was written to any device"))?;
        reviewed.push((at, writes));
    }
    for (at, writes) in &reviewed {
        let (link, info, _) = &mut devices[*at];
        apply(link, writes, info)?;
    }
    out += &format!(
        "wrote {count} changes to {} devices\n",
        reviewed.iter().filter(|(_, w)| !w.is_empty()).count()
    );
    report::print(&out)
}

/// The file read: a profile of one device or of several.
enum Loaded {
    One(Profile),
    Several(DevicesProfile),
}

impl Loaded {
    /// What it would do to the devices connected.
    fn plan(&self, devices: &[(Link, DeviceInfo, String)]) -> crate::profile::devices::DevicesDiff {
        match self {
            Self::One(profile) => crate::profile::devices::DevicesDiff {
                devices: devices
                    .iter()
                    .map(|(_, info, label)| (label.clone(), profile.diff(&info.params)))
                    .collect(),
                ..Default::default()
            },
            Self::Several(profile) => profile.diff(
                &devices
                    .iter()
                    .map(|(_, info, label)| Connected {
                        label,
                        params: &info.params,
                    })
                    .collect::<Vec<_>>(),
            ),
        }
    }

    /// The device and firmware the section for `label` was saved from.
    fn saved_from(&self, label: &str) -> Option<&Profile> {
        match self {
            Self::One(profile) => Some(profile),
            Self::Several(profile) => profile
                .devices
                .iter()
                .find(|s| s.label == label)
                .map(|s| &s.profile),
        }
    }
}

/// One device's part of the plan, as text.
fn shown(label: &str, info: &DeviceInfo, saved: Option<&Profile>, diff: &ProfileDiff) -> String {
    let mut out = format!("## {label}\n");
    if let Some(saved) = saved
        && (saved.device != info.name || saved.firmware != info.firmware)
    {
        out += &format!(
            "saved from {} firmware {}; this device is {} firmware {}\n",
            saved.device, saved.firmware, info.name, info.firmware
        );
    }
    if diff.changes.is_empty() {
        out += "no parameter would change\n";
    }
    for change in &diff.changes {
        out += &format!(
            "{}: {} -> {} {}\n",
            change.name, change.old, change.new, change.unit
        );
    }
    for refusal in &diff.refused {
        out += &format!("refused: {refusal}\n");
    }
    out
}
