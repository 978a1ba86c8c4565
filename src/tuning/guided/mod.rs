//! ODrive's documented manual tuning procedure (fw-v0.5.6
//! docs/control.rst:118-131) made a guided one: the stages and the gains
//! each test runs at (`stages`), and the vibration verdict from a held
//! motor's velocity spectrum that decides when `vel_gain` is high enough
//! (`vibration`). Plain values in, plain values out: the app writes the
//! gains, runs the tests and feeds the results back.

mod stages;
mod vibration;

pub use stages::{DeviceGains, GuidedOptions, GuidedTuning, RAISE, Stage, TestRecord, TestResult};
pub use vibration::{MIN_SAMPLES, SpectrumError, VelocitySpectrum, Vibration, VibrationCriterion};
