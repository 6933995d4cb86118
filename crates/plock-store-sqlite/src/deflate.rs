//! A zlib stream (RFC 1950 around RFC 1951's deflate) for many small documents, one after
//! another, without clearing anything between them.
//!
//! zlib's compressors clear a table of 65,536 hash heads (128 KB) at every reset, which for an
//! invoice of 1.7 KB costs more than compressing it. Here the table holds, for each hash of
//! four bytes, a stamp: the position where those bytes were last seen, counted across all
//! documents (each document's positions start where the previous one's ended). A stamp is
//! usable only when it lies in the current document and within the window; any other is
//! ignored, so nothing is cleared. Stamps wrap at 2^32 bytes: an old stamp may then look
//! recent, but every candidate is compared byte for byte before it is used, so a stale stamp
//! costs one comparison and never makes a wrong stream.
//!
//! Matches are greedy (the first candidate, extended as far as it goes), and the data is one
//! block of deflate's fixed Huffman codes, as zlib's fastest level writes them: a fixed block
//! has no length limit, so a document of any length is one block. The ratio is close to
//! zlib's level 1 on JSON; on data that does not repeat the stream is longer than the data,
//! which the caller keeps as it is.

/// Deflate's window: the farthest a match may look back.
const WINDOW: usize = 32 * 1024;

/// The longest match deflate can say.
const MAX_MATCH: usize = 258;

/// The shortest match looked for: the four bytes the hash covers.
const MIN_MATCH: usize = 4;

/// The hash table's size, as a power of two: 2^14 stamps (64 KB), enough for an invoice's
/// repeats and small beside the caches.
const HASH_BITS: u32 = 14;

/// The zlib header: deflate with a 32 KiB window, the fastest level, no dictionary.
const HEADER: [u8; 2] = [0x78, 0x01];

/// A compressor kept for many documents: its table of stamps is made once.
pub(crate) struct Deflater {
    /// For each hash, the stamp of the last position hashed there.
    heads: Vec<u32>,
    /// The stamp of the current document's first byte.
    base: u32,
}

impl Deflater {
    pub(crate) fn new() -> Deflater {
        Deflater {
            heads: vec![0; 1 << HASH_BITS],
            base: 0,
        }
    }

    /// A compressor whose first document starts at stamp `base`, so a test meets stamps that
    /// wrap.
    #[cfg(any(test, feature = "fuzz-support"))]
    pub(crate) fn starting_at(base: u32) -> Deflater {
        Deflater {
            base,
            ..Deflater::new()
        }
    }

    /// Appends `data`'s zlib stream to `out`.
    pub(crate) fn compress(&mut self, data: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(&HEADER);
        let mut bits = Bits::new(out);
        // BFINAL, then BTYPE 01 (fixed Huffman codes).
        bits.put(0b011, 3);
        self.matches(data, &mut bits);
        bits.put_symbol(END_OF_BLOCK);
        bits.finish();
        out.extend_from_slice(&adler32(data).to_be_bytes());
        // Positions are stamped modulo 2^32 (see the module's note on wrapping).
        self.base = self.base.wrapping_add(data.len() as u32);
    }

    /// `data` as literals and matches, greedily.
    fn matches(&mut self, data: &[u8], bits: &mut Bits<'_>) {
        let mut pos = 0;
        let mut literals = 0;
        while let Some(word) = word_at(data, pos) {
            let stamp = self.base.wrapping_add(pos as u32);
            let slot = hash(word);
            let last = self.heads.get(slot).copied().unwrap_or(stamp);
            if let Some(head) = self.heads.get_mut(slot) {
                *head = stamp;
            }
            let distance = stamp.wrapping_sub(last) as usize;
            let length = if distance == 0 || distance > WINDOW || distance > pos {
                0
            } else {
                match_length(data, pos - distance, pos)
            };
            if length < MIN_MATCH {
                pos += 1;
                continue;
            }
            bits.put_literals(data.get(literals..pos).unwrap_or_default());
            bits.put_match(length, distance);
            pos += length;
            literals = pos;
        }
        bits.put_literals(data.get(literals..).unwrap_or_default());
    }
}

