//! Output of the commands: results on stdout ([`out!`], quiet when the reader is gone), progress on
//! stderr (redrawn on a terminal, a line every few seconds elsewhere).

use std::io::{IsTerminal, Write};
use std::time::Instant;

/// `println!` for results: a closed stdout (`lyceum … | head -1`) ends the process quietly
/// instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout().lock(), $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
            eprintln!("error: writing to standard output: {e}");
            std::process::exit(1);
        }
    }};
}

pub(crate) use out;

/// When the last progress line went to a non-terminal stderr.
static LAST_PROGRESS: std::sync::Mutex<Option<Instant>> = std::sync::Mutex::new(None);

/// A log file gets a progress line this often, not one per batch.
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(3);

/// Progress on stderr: redrawn in place on a terminal; elsewhere (a log, a pipe) a line every
/// few seconds.
pub(crate) fn progress_line(text: &str) {
    let mut err = std::io::stderr();
    if err.is_terminal() {
        let _ = write!(err, "\r{text:<78}");
        return;
    }
    let mut last = LAST_PROGRESS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if last.is_none_or(|at| at.elapsed() >= PROGRESS_EVERY) {
        *last = Some(Instant::now());
        let _ = writeln!(err, "{text}");
    }
}

/// End a progress line drawn in place.
pub(crate) fn progress_done() {
    if std::io::stderr().is_terminal() {
        progress_done();
    }
}
