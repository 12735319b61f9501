//! The `mailshot` command: thin glue over the library (see `mailshot --help`).

/// mimalloc: ingest and replay allocate and free many small strings per input across two
/// threads; glibc's allocator spent a tenth of the ingest thread's time on them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (`mimalloc.h`; the same position in v2 and v3): how long
/// freed memory stays committed before it is given back to the OS.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Freed memory is never given back: kept for the next allocation instead. By default mimalloc
/// gives it back after a second, and the kernel zeroes every page again when the next batch
/// touches it: that zeroing was 8% of a replay's samples. The process's memory stays at its
/// peak, which is what the memory bounds in BENCHMARKS.md measure anyway.
const PURGE_DELAY_NEVER: std::ffi::c_long = -1;

fn main() -> std::process::ExitCode {
    // SAFETY: called before any other thread exists (the option setter is not thread safe).
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_NEVER) };
    mailshot_log::owner_only::owner_only_umask();
    mailshot_cli::main()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_purge_delay_option_is_the_one_named() {
        // mimalloc v3's default purge delay is 1,000 ms (`options.c`); a shifted enum would
        // name another option, whose default differs.
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            // SAFETY: reads an option; no other test sets options.
            assert_eq!(
                unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) },
                1_000
            );
        }
    }
}
