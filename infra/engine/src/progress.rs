//! Progress for long work: a bar with rate and ETA on a terminal, periodic plain lines
//! otherwise (so that logs of scripted runs still show that work advances).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// Reports progress of one task on stderr.
pub struct Progress {
    bar: Option<ProgressBar>,
    label: String,
    total: Option<u64>,
    unit: String,
    done: u64,
    started: Instant,
    last_line: Instant,
    quiet: bool,
}

/// Interval of plain progress lines when stderr is not a terminal.
const LINE_EVERY: Duration = Duration::from_secs(5);

impl Progress {
    /// Starts reporting `label`, counting `unit`s up to `total` when known.
    pub fn new(label: &str, total: Option<u64>, unit: &str) -> Progress {
        let quiet = std::env::var_os("MAILSHOT_QUIET").is_some();
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = match total {
                Some(t) => ProgressBar::new(t),
                None => ProgressBar::new_spinner(),
            };
            let template = if total.is_some() {
                format!("{{msg}} [{{bar:40}}] {{human_pos}}/{{human_len}} {unit} ({{per_sec}}, ETA {{eta}})")
            } else {
                format!("{{spinner}} {{msg}} {{human_pos}} {unit} ({{per_sec}})")
            };
            if let Ok(style) = ProgressStyle::with_template(&template) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_message(label.to_string());
            bar
        });
        Progress {
            bar,
            label: label.to_string(),
            total,
            unit: unit.to_string(),
            done: 0,
            started: Instant::now(),
            last_line: Instant::now(),
            quiet,
        }
    }

    /// Advances by `n` units.
    pub fn inc(&mut self, n: u64) {
        self.done += n;
        if let Some(bar) = &self.bar {
            bar.inc(n);
        } else if !self.quiet && self.last_line.elapsed() >= LINE_EVERY {
            self.last_line = Instant::now();
            let rate = self.done as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
            match self.total {
                Some(t) => eprintln!("{}: {}/{} ({:.0}/s)", self.label, self.done, t, rate),
                None => eprintln!("{}: {} ({:.0}/s)", self.label, self.done, rate),
            }
        }
    }

    /// Ends the report with one line: what was done, how long it took and at what rate (the
    /// figures a benchmark of each phase needs).
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
        if !self.quiet && self.done > 0 {
            let secs = self.started.elapsed().as_secs_f64();
            note(&format!(
                "{}: {} {} in {:.2}s ({:.0}/s)",
                self.label,
                self.done,
                self.unit,
                secs,
                self.done as f64 / secs.max(1e-9)
            ));
        }
    }
}

/// Writes one line of progress on stderr, unless `MAILSHOT_QUIET` is set.
pub fn note(line: &str) {
    if std::env::var_os("MAILSHOT_QUIET").is_none() {
        eprintln!("{line}");
    }
}
