//! Splitting input into line-aligned chunks for parallel workers.
//!
//! A chunk ends just after a newline (or at the end of the input), so no
//! line, and so no token, is ever split between two workers. A line longer
//! than the target size makes its chunk longer; it is never cut.

use std::ops::Range;

/// The default chunk size: large enough that per-chunk overhead vanishes,
/// small enough that two workers share a 100 MB file evenly.
pub const DEFAULT_CHUNK: usize = 4 << 20;

/// Splits `data` into ranges of at least `target` bytes (except the last),
/// each ending just after a `\n` or at the end of `data`.
pub fn line_aligned(data: &[u8], target: usize) -> Vec<Range<usize>> {
    let target = target.max(1);
    let mut ranges = Vec::with_capacity(data.len() / target + 1);
    let mut start = 0;
    while start < data.len() {
        let end = next_boundary(data, start + target);
        ranges.push(start..end);
        start = end;
    }
    ranges
}

/// The offset just after the first `\n` at or after `at`, or `data.len()`.
pub fn next_boundary(data: &[u8], at: usize) -> usize {
    if at >= data.len() {
        return data.len();
    }
    match memchr::memchr(b'\n', &data[at..]) {
        Some(i) => at + i + 1,
        None => data.len(),
    }
}

/// The number of lines in a chunk: its newlines, plus one for a final line
/// without a newline.
pub fn count_lines(chunk: &[u8]) -> u64 {
    let newlines = bytecount::count(chunk, b'\n') as u64;
    newlines + u64::from(chunk.last().is_some_and(|&b| b != b'\n'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_everything_and_end_on_lines() {
        let data = b"aaa\nbb\n\ncccccccccc\nd";
        for target in 1..data.len() + 2 {
            let ranges = line_aligned(data, target);
            let mut joined = Vec::new();
            for r in &ranges {
                joined.extend_from_slice(&data[r.clone()]);
                assert!(r.end == data.len() || data[r.end - 1] == b'\n');
            }
            assert_eq!(joined, data);
            let lines: u64 = ranges.iter().map(|r| count_lines(&data[r.clone()])).sum();
            assert_eq!(lines, 5);
        }
        assert!(line_aligned(b"", 4).is_empty());
    }

    #[test]
    fn line_counts() {
        assert_eq!(count_lines(b""), 0);
        assert_eq!(count_lines(b"a"), 1);
        assert_eq!(count_lines(b"a\n"), 1);
        assert_eq!(count_lines(b"a\r\nb"), 2);
        assert_eq!(count_lines(b"\n\n"), 2);
    }
}
