//! `--dtr on|off` and `--rts on|off`: the modem control lines a serial
//! port is opened with, both on unless the board resets or stops while
//! one is up; and `--port`'s check that a `sim:NAME` names an emulator.

use clap::Args;

use crate::link::{ControlLines, PortTarget};

/// The control lines, as the command line sets them.
#[derive(Debug, Args)]
pub struct ControlLineArgs {
    /// DTR on opening a serial port: on (boards with native USB wait for
    /// it) or off (a board that resets or stops while it is up).
    #[arg(long, value_enum, default_value_t = OnOff::On, value_name = "on|off")]
    pub dtr: OnOff,
    /// RTS on opening a serial port: on or off.
    #[arg(long, value_enum, default_value_t = OnOff::On, value_name = "on|off")]
    pub rts: OnOff,
}

/// A line's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

impl ControlLineArgs {
    pub fn lines(&self) -> ControlLines {
        ControlLines {
            dtr: self.dtr == OnOff::On,
            rts: self.rts == OnOff::On,
        }
    }
}

/// `--port`: a serial port, `sim`, or `sim:NAME` of an emulator.
pub fn parse_port(text: &str) -> Result<String, String> {
    PortTarget::check(text).map(|()| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::super::{Cli, CliCommand};
    use crate::link::{ControlLines, PortTarget};
    use crate::protocol::adapter::{Protocol, ProtocolChoice};
    use clap::Parser;

    fn params_target(args: &[&str]) -> PortTarget {
        let mut all = vec!["motiontune", "params"];
        all.extend_from_slice(args);
        match Cli::try_parse_from(all).expect("valid").command {
            Some(CliCommand::Params(params)) => {
                params.devices.targets().expect("targets")[0].clone()
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn dtr_and_rts_are_on_unless_switched_off() {
        let lines = |target: PortTarget| match target {
            PortTarget::Serial { control, .. } => control,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            lines(params_target(&["--port", "COM3"])),
            ControlLines::default()
        );
        assert_eq!(
            lines(params_target(&["--port", "COM3", "--dtr", "off"])),
            ControlLines {
                dtr: false,
                rts: true
            }
        );
        assert_eq!(
            lines(params_target(&[
                "--port",
                "/dev/ttyUSB0",
                "--rts",
                "off",
                "--dtr",
                "on"
            ])),
            ControlLines {
                dtr: true,
                rts: false
            }
        );
        assert!(
            Cli::try_parse_from(["motiontune", "params", "--port", "COM3", "--dtr", "maybe"])
                .is_err()
        );
        // The GUI's options take them too.
        let cli =
            Cli::try_parse_from(["motiontune", "--port", "COM3", "--rts", "off"]).expect("valid");
        assert!(!cli.link.control.lines().rts);
    }

    #[test]
    fn a_sim_port_names_an_emulator_spoken_to_as_asked() {
        assert_eq!(
            params_target(&["--port", "sim:odrive", "--protocol", "odrive"]),
            PortTarget::Emulated {
                firmware: Protocol::Odrive,
                protocol: ProtocolChoice::Only(Protocol::Odrive),
                settings: Default::default(),
            }
        );
        let error = Cli::try_parse_from(["motiontune", "params", "--port", "sim:vesc"])
            .expect_err("no such emulator");
        assert!(error.to_string().contains("sim:simplefoc"), "{error}");
    }
}
