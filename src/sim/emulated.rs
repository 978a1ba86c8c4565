//! What the wall-clock runner and the pty server need of a simulated
//! device: bytes in, bytes out, and time. The native-protocol drive
//! ([`SimDevice`](super::SimDevice)) is one; emulators of other firmware
//! wrap the same [`SimDrive`](super::SimDrive) behind their own wire format.

/// A device simulated tick by tick that talks over a byte stream.
pub trait EmulatedDevice: Send + 'static {
    /// Control-loop ticks per second of device time.
    fn loop_hz(&self) -> u32;
    /// Bytes from the host.
    fn receive(&mut self, bytes: &[u8]);
    /// Runs the device for `ticks` control ticks.
    fn advance(&mut self, ticks: u64);
    /// Bytes the device has sent since the last call.
    fn take_output(&mut self) -> Vec<u8>;
}