/// The four bytes at `pos`, if there are four.
fn word_at(data: &[u8], pos: usize) -> Option<u32> {
    let bytes = data.get(pos..pos.checked_add(4)?)?;
    Some(u32::from_le_bytes(bytes.try_into().ok()?))
}

/// A slot of the table for four bytes (Fibonacci hashing: the product's top bits).
fn hash(word: u32) -> usize {
    (word.wrapping_mul(0x9E37_79B1) >> (32 - HASH_BITS)) as usize
}

/// How many bytes from `at` repeat those from `from` (`from < at`), at most [`MAX_MATCH`]:
/// eight bytes compared at a time.
fn match_length(data: &[u8], from: usize, at: usize) -> usize {
    let (Some(earlier), Some(later)) = (data.get(from..), data.get(at..)) else {
        return 0;
    };
    let limit = later.len().min(MAX_MATCH);
    let mut length = 0;
    for (a, b) in earlier.chunks_exact(8).zip(later.chunks_exact(8)) {
        let (Ok(a), Ok(b)) = (<[u8; 8]>::try_from(a), <[u8; 8]>::try_from(b)) else {
            break;
        };
        let differ = u64::from_le_bytes(a) ^ u64::from_le_bytes(b);
        if differ != 0 {
            length += (differ.trailing_zeros() / 8) as usize;
            return length.min(limit);
        }
        length += 8;
        if length >= limit {
            return limit;
        }
    }
    let tail = earlier
        .iter()
        .zip(later)
        .skip(length)
        .take_while(|(a, b)| a == b)
        .count();
    (length + tail).min(limit)
}

/// The Adler-32 of `data` (RFC 1950, 8.2), sixteen bytes at a time: the second sum gains the
/// first sixteen times and each byte weighted by how many of the sixteen it precedes, which
/// the compiler makes vector code of.
fn adler32(data: &[u8]) -> u32 {
    const MODULUS: u32 = 65_521;
    // The most bytes whose sums cannot overflow before they are reduced (zlib's NMAX),
    // rounded down to whole chunks.
    const BLOCK: usize = 5552 / 16 * 16;
    let (mut first, mut second) = (1u32, 0u32);
    for block in data.chunks(BLOCK) {
        let mut chunks = block.chunks_exact(16);
        for chunk in &mut chunks {
            let mut sum = 0u32;
            let mut weighted = 0u32;
            for (byte, weight) in chunk.iter().zip((1..=16u32).rev()) {
                sum += u32::from(*byte);
                weighted += weight * u32::from(*byte);
            }
            second += 16 * first + weighted;
            first += sum;
        }
        for byte in chunks.remainder() {
            first += u32::from(*byte);
            second += first;
        }
        first %= MODULUS;
        second %= MODULUS;
    }
    (second << 16) | first
}

/// The symbol that ends a block.
const END_OF_BLOCK: usize = 256;

/// Deflate's fixed literal/length code for each of its 288 symbols: the code's bits reversed
/// (deflate sends Huffman codes from their top bit, into a stream filled from the bottom) and
/// its length.
const FIXED_CODES: [(u16, u8); 288] = fixed_codes();

// Evaluated at compile time: an index out of bounds would stop the build, never a run.
#[allow(clippy::indexing_slicing)]
const fn fixed_codes() -> [(u16, u8); 288] {
    let mut codes = [(0u16, 0u8); 288];
    let mut symbol = 0;
    while symbol < 288 {
        // RFC 1951, 3.2.6.
        let (code, length) = match symbol {
            0..=143 => (0x30 + symbol, 8),
            144..=255 => (0x190 + symbol - 144, 9),
            256..=279 => (symbol - 256, 7),
            _ => (0xC0 + symbol - 280, 8),
        };
        codes[symbol] = (reverse(code as u16, length), length);
        symbol += 1;
    }
    codes
}

