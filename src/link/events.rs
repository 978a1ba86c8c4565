//! The link thread's end of the event channel. Every [`LinkEvent`] goes
//! through [`EventSender`], which also wakes the app when it is asleep: an
//! app that shows nothing moving draws no frames until the user acts, so
//! the link calls its [`Wake`] for what the user must see at once (a
//! value's answer, a fault, a state change, a procedure's progress, text,
//! the connection ending) and, for the steady stream (samples, an
//! unchanged status, PING answers), at most once per [`STREAM_WAKE`], so
//! the channel is drained and the status bar's counters stay fresh.

use std::fmt;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use super::LinkEvent;
use crate::protocol::Event;

/// The app has dropped its end of the link's events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppGone;

/// The longest the steady stream waits in the channel for an app that
/// draws nothing. A frame with software rendering costs a hundred
/// milliseconds or more of the rasterizer's time, so a still view woken
/// every second would cost a tenth of a core or more; every ten seconds
/// the channel holds at most 5 MB of a 10 kHz × 8-channel stream and the
/// status bar's counters are at most 10 s old.
pub const STREAM_WAKE: Duration = Duration::from_secs(10);

/// What the link calls to have the app look at its events (egui's
/// `request_repaint`).
#[derive(Clone)]
pub struct Wake(Arc<dyn Fn() + Send + Sync>);

impl Wake {
    /// Calls `wake` to wake the app.
    pub fn new(wake: impl Fn() + Send + Sync + 'static) -> Self {
        Self(Arc::new(wake))
    }

    fn call(&self) {
        (self.0)();
    }
}

impl fmt::Debug for Wake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Wake")
    }
}

/// Sends events to the app, waking it as the module says.
pub(super) struct EventSender {
    tx: Sender<LinkEvent>,
    wake: Option<Wake>,
    /// When the stream last woke the app, and the last status sent (a
    /// status that repeats is stream; one that differs is news).
    stream: Mutex<(Option<Instant>, Option<Event>)>,
}

impl EventSender {
    pub fn new(tx: Sender<LinkEvent>, wake: Option<Wake>) -> Self {
        Self {
            tx,
            wake,
            stream: Mutex::new((None, None)),
        }
    }

    /// Sends `event`; fails only when the app has dropped its end (the
    /// event is dropped with it: nobody is left to read it).
    pub fn send(&self, event: LinkEvent) -> Result<(), AppGone> {
        let news = self.is_news(&event, Instant::now());
        self.tx.send(event).map_err(|_| AppGone)?;
        if news && let Some(wake) = &self.wake {
            wake.call();
        }
        Ok(())
    }

    /// Whether `event` should wake the app now.
    fn is_news(&self, event: &LinkEvent, now: Instant) -> bool {
        let Ok(mut stream) = self.stream.lock() else {
            return true;
        };
        let (last_wake, last_status) = &mut *stream;
        let steady = match event {
            LinkEvent::Device(Event::Samples { lost_before: 0, .. } | Event::Pong { .. }) => true,
            LinkEvent::Device(status @ Event::Status { .. }) => {
                let same = last_status
                    .as_ref()
                    .is_some_and(|last| same_state(last, status));
                *last_status = Some(status.clone());
                same
            }
            _ => false,
        };
        if !steady || last_wake.is_none_or(|at| now.duration_since(at) >= STREAM_WAKE) {
            *last_wake = Some(now);
            return true;
        }
        false
    }
}

/// Two status reports say the same thing, whatever their ticks.
fn same_state(a: &Event, b: &Event) -> bool {
    match (a, b) {
        (Event::Status { flags: a, .. }, Event::Status { flags: b, .. }) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::protocol::{SampleBatch, StatusFlags};

    fn counting() -> (
        EventSender,
        Arc<AtomicUsize>,
        crossbeam_channel::Receiver<LinkEvent>,
    ) {
        let woken = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&woken);
        let (tx, rx) = crossbeam_channel::unbounded();
        let sender = EventSender::new(
            tx,
            Some(Wake::new(move || {
                count.fetch_add(1, Ordering::Relaxed);
            })),
        );
        (sender, woken, rx)
    }

    fn samples() -> LinkEvent {
        LinkEvent::Device(Event::Samples {
            batch: SampleBatch::from_exact(0, 1, 1000.0, 1, vec![1.0]),
            lost_before: 0,
        })
    }

    fn status(flags: StatusFlags, tick: u32) -> LinkEvent {
        LinkEvent::Device(Event::Status { flags, tick })
    }

    #[test]
    fn the_stream_wakes_the_app_once_per_period_and_news_at_once() {
        let (sender, woken, rx) = counting();
        for _ in 0..1000 {
            sender.send(samples()).expect("the receiver is open");
        }
        assert_eq!(
            woken.load(Ordering::Relaxed),
            1,
            "a burst of samples wakes once"
        );
        sender
            .send(LinkEvent::Device(Event::Value {
                index: 0,
                value: 1.0,
            }))
            .expect("the receiver is open");
        assert_eq!(woken.load(Ordering::Relaxed), 2, "an answer wakes at once");
        assert_eq!(rx.len(), 1001, "every event is delivered");
    }

    #[test]
    fn a_status_that_changes_wakes_and_one_that_repeats_does_not() {
        let (sender, woken, _rx) = counting();
        let idle = StatusFlags(0);
        let faulted = StatusFlags(StatusFlags::FAULT);
        sender.send(status(idle, 1)).expect("the receiver is open");
        let first = woken.load(Ordering::Relaxed);
        sender.send(status(idle, 2)).expect("the receiver is open");
        assert_eq!(woken.load(Ordering::Relaxed), first, "same state, new tick");
        sender
            .send(status(faulted, 3))
            .expect("the receiver is open");
        assert_eq!(woken.load(Ordering::Relaxed), first + 1, "a fault wakes");
    }

    #[test]
    fn the_stream_wakes_again_after_the_period() {
        let (sender, _woken, _rx) = counting();
        let start = Instant::now();
        assert!(sender.is_news(&samples(), start));
        assert!(!sender.is_news(&samples(), start + STREAM_WAKE / 2));
        assert!(sender.is_news(&samples(), start + STREAM_WAKE));
    }
}
