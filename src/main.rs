//! The `motiontune` binary: everything happens in [`motiontune::cli`].

fn main() -> std::process::ExitCode {
    motiontune::cli::main()
}