/// `code`'s low `length` bits in reverse order.
const fn reverse(code: u16, length: u8) -> u16 {
    code.reverse_bits() >> (16 - length as u32)
}

/// Bits written from each byte's lowest, as deflate packs them, into `out`.
struct Bits<'a> {
    out: &'a mut Vec<u8>,
    /// Bits not yet written, from the lowest.
    pending: u64,
    /// How many of `pending`'s bits count: under 32 between calls.
    count: u32,
}

impl<'a> Bits<'a> {
    fn new(out: &'a mut Vec<u8>) -> Bits<'a> {
        Bits {
            out,
            pending: 0,
            count: 0,
        }
    }

    /// The `count` low bits of `value` (at most 32).
    fn put(&mut self, value: u32, count: u32) {
        self.pending |= u64::from(value) << self.count;
        self.count += count;
        if self.count >= 32 {
            self.out
                .extend_from_slice(&(self.pending as u32).to_le_bytes());
            self.pending >>= 32;
            self.count -= 32;
        }
    }

    /// A literal/length symbol's fixed code.
    fn put_symbol(&mut self, symbol: usize) {
        let (code, length) = FIXED_CODES.get(symbol).copied().unwrap_or_default();
        self.put(u32::from(code), u32::from(length));
    }

    fn put_literals(&mut self, literals: &[u8]) {
        for &byte in literals {
            self.put_symbol(usize::from(byte));
        }
    }

    /// A match of `length` (3 to 258) bytes `distance` (1 to 32,768) back: its length's
    /// symbol and extra bits, then its distance's 5-bit code and extra bits (RFC 1951,
    /// 3.2.5), at most 31 bits in all.
    fn put_match(&mut self, length: usize, distance: usize) {
        let (symbol, extra, extra_bits) = length_code(length);
        let (code, code_bits) = FIXED_CODES.get(symbol).copied().unwrap_or_default();
        let (distance_code, distance_extra, distance_extra_bits) = distance_code(distance);
        let distance_code = u32::from(reverse(distance_code as u16, 5));
        let mut value = u32::from(code);
        let mut bits = u32::from(code_bits);
        value |= extra << bits;
        bits += extra_bits;
        value |= distance_code << bits;
        bits += 5;
        value |= distance_extra << bits;
        bits += distance_extra_bits;
        self.put(value, bits);
    }

    /// Pads the last byte with zeros and writes what is pending.
    fn finish(self) {
        let bytes = self.count.div_ceil(8) as usize;
        let pending = self.pending.to_le_bytes();
        self.out
            .extend_from_slice(pending.get(..bytes).unwrap_or_default());
    }
}

/// A match length's symbol, its extra bits' value and their count (RFC 1951, 3.2.5).
fn length_code(length: usize) -> (usize, u32, u32) {
    let above = (length.clamp(3, MAX_MATCH) - 3) as u32;
    if above < 8 {
        return (257 + above as usize, 0, 0);
    }
    if above == 255 {
        return (285, 0, 0);
    }
    let top = 31 - above.leading_zeros();
    let extra_bits = top - 2;
    let symbol = 257 + 4 * (top - 1) + ((above >> extra_bits) & 3);
    (symbol as usize, above & ((1 << extra_bits) - 1), extra_bits)
}

/// A distance's code, its extra bits' value and their count (RFC 1951, 3.2.5).
fn distance_code(distance: usize) -> (u32, u32, u32) {
    let above = (distance.clamp(1, WINDOW) - 1) as u32;
    if above < 4 {
        return (above, 0, 0);
    }
    let top = 31 - above.leading_zeros();
    let extra_bits = top - 1;
    let code = 2 * top + ((above >> extra_bits) & 1);
    (code, above & ((1 << extra_bits) - 1), extra_bits)
}

#[cfg(test)]
#[path = "deflate/tests.rs"]
mod tests;
