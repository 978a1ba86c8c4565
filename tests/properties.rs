//! Property tests over random input for the two paths every streamed sample
//! takes: native framing and the history behind the plots.
//!
//! Framing: encode then decode gives back every payload, whatever the
//! chunking; on any mix of garbage, corrupted and valid frames the decoder
//! never panics, yields one result per delimiter, and every payload it
//! yields is exactly what the bytes before that delimiter framed (CRC
//! included); after any garbage prefix and a delimiter it finds the next
//! valid frame.
//!
//! History: thinning keeps the contract of `history::thin` (time order, no
//! NaN, no invented value, a bounded point count, the drawn extremes equal
//! the true ones), and `History::extremes` equals a linear scan, evicted
//! chunks included.

use std::ops::Range;

use motiontune::history::{History, ThinnedLine};
use motiontune::protocol::SampleBatch;
use motiontune::protocol::native::frame::MAX_PAYLOAD;
use motiontune::protocol::native::{FrameDecoder, FrameError, encode_frame};
use proptest::prelude::*;
use proptest::sample::Index;

type Decoded = Vec<Result<Vec<u8>, FrameError>>;

/// Bytes with many zeros, so COBS stuffing and delimiters get exercised.
fn byte() -> impl Strategy<Value = u8> {
    prop_oneof![3 => any::<u8>(), 1 => Just(0)]
}

fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(byte(), 1..=MAX_PAYLOAD)
}

/// Random bytes: short runs with zeros among them, or runs with none
/// that overflow the longest frame.
fn garbage() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(byte(), 0..300),
        prop::collection::vec(1..=u8::MAX, 0..600),
    ]
}

/// Where to cut a stream into the chunks the decoder is fed.
fn cuts() -> impl Strategy<Value = Vec<Index>> {
    prop::collection::vec(any::<Index>(), 0..8)
}

fn frame_of(payload: &[u8]) -> Vec<u8> {
    let mut wire = Vec::new();
    encode_frame(payload, &mut wire);
    wire
}

/// Feeds `wire` to one decoder in the chunks `cuts` make.
fn decode_in_chunks(wire: &[u8], cuts: &[Index]) -> Decoded {
    let mut at: Vec<usize> = cuts.iter().map(|cut| cut.index(wire.len() + 1)).collect();
    at.push(0);
    at.push(wire.len());
    at.sort_unstable();
    let mut decoder = FrameDecoder::new();
    let mut results = Vec::new();
    for bounds in at.windows(2) {
        decoder.push(&wire[bounds[0]..bounds[1]], |result| {
            results.push(result.map(<[u8]>::to_vec));
        });
    }
    results
}

/// A piece of a noisy stream.
#[derive(Clone, Debug)]
enum Piece {
    Garbage(Vec<u8>),
    Frame(Vec<u8>),
    /// A frame with one byte changed (possibly into a delimiter).
    Corrupted(Vec<u8>, Index, u8),
}

impl Piece {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Self::Garbage(bytes) => bytes.clone(),
            Self::Frame(payload) => frame_of(payload),
            Self::Corrupted(payload, at, flip) => {
                let mut wire = frame_of(payload);
                let at = at.index(wire.len());
                wire[at] ^= flip;
                wire
            }
        }
    }
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        garbage().prop_map(Piece::Garbage),
        payload().prop_map(Piece::Frame),
        (payload(), any::<Index>(), 1..=u8::MAX)
            .prop_map(|(payload, at, flip)| Piece::Corrupted(payload, at, flip)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn frames_round_trip_whatever_the_chunking(
        payloads in prop::collection::vec(payload(), 1..6),
        cuts in cuts(),
    ) {
        let wire: Vec<u8> = payloads.iter().flat_map(|p| frame_of(p)).collect();
        let expected: Decoded = payloads.into_iter().map(Ok).collect();
        prop_assert_eq!(decode_in_chunks(&wire, &cuts), expected);
    }

    #[test]
    fn decoder_yields_only_what_was_correctly_framed(
        pieces in prop::collection::vec(piece(), 0..8),
        cuts in cuts(),
    ) {
        let wire: Vec<u8> = pieces.iter().flat_map(Piece::bytes).collect();
        let results = decode_in_chunks(&wire, &cuts);
        // One result per delimiter, each about the bytes just before it.
        let framed: Vec<&[u8]> = wire.split(|&b| b == 0).collect();
        prop_assert_eq!(results.len(), framed.len() - 1);
        for (result, encoded) in results.iter().zip(&framed) {
            if let Ok(payload) = result {
                prop_assert!((1..=MAX_PAYLOAD).contains(&payload.len()));
                let reframed = frame_of(payload);
                prop_assert_eq!(&reframed[..reframed.len() - 1], *encoded);
            }
        }
    }

    #[test]
    fn decoder_finds_a_valid_frame_after_any_garbage(
        garbage in garbage(),
        payload in payload(),
        cuts in cuts(),
    ) {
        let mut wire = garbage;
        wire.push(0);
        wire.extend(frame_of(&payload));
        let results = decode_in_chunks(&wire, &cuts);
        prop_assert_eq!(results.last(), Some(&Ok(payload)));
    }
}

