//! Teleplot lines into rows of the adapter's: names, units, `;`-separated
//! samples, and a name not described yet that comes in 3 rows (see the
//! contract in the module above).

use std::time::Instant;

use super::shape::{Candidate, Shape};
use super::teleplot::{Teleplot, TeleplotRow};
use super::{CONSISTENT_LINES, DeviceTime, LinesAdapter, TimeScale};
use crate::protocol::adapter::DecodeTally;
use crate::protocol::{Event, TextLevel};

impl LinesAdapter {
    pub(super) fn telemetry(
        &mut self,
        telemetry: Teleplot,
        now: Instant,
        tally: &mut DecodeTally,
        emit: &mut dyn FnMut(Event),
    ) {
        if !self.teleplot_mode {
            self.teleplot_mode = true;
            if matches!(
                self.candidate,
                Some(Candidate {
                    shape: Shape::Plotter(_),
                    ..
                })
            ) {
                self.candidate = None;
            }
        }
        let values = match telemetry {
            Teleplot::Values(values) => values,
            Teleplot::Text(message) => return self.text(message, TextLevel::Info, tally, emit),
            Teleplot::Commands => {
                tally.ok += 1;
                return;
            }
            Teleplot::Unsupported(what) => {
                tally.ok += 1;
                let message =
                    format!("Teleplot {what} is not plotted: motiontune plots values against time");
                return self.warn_once(message, emit);
            }
        };
        tally.ok += 1;
        if let Some(unit) = values.unit
            && !self.units.iter().any(|(name, _)| *name == values.name)
        {
            self.units.push((values.name.clone(), unit));
        }
        let mut closed = Vec::new();
        let several = values.samples.len() > 1;
        for (time_ms, value) in values.samples {
            self.teleplot
                .add(&values.name, time_ms, value, now, &mut closed);
        }
        if several {
            // `;`-separated values are samples of that name alone.
            self.teleplot.close(&mut closed);
        }
        if let Some(Shape::Teleplot(names)) = &self.shape {
            self.teleplot.close_if_complete(names, &mut closed);
        }
        for row in closed {
            let arrived = row.arrived.unwrap_or(now);
            self.teleplot_row(row, arrived, tally, emit);
        }
    }

    fn teleplot_row(
        &mut self,
        row: TeleplotRow,
        now: Instant,
        tally: &mut DecodeTally,
        emit: &mut dyn FnMut(Event),
    ) {
        if row.time_ms.is_some() && self.device_time.is_none() && self.device.is_none() {
            self.device_time = Some(DeviceTime::new(TimeScale::teleplot()));
        }
        let (mut labels, mut values): (Vec<Option<String>>, Vec<f64>) = row
            .values
            .into_iter()
            .map(|(name, value)| (Some(name), value))
            .unzip();
        if let Some(Shape::Teleplot(known)) = &self.shape {
            // Names not described are counted; the rest is plotted.
            let mut renamed = false;
            for name in labels.iter().flatten() {
                if known.contains(name) {
                    continue;
                }
                match self.new_names.iter_mut().find(|(n, _)| n == name) {
                    Some((_, rows)) => {
                        *rows += 1;
                        renamed |= *rows >= CONSISTENT_LINES;
                    }
                    None => self.new_names.push((name.clone(), 1)),
                }
            }
            if renamed {
                let mut names = known.clone();
                names.extend(self.new_names.drain(..).map(|(name, _)| name));
                self.candidate = Some(Candidate {
                    shape: Shape::Teleplot(names),
                    rows: CONSISTENT_LINES,
                });
            } else {
                (labels, values) = labels
                    .into_iter()
                    .zip(values)
                    .filter(|(label, _)| label.as_ref().is_some_and(|n| known.contains(n)))
                    .unzip();
            }
        }
        let shape = Shape::Teleplot(labels.iter().flatten().cloned().collect());
        self.row(shape, &labels, &values, row.time_ms, now, tally, emit);
    }
}
