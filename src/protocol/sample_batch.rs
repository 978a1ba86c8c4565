//! A run of streamed samples as every wire format hands it over: timed by
//! device ticks, values as `f32`, and the exact values when text carried
//! more than an `f32` holds.

/// A run of consecutive samples, timed by device ticks.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleBatch {
    /// Device tick of the first sample (u32 wrap-around already unwrapped).
    pub first_tick: i64,
    /// Ticks between consecutive samples.
    pub stride: u32,
    /// Ticks per second of device time.
    pub tick_hz: f64,
    /// Number of channels per sample.
    pub channel_count: usize,
    /// `count × channel_count` values, sample after sample; NaN is a gap
    /// (the device sent no value for that channel then).
    pub values: Vec<f32>,
    /// The same values as the device wrote them, when an `f32` cannot hold
    /// one of them exactly (a `micros()` column, a decimal of more than
    /// seven digits): plots read `values`, recordings read these. `None`
    /// when `values` are exact, as every binary protocol's are.
    pub exact: Option<Vec<f64>>,
}

impl SampleBatch {
    /// A batch of values read as text: `values` as `f32`, and `exact` kept
    /// only when some value needs it.
    pub fn from_exact(
        first_tick: i64,
        stride: u32,
        tick_hz: f64,
        channel_count: usize,
        exact: Vec<f64>,
    ) -> Self {
        let values: Vec<f32> = exact.iter().map(|&v| v as f32).collect();
        let lossy = exact
            .iter()
            .zip(&values)
            .any(|(&v, &f)| f64::from(f) != v && !v.is_nan());
        Self {
            first_tick,
            stride,
            tick_hz,
            channel_count,
            values,
            exact: lossy.then_some(exact),
        }
    }

    /// Value `index` of `values` as the device wrote it.
    pub fn exact_value(&self, index: usize) -> f64 {
        self.exact
            .as_ref()
            .map_or_else(|| f64::from(self.values[index]), |exact| exact[index])
    }

    /// Number of samples in the batch.
    pub fn len(&self) -> usize {
        self.values
            .len()
            .checked_div(self.channel_count)
            .unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Seconds between consecutive samples.
    pub fn period_s(&self) -> f64 {
        f64::from(self.stride) / self.tick_hz
    }

    /// Device time of sample `k`, in seconds. Computed from the integer
    /// tick, so times print as the exact decimals they are.
    pub fn time_of(&self, k: usize) -> f64 {
        (self.first_tick + k as i64 * i64::from(self.stride)) as f64 / self.tick_hz
    }

    /// The values of sample `k`, one per channel.
    pub fn sample(&self, k: usize) -> &[f32] {
        &self.values[k * self.channel_count..(k + 1) * self.channel_count]
    }

    /// Samples `range` of the batch as a batch of their own (clamped to
    /// the samples there are).
    pub fn slice(&self, range: std::ops::Range<usize>) -> SampleBatch {
        let end = range.end.min(self.len());
        let start = range.start.min(end);
        let values = start * self.channel_count..end * self.channel_count;
        SampleBatch {
            first_tick: self.first_tick + start as i64 * i64::from(self.stride),
            exact: self
                .exact
                .as_ref()
                .map(|exact| exact[values.clone()].to_vec()),
            values: self.values[values].to_vec(),
            ..*self
        }
    }
}
