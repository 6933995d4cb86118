//! A command's files: its input read from a path or standard input (`-`), and an export
//! written to `--out`.

use std::io::Read;
use std::path::Path;

use crate::exit::{Class, CliError, fail};
use crate::out::json;
use crate::progress::Progress;

type Result<T> = std::result::Result<T, CliError>;

/// `-`, the name that means standard input or output.
pub fn is_dash(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// A file's name in messages; standard input is called so.
pub fn name(path: &Path) -> String {
    if is_dash(path) {
        "standard input".to_owned()
    } else {
        path.display().to_string()
    }
}

/// Reads a file, or standard input for `-`, counting the bytes on a terminal.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    let cannot = |e: std::io::Error| fail(Class::Io, format!("cannot read {}: {e}", name(path)));
    let (mut reader, len): (Box<dyn Read>, Option<u64>) = if is_dash(path) {
        (Box::new(std::io::stdin().lock()), None)
    } else {
        let file = std::fs::File::open(path).map_err(cannot)?;
        let len = file.metadata().ok().map(|m| m.len());
        (Box::new(file), len)
    };
    let progress = Progress::bytes(len, &format!("reading {}", name(path)));
    let mut bytes = Vec::with_capacity(len.and_then(|l| usize::try_from(l).ok()).unwrap_or(0));
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        match reader.read(&mut buffer) {
            Ok(0) => return Ok(bytes),
            Ok(n) => {
                bytes.extend_from_slice(buffer.get(..n).unwrap_or_default());
                progress.inc(n);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(cannot(e)),
        }
    }
}

/// Writes an export to `--out` (or prints it without one, or with `-`); `done` says what was
/// written, as text and as the fields of the JSON report.
pub fn write_out(
    out: Option<&Path>,
    text: String,
    as_json: bool,
    done: impl FnOnce(&Path) -> (String, serde_json::Value),
) -> Result<String> {
    let Some(path) = out.filter(|p| !is_dash(p)) else {
        return Ok(text);
    };
    std::fs::write(path, text)
        .map_err(|e| fail(Class::Io, format!("cannot write {}: {e}", path.display())))?;
    let (line, mut fields) = done(path);
    if !as_json {
        return Ok(line);
    }
    if let Some(map) = fields.as_object_mut() {
        map.insert("action".to_owned(), "wrote".into());
        map.insert("path".to_owned(), path.display().to_string().into());
    }
    json(&fields)
}
