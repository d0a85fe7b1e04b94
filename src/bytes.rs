//! Byte-string equality for the short strings the hot loop compares.
//!
//! Claim values, kids and header segments are a few to a few dozen bytes.
//! Comparing them with `==` calls `memcmp`, whose call and setup cost more
//! than the comparison itself (memcmp was 3.7% of a scan of distinct
//! HS256 tokens); up to 32 bytes this compares two overlapping words
//! instead.

/// Whether `a` and `b` hold the same bytes.
#[inline]
pub fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && same_len(a, b)
}

/// [`same`] for slices already known to be of equal length.
#[inline]
fn same_len(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    // The ranges below are in bounds for each length, so every slice
    // converts to its array.
    let u128_at = |s: &[u8], i: usize| s[i..i + 16].try_into().map(u128::from_ne_bytes).ok();
    let u64_at = |s: &[u8], i: usize| s[i..i + 8].try_into().map(u64::from_ne_bytes).ok();
    let u32_at = |s: &[u8], i: usize| s[i..i + 4].try_into().map(u32::from_ne_bytes).ok();
    match n {
        0 => true,
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..=7 => u32_at(a, 0) == u32_at(b, 0) && u32_at(a, n - 4) == u32_at(b, n - 4),
        8..=16 => u64_at(a, 0) == u64_at(b, 0) && u64_at(a, n - 8) == u64_at(b, n - 8),
        17..=32 => u128_at(a, 0) == u128_at(b, 0) && u128_at(a, n - 16) == u128_at(b, n - 16),
        _ => a == b,
    }
}

/// Whether `text` starts with `prefix`.
#[inline]
pub fn starts_with(text: &[u8], prefix: &[u8]) -> bool {
    text.len() >= prefix.len() && same_len(&text[..prefix.len()], prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_eq_at_every_length_and_difference() {
        for len in 0..70usize {
            let a: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            assert!(same(&a, &a.clone()));
            assert!(!same(&a, &a[..len.saturating_sub(1)]) || len == 0);
            for at in 0..len {
                let mut b = a.clone();
                b[at] ^= 0x20;
                assert!(!same(&a, &b), "length {len}, difference at {at}");
                assert!(!starts_with(&b, &a));
            }
            let mut longer = a.clone();
            longer.extend_from_slice(b"tail");
            assert!(starts_with(&longer, &a));
            assert!(!starts_with(&a, &longer));
        }
    }
}
