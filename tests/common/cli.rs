//! Running the `lyceum` binary from tests, and the odd curve files they feed it.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A file of `tests/data/odd-curves`.
pub fn odd(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/odd-curves")
        .join(name)
}

pub fn lyceum(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lyceum"))
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap()
}

/// Stdout and stderr together.
pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Run and require success; stdout and stderr together.
pub fn lyceum_ok(args: &[&str]) -> String {
    let output = lyceum(args);
    assert!(
        output.status.success(),
        "lyceum {args:?}: {}",
        text(&output)
    );
    text(&output)
}

/// Run and require a clean refusal: exit 1 (not a panic's 101 or a signal) with a message.
pub fn lyceum_refused(args: &[&str]) -> String {
    let output = lyceum(args);
    let all = text(&output);
    assert_eq!(output.status.code(), Some(1), "lyceum {args:?}: {all}");
    assert!(!all.contains("panicked"), "{all}");
    all
}
