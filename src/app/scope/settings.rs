//! What the scope remembers between launches ([`ScopeSettings`]): the
//! window length, each device's channel styles (by device name, applied
//! when that device connects and its channels still match), the trigger
//! settings and the image export size. Every field has a default, so
//! settings saved by an older version still load.

use std::collections::BTreeMap;

use super::channels::ChannelStyle;
use crate::capture::{Edge, TriggerMode, TriggerSettings, TriggerSource};
use crate::record::RecordFormat;

/// The scope's settings worth keeping between launches.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ScopeSettings {
    /// Rolling window length, seconds; `None` shows the whole history.
    pub window_s: Option<f64>,
    /// Channel styles, by device name.
    pub styles: BTreeMap<String, Vec<ChannelStyle>>,
    /// The trigger's settings.
    pub trigger: SavedTrigger,
    /// Size of saved images, pixels.
    pub export_size: [u32; 2],
    /// The format *Record* writes.
    pub record_format: RecordFormat,
}

impl Default for ScopeSettings {
    fn default() -> Self {
        Self {
            window_s: Some(2.0),
            styles: BTreeMap::new(),
            trigger: SavedTrigger::from(TriggerSettings::default()),
            export_size: DEFAULT_EXPORT_SIZE,
            record_format: RecordFormat::default(),
        }
    }
}

/// The image size offered first, pixels.
pub const DEFAULT_EXPORT_SIZE: [u32; 2] = [1600, 900];

/// Trigger settings as saved: names for the edge and mode, so the file
/// reads and survives reordered enums.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct SavedTrigger {
    /// The channel index of a level trigger; `None` triggers on a
    /// parameter write.
    pub channel: Option<usize>,
    /// The level, in the channel's unit.
    pub level: f32,
    /// `rising`, `falling` or `either`.
    pub edge: String,
    /// `single`, `normal` or `auto`.
    pub mode: String,
    /// Seconds kept before the trigger.
    pub pre_s: f64,
    /// Seconds kept after it.
    pub post_s: f64,
}

impl Default for SavedTrigger {
    fn default() -> Self {
        Self::from(TriggerSettings::default())
    }
}

impl From<TriggerSettings> for SavedTrigger {
    fn from(settings: TriggerSettings) -> Self {
        let (channel, level, edge) = match settings.source {
            TriggerSource::Level {
                channel,
                level,
                edge,
            } => (Some(channel), level, edge),
            TriggerSource::ParameterWrite => (None, 0.0, Edge::Rising),
        };
        Self {
            channel,
            level,
            edge: edge.name().to_owned(),
            mode: settings.mode.name().to_owned(),
            pre_s: settings.pre_s,
            post_s: settings.post_s,
        }
    }
}

impl SavedTrigger {
    /// The trigger settings; unknown names and out-of-range times fall
    /// back to the defaults.
    pub fn to_settings(&self) -> TriggerSettings {
        let defaults = TriggerSettings::default();
        let edge = Edge::ALL
            .into_iter()
            .find(|e| e.name() == self.edge)
            .unwrap_or(Edge::Rising);
        let mode = TriggerMode::ALL
            .into_iter()
            .find(|m| m.name() == self.mode)
            .unwrap_or(defaults.mode);
        let within = |value: f64, low: f64, fallback: f64| {
            if (low..=60.0).contains(&value) {
                value
            } else {
                fallback
            }
        };
        TriggerSettings {
            source: match self.channel {
                Some(channel) => TriggerSource::Level {
                    channel,
                    level: if self.level.is_finite() {
                        self.level
                    } else {
                        0.0
                    },
                    edge,
                },
                None => TriggerSource::ParameterWrite,
            },
            mode,
            pre_s: within(self.pre_s, 0.0, defaults.pre_s),
            post_s: within(self.post_s, 0.001, defaults.post_s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::scope::channels::PlotSlot;

    #[test]
    fn settings_survive_a_round_trip_through_json() {
        let mut settings = ScopeSettings {
            window_s: None,
            export_size: [800, 450],
            ..ScopeSettings::default()
        };
        settings.styles.insert(
            "motiontune simulated drive".into(),
            vec![ChannelStyle {
                name: "position".into(),
                visible: false,
                color: egui::Color32::from_rgb(1, 2, 3),
                scale: 2.5,
                offset: -0.25,
                slot: PlotSlot::Upper,
                right_axis: true,
            }],
        );
        settings.trigger = SavedTrigger::from(TriggerSettings {
            source: TriggerSource::Level {
                channel: 3,
                level: 1.5,
                edge: Edge::Falling,
            },
            mode: TriggerMode::Auto,
            pre_s: 0.2,
            post_s: 0.7,
        });
        let json = serde_json::to_string(&settings).expect("serialize");
        let back: ScopeSettings = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, settings);
        assert_eq!(back.trigger.to_settings(), settings.trigger.to_settings());
        assert_eq!(back.trigger.to_settings().mode, TriggerMode::Auto);
    }

    #[test]
    fn missing_and_unknown_fields_fall_back_to_defaults() {
        let back: ScopeSettings =
            serde_json::from_str(r#"{"trigger": {"edge": "sideways", "pre_s": 1e9}, "new": 1}"#)
                .expect("deserialize");
        assert_eq!(back.export_size, DEFAULT_EXPORT_SIZE);
        assert_eq!(back.window_s, Some(2.0));
        let trigger = back.trigger.to_settings();
        assert_eq!(trigger.pre_s, TriggerSettings::default().pre_s);
        assert!(matches!(
            trigger.source,
            TriggerSource::Level {
                edge: Edge::Rising,
                ..
            }
        ));
    }
}
