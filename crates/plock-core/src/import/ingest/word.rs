//! Eight bytes at a time: a chunk's bytes read as little-endian words, and the bit tricks
//! that find digits and field ends in them without a branch per byte.

/// The high bit of every byte of a word, and the low seven bits.
pub(super) const HIGH: u64 = 0x8080_8080_8080_8080;
pub(super) const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
pub(super) const ASCII_ZEROS: u64 = 0x3030_3030_3030_3030;

/// The eight bytes at `at`, little-endian, zero-padded past the end (a zero byte stops every
/// field).
#[inline(always)]
pub(super) fn word(bytes: &[u8], at: usize) -> u64 {
    // One comparison on the common path: a word wholly inside the bytes.
    match bytes.get(at..at.wrapping_add(8)) {
        Some(&[b0, b1, b2, b3, b4, b5, b6, b7]) => {
            u64::from_le_bytes([b0, b1, b2, b3, b4, b5, b6, b7])
        }
        _ => padded_word(bytes, at),
    }
}

/// [`word`] near the end of the bytes.
#[cold]
fn padded_word(bytes: &[u8], at: usize) -> u64 {
    let mut padded = [0u8; 8];
    let rest = bytes.get(at..).unwrap_or_default();
    let rest = rest.get(..8).unwrap_or(rest);
    if let Some(head) = padded.get_mut(..rest.len()) {
        head.copy_from_slice(rest);
    }
    u64::from_le_bytes(padded)
}

/// A byte in every byte of a word.
pub(super) fn splat(b: u8) -> u64 {
    u64::from(b).wrapping_mul(0x0101_0101_0101_0101)
}

/// The high bit of each byte of `w` that cannot be in an id: outside `!`..=`~`, or the
/// separator (`separator`, [`splat`]). Each byte is compared on its own seven low bits, so no
/// carry crosses bytes.
pub(super) fn id_stops(w: u64, separator: u64) -> u64 {
    let low = w & LOW7;
    let from_bang = low.wrapping_add(0x5f5f_5f5f_5f5f_5f5f); // low >= 0x21
    let from_del = low.wrapping_add(0x0101_0101_0101_0101); // low >= 0x7f
    let c = w ^ separator;
    let not_separator = (c & LOW7).wrapping_add(LOW7) | c;
    let ok = from_bang & !from_del & not_separator & !w & HIGH;
    !ok & HIGH
}

/// The low `n` bytes of `w` (all of it from 8).
pub(super) fn low_bytes(w: u64, n: usize) -> u64 {
    let bits = u32::try_from(n).unwrap_or(u32::MAX).saturating_mul(8);
    w & 1u64
        .checked_shl(bits)
        .map_or(u64::MAX, |b| b.wrapping_sub(1))
}

/// Whether the bytes of `w` under `digits` (0xff bytes) are ASCII digits and the others
/// are `punct`'s.
pub(super) fn digits_and(w: u64, digits: u64, punct: u64) -> bool {
    let d = (w ^ ASCII_ZEROS) & digits;
    // A digit is 0..=9 after the xor: no high nibble, and no carry into it adding 6.
    let digits_ok = (d | d.wrapping_add(0x0606_0606_0606_0606 & digits)) & 0xf0f0_f0f0_f0f0_f0f0;
    digits_ok == 0 && w & !digits == punct
}

/// The byte `i` of `w`, as a number.
pub(super) fn byte(w: u64, i: u32) -> u32 {
    (w.wrapping_shr(i.wrapping_mul(8)) & 0xff) as u32
}

/// Two decimal digits at bytes `i`, `i + 1` of a word already xored with ASCII zeros.
pub(super) fn two(d: u64, i: u32) -> u32 {
    byte(d, i)
        .wrapping_mul(10)
        .wrapping_add(byte(d, i.wrapping_add(1)))
}

/// Powers of ten up to 10^18.
pub(super) const POWERS: [u64; 19] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
    10_000_000_000,
    100_000_000_000,
    1_000_000_000_000,
    10_000_000_000_000,
    100_000_000_000_000,
    1_000_000_000_000_000,
    10_000_000_000_000_000,
    100_000_000_000_000_000,
    1_000_000_000_000_000_000,
];

/// The value of the first `n` (1 to 8) bytes of `x`, decimal digits (ASCII xored with
/// zeros), the first the most significant: the digits are moved to the top of the word, the
/// bytes below them (zeros) leading zeros, then combined in pairs, fours and eights
/// (simdjson's eight-digit conversion).
pub(super) fn digit_value(x: u64, n: u32) -> u64 {
    let v = x.wrapping_shl(64u32.wrapping_sub(n.wrapping_mul(8)) & 63);
    let v = (v & 0x0f0f_0f0f_0f0f_0f0f).wrapping_mul(2561) >> 8;
    let v = (v & 0x00ff_00ff_00ff_00ff).wrapping_mul(6_553_601) >> 16;
    (v & 0x0000_ffff_0000_ffff).wrapping_mul(42_949_672_960_001) >> 32
}

/// The high bit of each byte of `x` (ASCII xored with zeros) that is not a digit: a byte is
/// a digit when its value, xored, is below 10, and adding 0x76 to its low seven bits sets the
/// high bit of the others (no carry crosses bytes).
#[inline(always)]
fn non_digits(x: u64) -> u64 {
    ((x & LOW7).wrapping_add(0x7676_7676_7676_7676) | x) & HIGH
}

/// The run of ASCII digits at `start`, eight at a time: its length, and its value when it is
/// at most 19 digits long (a longer run is read no further than its 24th digit). The first
/// two words are loaded together: a run of 9 to 16 digits (epoch times, long quantities)
/// then waits for one load, not two in a row.
#[inline(always)]
pub(super) fn digits_at(bytes: &[u8], start: usize) -> (usize, u64) {
    let x0 = word(bytes, start) ^ ASCII_ZEROS;
    let x1 = word(bytes, start.wrapping_add(8)) ^ ASCII_ZEROS;
    let n0 = non_digits(x0).trailing_zeros() / 8;
    if n0 < 8 {
        let value = if n0 > 0 { digit_value(x0, n0) } else { 0 };
        return (n0 as usize, value);
    }
    let n1 = non_digits(x1).trailing_zeros() / 8;
    let mut value = digit_value(x0, 8);
    if n1 > 0 {
        let scale = POWERS.get(n1 as usize).copied().unwrap_or(1);
        value = value.wrapping_mul(scale).wrapping_add(digit_value(x1, n1));
    }
    let mut len = 8usize.wrapping_add(n1 as usize);
    if n1 < 8 {
        return (len, value);
    }
    loop {
        let x = word(bytes, start.wrapping_add(len)) ^ ASCII_ZEROS;
        let n = non_digits(x).trailing_zeros() / 8;
        if n > 0 {
            let scale = POWERS.get(n as usize).copied().unwrap_or(1);
            value = value.wrapping_mul(scale).wrapping_add(digit_value(x, n));
        }
        len = len.wrapping_add(n as usize);
        if n < 8 || len > 18 {
            return (len, value);
        }
    }
}
