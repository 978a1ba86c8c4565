//! A recording of several devices in one CSV file: `host_time_s`, then a
//! column group per device, each named by the device's label —
//! `LABEL.time_s` (the device's own time, exact; labels as
//! [`crate::device::label`] has them) and `LABEL.CHANNEL` for
//! each of its channels. A row holds one sample of one device; the other
//! devices' cells are empty. `host_time_s` is the sample's device time
//! mapped onto the host clock ([`crate::link::HostAlignment`]), so every
//! device's rows share one time axis; rows are written in the order they
//! reached the app.
//!
//! The reader splits the file back: [`device_groups`] finds the groups,
//! and `read` with a device's label gives that device's samples on its
//! own time, as a one-device recording of it would.

use std::io::Write;

use super::RecordError;
use super::csv_writer::{CsvRows, push_values};
use crate::protocol::{ChannelInfo, SampleBatch};

/// The column of host times, first in the file.
pub const HOST_TIME: &str = "host_time_s";
/// A device's own time column, after its label and a dot.
pub const DEVICE_TIME: &str = "time_s";

/// The header of a file of these devices, each a label and its channels.
pub fn header(devices: &[(String, Vec<ChannelInfo>)]) -> Vec<String> {
    let mut header = vec![HOST_TIME.to_owned()];
    for (label, channels) in devices {
        header.push(format!("{label}.{DEVICE_TIME}"));
        header.extend(channels.iter().map(|c| format!("{label}.{}", c.label())));
    }
    header
}

/// The devices' labels in a header that [`header`] wrote, with each one's
/// first column and its channel count; `None` for any other header.
pub fn device_groups(header: &[String]) -> Option<Vec<DeviceColumns>> {
    if header.first().map(String::as_str) != Some(HOST_TIME) {
        return None;
    }
    let mut devices: Vec<DeviceColumns> = Vec::new();
    for (column, name) in header.iter().enumerate().skip(1) {
        let (label, rest) = name.split_once('.')?;
        let new = devices.iter().all(|d| d.label != label);
        match devices.last_mut() {
            Some(device) if device.label == label && rest != DEVICE_TIME => device.channels += 1,
            _ if rest == DEVICE_TIME && new => devices.push(DeviceColumns {
                label: label.to_owned(),
                time_column: column,
                channels: 0,
            }),
            _ => return None,
        }
    }
    (!devices.is_empty()).then_some(devices)
}

/// Where one device's columns are in a file of several.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceColumns {
    /// The device's label.
    pub label: String,
    /// Its time column; its channels follow.
    pub time_column: usize,
    /// How many channels it has.
    pub channels: usize,
}

/// Writes several devices' samples to one CSV file.
pub struct DevicesCsv<W: Write> {
    rows: CsvRows<W>,
    /// Each device's first column and channel count.
    groups: Vec<(usize, usize)>,
    width: usize,
    row: Vec<String>,
    values: Vec<String>,
}

impl<W: Write> DevicesCsv<W> {
    /// Starts the file: writes the header row.
    pub fn new(sink: W, devices: &[(String, Vec<ChannelInfo>)]) -> Result<Self, RecordError> {
        let header = header(devices);
        let mut groups = Vec::with_capacity(devices.len());
        let mut column = 1;
        for (_, channels) in devices {
            groups.push((column, channels.len()));
            column += 1 + channels.len();
        }
        Ok(Self {
            rows: CsvRows::new(sink, &header)?,
            groups,
            width: header.len(),
            row: Vec::with_capacity(header.len()),
            values: Vec::new(),
        })
    }

    /// Rows written so far, of every device (the header not counted).
    pub fn rows(&self) -> u64 {
        self.rows.rows()
    }

    /// Writes every sample of device `device`'s batch, each at its device
    /// time plus `host_offset_s` on the host axis.
    pub fn write_batch(
        &mut self,
        device: usize,
        batch: &SampleBatch,
        host_offset_s: f64,
    ) -> Result<(), RecordError> {
        let (first, count) = self.groups[device];
        if batch.channel_count != count {
            return Err(RecordError::ChannelMismatch {
                expected: count,
                got: batch.channel_count,
            });
        }
        for k in 0..batch.len() {
            let time = batch.time_of(k);
            self.values.clear();
            push_values(&mut self.values, batch, k);
            self.row.clear();
            self.row.push((time + host_offset_s).to_string());
            self.row.resize(first, String::new());
            self.row.push(time.to_string());
            self.row.append(&mut self.values);
            self.row.resize(self.width, String::new());
            self.rows.write(&self.row)?;
        }
        Ok(())
    }

    /// Hands every complete row so far to the sink, and flushes it.
    pub fn flush(&mut self) -> Result<(), RecordError> {
        self.rows.flush()
    }

    /// Flushes and returns the sink.
    pub fn finish(self) -> Result<W, RecordError> {
        self.rows.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ChannelRole;

    fn channel(name: &str) -> ChannelInfo {
        ChannelInfo {
            name: name.into(),
            unit: "rad".into(),
            role: ChannelRole::Feedback,
        }
    }

    #[test]
    fn each_row_is_one_device_and_the_header_splits_back() {
        let devices = [
            ("x".to_owned(), vec![channel("pos"), channel("vel")]),
            ("y".to_owned(), vec![channel("pos")]),
        ];
        let mut file = DevicesCsv::new(Vec::new(), &devices).expect("in memory");
        let x = SampleBatch {
            first_tick: 10,
            stride: 1,
            tick_hz: 1000.0,
            channel_count: 2,
            values: vec![1.0, 2.0, 3.0, 4.0],
            exact: None,
        };
        // Above 2^24: exact, as the device wrote it.
        let y = SampleBatch::from_exact(0, 1, 100.0, 1, vec![16_777_217.0]);
        file.write_batch(0, &x, 5.0).expect("x fits");
        file.write_batch(1, &y, 0.5).expect("y fits");
        assert!(file.write_batch(1, &x, 0.0).is_err());
        assert_eq!(file.rows(), 3);
        let text = String::from_utf8(file.finish().expect("in memory")).expect("utf8");
        assert_eq!(
            text,
            "host_time_s,x.time_s,x.pos [rad],x.vel [rad],y.time_s,y.pos [rad]\n\
             5.01,0.01,1,2,,\n\
             5.011,0.011,3,4,,\n\
             0.5,,,,0,16777217\n"
        );
        let header: Vec<String> = text
            .lines()
            .next()
            .expect("a header")
            .split(',')
            .map(Into::into)
            .collect();
        assert_eq!(
            device_groups(&header).expect("two groups"),
            [
                DeviceColumns {
                    label: "x".into(),
                    time_column: 1,
                    channels: 2
                },
                DeviceColumns {
                    label: "y".into(),
                    time_column: 4,
                    channels: 1
                },
            ]
        );
        assert_eq!(device_groups(&["time_s".into(), "pos".into()]), None);
    }
}
