//! Every stored usage record read for a billing run, a check, or a caller: the rows written
//! a batch at a time (`usage`) and the imported blocks (`usage_blocks`). A run's read streams
//! the blocks' text into plock-core's parallel usage reader, made-up ids that no two records
//! share left out of the text ([`crate::id_strip`]): in one pass over the blocks where it
//! can, otherwise after a pass over every stored id; all in the caller's snapshot. A caller's
//! read of records takes each block's lines through plock-core's block reader, which refuses
//! a line that is not a record.

use std::collections::HashMap;
use std::io::Read;

use plock_core::id::RecordId;
use plock_core::import::{UsageBlock, UsageLayout};
use plock_core::store::StoreError;
use plock_core::{AccountBook, AccountKey, MetricId, UsageRecord, UsageTable};
use postgres::GenericClient;

use crate::codec::{Context, backend};
use crate::copy_out::CopyOutRows;
use crate::id_strip::{Known, OnePass};
use crate::made_up_ids::{Finder, Unshared};

/// Every block's text, as it is stored, in PostgreSQL's binary form: no escaping to undo.
const BLOCKS: &str = "COPY (SELECT csv FROM usage_blocks) TO STDOUT (FORMAT binary)";

/// The header of the stream the run's reader reads: the blocks' columns.
const HEADER: &[u8] = b"account_key,metric,timestamp,quantity,record_id\n";

/// Every usage record in a usage table, read in the transaction `client` is in, which must
/// read one snapshot for the passes to agree; every account key must be `book`'s.
///
/// The rows written a batch at a time, as a block's text, then every block's text as the
/// server sends it, are one CSV stream read by plock-core's parallel usage reader (the
/// import's rules; chunks parsed on the threads while the next is received). Made-up ids
/// are left out of the text as it comes ([`OnePass`]); only when a later text shares a line
/// of ids left out (a chunk imported twice) are the blocks read again, after a pass over
/// every id, with the ids known to be unshared ([`Known`]).
///
/// # Errors
/// [`StoreError::Backend`] when the database fails or holds a record the reader refuses.
pub(crate) fn usage_table(
    client: &mut impl GenericClient,
    book: &AccountBook,
) -> Result<UsageTable, StoreError> {
    let rows = crate::usage::rows_text(client)?;
    let mut once = OnePass::default();
    let table = read(client, rows.as_bytes(), book, Strip::AsRead(&mut once))?;
    if once.held() {
        return Ok(table);
    }
    drop(table);
    let unshared = unshared(client, rows.as_bytes())?;
    read(
        client,
        rows.as_bytes(),
        book,
        Strip::Known(Known(&unshared)),
    )
}

/// The made-up ids no two records share, from the rows' text and every block's.
fn unshared(client: &mut impl GenericClient, rows: &[u8]) -> Result<Unshared, StoreError> {
    let mut finder = Finder::default();
    finder.note_text(rows)?;
    let source = client.copy_out(BLOCKS).context("reading usage")?;
    let mut blocks = CopyOutRows::new(std::io::BufReader::with_capacity(1 << 20, source))?;
    while blocks.next_row(1)? {
        let text = blocks
            .field()?
            .ok_or_else(|| backend("a stored usage block without text"))?;
        finder.note_text(text)?;
    }
    Ok(finder.unshared())
}

/// The rows' text, then every block's, read into a usage table, ids left out by `strip`.
fn read(
    client: &mut impl GenericClient,
    rows: &[u8],
    book: &AccountBook,
    mut strip: Strip<'_>,
) -> Result<UsageTable, StoreError> {
    let mut current = HEADER.to_vec();
    strip.strip_into(rows, &mut current)?;
    let source = client.copy_out(BLOCKS).context("reading usage")?;
    let mut stream = Stream {
        blocks: CopyOutRows::new(std::io::BufReader::with_capacity(1 << 20, source))?,
        strip,
        current,
        at: 0,
        failure: None,
    };
    let table = plock_core::import::read_usage(&mut stream, book, &UsageLayout::default());
    if let Some(failure) = stream.failure {
        return Err(failure);
    }
    table.map_err(|e| backend(format!("stored usage is refused by the usage reader: {e}")))
}

