//! Monitoring as the link's stream: the sketch's `MMD` and `MMS` read
//! before they are replaced (and put back on close), the downsample chosen
//! so the port carries at most 70 % of what it can ([`RatePlan`]) and
//! chosen again from the rate and the line lengths that arrive, samples
//! timed on the host, currents turned from mA into A, and one line saying
//! so when the sketch never calls `motor.monitor()`.

use std::time::{Duration, Instant};

use super::{Purpose, SimpleFocAdapter};
use crate::protocol::adapter::DecodeTally;
use crate::protocol::host_clock::{HostClock, HostTimed, HostTiming};
use crate::protocol::simplefoc::requests::{Expect, Reply, ReplyKind, Request};
use crate::protocol::simplefoc::stream::RatePlan;
use crate::protocol::simplefoc::wire::echo;
use crate::protocol::simplefoc::{MonitorVar, SimpleFocSettings};
use crate::protocol::{Event, TextLevel};

/// Lines measured before the plan is checked against them.
const MEASURE_LINES: u64 = 10;
/// Time measured before the plan is checked.
const MEASURE_TIME: Duration = Duration::from_secs(1);
/// Plans made again at most this often in a session.
const MOST_REPLANS: u8 = 2;
/// No monitoring line this long after `MMD` (at least): the sketch does
/// not call `monitor()`.
const SILENT_AFTER: Duration = Duration::from_secs(2);

/// Lines counted since a moment, for the rate.
#[derive(Clone, Copy, Debug)]
struct Measure {
    since: Instant,
    lines: u64,
    bytes: u64,
}

/// The stream's state.
#[derive(Debug)]
pub(super) struct Streaming {
    plan: RatePlan,
    monitored: u8,
    /// Per channel: a current, printed in mA.
    currents: Vec<bool>,
    divider: u16,
    downsample: u32,
    /// `MMS` was answered: lines hold the channels described.
    monitoring_set: bool,
    /// Rows on their way out, timed on the host.
    timed: Option<HostTimed>,
    rows: Vec<Option<Vec<f64>>>,
    /// `MMD` (not 0) was answered then.
    started: Option<Instant>,
    /// A line of the monitor's was heard since `started`.
    heard: bool,
    measure: Option<Measure>,
    replans: u8,
    reported: bool,
    warned_silent: bool,
}

impl Streaming {
    pub(super) fn new(settings: &SimpleFocSettings) -> Self {
        let selected = MonitorVar::selected(settings.monitored);
        Self {
            plan: RatePlan::new(settings.baud, f64::from(settings.loop_hz), selected.len()),
            monitored: settings.monitored,
            currents: selected.iter().map(|v| v.is_current()).collect(),
            divider: 0,
            downsample: 0,
            monitoring_set: false,
            timed: None,
            rows: Vec::new(),
            started: None,
            heard: false,
            measure: None,
            replans: 0,
            reported: false,
            warned_silent: false,
        }
    }

    pub(super) fn plan(&self) -> &RatePlan {
        &self.plan
    }

    /// `links` links share the port: whether the stream, running, needs
    /// a new `MMD` for its share.
    pub(super) fn share_port(&mut self, links: usize) -> bool {
        self.plan.set_links(links).is_some() && self.divider > 0
    }

    /// A line in the monitor's format arrived.
    pub(super) fn heard_monitor(&mut self) {
        if self.started.is_some() {
            self.heard = true;
        }
    }

    /// A monitoring line of `bytes` (line end included) with `values`.
    pub(super) fn sample(
        &mut self,
        values: &[f32],
        bytes: usize,
        described: bool,
        now: Instant,
        tally: &mut DecodeTally,
        emit: &mut dyn FnMut(Event),
    ) {
        self.heard_monitor();
        if !described || !self.monitoring_set {
            return;
        }
        if values.len() != self.currents.len() {
            tally.message_errors += 1;
            return;
        }
        if self.started.is_some() {
            let measure = self.measure.get_or_insert(Measure {
                since: now,
                lines: 0,
                bytes: 0,
            });
            measure.lines += 1;
            measure.bytes += bytes as u64;
        }
        self.rows.push(Some(
            values
                .iter()
                .zip(&self.currents)
                .map(|(&value, &current)| f64::from(if current { value / 1000.0 } else { value }))
                .collect(),
        ));
        if self.rows.len() >= 256 {
            self.flush_rows(now, emit);
        }
    }

    /// The period the plan expects between lines, µs.
    fn period_us(&self) -> u32 {
        (1e6 * f64::from(self.downsample.max(1)) / self.plan.loop_hz)
            .clamp(1.0, f64::from(u32::MAX)) as u32
    }

    /// Gives the samples gathered so far to the app (those the clock
    /// holds while it judges a silence follow later).
    pub(super) fn flush_rows(&mut self, now: Instant, emit: &mut dyn FnMut(Event)) {
        if self.rows.is_empty() {
            return;
        }
        let period_us = self.period_us();
        let timed = self
            .timed
            .get_or_insert_with(|| HostTimed::new(HostClock::new(now, period_us)));
        timed.push(self.rows.drain(..), now, &mut |batch| {
            emit(Event::Samples {
                batch,
                lost_before: 0,
            })
        });
    }

    /// How host timing of the monitoring is holding up.
    pub(super) fn timing(&self) -> Option<HostTiming> {
        self.timed.as_ref().map(|timed| timed.clock().timing())
    }
}

