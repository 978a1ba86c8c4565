//! Whether a device streams more than its link carries, and the divider
//! that would fit, from what the link measured: bytes that arrived, samples
//! decoded and samples the device's tick counter says were lost, over some
//! seconds. A UART bridge at 115200 baud carries about 11 kB/s and a
//! firmware that outruns it drops samples (docs/PROTOCOL.md, section 7); a
//! USB CDC device is limited by its own loop instead. Either way the bytes
//! that got through are what the link carries.

/// Counters over a stretch of streaming.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Throughput {
    /// Length of the stretch, s.
    pub seconds: f64,
    /// Bytes that arrived.
    pub bytes_in: u64,
    /// Samples that arrived.
    pub samples: u64,
    /// Samples lost.
    pub lost: u64,
}

/// A stream the link does not carry whole.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Saturated {
    /// Bytes a second that arrived.
    pub carried_bytes_per_s: f64,
    /// Bytes a second the stream needs at the divider in use.
    pub wanted_bytes_per_s: f64,
    /// Share of the samples lost, 0 to 1.
    pub lost_fraction: f64,
    /// The smallest divider whose stream takes at most 90 % of what the
    /// link carried. Sized by the share of samples that arrived, which is
    /// the share of the stream the link carries in the device's own time:
    /// bytes per wall-clock second would misjudge a device whose clock runs
    /// slow (a simulated core behind real time).
    pub divider: u16,
}

/// Losses below this share are a glitch, not a link too slow.
const LOST_FRACTION: f64 = 0.02;
/// The share of the measured throughput a fitting stream may use.
const HEADROOM: f64 = 0.9;

/// Saturation of a stream of `loop_hz / divider` samples a second, judged
/// from `measured`; `None` when the stream fits or too little was seen.
pub fn saturation(loop_hz: u32, divider: u16, measured: Throughput) -> Option<Saturated> {
    let Throughput {
        seconds,
        bytes_in,
        samples,
        lost,
    } = measured;
    if seconds < 0.5 || samples < 50 || loop_hz == 0 {
        return None;
    }
    let lost_fraction = lost as f64 / (samples + lost) as f64;
    let bytes_per_sample = bytes_in as f64 / samples as f64;
    let carried = bytes_in as f64 / seconds;
    let wanted = f64::from(loop_hz) / f64::from(divider.max(1)) * bytes_per_sample;
    if lost_fraction < LOST_FRACTION || wanted <= carried {
        return None;
    }
    let delivered = samples as f64 / (samples + lost) as f64;
    let fitting = (f64::from(divider.max(1)) / (delivered * HEADROOM)).ceil();
    Some(Saturated {
        carried_bytes_per_s: carried,
        wanted_bytes_per_s: wanted,
        lost_fraction,
        divider: fitting.clamp(f64::from(divider) + 1.0, f64::from(u16::MAX)) as u16,
    })
}

impl Saturated {
    /// One line: what the link carries against what the stream wants.
    pub fn sentence(&self) -> String {
        format!(
            "the link carries {:.1} kB/s, the stream wants {:.1} kB/s ({:.0} % of samples lost): divider {} fits",
            self.carried_bytes_per_s / 1000.0,
            self.wanted_bytes_per_s / 1000.0,
            self.lost_fraction * 100.0,
            self.divider
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Four float channels at 1 kHz through a 115200-baud UART: a SAMPLES
    /// frame carries 15 samples of 16 bytes in 250 (17 bytes a sample
    /// with the frame's header, CRC and COBS), and the UART ~10 500 B/s.
    #[test]
    fn a_uart_at_divider_1_is_told_the_divider_that_fits() {
        let measured = Throughput {
            seconds: 3.0,
            bytes_in: 31_500,
            samples: 1_850,
            lost: 1_150,
        };
        let saturated = saturation(1000, 1, measured).expect("saturated");
        assert!((saturated.carried_bytes_per_s - 10_500.0).abs() < 1.0);
        assert!((saturated.wanted_bytes_per_s - 17_027.0).abs() < 1.0);
        // 1850 of 3000 samples came: 1 / (0.617 × 0.9) = 1.8, every 2nd
        // sample fits.
        assert_eq!(saturated.divider, 2);
        assert_eq!(
            saturated.sentence(),
            "the link carries 10.5 kB/s, the stream wants 17.0 kB/s (38 % of samples lost): divider 2 fits"
        );
    }

    #[test]
    fn a_stream_that_fits_or_a_glitch_is_not_saturation() {
        let fits = Throughput {
            seconds: 2.0,
            bytes_in: 17_000,
            samples: 1_000,
            lost: 0,
        };
        assert_eq!(saturation(1000, 2, fits), None);
        let glitch = Throughput { lost: 10, ..fits };
        assert_eq!(saturation(1000, 2, glitch), None);
        // Losses while the bytes that came are all the stream wants: the
        // device lost them, not the link.
        let device_side = Throughput { lost: 300, ..fits };
        assert_eq!(saturation(500, 1, device_side), None);
        let too_short = Throughput {
            seconds: 0.2,
            ..fits
        };
        assert_eq!(saturation(1000, 1, too_short), None);
    }

    #[test]
    fn the_divider_offered_is_always_above_the_one_in_use() {
        // Losses of a few percent at a rate the bytes say is just carried.
        let measured = Throughput {
            seconds: 1.0,
            bytes_in: 9_500,
            samples: 950,
            lost: 50,
        };
        let saturated = saturation(2000, 2, measured).expect("saturated");
        assert!(saturated.divider >= 3, "{saturated:?}");
    }
}
