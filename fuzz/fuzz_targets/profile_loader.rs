//! Profile files (`src/profile`): parsing any text never panics; a profile
//! that loads writes back to TOML that loads to the same TOML; its diff
//! against the simulated drive's parameters never panics and proposes only
//! writes the diff promises are safe: a parameter the device has, writable,
//! a finite value inside its limits.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use motiontune_fuzz::profile::Profile;
use motiontune_fuzz::protocol::DeviceInfo;

fn device() -> &'static DeviceInfo {
    static DEVICE: OnceLock<DeviceInfo> = OnceLock::new();
    DEVICE.get_or_init(motiontune_fuzz::sim_description)
}

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let Ok(profile) = Profile::from_toml(text, "fuzz.toml") else {
        return;
    };
    let written = profile.to_toml().expect("a loaded profile writes as TOML");
    let again = Profile::from_toml(&written, "again.toml").expect("a written profile loads");
    assert_eq!(again.to_toml().expect("writes again"), written);

    let params = &device().params;
    let diff = profile.diff(params);
    for change in &diff.changes {
        let param = &params[usize::from(change.index)];
        assert_eq!(param.name, change.name);
        assert!(!param.flags.read_only());
        assert!(change.new.is_finite() && change.new >= param.min && change.new <= param.max);
    }
    assert!(diff.changes.len() + diff.refused.len() <= profile.params.len());
});
