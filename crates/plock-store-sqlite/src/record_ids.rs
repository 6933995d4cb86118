//! Record ids the usage import made up that no other stored record can share, left out of
//! the stream a billing run reads.
//!
//! A row imported without a record id gets one made from its chunk
//! (`file-<fingerprint of the chunk>-<line in the chunk>`), so a file imported twice gives
//! the same records and the run counts each once. The run resolves re-sent records by
//! keeping one record of each account, metric and id, which costs an ordered map entry a
//! record: at M's 10 million records, most of the run's reading time and more memory than
//! the engine's whole table. A made-up id matters only where another record holds the
//! same id. Ids of one fingerprint held by one block (or the batch-written rows), their
//! line numbers rising, are each held by one record, so the run keeps every such record
//! whether it reads the id or not; those ids are left out of the stream. Every other id
//! (ids a file gave, and made-up ids of a chunk imported twice) is read as stored.
//!
//! The test is made on the text: `file-`, hexadecimal digits, `-`, decimal digits, as the
//! unquoted last cell of a line (blanks around it ignored). Equal ids always give the same
//! (fingerprint, line), so two records sharing an id are never both left out; ids that
//! differ only in leading zeros look alike and are read as stored, which changes nothing.
//! A quoted last cell naming `file-` anywhere in its line could be any such id once
//! unquoted: then no id is left out at all.
//!
//! A block stored without its made-up ids ([`plock_core::import::MadeUpIds`]) is one such
//! stretch, taken from its columns without reading its text: it goes to the stream as it is
//! when its fingerprint is unshared, and with its ids written back otherwise, so the stream
//! is the same as if its ids were in its text.
//!
//! A run reads each text once ([`OnePass`]): a fingerprint's ids are left out of a text when
//! every id of it read so far, that text's included, is unshared. Only a later text can
//! share them (a chunk imported twice, or a quoted id); the run then reads the texts again
//! with the final answer ([`Finder::unshared`]), so the table is the same either way.

use std::collections::HashMap;
use std::collections::HashSet;
use std::collections::hash_map::Entry;
use std::ops::Range;

use plock_core::import::MadeUpIds;

/// Fingerprints whose made-up ids are each held by one record.
#[derive(Debug, Default)]
pub(crate) struct Unshared {
    fingerprints: HashSet<u64>,
}

/// What the texts read so far hold of one fingerprint.
enum Seen {
    /// Ids of one text only, their line numbers rising; the last one.
    Rising { text: usize, line: u64 },
    /// Ids that may be equal.
    Shared,
}

/// Finds the fingerprints whose ids are unshared, from every text a run reads, each text
/// given once with its own number.
#[derive(Default)]
pub(crate) struct Finder {
    seen: HashMap<u64, Seen>,
    /// A quoted id that may be a made-up one was met.
    quoted: bool,
}

/// Lines in a row of one text with ids of one fingerprint, their line numbers rising:
/// (fingerprint, first line, last line).
type Stretch = (u64, u64, u64);

impl Finder {
    /// Notes the made-up ids of text number `text`.
    pub(crate) fn note(&mut self, text: usize, bytes: &[u8]) {
        let mut ids = Vec::new();
        self.quoted |= made_up_ids(bytes, &mut ids);
        self.note_ids(text, &ids);
    }

    /// Notes `ids`, the made-up ids of text number `text` in their order.
    fn note_ids(&mut self, text: usize, ids: &[MadeUpAt]) {
        let mut stretch: Option<Stretch> = None;
        for id in ids {
            let (fingerprint, line) = (id.fingerprint, id.line);
            match &mut stretch {
                Some((f, _, last)) if *f == fingerprint && line > *last => *last = line,
                _ => {
                    if let Some(done) = stretch.replace((fingerprint, line, line)) {
                        self.merge(text, done);
                    }
                }
            }
        }
        if let Some(done) = stretch {
            self.merge(text, done);
        }
    }

    /// Notes text number `text`, a block of `records` records whose made-up ids `made_up`
    /// says, left out of its text.
    pub(crate) fn note_stored(&mut self, text: usize, made_up: MadeUpIds, records: u64) {
        if let Some(last) = records.checked_sub(1) {
            let first = made_up.first();
            self.merge(
                text,
                (made_up.fingerprint(), first, first.saturating_add(last)),
            );
        }
    }

