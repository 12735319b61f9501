//! The `mailshot` command: thin glue over the library (see `mailshot --help`).

fn main() -> std::process::ExitCode {
    mailshot_infra::cli::main()
}
