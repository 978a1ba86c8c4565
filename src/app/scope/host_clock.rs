//! Another device's times on the selected device's time axis, through the
//! host clock; no egui.
//!
//! Each link maps its device's clock onto the host's ([`Alignment`]:
//! host time minus device time). A sample another device took at `t` is
//! drawn at `t + offset_other − offset_selected`: the selected device's
//! time at the same host instant. Device time itself is never changed:
//! within a device, and in its history and recordings, times stay exact;
//! only the drawing moves.
//!
//! What the mapping promises: it is `None` until both devices have an
//! offset (a device with none yet is not drawn, and says why), and it
//! states its uncertainty. Each offset is seen through a delay of up to
//! its arrivals' spread, so a mapped time may be early by up to the
//! selected device's spread or late by up to the other's: `±` the larger
//! of the two.

use crate::link::Alignment;

/// How another device's times are drawn on the selected device's axis.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClockMap {
    /// Added to the other device's time: its offset minus the selected
    /// device's, seconds.
    pub shift_s: f64,
    /// How far a mapped time may be off, seconds (see the module's doc).
    pub uncertainty_s: f64,
}

/// Why another device's channels are not drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unmapped {
    /// The other device has no offset yet: none of its batches arrived.
    NoOffsetYet,
    /// The device shown has no host clock (a recording, or nothing
    /// arrived yet), so there is no axis to map onto.
    SelectedHasNoClock,
}

impl ClockMap {
    /// The map from `other`'s clock onto `selected`'s.
    pub fn between(
        selected: Option<Alignment>,
        other: Option<Alignment>,
    ) -> Result<Self, Unmapped> {
        let other = other.ok_or(Unmapped::NoOffsetYet)?;
        let selected = selected.ok_or(Unmapped::SelectedHasNoClock)?;
        Ok(Self {
            shift_s: other.offset_s - selected.offset_s,
            uncertainty_s: other.spread_s.max(selected.spread_s),
        })
    }

    /// Where a sample the other device took at `device_s` is drawn.
    pub fn shown_time(self, device_s: f64) -> f64 {
        device_s + self.shift_s
    }

    /// The other device's time drawn at `shown_s`.
    pub fn device_time(self, shown_s: f64) -> f64 {
        shown_s - self.shift_s
    }

    /// `LABEL on host clock ±1.2 ms`.
    pub fn describe(self, label: &str) -> String {
        format!("{label} on host clock ±{:.1} ms", self.uncertainty_s * 1e3)
    }
}

impl Unmapped {
    /// Why `label`'s channels are not drawn, in a few words.
    pub fn describe(self, label: &str) -> String {
        match self {
            Self::NoOffsetYet => format!("{label}: no host clock offset yet, not drawn"),
            Self::SelectedHasNoClock => {
                format!("{label}: the device shown has no host clock, not drawn")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock(offset_s: f64, spread_s: f64) -> Alignment {
        Alignment {
            offset_s,
            settled_s: 0.0,
            spread_s,
        }
    }

    #[test]
    fn another_device_s_time_lands_where_the_host_clock_puts_it() {
        // The selected device started 2 s after the host's origin, the
        // other 5 s after it: the other's t = 1 s happened at host 6 s,
        // which is the selected device's t = 4 s.
        let map = ClockMap::between(Some(clock(2.0, 0.001)), Some(clock(5.0, 0.003)))
            .expect("both have offsets");
        assert!((map.shown_time(1.0) - 4.0).abs() < 1e-12, "{map:?}");
        assert!((map.device_time(4.0) - 1.0).abs() < 1e-12);
        // A clock that started later than the host (a negative offset).
        let late = ClockMap::between(Some(clock(2.0, 0.0)), Some(clock(-1000.0, 0.0)))
            .expect("both have offsets");
        assert!((late.shown_time(1003.0) - 1.0).abs() < 1e-9);
        // Mapped onto itself, nothing moves.
        let same = ClockMap::between(Some(clock(7.5, 0.002)), Some(clock(7.5, 0.002)))
            .expect("both have offsets");
        assert_eq!(same.shown_time(3.25), 3.25);
    }

    #[test]
    fn the_uncertainty_is_the_larger_spread_and_is_stated() {
        let map = ClockMap::between(Some(clock(0.0, 0.0012)), Some(clock(1.0, 0.0031)))
            .expect("both have offsets");
        assert_eq!(map.uncertainty_s, 0.0031);
        assert_eq!(map.describe("load"), "load on host clock ±3.1 ms");
        let map = ClockMap::between(Some(clock(0.0, 0.004)), Some(clock(1.0, 0.001)))
            .expect("both have offsets");
        assert_eq!(map.describe("load"), "load on host clock ±4.0 ms");
    }

    #[test]
    fn a_device_with_no_offset_yet_is_not_mapped_and_says_so() {
        assert_eq!(
            ClockMap::between(Some(clock(1.0, 0.0)), None),
            Err(Unmapped::NoOffsetYet)
        );
        assert_eq!(
            ClockMap::between(None, Some(clock(1.0, 0.0))),
            Err(Unmapped::SelectedHasNoClock)
        );
        assert_eq!(
            ClockMap::between(None, None),
            Err(Unmapped::NoOffsetYet),
            "the other device's own want comes first"
        );
        assert_eq!(
            Unmapped::NoOffsetYet.describe("load"),
            "load: no host clock offset yet, not drawn"
        );
    }
}