    /// Adds a stretch of text number `text`: its fingerprint stays unshared only if all its
    /// ids so far are of this text, before the stretch.
    fn merge(&mut self, text: usize, (fingerprint, first, last): Stretch) {
        match self.seen.entry(fingerprint) {
            Entry::Vacant(entry) => {
                entry.insert(Seen::Rising { text, line: last });
            }
            Entry::Occupied(mut entry) => {
                let seen = entry.get_mut();
                match seen {
                    Seen::Rising {
                        text: earlier,
                        line,
                    } if *earlier == text && first > *line => *line = last,
                    _ => *seen = Seen::Shared,
                }
            }
        }
    }

    /// Whether the ids of `fingerprint` noted so far are each held by one record, and no
    /// quoted id may be one of them.
    fn unshared_so_far(&self, fingerprint: u64) -> bool {
        !self.quoted && matches!(self.seen.get(&fingerprint), Some(Seen::Rising { .. }))
    }

    /// The fingerprints no two records share an id of.
    pub(crate) fn unshared(self) -> Unshared {
        if self.quoted {
            return Unshared::default();
        }
        let fingerprints = self
            .seen
            .into_iter()
            .filter_map(|(fingerprint, seen)| match seen {
                Seen::Rising { .. } => Some(fingerprint),
                Seen::Shared => None,
            })
            .collect();
        Unshared { fingerprints }
    }
}

impl Unshared {
    /// Whether the made-up ids of `made_up`'s fingerprint are unshared: a block stored
    /// without them goes to the stream as it is.
    pub(crate) fn leaves_out(&self, made_up: MadeUpIds) -> bool {
        self.fingerprints.contains(&made_up.fingerprint())
    }

    /// Appends `bytes` to `out`, the unshared ids left out (their cell left empty).
    pub(crate) fn strip_into(&self, bytes: &[u8], out: &mut Vec<u8>) {
        if self.fingerprints.is_empty() {
            out.extend_from_slice(bytes);
            return;
        }
        strip(bytes, out, |fingerprint| {
            self.fingerprints.contains(&fingerprint)
        });
    }
}

/// Leaves made-up ids out of the texts as they are read, each text once (see the module
/// documentation); [`OnePass::held`] then says whether the texts so read are what
/// [`Unshared::strip_into`] makes of them with the final answer.
#[derive(Default)]
pub(crate) struct OnePass {
    finder: Finder,
    /// The fingerprints whose ids were left out of some text.
    left_out: HashSet<u64>,
    /// The made-up ids of the text being read, found once for both noting and leaving out.
    ids: Vec<MadeUpAt>,
}

impl OnePass {
    /// Notes text number `text` (numbers rising from one call to the next), then appends
    /// it to `out` with the ids left out that are unshared so far.
    pub(crate) fn strip_into(&mut self, text: usize, bytes: &[u8], out: &mut Vec<u8>) {
        self.ids.clear();
        self.finder.quoted |= made_up_ids(bytes, &mut self.ids);
        self.finder.note_ids(text, &self.ids);
        out.reserve(bytes.len());
        // The last fingerprint looked up, and whether it is unshared.
        let mut last: Option<(u64, bool)> = None;
        let mut copied = 0usize;
        for id in &self.ids {
            let unshared = match last {
                Some((f, unshared)) if f == id.fingerprint => unshared,
                _ => {
                    let unshared = self.finder.unshared_so_far(id.fingerprint);
                    if unshared {
                        self.left_out.insert(id.fingerprint);
                    }
                    unshared
                }
            };
            last = Some((id.fingerprint, unshared));
            if unshared {
                // Up to and with the comma: the id's cell stays, empty.
                out.extend_from_slice(bytes.get(copied..id.cell.start).unwrap_or_default());
                copied = id.cell.end;
            }
        }
        out.extend_from_slice(bytes.get(copied..).unwrap_or_default());
    }

    /// Notes text number `text` (numbers rising as for [`OnePass::strip_into`]), a block of
    /// `records` records stored without its made-up ids `made_up`; whether it goes to the
    /// stream as it is, the ids unshared so far (else with its ids written back).
    pub(crate) fn leaves_out(&mut self, text: usize, made_up: MadeUpIds, records: u64) -> bool {
        self.finder.note_stored(text, made_up, records);
        let fingerprint = made_up.fingerprint();
        let unshared = self.finder.unshared_so_far(fingerprint);
        if unshared {
            self.left_out.insert(fingerprint);
        }
        unshared
    }

    /// Whether every id left out is unshared in the end, after the last text: then the
    /// texts read are the same as read with the final answer.
    pub(crate) fn held(self) -> bool {
        let unshared = self.finder.unshared();
        self.left_out
            .iter()
            .all(|fingerprint| unshared.fingerprints.contains(fingerprint))
    }
}

