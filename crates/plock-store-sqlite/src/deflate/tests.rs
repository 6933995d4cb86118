#![allow(clippy::indexing_slicing, clippy::unwrap_used)]

use std::io::Read;

use flate2::read::ZlibDecoder;
use proptest::prelude::*;

use super::*;

/// `data`'s stream from `deflater`, read back by flate2's zlib decoder.
fn roundtrip(deflater: &mut Deflater, data: &[u8]) -> Vec<u8> {
    let mut stream = Vec::new();
    deflater.compress(data, &mut stream);
    let mut read = Vec::new();
    let decoded = ZlibDecoder::new(stream.as_slice()).read_to_end(&mut read);
    assert!(decoded.is_ok(), "{decoded:?} for {} bytes", data.len());
    assert_eq!(read.len(), data.len());
    assert!(read == data, "{} bytes read back differently", data.len());
    stream
}

/// Bytes that do not repeat: a xorshift generator's.
fn noise(length: usize, mut state: u64) -> Vec<u8> {
    (0..length)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

/// An invoice's JSON with `lines` lines, as the store writes it.
fn invoice_like(number: u32, lines: u32) -> Vec<u8> {
    let lines: Vec<String> = (0..lines)
        .map(|line| {
            format!(
                r#"{{"product":"{line}","metric":"{}","source_account":"{number}","subscription":"{number}","period":{{"start":"2025-03-01","end":"2025-04-01"}},"quantity":"{}.{:06}","unit_price":"0.002000","amount":{{"amount":"{}.{:02}","currency":"USD"}},"kind":"in_arrears"}}"#,
                line * 7 % 23,
                number.wrapping_mul(2_654_435_761) % 9_999_999,
                line * 104_729 % 1_000_000,
                number % 77_777,
                line % 100
            )
        })
        .collect();
    format!(
        r#"{{"number":{number},"kind":{{"type":"billing"}},"owner":"{number}","currency":"USD","lines":[{}]}}"#,
        lines.join(",")
    )
    .into_bytes()
}

#[test]
fn edge_cases_read_back() {
    let mut deflater = Deflater::new();
    for data in [
        Vec::new(),
        vec![b'a'],
        b"abc".to_vec(),
        b"abcd".to_vec(),
        b"abcdabcd".to_vec(),
        vec![0; 5],
        vec![0; 258 + 4],
        vec![7; 1 << 20],
        b"ab".repeat(100_000),
    ] {
        roundtrip(&mut deflater, &data);
    }
}

#[test]
fn a_long_run_is_short() {
    let stream = roundtrip(&mut Deflater::new(), &vec![b'x'; 1 << 20]);
    // A match of 258 bytes takes 8 + 5 bits for its length and distance codes and at most
    // 13 extra bits: under 4 bytes.
    assert!(stream.len() < (1 << 20) / 258 * 4, "{} bytes", stream.len());
}

#[test]
fn inputs_beyond_the_window_read_back() {
    let mut deflater = Deflater::new();
    // Repeats 40,000 bytes apart (beyond the window) and 30,000 apart (within it).
    let block = noise(40_000, 1);
    roundtrip(&mut deflater, &block.repeat(3));
    let block = noise(30_000, 2);
    let stream = roundtrip(&mut deflater, &block.repeat(4));
    assert!(stream.len() < 60_000, "{} bytes", stream.len());
    let many: Vec<u8> = (1..=300).flat_map(|n| invoice_like(n, 40)).collect();
    assert!(many.len() > 1 << 20);
    roundtrip(&mut deflater, &many);
}

#[test]
fn incompressible_data_reads_back_longer() {
    let data = noise(100_000, 3);
    let stream = roundtrip(&mut Deflater::new(), &data);
    assert!(stream.len() > data.len());
}

#[test]
fn every_length_and_distance_code_reads_back() {
    let mut deflater = Deflater::new();
    for length in [
        3, 4, 5, 10, 11, 12, 13, 18, 19, 34, 35, 66, 67, 130, 131, 257, 258, 259,
    ] {
        for distance in [
            1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 24, 25, 256, 257, 4096, 4097, 32_768,
        ] {
            let head = noise(distance, (length * 40_000 + distance) as u64);
            let mut data = head.clone();
            data.extend(head.iter().cycle().take(length));
            data.extend(noise(8, 9));
            roundtrip(&mut deflater, &data);
        }
    }
}

#[test]
fn adler32_is_zlibs() {
    assert_eq!(adler32(b""), 1);
    assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
    for length in [15, 16, 17, 5535, 5536, 5537, 5552, 20_000] {
        let data = vec![0xFF; length];
        assert_eq!(
            adler32(&data),
            zlib_rs::adler32::adler32(1, &data),
            "{length} bytes"
        );
    }
}

#[test]
fn codes_match_the_rfc() {
    assert_eq!(length_code(3), (257, 0, 0));
    assert_eq!(length_code(10), (264, 0, 0));
    assert_eq!(length_code(11), (265, 0, 1));
    assert_eq!(length_code(12), (265, 1, 1));
    assert_eq!(length_code(227), (284, 0, 5));
    assert_eq!(length_code(257), (284, 30, 5));
    assert_eq!(length_code(258), (285, 0, 0));
    assert_eq!(distance_code(1), (0, 0, 0));
    assert_eq!(distance_code(4), (3, 0, 0));
    assert_eq!(distance_code(5), (4, 0, 1));
    assert_eq!(distance_code(7), (5, 0, 1));
    assert_eq!(distance_code(24_577), (29, 0, 13));
    assert_eq!(distance_code(32_768), (29, 8191, 13));
}

#[test]
fn documents_after_one_another_are_independent() {
    let mut deflater = Deflater::new();
    let first = invoice_like(1, 12);
    roundtrip(&mut deflater, &first);
    // The same document again: the stamps of the first must not be used.
    let again = roundtrip(&mut deflater, &first);
    assert_eq!(again, roundtrip(&mut Deflater::new(), &first));
    // Stamps about to wrap.
    deflater.base = u32::MAX - 100;
    roundtrip(&mut deflater, &invoice_like(2, 30));
    roundtrip(&mut deflater, &invoice_like(2, 30));
}

#[test]
fn invoices_shrink_like_zlib() {
    let mut deflater = Deflater::new();
    let json = invoice_like(12_345, 8);
    let ours = roundtrip(&mut deflater, &json);
    let mut zlib = flate2::Compress::new(flate2::Compression::fast(), true);
    let mut theirs = Vec::with_capacity(json.len());
    let status = zlib.compress_vec(&json, &mut theirs, flate2::FlushCompress::Finish);
    assert!(matches!(status, Ok(flate2::Status::StreamEnd)));
    assert!(
        ours.len() * 10 < theirs.len() * 13,
        "{} against {}",
        ours.len(),
        theirs.len()
    );
}

proptest! {
    #[test]
    fn random_bytes_read_back(
        documents in prop::collection::vec(prop::collection::vec(0u8..4, 0..3000), 1..4),
        noise_bytes in prop::collection::vec(any::<u8>(), 0..3000),
    ) {
        let mut deflater = Deflater::new();
        for data in &documents {
            roundtrip(&mut deflater, data);
        }
        roundtrip(&mut deflater, &noise_bytes);
    }

    #[test]
    fn invoice_json_reads_back(numbers in prop::collection::vec((any::<u32>(), 0u32..60), 1..6)) {
        let mut deflater = Deflater::new();
        for (number, lines) in numbers {
            roundtrip(&mut deflater, &invoice_like(number, lines));
        }
    }
}

/// zlib's level 1 against [`Deflater`] on real invoices, one JSON a line in the file that
/// `PLOCK_INVOICES_JSONL` names (the sqlite3 shell's `sqlar_uncompress` of a billed run's
/// `invoices`), in alternating rounds (`PLOCK_ROUNDS`, 5 unless told): bytes in all and time
/// an invoice.
#[test]
#[ignore = "a measurement on a file of invoices"]
fn measure_on_invoices() {
    let Ok(path) = std::env::var("PLOCK_INVOICES_JSONL") else {
        return;
    };
    let text = std::fs::read(&path).unwrap_or_default();
    let invoices: Vec<&[u8]> = text
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let json: usize = invoices.iter().map(|i| i.len()).sum();
    println!("{} invoices, {json} bytes of JSON", invoices.len());
    let mut zlib = flate2::Compress::new(flate2::Compression::fast(), true);
    let mut deflater = Deflater::new();
    let mut out = Vec::with_capacity(1 << 20);
    let rounds = std::env::var("PLOCK_ROUNDS").map_or(5, |n| n.parse().unwrap_or(5));
    for round in 1..=rounds {
        let start = std::time::Instant::now();
        let mut total = 0;
        for invoice in &invoices {
            zlib.reset();
            out.clear();
            let _ = zlib.compress_vec(invoice, &mut out, flate2::FlushCompress::Finish);
            total += out.len();
        }
        let zlib_time = start.elapsed();
        let zlib_total = total;
        let start = std::time::Instant::now();
        total = 0;
        for invoice in &invoices {
            out.clear();
            deflater.compress(invoice, &mut out);
            total += out.len();
        }
        let ours = start.elapsed();
        let each = |t: std::time::Duration| t.as_nanos() / invoices.len().max(1) as u128;
        println!(
            "round {round}: zlib-rs level 1 {zlib_total} bytes {} ns an invoice; deflate {total} bytes {} ns an invoice",
            each(zlib_time),
            each(ours)
        );
    }
    for invoice in invoices.iter().step_by(97) {
        roundtrip(&mut deflater, invoice);
    }
}