/// One batch to push: its values (sample after sample, each with every
/// channel) and the samples the device lost before it.
#[derive(Clone, Debug)]
struct PlannedBatch {
    values: Vec<f32>,
    lost_before: u64,
}

/// Sample values with NaN and extreme values among them.
fn noisy_value() -> impl Strategy<Value = f32> {
    prop_oneof![
        8 => -1e3f32..1e3,
        1 => Just(f32::NAN),
        1 => prop::num::f32::ANY,
    ]
}

/// Batches of up to `max_values` values each: in half the cases clean (no
/// NaN, nothing lost), in the others with NaN, infinities and lost samples.
fn planned_batches(
    channel_count: usize,
    max_values: usize,
) -> impl Strategy<Value = Vec<PlannedBatch>> {
    any::<bool>().prop_flat_map(move |noisy| {
        let value = if noisy {
            noisy_value().boxed()
        } else {
            (-1e3f32..1e3).boxed()
        };
        let lost_before = if noisy {
            prop_oneof![3 => Just(0u64), 1 => 1u64..50].boxed()
        } else {
            Just(0).boxed()
        };
        let batch = (prop::collection::vec(value, 1..max_values), lost_before).prop_map(
            move |(mut values, lost_before)| {
                values.truncate(values.len() / channel_count * channel_count);
                PlannedBatch {
                    values,
                    lost_before,
                }
            },
        );
        prop::collection::vec(batch, 1..12)
    })
}

/// A history of `channel_count` channels at 1 kHz fed `batches`; lost
/// samples take their time, so the stream jumps over them.
fn history_of(channel_count: usize, capacity: u64, batches: &[PlannedBatch]) -> History {
    let mut history = History::new(channel_count, capacity);
    let mut tick = 0;
    for planned in batches {
        tick += planned.lost_before as i64;
        let batch = SampleBatch {
            first_tick: tick,
            stride: 1,
            tick_hz: 1000.0,
            channel_count,
            values: planned.values.clone(),
            exact: None,
        };
        tick += batch.len() as i64;
        history.push_batch(&batch, planned.lost_before);
    }
    history
}

/// The min and max of the non-NaN values, by a plain scan.
fn scanned_extremes(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .into_iter()
        .filter(|v| !v.is_nan())
        .fold(None, |extremes, v| match extremes {
            None => Some((v, v)),
            Some((min, max)) => Some((min.min(v), max.max(v))),
        })
}

