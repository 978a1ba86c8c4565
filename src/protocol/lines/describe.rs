//! Describing the sketch once a run of rows of one shape has come: its
//! channels (names, units, roles), rate and parameters.

use super::shape::Shape;
use super::{DEVICE_NAME, LinesAdapter};
use crate::protocol::{ChannelInfo, ChannelRole, DeviceInfo, Event, ParamInfo, ParamKind};

impl LinesAdapter {
    /// Describes the sketch by the candidate run, giving out first every
    /// row of the description before.
    pub(super) fn describe_candidate(&mut self, emit: &mut dyn FnMut(Event)) {
        let Some(candidate) = self.candidate.take() else {
            return;
        };
        self.flush(emit);
        self.host.release(&mut |batch| {
            emit(Event::Samples {
                batch,
                lost_before: 0,
            })
        });
        let shape = candidate.shape;
        let names = shape.channel_names(self.header.as_deref(), self.time_field(&shape));
        let role_of = |index: usize, name: &str| {
            let roles = &self.settings.roles;
            let is = |choice: &Option<String>| {
                choice
                    .as_deref()
                    .is_some_and(|c| c == name || c.parse::<usize>().is_ok_and(|n| n == index + 1))
            };
            if is(&roles.reference) {
                ChannelRole::Reference
            } else if is(&roles.feedback) {
                ChannelRole::Feedback
            } else if is(&roles.effort) {
                ChannelRole::Effort
            } else {
                ChannelRole::Other
            }
        };
        let channels = names
            .iter()
            .enumerate()
            .map(|(index, name)| ChannelInfo {
                name: name.clone(),
                unit: self
                    .units
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, unit)| unit.clone())
                    .unwrap_or_default(),
                role: role_of(index, name),
            })
            .collect();
        let loop_hz = match &self.device_time {
            Some(time) => time
                .stride()
                .filter(|&s| s > 0)
                .map_or(1.0, |s| time.tick_hz() / s as f64),
            None => 1e6 / f64::from(self.host.clock().period_us()),
        };
        let params = self
            .settings
            .params
            .iter()
            .zip(&self.values)
            .map(|(p, &value)| ParamInfo {
                name: p.name.clone(),
                unit: p.unit.clone(),
                flags: p.flags,
                min: p.min,
                max: p.max,
                value,
                kind: ParamKind::from_wire(p.flags.0, Vec::new()),
            })
            .collect();
        let firmware = match shape {
            Shape::Plotter(_) => "plain text lines",
            Shape::Teleplot(_) => "Teleplot lines",
        };
        let info = DeviceInfo {
            name: DEVICE_NAME.into(),
            firmware: firmware.into(),
            protocol_version: 1,
            loop_hz: loop_hz.round().clamp(1.0, f64::from(u32::MAX)) as u32,
            watchdog_ms: 0,
            channels,
            params,
            other_axes: Vec::new(),
        };
        self.shape = Some(shape);
        self.new_names.clear();
        self.device = Some(info.clone());
        emit(Event::Described(info));
    }
}
