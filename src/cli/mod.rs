//! The command line: `motiontune` opens the GUI; subcommands run headless.
//! Errors the user can cause end in one line on stderr and a non-zero exit
//! (130 when Ctrl-C or SIGTERM ended the command); a reader of stdout that
//! went away (`| head -1`) ends the command quietly with exit 0, as Unix
//! tools do. Commands that talk to a device and the GUI catch Ctrl-C and
//! SIGTERM ([`crate::interrupt`]) and end as each documents.

mod analyze;
mod args;
mod autotune;
mod bode;
mod connect;
mod control_lines;
mod exit;
mod guarded_writes;
mod params;
mod procedure;
mod profile;
mod record;
mod report;
mod sim;
mod step;

use std::process::ExitCode;

use clap::Parser;

use crate::history::HistorySize;
use crate::link::{SIM_PORT, list_ports};
pub use args::*;

/// Parses the command line and runs what it asks for.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            use clap::error::ErrorKind;
            if matches!(
                error.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = error.print();
                return ExitCode::SUCCESS;
            }
            eprintln!("{}", one_line(&error.render().to_string()));
            return ExitCode::from(2);
        }
    };
    exit::status(run(cli))
}

/// clap's error in one line: its first line names the argument and the
/// problem, except a missing argument's, which names them on the indented
/// lines under it.
fn one_line(rendered: &str) -> String {
    let mut lines = rendered.lines();
    let first = lines.next().unwrap_or("error: bad arguments").trim_end();
    let named: Vec<&str> = lines
        .take_while(|line| line.starts_with("  "))
        .map(str::trim)
        .collect();
    if first.ends_with(':') && !named.is_empty() {
        format!("{first} {}", named.join(", "))
    } else {
        first.to_owned()
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    if !matches!(
        cli.command,
        Some(CliCommand::Ports | CliCommand::Sim(_) | CliCommand::Analyze(_))
    ) {
        exit::catch_interrupts()?;
    }
    match cli.command {
        None => {
            let remembered_port = cli.port.is_none();
            let port = cli.port.unwrap_or_else(|| SIM_PORT.to_owned());
            let options = crate::app::AppOptions {
                remembered_port,
                target: cli.link.one_target(&port)?,
                stream_divider: cli.divider,
                history_size: cli
                    .history_seconds
                    .map_or_else(HistorySize::default, HistorySize::Seconds),
                runs_file: cli
                    .runs_file
                    .or_else(crate::app::AppOptions::default_runs_file),
                settings_file: crate::app::AppOptions::default_settings_file(),
                open: cli.files.into_iter().chain(cli.open).collect(),
            };
            crate::app::run_native(options)
        }
        Some(CliCommand::Ports) => {
            let (ports, error) = list_ports();
            let listing: String = ports
                .iter()
                .map(|port| format!("{:<24} {}\n", port.name, port.description))
                .collect();
            report::print(&listing)?;
            match error {
                Some(error) => anyhow::bail!(error),
                None => Ok(()),
            }
        }
        Some(CliCommand::Sim(args)) => sim::run(&args),
        Some(CliCommand::Record(args)) => record::run(&args),
        Some(CliCommand::Params(args)) => params::run(&args),
        Some(CliCommand::Analyze(args)) => analyze::run(&args),
        Some(CliCommand::Step(args)) => step::run(&args),
        Some(CliCommand::Autotune(args)) => autotune::run(&args),
        Some(CliCommand::Bode(args)) => bode::run(&args),
        Some(CliCommand::Profile(command)) => profile::run(&command),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::{Cli, one_line};

    fn error_line(args: &[&str]) -> String {
        let error = Cli::try_parse_from(args).expect_err("refused");
        one_line(&error.render().to_string())
    }

    #[test]
    fn a_refused_command_line_is_one_line_naming_what_is_wrong() {
        assert_eq!(
            error_line(&["motiontune", "step", "--port", "sim", "--amplitude", "0.1"]),
            "error: the following required arguments were not provided: --hold <SECONDS>"
        );
        let line = error_line(&["motiontune", "step", "--port", "sim", "--hold", "x"]);
        assert!(!line.contains('\n'));
        assert!(line.contains("--hold"), "{line}");
    }
}