/// A made-up id in a text: its cell (after the line's last comma, to the end of the line
/// without its newline) and what it names.
struct MadeUpAt {
    cell: Range<usize>,
    fingerprint: u64,
    line: u64,
}

/// Appends the made-up ids of `bytes` to `ids`, in order; whether a quoted cell may be one.
fn made_up_ids(bytes: &[u8], ids: &mut Vec<MadeUpAt>) -> bool {
    let mut reader = Cells::default();
    let mut quoted = false;
    let mut start = 0usize;
    for line in lines(bytes) {
        let end = start.saturating_add(line.len());
        match reader.id_of(line) {
            Id::MadeUp {
                comma,
                fingerprint,
                line,
            } => ids.push(MadeUpAt {
                cell: start.saturating_add(comma).saturating_add(1)..end,
                fingerprint,
                line,
            }),
            Id::Quoted => quoted |= memchr::memmem::find(line, b"file-").is_some(),
            Id::Other => {}
        }
        start = end.saturating_add(1);
    }
    quoted
}

/// Appends `bytes` to `out`, the made-up ids whose fingerprint `unshared` accepts left out
/// (their cell left empty); `unshared` is asked again only when the fingerprint changes.
fn strip(bytes: &[u8], out: &mut Vec<u8>, mut unshared: impl FnMut(u64) -> bool) {
    out.reserve(bytes.len());
    let mut reader = Cells::default();
    // The last fingerprint looked up, and whether it is unshared.
    let mut last: Option<(u64, bool)> = None;
    let mut start = 0usize;
    for line in lines(bytes) {
        let end = start.saturating_add(line.len());
        let cut = match reader.id_of(line) {
            Id::MadeUp {
                comma, fingerprint, ..
            } => {
                let unshared = match last {
                    Some((f, unshared)) if f == fingerprint => unshared,
                    _ => unshared(fingerprint),
                };
                last = Some((fingerprint, unshared));
                unshared.then_some(comma)
            }
            _ => None,
        };
        match cut {
            // Up to and with the comma: the id's cell stays, empty.
            Some(comma) => out.extend_from_slice(line.get(..=comma).unwrap_or(line)),
            None => out.extend_from_slice(line),
        }
        // The line's newline, if it had one.
        out.extend_from_slice(bytes.get(end..end.saturating_add(1)).unwrap_or_default());
        start = end.saturating_add(1);
    }
}

/// The lines of `bytes`, without their newlines (a last empty piece after a final newline).
fn lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut start = 0;
    let ends = memchr::memchr_iter(b'\n', bytes).chain(std::iter::once(bytes.len()));
    ends.filter_map(move |end| {
        let line = bytes.get(start..end)?;
        start = end.saturating_add(1);
        Some(line)
    })
}

/// What the last cell of a line holds ([`Cells::id_of`]).
enum Id {
    /// A made-up id, after the comma at `comma`.
    MadeUp {
        comma: usize,
        fingerprint: u64,
        line: u64,
    },
    /// A quoted cell.
    Quoted,
    /// Anything else.
    Other,
}

/// Reads the last cells of lines, remembering the last made-up id's `file-<hex>-`, which
/// the lines of one chunk share, so that only the line number is read again.
#[derive(Default)]
struct Cells {
    prefix: Vec<u8>,
    fingerprint: u64,
}

impl Cells {
    /// The last cell of `line`: the one after its last comma, blanks around it ignored.
    fn id_of(&mut self, line: &[u8]) -> Id {
        let Some(comma) = memchr::memrchr(b',', line) else {
            return Id::Other;
        };
        let cell = line.get(comma.saturating_add(1)..).unwrap_or_default();
        let cell = cell.trim_ascii();
        if cell.ends_with(b"\"") {
            return Id::Quoted;
        }
        let found = match cell.strip_prefix(self.prefix.as_slice()) {
            Some(digits) if !self.prefix.is_empty() => {
                number(digits, 10).map(|line| (self.fingerprint, line))
            }
            _ => made_up(cell).inspect(|&(fingerprint, _)| self.remember(cell, fingerprint)),
        };
        match found {
            Some((fingerprint, line)) => Id::MadeUp {
                comma,
                fingerprint,
                line,
            },
            None => Id::Other,
        }
    }

    /// Remembers the `file-<hex>-` of made-up id `cell`.
    fn remember(&mut self, cell: &[u8], fingerprint: u64) {
        let Some(dash) = memchr::memrchr(b'-', cell) else {
            return;
        };
        self.prefix.clear();
        self.prefix
            .extend_from_slice(cell.get(..=dash).unwrap_or_default());
        self.fingerprint = fingerprint;
    }
}

