//! The `mailshot` command: thin glue over the library (see `mailshot --help`).

/// mimalloc: ingest and replay allocate and free many small strings per input across two
/// threads; glibc's allocator spent a tenth of the ingest thread's time on them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    mailshot_infra::cli::main()
}
