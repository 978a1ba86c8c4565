//! How the emulated sketch prints a sample, in each format real sketches
//! use. Numbers go out as `Serial.print(x, 4)` prints them: four fixed
//! decimals, a `-` kept on a value that rounds to zero (Arduino
//! `Print::printFloat`), `nan`, `inf` and `ovf` for what it cannot show
//! (Print.cpp: `isnan`, `isinf`, beyond ±4294967040); lines end in `\r\n`
//! (`Print::println`).

/// How the sketch prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SketchFormat {
    /// `setpoint:0.1000,position:0.0990,effort:0.1234`, the form of the
    /// Arduino IDE 2 serial-plotter tutorial.
    Labelled,
    /// A header line once in `setup()`, then `0.1000\t0.0990\t0.1234` (the
    /// IDE's "CSV header style").
    Header,
    /// Numbers only, no header: `0.1000,0.0990,0.1234`.
    Plain,
    /// Labels with spaces: `Set point:0.1000,Shaft angle:…,Motor effort:…`.
    SpacedLabels,
    /// Teleplot, one variable a line: `>setpoint:0.1000§rad` (with a time
    /// column, `>time:…` first).
    Teleplot,
    /// Teleplot with `millis()` timestamps: `>setpoint:1234:0.1000§rad`.
    TeleplotTimed,
}

impl SketchFormat {
    /// Every format, for tests that run them all.
    pub const ALL: [SketchFormat; 6] = [
        Self::Labelled,
        Self::Header,
        Self::Plain,
        Self::SpacedLabels,
        Self::Teleplot,
        Self::TeleplotTimed,
    ];

    /// The channel names a reader should find, time column not counted.
    pub fn names(self) -> [&'static str; 3] {
        match self {
            Self::SpacedLabels => ["Set point", "Shaft angle", "Motor effort"],
            Self::Plain => ["ch1", "ch2", "ch3"],
            _ => ["setpoint", "position", "effort"],
        }
    }

    /// Whether its lines carry their own device time.
    pub fn timestamped(self) -> bool {
        self == Self::TeleplotTimed
    }
}

/// The units Teleplot lines carry.
const UNITS: [&str; 3] = ["rad", "rad", "A"];

/// `Serial.print(value, 4)`.
pub fn print_float(value: f32) -> String {
    if value.is_nan() {
        "nan".into()
    } else if value.is_infinite() {
        "inf".into()
    } else if value.abs() > 4_294_967_040.0 {
        "ovf".into()
    } else {
        format!("{value:.4}")
    }
}

/// What the sketch prints once in `setup()`, after its banner.
pub fn header(format: SketchFormat, time_column: bool) -> Option<String> {
    (format == SketchFormat::Header).then(|| {
        let time = if time_column { "time\t" } else { "" };
        format!("{time}setpoint\tposition\teffort\r\n")
    })
}

/// One sample as printed: `fields` are the values as their text (a bad
/// value already replaced), `elapsed_us` the time since power-on plus
/// where `micros()` started; `micros()` and `millis()` are `u32` counters
/// of their own, wrapping at 2³² of their units.
pub fn line(
    format: SketchFormat,
    time_column: bool,
    elapsed_us: u64,
    fields: &[String; 3],
) -> String {
    let names = format.names();
    let micros = elapsed_us as u32;
    let mut line = String::new();
    match format {
        SketchFormat::Teleplot | SketchFormat::TeleplotTimed => {
            let stamp = if format.timestamped() {
                format!("{}:", (elapsed_us / 1000) as u32)
            } else {
                String::new()
            };
            if time_column {
                line.push_str(&format!(">time:{stamp}{micros}\r\n"));
            }
            for ((name, unit), field) in names.iter().zip(UNITS).zip(fields) {
                line.push_str(&format!(">{name}:{stamp}{field}§{unit}\r\n"));
            }
            return line;
        }
        SketchFormat::Labelled | SketchFormat::SpacedLabels => {
            if time_column {
                line.push_str(&format!("time:{micros},"));
            }
            let pairs: Vec<String> = names
                .iter()
                .zip(fields)
                .map(|(name, field)| format!("{name}:{field}"))
                .collect();
            line.push_str(&pairs.join(","));
        }
        SketchFormat::Header | SketchFormat::Plain => {
            let separator = if format == SketchFormat::Header {
                "\t"
            } else {
                ","
            };
            if time_column {
                line.push_str(&format!("{micros}{separator}"));
            }
            line.push_str(&fields.join(separator));
        }
    }
    line.push_str("\r\n");
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(values: [&str; 3]) -> [String; 3] {
        values.map(String::from)
    }

    #[test]
    fn every_format_prints_as_its_sketch_would() {
        let f = fields(["0.1000", "nan", "-0.0000"]);
        for (format, time, expected) in [
            (
                SketchFormat::Labelled,
                true,
                "time:2000,setpoint:0.1000,position:nan,effort:-0.0000\r\n",
            ),
            (SketchFormat::Header, false, "0.1000\tnan\t-0.0000\r\n"),
            (SketchFormat::Plain, true, "2000,0.1000,nan,-0.0000\r\n"),
            (
                SketchFormat::SpacedLabels,
                false,
                "Set point:0.1000,Shaft angle:nan,Motor effort:-0.0000\r\n",
            ),
            (
                SketchFormat::Teleplot,
                false,
                ">setpoint:0.1000§rad\r\n>position:nan§rad\r\n>effort:-0.0000§A\r\n",
            ),
            (
                SketchFormat::TeleplotTimed,
                false,
                ">setpoint:2:0.1000§rad\r\n>position:2:nan§rad\r\n>effort:2:-0.0000§A\r\n",
            ),
        ] {
            assert_eq!(line(format, time, 2000, &f), expected, "{format:?}");
        }
        // micros() wraps at 2³² µs, millis() at 2³² ms: past the first,
        // not the second.
        let past_wrap = (1 << 32) + 5000;
        assert_eq!(
            line(SketchFormat::TeleplotTimed, true, past_wrap, &f),
            ">time:4294972:5000\r\n>setpoint:4294972:0.1000§rad\r\n\
             >position:4294972:nan§rad\r\n>effort:4294972:-0.0000§A\r\n"
        );
        assert_eq!(
            header(SketchFormat::Header, true).as_deref(),
            Some("time\tsetpoint\tposition\teffort\r\n")
        );
        assert_eq!(print_float(-0.00001), "-0.0000");
        assert_eq!(print_float(f32::NAN), "nan");
        assert_eq!(print_float(f32::NEG_INFINITY), "inf");
        assert_eq!(print_float(5e9), "ovf");
    }
}
