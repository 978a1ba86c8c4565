//! Seeded Gaussian noise for the encoder model: reproducible runs without a
//! dependency for a few lines of arithmetic.

/// xorshift64* generator with a Box–Muller transform.
#[derive(Clone, Debug)]
pub struct GaussianNoise {
    state: u64,
    spare: Option<f64>,
}

impl GaussianNoise {
    /// A generator seeded with `seed`: the same seed gives the same noise.
    pub fn new(seed: u64) -> Self {
        Self {
            state: seed | 1,
            spare: None,
        }
    }

    fn next_unit(&mut self) -> f64 {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        let bits = self.state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
        // (0, 1]: never 0, so the logarithm below is finite.
        (bits as f64 + 1.0) / (1u64 << 53) as f64
    }

    /// A sample from N(0, 1).
    pub fn standard(&mut self) -> f64 {
        if let Some(spare) = self.spare.take() {
            return spare;
        }
        let radius = (-2.0 * self.next_unit().ln()).sqrt();
        let angle = std::f64::consts::TAU * self.next_unit();
        self.spare = Some(radius * angle.sin());
        radius * angle.cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_variance_are_standard() {
        let mut noise = GaussianNoise::new(7);
        let n = 200_000;
        let samples: Vec<f64> = (0..n).map(|_| noise.standard()).collect();
        let mean = samples.iter().sum::<f64>() / n as f64;
        let var = samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.02, "variance {var}");
    }
}