/// `file-<hex>-<digits>` as (fingerprint, line), the hexadecimal digits in lower case as
/// the import writes them; `None` for any other id.
fn made_up(id: &[u8]) -> Option<(u64, u64)> {
    let rest = id.strip_prefix(b"file-")?;
    let dash = memchr::memchr(b'-', rest)?;
    let (hex, digits) = (rest.get(..dash)?, rest.get(dash.saturating_add(1)..)?);
    Some((number(hex, 16)?, number(digits, 10)?))
}

/// The number `digits` writes in `radix` (10 or 16, lower case), if it has 1 to 16 digits
/// and nothing else.
fn number(digits: &[u8], radix: u64) -> Option<u64> {
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    let mut n = 0u64;
    for &b in digits {
        let digit = match b {
            b'0'..=b'9' => b.wrapping_sub(b'0'),
            b'a'..=b'f' if radix == 16 => b.wrapping_sub(b'a').wrapping_add(10),
            _ => return None,
        };
        // At most 16 digits: no overflow.
        n = n.wrapping_mul(radix).wrapping_add(u64::from(digit));
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stripped(texts: &[&str]) -> Vec<String> {
        let mut finder = Finder::default();
        for (n, text) in texts.iter().enumerate() {
            finder.note(n, text.as_bytes());
        }
        let unshared = finder.unshared();
        let out: Vec<String> = texts
            .iter()
            .map(|text| {
                let mut out = Vec::new();
                unshared.strip_into(text.as_bytes(), &mut out);
                String::from_utf8(out).unwrap()
            })
            .collect();
        // Read once, the texts are the same whenever the one pass holds.
        let (mut once, mut read) = (OnePass::default(), Vec::new());
        for (n, text) in texts.iter().enumerate() {
            let mut one = Vec::new();
            once.strip_into(n, text.as_bytes(), &mut one);
            read.push(String::from_utf8(one).unwrap());
        }
        let shared_later = read != out;
        assert_eq!(once.held(), !shared_later, "{texts:?}");
        out
    }

    #[test]
    fn made_up_ids_are_read_exactly() {
        assert_eq!(made_up(b"file-00ab-12"), Some((0xab, 12)));
        assert_eq!(
            made_up(b"file-23663a7c6c2d8e1b-2"),
            Some((0x2366_3a7c_6c2d_8e1b, 2))
        );
        for other in [
            &b"file-ab-"[..],
            b"file--1",
            b"file-ab-1x",
            b"file-xy-1",
            b"file-ab-1\"",
            b"file-ab",
            b"r-1",
            b"file-11112222333344445-1",
            b"file-AB-1",
        ] {
            assert_eq!(made_up(other), None, "{}", String::from_utf8_lossy(other));
        }
    }

    #[test]
    fn ids_of_one_text_with_rising_lines_are_left_out() {
        let text = "k,m,2025-01-01T00:00:00Z,1,file-ab-1\nk,m,2025-01-01T00:00:00Z,2,file-ab-2\n";
        assert_eq!(
            stripped(&[text]),
            ["k,m,2025-01-01T00:00:00Z,1,\nk,m,2025-01-01T00:00:00Z,2,\n"]
        );
    }

    #[test]
    fn ids_that_may_be_shared_and_ids_a_file_gave_are_kept() {
        let twice = "k,m,t,1,file-ab-1\n";
        assert_eq!(stripped(&[twice, twice]), [twice, twice]);
        let falling = "k,m,t,1,file-ab-2\nk,m,t,1,file-ab-1\n";
        assert_eq!(stripped(&[falling]), [falling]);
        let given = "k,m,t,1,r-1\nk,m,t,1,\"a,file-ab-1\"\nk,m,t,1\n";
        assert_eq!(stripped(&[given]), [given]);
        let blanks = "k,m,t,1,file-ab-1\nk,m,t,1, file-ab-1\r\n";
        assert_eq!(stripped(&[blanks]), [blanks]);
    }

    #[test]
    fn a_quoted_id_naming_a_made_up_one_keeps_every_id() {
        let texts = ["k,m,t,1,file-ab-1\n", "k,m,t,1,\"file-ab-1\"\n"];
        assert_eq!(stripped(&texts), texts);
        let texts = ["k,m,t,1,file-ab-1\n", "k,m,t,1,\"r\"\n"];
        assert_eq!(stripped(&texts), ["k,m,t,1,\n", "k,m,t,1,\"r\"\n"]);
    }

    #[test]
    fn a_text_without_a_final_newline_keeps_its_end() {
        assert_eq!(stripped(&["k,m,t,1,file-ab-1"]), ["k,m,t,1,"]);
    }
}
