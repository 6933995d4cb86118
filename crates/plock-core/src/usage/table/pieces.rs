//! Cutting work into consecutive pieces, one for each thread.

/// Where each of consecutive pieces of the given lengths starts.
pub(crate) fn starts(lengths: impl Iterator<Item = usize>) -> Vec<usize> {
    lengths
        .scan(0usize, |at, len| {
            let start = *at;
            *at = at.saturating_add(len);
            Some(start)
        })
        .collect()
}

/// `slice` cut into consecutive pieces of the given lengths (the last ones shorter, or empty,
/// if the lengths add up to more than the slice).
pub(crate) fn split_lengths<T>(
    slice: &mut [T],
    lengths: impl Iterator<Item = usize>,
) -> Vec<&mut [T]> {
    let mut pieces = Vec::with_capacity(lengths.size_hint().0);
    let mut rest = slice;
    for len in lengths {
        let (piece, tail) = rest.split_at_mut(len.min(rest.len()));
        pieces.push(piece);
        rest = tail;
    }
    pieces
}