/// Which made-up ids a read leaves out.
enum Strip<'a> {
    /// Those unshared so far, each text read once.
    AsRead(&'a mut OnePass),
    /// Those known to be unshared, from a pass before.
    Known(Known<'a>),
}

impl Strip<'_> {
    /// Appends `text` to `out`, ids left out.
    fn strip_into(&mut self, text: &[u8], out: &mut Vec<u8>) -> Result<(), StoreError> {
        match self {
            Strip::AsRead(once) => once.strip_into(text, out),
            Strip::Known(known) => {
                known.strip_into(text, out);
                Ok(())
            }
        }
    }
}

/// The header and the rows' text, then every block's text as the server sends it, as one
/// reader; a failure of the database is kept to be reported as itself.
struct Stream<'a, R> {
    blocks: CopyOutRows<R>,
    strip: Strip<'a>,
    /// The text being read, and how much of it is read.
    current: Vec<u8>,
    at: usize,
    failure: Option<StoreError>,
}

impl<R: Read> Stream<'_, R> {
    /// The next block's text into `current`, ids left out; `false` after the last.
    fn next_block(&mut self) -> Result<bool, StoreError> {
        if !self.blocks.next_row(1)? {
            return Ok(false);
        }
        let text = self
            .blocks
            .field()?
            .ok_or_else(|| backend("a stored usage block without text"))?;
        self.current.clear();
        self.at = 0;
        self.strip.strip_into(text, &mut self.current)?;
        Ok(true)
    }
}

impl<R: Read> Read for Stream<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let rest = self.current.get(self.at..).unwrap_or_default();
            if !rest.is_empty() || buf.is_empty() {
                let n = rest.len().min(buf.len());
                if let (Some(to), Some(from)) = (buf.get_mut(..n), rest.get(..n)) {
                    to.copy_from_slice(from);
                }
                self.at = self.at.saturating_add(n);
                return Ok(n);
            }
            match self.next_block() {
                Ok(true) => {}
                Ok(false) => return Ok(0),
                Err(e) => {
                    let message = e.to_string();
                    self.failure = Some(e);
                    return Err(std::io::Error::other(message));
                }
            }
        }
    }
}

/// The records of the blocks of `keys` (of every key when `None`).
///
/// # Errors
/// [`StoreError::Backend`] when the database fails or holds a line that is not a record.
pub(crate) fn block_records(
    client: &mut impl GenericClient,
    keys: Option<&[&str]>,
) -> Result<Vec<UsageRecord>, StoreError> {
    let rows = client
        .query(
            "SELECT csv, records FROM usage_blocks \
             WHERE $1::text[] IS NULL OR account_key = ANY($1)",
            &[&keys],
        )
        .context("reading usage")?;
    let mut reader = Reader::default();
    let mut out = Vec::new();
    for row in &rows {
        let text: &str = row.try_get(0).context("reading usage")?;
        let records: i32 = row.try_get(1).context("reading usage")?;
        let records = usize::try_from(records).unwrap_or(0);
        out.reserve(records);
        reader.records(text, records, |account, metric, r| {
            let id = r.record_id.map(RecordId::new).transpose();
            let record = UsageRecord::new(
                account.clone(),
                metric.clone(),
                r.timestamp,
                r.quantity,
                id.context("stored usage record id")?,
            )
            .map_err(|e| backend(format!("stored usage of {account} is invalid: {e}")))?;
            out.push(record);
            Ok(())
        })?;
    }
    Ok(out)
}

/// Reads blocks' records, each key and metric validated once.
#[derive(Default)]
struct Reader {
    keys: HashMap<String, AccountKey>,
    metrics: HashMap<String, MetricId>,
}

impl Reader {
    /// Calls `each` with every record of a block's `text` of `records` records, with its key
    /// and metric.
    fn records(
        &mut self,
        text: &str,
        records: usize,
        mut each: impl FnMut(
            &AccountKey,
            &MetricId,
            plock_core::import::BlockRecord<'_>,
        ) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let Reader { keys, metrics } = self;
        UsageBlock::from_stored(text.to_owned(), records, None).for_each_record(|r| {
            let account = match keys.get(r.account) {
                Some(account) => account,
                None => {
                    let account = AccountKey::new(r.account).context("stored usage account key")?;
                    keys.entry(r.account.to_owned()).or_insert(account)
                }
            };
            let metric = match metrics.get(r.metric) {
                Some(metric) => metric,
                None => {
                    let metric = MetricId::new(r.metric).context("stored usage metric")?;
                    metrics.entry(r.metric.to_owned()).or_insert(metric)
                }
            };
            each(account, metric, r)
        })
    }
}
