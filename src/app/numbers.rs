//! How computed numbers read in the app: a fixed count of significant
//! digits, with an exponent only far from one, so metrics, gains and their
//! ratios line up side by side.

/// `value` with `digits` significant digits (at least one), without an
/// exponent for magnitudes from 1e-4 to below 1e6.
pub fn significant_digits(value: f64, digits: u8) -> String {
    if value == 0.0 || !value.is_finite() {
        return format!("{value}");
    }
    let digits = i32::from(digits.max(1));
    let magnitude = value.abs().log10().floor() as i32;
    if !(-4..6).contains(&magnitude) {
        let decimals = (digits - 1) as usize;
        return format!("{value:.decimals$e}");
    }
    let decimals = (digits - 1 - magnitude).max(0) as usize;
    format!("{value:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::significant_digits;

    #[test]
    fn significant_digits_and_an_exponent_only_far_from_one() {
        assert_eq!(significant_digits(0.123456, 4), "0.1235");
        assert_eq!(significant_digits(12.3456, 4), "12.35");
        assert_eq!(significant_digits(-1234.5, 4), "-1234");
        assert_eq!(significant_digits(0.0, 4), "0");
        assert_eq!(significant_digits(1.5e-7, 4), "1.500e-7");
        assert_eq!(significant_digits(12.3456, 3), "12.3");
        assert_eq!(significant_digits(2.5e7, 3), "2.50e7");
    }
}
