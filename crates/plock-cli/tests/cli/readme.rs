//! The README's commands, run as written.

use std::path::Path;

use super::sandbox::Sandbox;

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
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let section = readme
        .split("## Using the command")
        .nth(1)
        .and_then(|rest| rest.split("```sh\n").nth(1))
        .and_then(|block| block.split("```").next())
        .unwrap();
    let mut s = Sandbox::new("readme");
    std::fs::create_dir_all(s.dir.join("docs/csv")).unwrap();
    for entry in std::fs::read_dir(root.join("docs/csv")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(
            &path,
            s.dir.join("docs/csv").join(path.file_name().unwrap()),
        )
        .unwrap();
    }
    std::fs::copy(
        root.join("docs/subscription.toml"),
        s.dir.join("docs/subscription.toml"),
    )
    .unwrap();
    let mut ran = 0;
    for line in section.lines() {
        // Drop the comment, then anything piped on (the pipe itself is tested above).
        let command = line.split(" #").next().unwrap();
        let command = command.split(" | ").next().unwrap().trim();
        if command.is_empty() || command.starts_with("cargo ") {
            continue;
        }
        let words: Vec<&str> = command.split_whitespace().collect();
        assert_eq!(words[0], "plock", "{line}");
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