/// The samples a view of `[t0, t1]` draws, by the contract: those in it
/// plus one beyond each end, or none when the history lies on one side.
fn drawn_indices(history: &History, t0: f64, t1: f64) -> Range<u64> {
    let held = history.indices();
    let visible = history.index_range(t0, t1);
    if visible.is_empty() && (visible.start == held.start || visible.start == held.end) {
        return 0..0;
    }
    visible.start.saturating_sub(1).max(held.start)..(visible.end + 1).min(held.end)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn thinning_keeps_its_contract(
        batches in planned_batches(1, 2500),
        capacity in prop_oneof![Just(4096u64), Just(1 << 20)],
        view_start in -0.2f64..1.1,
        view_width in prop_oneof![0.0f64..0.05, 0.0f64..1.4],
        columns in 1usize..300,
    ) {
        let history = history_of(1, capacity, &batches);
        let (first, last) = history.time_span().expect("every batch holds a sample");
        let span = last - first;
        let t0 = first + span * view_start;
        let t1 = t0 + span * view_width;
        let mut line = ThinnedLine::default();
        history.thin(0, t0, t1, columns, &mut line);
        let points = &line.points;
        let drawn = drawn_indices(&history, t0, t1);

        prop_assert!(points.iter().all(|p| !p[1].is_nan()), "a NaN point");
        prop_assert_eq!(line.runs().map(<[_]>::len).sum::<usize>(), points.len());
        prop_assert!(
            points.windows(2).all(|w| w[0][0] <= w[1][0]),
            "points out of time order, within or across runs"
        );

        // Nothing invented: each point sits at a drawn sample's time and
        // has a drawn sample's value.
        let times: Vec<f64> = drawn.clone().map(|i| history.time_of(i)).collect();
        let samples: Vec<f64> = drawn.clone().map(|i| f64::from(history.value(0, i))).collect();
        let mut sorted_samples = samples.clone();
        sorted_samples.sort_unstable_by(f64::total_cmp);
        for p in points {
            prop_assert!(times.binary_search_by(|t| t.total_cmp(&p[0])).is_ok(), "time of {:?}", p);
            prop_assert!(
                sorted_samples.binary_search_by(|v| v.total_cmp(&p[1])).is_ok(),
                "value of {:?}",
                p
            );
        }

        // At most two points per column; a column with gaps draws up to
        // three pieces of two points.
        let has_gaps = history.gaps(0, drawn.clone()).next().is_some();
        let bound = if has_gaps { 6 * columns } else { 2 * columns };
        prop_assert!(points.len() <= bound, "{} points for {} columns", points.len(), columns);

        // Every sample drawn lies within the drawn extremes, which are
        // samples' values: the drawn extremes are the true ones.
        prop_assert_eq!(
            scanned_extremes(points.iter().map(|p| p[1])),
            scanned_extremes(samples)
        );
    }

    #[test]
    fn extremes_equal_a_linear_scan_after_eviction(
        batches in planned_batches(2, 6000),
        ranges in prop::collection::vec((any::<Index>(), any::<Index>()), 1..16),
    ) {
        let channel_count = 2;
        let history = history_of(channel_count, 4096, &batches);
        let pushed: Vec<f32> = batches.iter().flat_map(|b| b.values.iter().copied()).collect();
        let held = history.indices();
        for ends in ranges {
            // Ranges reaching before the oldest sample held and past the newest.
            let (a, b) = (ends.0.index(held.end as usize + 2), ends.1.index(held.end as usize + 2));
            let (start, end) = (a.min(b) as u64, a.max(b) as u64);
            let scanned_from = start.max(held.start);
            let scanned_to = end.min(held.end).max(scanned_from);
            for channel in 0..channel_count {
                let scanned = scanned_extremes(
                    (scanned_from..scanned_to)
                        .map(|i| f64::from(pushed[i as usize * channel_count + channel])),
                );
                let summary = history.extremes(channel, start..end);
                let summarised = (!summary.is_empty())
                    .then(|| (f64::from(summary.min), f64::from(summary.max)));
                prop_assert_eq!(summarised, scanned, "channel {} over {}..{}", channel, start, end);
            }
        }
    }
}

/// Traces as a saved run holds them: a step of effort and a first-order
/// response with noise over increasing times, of one length. One case in
/// eight has lengths that disagree, one in four shuffled times, one in four
/// a NaN or an infinity somewhere (a hand edit, a device that sent NaN).
fn trace() -> impl Strategy<Value = (Vec<f64>, Vec<f64>, Vec<f64>)> {
    (
        0usize..160,
        0usize..8,
        0usize..4,
        (0usize..4, any::<Index>()),
        0.005..0.5f64,
    )
        .prop_flat_map(|(len, mismatch, order, (bad, at), tau)| {
            (
                prop::collection::vec(1e-4..0.02f64, len),
                prop::collection::vec(-0.05..0.05f64, len),
                Just((len, mismatch == 0, order == 0, bad, at, tau)),
            )
        })
        .prop_map(|(steps, noise, (len, mismatch, shuffled, bad, at, tau))| {
            let mut t = 0.0;
            let mut time: Vec<f64> = steps
                .iter()
                .map(|dt| {
                    t += dt;
                    t
                })
                .collect();
            let effort: Vec<f64> = time
                .iter()
                .map(|&t| if t > 0.01 { 1.0 } else { 0.0 })
                .collect();
            let mut feedback: Vec<f64> = time
                .iter()
                .zip(&noise)
                .map(|(&t, n)| (1.0 - (-(t - 0.01).max(0.0) / tau).exp()) + n)
                .collect();
            if shuffled {
                let third = time.len() / 3;
                time.reverse();
                time.rotate_left(third);
            }
            if mismatch {
                feedback.truncate(len / 2);
            }
            if bad == 0 && !feedback.is_empty() {
                let k = at.index(feedback.len());
                feedback[k] = if k % 2 == 0 { f64::NAN } else { f64::INFINITY };
            }
            (time, effort, feedback)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// The auto-tune tab fits a model to any kept run, including runs
    /// loaded from a runs file written by hand: whatever the traces hold
    /// (lengths that disagree, time out of order, NaN), fitting gives a
    /// model or an error, never a panic; a model's fit and residual cover
    /// the same samples.
    #[test]
    fn identifying_any_trace_gives_a_model_or_an_error((time, effort, feedback) in trace()) {
        use motiontune::tuning::{ModelKind, identify};
        for kind in [ModelKind::Motor, ModelKind::Fopdt, ModelKind::Ipdt] {
            if let Ok(identified) = identify(kind, &time, Some(&effort), &feedback) {
                prop_assert_eq!(identified.fitted.len(), identified.residual.len());
            }
        }
    }
}
