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

/// Any emulator, chosen at run time (`--port sim:odrive`).
impl EmulatedDevice for Box<dyn EmulatedDevice> {
    fn loop_hz(&self) -> u32 {
        self.as_ref().loop_hz()
    }

    fn receive(&mut self, bytes: &[u8]) {
        self.as_mut().receive(bytes);
    }

    fn advance(&mut self, ticks: u64) {
        self.as_mut().advance(ticks);
    }

    fn take_output(&mut self) -> Vec<u8> {
        self.as_mut().take_output()
    }
}
