//! Made-up record ids left out of the usage text a billing run reads, on the text itself:
//! the id's cell is left empty, so the run's reader never reads the id
//! ([`crate::made_up_ids`] says which ids).
//!
//! A run reads each text once ([`OnePass`]): a made-up id is left out while no id read
//! before shares its line. Only a later text can share it (a chunk imported twice); the run
//! then reads the texts again with the final answer ([`Known`]), so the table is the same
//! either way. Text that quotes cells is read as stored, its ids noted as its reader reads
//! them.

use std::collections::HashSet;

use plock_core::store::StoreError;

use crate::made_up_ids::{Cells, Finder, Unshared};

/// Leaves out the made-up ids no id read before shares the line of, each text read once;
/// [`OnePass::held`] then says whether the texts so read are what [`Known`] makes of them
/// with the final answer.
#[derive(Default)]
pub(crate) struct OnePass {
    finder: Finder,
    /// The fingerprints whose ids were left out of some text.
    left_out: HashSet<u64>,
}

impl OnePass {
    /// Notes `text` and appends it to `out`, the ids unshared so far left out.
    ///
    /// # Errors
    /// [`StoreError::Backend`] for quoted text that is not a block's.
    pub(crate) fn strip_into(&mut self, text: &[u8], out: &mut Vec<u8>) -> Result<(), StoreError> {
        if quoted(text) {
            self.finder.note_text(text)?;
            out.extend_from_slice(text);
            return Ok(());
        }
        let (finder, left_out) = (&mut self.finder, &mut self.left_out);
        let mut last = None;
        strip(text, out, |fingerprint, line| {
            let unshared = finder.note_made_up(fingerprint, line);
            if unshared && last != Some(fingerprint) {
                left_out.insert(fingerprint);
                last = Some(fingerprint);
            }
            unshared
        });
        Ok(())
    }

    /// Whether every id left out is unshared in the end, after the last text.
    pub(crate) fn held(self) -> bool {
        let unshared = self.finder.unshared();
        self.left_out
            .into_iter()
            .all(|fingerprint| unshared.holds(fingerprint))
    }
}

/// Leaves out the made-up ids known to be unshared, from a pass over every text.
pub(crate) struct Known<'a>(pub(crate) &'a Unshared);

impl Known<'_> {
    /// Appends `text` to `out`, the unshared ids left out.
    pub(crate) fn strip_into(&self, text: &[u8], out: &mut Vec<u8>) {
        if quoted(text) {
            out.extend_from_slice(text);
            return;
        }
        strip(text, out, |fingerprint, _| self.0.holds(fingerprint));
    }
}

/// Does `text` quote a cell? Its lines are then not cut at their last comma.
fn quoted(text: &[u8]) -> bool {
    memchr::memchr(b'"', text).is_some()
}

/// Appends unquoted `text` to `out`, each line's made-up id left out (its cell left empty)
/// when `leave_out` says so for its fingerprint and line.
fn strip(text: &[u8], out: &mut Vec<u8>, mut leave_out: impl FnMut(u64, u64) -> bool) {
    out.reserve(text.len());
    let mut cells = Cells::default();
    let mut start = 0usize;
    for end in memchr::memchr_iter(b'\n', text).chain(std::iter::once(text.len())) {
        let Some(line) = text.get(start..end) else {
            break;
        };
        let kept = match cells.made_up(line) {
            Some((fingerprint, number, cell)) if leave_out(fingerprint, number) => {
                line.get(..cell).unwrap_or(line)
            }
            _ => line,
        };
        out.extend_from_slice(kept);
        // The line's end, if it has one.
        out.extend_from_slice(text.get(end..end.saturating_add(1)).unwrap_or_default());
        start = end.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::{Known, OnePass};
    use crate::made_up_ids::Finder;

    fn one_pass(texts: &[&str]) -> (Vec<String>, bool) {
        let mut once = OnePass::default();
        let out = texts
            .iter()
            .map(|text| {
                let mut out = Vec::new();
                once.strip_into(text.as_bytes(), &mut out).unwrap();
                String::from_utf8(out).unwrap()
            })
            .collect();
        (out, once.held())
    }

    #[test]
    fn unshared_ids_are_left_out_in_one_pass() {
        let (out, held) = one_pass(&[
            "a,m,t,1,file-aa-1\na,m,t,2,file-aa-2\na,m,t,3,order-7\n",
            "b,m,t,1,file-bb-1\nb,m,t,1,",
        ]);
        assert!(held);
        assert_eq!(
            out,
            [
                "a,m,t,1,\na,m,t,2,\na,m,t,3,order-7\n",
                "b,m,t,1,\nb,m,t,1,"
            ]
        );
    }

    #[test]
    fn a_line_read_again_makes_the_pass_not_hold() {
        let (out, held) = one_pass(&["a,m,t,1,file-aa-1\n", "a,m,t,1,file-aa-1\n"]);
        assert!(!held);
        assert_eq!(out, ["a,m,t,1,\n", "a,m,t,1,file-aa-1\n"]);
        // Quoted text is read as stored, and its ids count.
        let (out, held) = one_pass(&[
            "a,m,t,1,file-aa-1\n",
            "\"a\",m,2025-01-01T00:00:00Z,1,file-aa-1\n",
        ]);
        assert!(!held);
        assert_eq!(out[1], "\"a\",m,2025-01-01T00:00:00Z,1,file-aa-1\n");
    }

    #[test]
    fn known_ids_are_left_out_of_unquoted_text() {
        let mut finder = Finder::default();
        for text in [
            "a,m,t,1,file-aa-1\nb,m,t,1,file-bb-1\n",
            "b,m,t,1,file-bb-1\n",
        ] {
            finder.note_text(text.as_bytes()).unwrap();
        }
        let unshared = finder.unshared();
        let known = Known(&unshared);
        let mut out = Vec::new();
        known.strip_into(b"a,m,t,1,file-aa-1\nb,m,t,1,file-bb-1\n", &mut out);
        known.strip_into(b"\"a\",m,2025-01-01T00:00:00Z,1,file-aa-1\n", &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a,m,t,1,\nb,m,t,1,file-bb-1\n\"a\",m,2025-01-01T00:00:00Z,1,file-aa-1\n"
        );
    }
}