impl SimpleFocAdapter {
    /// The requests that start (or stop, `divider` 0) the stream.
    pub(super) fn stream_requests(&mut self, divider: u16, out: &mut Vec<u8>) {
        let letter = self.letter;
        if divider == 0 {
            let stop = monitor_request(Purpose::MonitorRate, letter, "MD0", ReplyKind::Number);
            self.found_monitor.rate_changed();
            self.streaming.started = None;
            self.streaming.divider = 0;
            self.requests.push_urgent(stop, out);
            return;
        }
        if self.found_monitor.take_first_read() {
            // Read before they are replaced, so the close can put them back.
            let rate = monitor_request(Purpose::FoundRate, letter, "MD", ReplyKind::Number);
            let selection = monitor_request(Purpose::FoundSelection, letter, "MS", ReplyKind::Bits);
            self.requests.push(rate);
            self.requests.push(selection);
        }
        let bits = format!("{:07b}", self.streaming.monitored);
        self.found_monitor.selection_changed();
        self.requests.push(monitor_request(
            Purpose::MonitorSet,
            letter,
            &format!("MS{bits}"),
            ReplyKind::Bits,
        ));
        self.streaming.divider = divider;
        self.push_rate();
    }

    pub(super) fn push_rate(&mut self) {
        let downsample = self.streaming.plan.downsample(self.streaming.divider);
        // The clock's first guess at the period, until the reply.
        self.streaming.downsample = downsample;
        self.found_monitor.rate_changed();
        self.requests.push(monitor_request(
            Purpose::MonitorRate,
            self.letter,
            &format!("MD{downsample}"),
            ReplyKind::Number,
        ));
    }

    pub(super) fn on_monitor_reply(&mut self, purpose: Purpose, reply: &Reply, now: Instant) {
        match (purpose, reply) {
            (Purpose::FoundRate, Reply::Number(printed)) => {
                self.found_monitor.found_downsample(printed.value);
            }
            (Purpose::FoundSelection, Reply::Bits(bits)) => {
                self.found_monitor.found_selection(*bits)
            }
            (Purpose::MonitorSet, Reply::Bits(_)) => self.streaming.monitoring_set = true,
            (Purpose::MonitorRate, Reply::Number(printed)) => {
                let stream = &mut self.streaming;
                stream.downsample = printed.value.max(0.0) as u32;
                let period_us = stream.period_us();
                if let (Some(timed), true) = (&mut stream.timed, stream.downsample > 0) {
                    // A new plan: the old rate says nothing of the new.
                    timed.clock_mut().rate_changed(period_us);
                }
                stream.started = (stream.downsample > 0).then_some(now);
                stream.heard = false;
                stream.measure = None;
            }
            (_, Reply::Error) => self.text(
                TextLevel::Warning,
                "SimpleFOC refused a monitoring command (MMS or MMD)".to_owned(),
            ),
            _ => {}
        }
    }

    /// Watches the stream: a sketch that prints nothing, a plan to check.
    pub(super) fn streaming_poll(&mut self, now: Instant) {
        let stream = &mut self.streaming;
        let Some(started) = stream.started else {
            return;
        };
        let expected_period = Duration::from_secs_f64(
            f64::from(stream.downsample.max(1)) / stream.plan.loop_hz.max(1.0),
        );
        if !stream.heard
            && !stream.warned_silent
            && now - started > SILENT_AFTER.max(expected_period * 10)
        {
            stream.warned_silent = true;
            self.text(
                TextLevel::Error,
                "the sketch prints no monitoring: call motor.monitor() in loop() (with \
                 motor.useMonitoring(Serial) in setup()) to plot; its parameters still read \
                 and write"
                    .to_owned(),
            );
            return;
        }
        let Some(measure) = stream.measure else {
            return;
        };
        let elapsed = now - measure.since;
        if stream.reported || measure.lines < MEASURE_LINES || elapsed < MEASURE_TIME {
            return;
        }
        // The first line opened the window: the others span it.
        let lines_per_s = (measure.lines - 1) as f64 / elapsed.as_secs_f64();
        let mean_bytes = measure.bytes as f64 / measure.lines as f64;
        let downsample = stream.downsample;
        if stream.replans < MOST_REPLANS
            && stream
                .plan
                .learn(lines_per_s, mean_bytes, downsample)
                .is_some()
        {
            stream.replans += 1;
            stream.measure = None;
            self.push_rate();
            return;
        }
        stream.reported = true;
        let share = lines_per_s * mean_bytes / stream.plan.capacity() * 100.0;
        let message = format!(
            "monitoring {lines_per_s:.0} lines/s: monitor() prints one call in {downsample} (a \
             loop of about {:.0} Hz), {mean_bytes:.0}-byte lines take {share:.0} % of {} baud",
            stream.plan.loop_hz, self.settings.baud
        );
        self.text(TextLevel::Info, message);
    }
}

/// A monitor command (`{L}M…`), answered with its echo and a value.
fn monitor_request(
    purpose: Purpose,
    letter: char,
    letters: &str,
    kind: ReplyKind,
) -> Request<Purpose> {
    Request::new(
        purpose,
        format!("{letter}{letters}\n"),
        Expect::Value {
            echo: echo(letter, letters),
            kind,
        },
    )
}
