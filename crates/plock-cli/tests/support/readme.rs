//! The README's "Using the command" block and the sample files its commands read, for the
//! tests that run those commands.

use std::path::{Path, PathBuf};

/// The repository's root folder.
fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The lines of the README's "Using the command" block, each without its comment or anything
/// piped on, blank lines left out.
pub fn using_the_command() -> Vec<String> {
    let readme = std::fs::read_to_string(repository().join("README.md")).unwrap();
    let section = readme
        .split("## Using the command")
        .nth(1)
        .and_then(|rest| rest.split("```sh\n").nth(1))
        .and_then(|block| block.split("```").next())
        .unwrap();
    section
        .lines()
        .map(|line| {
            let command = line.split(" #").next().unwrap();
            command.split(" | ").next().unwrap().trim().to_owned()
        })
        .filter(|command| !command.is_empty())
        .collect()
}

/// Copies the sample files the README's commands read (`docs/csv/*`,
/// `docs/subscription.toml`) into `folder`, at the same paths.
pub fn copy_samples(folder: &Path) {
    let root = repository();
    std::fs::create_dir_all(folder.join("docs/csv")).unwrap();
    for entry in std::fs::read_dir(root.join("docs/csv")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(
            &path,
            folder.join("docs/csv").join(path.file_name().unwrap()),
        )
        .unwrap();
    }
    std::fs::copy(
        root.join("docs/subscription.toml"),
        folder.join("docs/subscription.toml"),
    )
    .unwrap();
}
