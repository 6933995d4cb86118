//! The README's commands, run as written.

use std::path::Path;

use super::sandbox::Sandbox;
use super::support_readme::{copy_samples, using_the_command};

/// The README's main command runs the demo: the same binary and arguments as tested above.
#[test]
fn readme_main_command_is_the_demo() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .unwrap();
    assert!(
        readme.contains("cargo run --release -p plock-cli -- demo"),
        "the README's main command changed: update this test and .ci/run"
    );
    assert!(readme.contains("cargo test --workspace"));
}

/// Every command of the README's "Using the command" runs as written, in order, from a copy
/// of the repository's sample files.
#[test]
fn readme_commands_run_as_written() {
    let mut s = Sandbox::new("readme");
    copy_samples(&s.dir);
    let mut ran = 0;
    // Each without its comment or anything piped on (the pipe itself is tested above).
    for command in using_the_command() {
        if command.starts_with("cargo ") {
            continue;
        }
        let words: Vec<&str> = command.split_whitespace().collect();
        assert_eq!(words[0], "plock", "{command}");
        let (args, input) = match words.iter().position(|w| *w == "<") {
            Some(at) => (
                &words[1..at],
                Some(std::fs::read(s.dir.join(words[at + 1])).unwrap()),
            ),
            None => (&words[1..], None),
        };
        let start = s.transcript.len();
        s.run_with_input(args, input.as_deref(), 0);
        ran += 1;
        // The snapshot keeps the head of each output: what the README promises, not every
        // invoice and help text again.
        let entry = s.transcript.split_off(start);
        let lines: Vec<&str> = entry.trim_end().lines().collect();
        for line in lines.iter().take(14) {
            s.transcript.push_str(line);
            s.transcript.push('\n');
        }
        if lines.len() > 14 {
            s.transcript.push_str("[...]\n");
        }
        s.transcript.push('\n');
    }
    assert!(ran >= 15, "only {ran} commands found in the README");
    assert!(s.dir.join("invoices.csv").exists() && s.dir.join("demo.data").exists());
    insta::assert_snapshot!(s.transcript);
}
