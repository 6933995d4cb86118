//! Writing to the terminal. Standard output may be a pipe its reader has closed
//! (`plock invoice list | head`): that ends the command quietly, as the reader asked, instead
//! of a panic from `println!`.

use std::io::{self, Write};

/// Prints a command's output, with one final newline; nothing when it is empty.
///
/// # Errors
/// Any write error but a closed pipe, which is a normal end.
pub fn print(text: &str) -> io::Result<()> {
    if text.is_empty() {
        return Ok(());
    }
    let mut stdout = io::stdout().lock();
    let written = writeln!(stdout, "{}", text.trim_end()).and_then(|()| stdout.flush());
    match written {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Prints one line on standard error; a closed standard error is ignored (there is nowhere
/// left to report to, and the exit code still tells).
pub fn error_line(line: &str) {
    let mut stderr = io::stderr().lock();
    let _ = writeln!(stderr, "{line}");
}
