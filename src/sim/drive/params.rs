//! The simulated drive's parameter table: name, unit, flags and limits of
//! every parameter, by index, and the indices the drive and its firmware
//! refer to by name. A drive with a cascade
//! ([`super::super::cascade`]) swaps the position PID's rows for the
//! cascade's and adds its velocity limit at the end.

use crate::protocol::ParamFlags;

const GAIN: u8 = ParamFlags::TUNING_GAIN;
const LOG: u8 = ParamFlags::LOG_SCALE;
/// The excitation's settings are modes, so undo, profiles and auto-tune
/// never write them: only the user or a measurement does.
const MODE: u8 = ParamFlags::MODE;
const CHOICE: u8 = ParamFlags::MODE | ParamFlags::KIND_CHOICE;

/// The parameter table: name, unit, flags, min, max. Index = position.
pub(super) const PARAMS: &[(&str, &str, u8, f32, f32)] = &[
    ("pos.kp", "A/rad", GAIN | LOG, 0.0, 1000.0),
    ("pos.ki", "A/(rad·s)", GAIN | LOG, 0.0, 10_000.0),
    ("pos.kd", "A·s/rad", GAIN | LOG, 0.0, 50.0),
    ("pos.kd_filter", "s", GAIN, 0.0, 0.05),
    ("pos.output_limit", "A", 0, 0.0, 20.0),
    ("pos.setpoint", "rad", ParamFlags::SETPOINT, -100.0, 100.0),
    ("plant.inertia", "kg·m²", LOG, 1e-6, 1.0),
    ("plant.viscous", "N·m·s/rad", 0, 0.0, 1.0),
    ("plant.coulomb", "N·m", 0, 0.0, 1.0),
    ("plant.torque_constant", "N·m/A", 0, 1e-3, 2.0),
    ("plant.load_inertia", "kg·m²", 0, 0.0, 1.0),
    ("plant.coupling_stiffness", "N·m/rad", LOG, 0.0, 10_000.0),
    ("plant.coupling_damping", "N·m·s/rad", 0, 0.0, 10.0),
    (
        "plant.resonance",
        "Hz",
        ParamFlags::READ_ONLY,
        0.0,
        100_000.0,
    ),
    (
        "encoder.cpr",
        "counts/rev",
        ParamFlags::KIND_INTEGER,
        0.0,
        1_000_000.0,
    ),
    ("encoder.noise", "rad", 0, 0.0, 0.1),
    (
        "relay.active",
        "",
        ParamFlags::MODE | ParamFlags::KIND_SWITCH,
        0.0,
        1.0,
    ),
    ("relay.amplitude", "A", 0, 0.0, 20.0),
    ("relay.hysteresis", "rad", 0, 0.0, 1.0),
    ("relay.travel", "rad", 0, 0.0, 100.0),
    ("relay.bias", "A", 0, -20.0, 20.0),
    (
        "excite.active",
        "",
        ParamFlags::MODE | ParamFlags::KIND_SWITCH,
        0.0,
        1.0,
    ),
    ("excite.kind", "", CHOICE, 0.0, 1.0),
    ("excite.point", "", CHOICE, 0.0, 1.0),
    // In the point's unit: rad at the setpoint, A at the effort; the
    // output limit caps what an effort injection can add anyway.
    ("excite.amplitude", "rad or A", MODE, 0.0, 20.0),
    ("excite.f0", "Hz", MODE | LOG, 0.01, 5000.0),
    ("excite.f1", "Hz", MODE | LOG, 0.01, 5000.0),
    ("excite.duration", "s", MODE, 0.01, 600.0),
];

/// The names of the choices, by parameter index.
pub(super) fn choices(index: u8) -> Vec<String> {
    let names: &[&str] = match index {
        EXCITE_KIND_INDEX => &["chirp", "prbs"],
        EXCITE_POINT_INDEX => &["setpoint", "effort"],
        _ => &[],
    };
    names.iter().map(|n| (*n).to_owned()).collect()
}

/// Index of the setpoint parameter.
pub const SETPOINT_INDEX: u8 = 5;
/// Index of the read-only resonance parameter.
pub const RESONANCE_INDEX: u8 = 13;
/// Index of `relay.active`, which the drive clears itself when the relay
/// leaves its travel or the output goes off.
pub const RELAY_ACTIVE_INDEX: u8 = 16;
/// Index of `excite.active`, which the drive clears itself when the
/// excitation has lasted its duration or the output goes off.
pub const EXCITE_ACTIVE_INDEX: u8 = 21;
const EXCITE_KIND_INDEX: u8 = 22;
const EXCITE_POINT_INDEX: u8 = 23;
