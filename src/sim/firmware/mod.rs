//! Emulators of firmware people already run on their boards, each wrapping
//! the simulated drive behind that firmware's own wire format exactly as
//! its published behaviour describes, quirks included. They are what the
//! protocol adapters are tested against, and what `motiontune sim --pty
//! --firmware NAME` serves.
pub mod lines;
pub mod odrive;

pub mod simplefoc;
