//! A usage file's plain lines read a batch ahead: the next batch is read and cut into chunks
//! on a thread of its own while the rayon pool checks the chunks of the one before, so the
//! pool does not wait for the file between batches.

use std::io::Read;
use std::sync::mpsc::{Receiver, sync_channel};
use std::thread::JoinHandle;

use super::lines::{Batch, Lines};

/// What the reading thread hands on: [`Lines::next_batch`]'s answers, in order.
type Answer = std::io::Result<Option<Batch>>;

/// [`Lines`], read one batch ahead of the caller.
pub(crate) struct Ahead<R> {
    batches: Receiver<Answer>,
    reader: JoinHandle<Lines<R>>,
}

impl<R: Read + Send + 'static> Ahead<R> {
    /// Starts reading `lines` on a thread of its own.
    pub(crate) fn new(mut lines: Lines<R>) -> Ahead<R> {
        // One batch waits while the caller checks another: two batches' bytes at most.
        let (sender, batches) = sync_channel(1);
        let reader = std::thread::spawn(move || {
            loop {
                let answer = lines.next_batch();
                // Plain rows go on; the end, a failure or the CSV reader's rest stop here.
                let more = matches!(answer, Ok(Some(Batch::Rows { .. })));
                if sender.send(answer).is_err() || !more {
                    return lines;
                }
            }
        });
        Ahead { batches, reader }
    }

    /// The next batch, as [`Lines::next_batch`] gives it.
    ///
    /// # Errors
    /// The input's failure, or the reading thread's.
    pub(crate) fn next_batch(&mut self) -> Answer {
        self.batches.recv().map_err(|_| stopped())?
    }

    /// The input, once [`Ahead::next_batch`] gave a [`Batch::Csv`].
    ///
    /// # Errors
    /// The reading thread's failure.
    pub(crate) fn into_input(self) -> std::io::Result<R> {
        drop(self.batches);
        let lines = self.reader.join().map_err(|_| stopped())?;
        Ok(lines.into_input())
    }
}

fn stopped() -> std::io::Error {
    std::io::Error::other("the reading thread stopped")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::usage_file::lines::CHUNK_ROWS;
    use std::io::Read;

    #[test]
    fn batches_come_in_order_and_the_csv_readers_rest_keeps_the_input() {
        // More rows than a batch's bytes hold, so that batches are read ahead.
        let rows = "k,m,t,1\n".repeat(3_000_000);
        let text = format!("{rows}\"quoted\",m,t,1\nafter\n");
        let mut ahead = Ahead::new(Lines::new(
            std::io::Cursor::new(text.into_bytes()),
            2,
            CHUNK_ROWS,
        ));
        let mut seen = 0;
        let (mut rest, line) = loop {
            match ahead.next_batch().unwrap() {
                Some(Batch::Rows { chunks, .. }) => {
                    for chunk in chunks {
                        assert_eq!(chunk.first().map(|(line, _)| *line), Some(2 + seen));
                        seen += chunk.len() as u64;
                    }
                }
                Some(Batch::Csv { bytes, line }) => break (bytes, line),
                None => panic!("the quoted line was not handed to the CSV reader"),
            }
        };
        assert!(seen > 0, "no batch of plain rows came first");
        assert_eq!(line, 2 + seen);
        ahead.into_input().unwrap().read_to_end(&mut rest).unwrap();
        let expected = 3_000_000 - seen as usize;
        assert_eq!(rest.len(), expected * 8 + "\"quoted\",m,t,1\nafter\n".len());
        assert!(rest.ends_with(b"\"quoted\",m,t,1\nafter\n"));
    }
}
