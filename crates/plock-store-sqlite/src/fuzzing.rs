//! Entry points for the fuzz targets in `fuzz/`, shared with the tests that replay their
//! corpora on the stable toolchain.

use std::io::Read;

use flate2::read::ZlibDecoder;

use crate::deflate::Deflater;

/// Streams of [`Deflater`] read back by flate2's zlib decoder as the bytes they were made
/// from, or a panic. The first four bytes are the stamp the first document starts at (so
/// stamps wrap within a few documents); the fifth is a separator splitting the rest into
/// documents, compressed one after another by one `Deflater`.
pub fn deflate_roundtrip(data: &[u8]) {
    let Some((start, rest)) = data.split_first_chunk::<4>() else {
        return;
    };
    let Some((separator, rest)) = rest.split_first() else {
        return;
    };
    let mut deflater = Deflater::starting_at(u32::from_le_bytes(*start));
    let mut stream = Vec::new();
    let mut read = Vec::new();
    for document in rest.split(|byte| byte == separator) {
        stream.clear();
        read.clear();
        deflater.compress(document, &mut stream);
        let decoded = ZlibDecoder::new(stream.as_slice()).read_to_end(&mut read);
        assert!(
            decoded.is_ok() && read == document,
            "a stream of {} bytes reads back as {decoded:?}, {} bytes",
            document.len(),
            read.len()
        );
    }
}
