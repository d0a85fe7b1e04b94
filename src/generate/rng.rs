//! Named, seeded random streams.
//!
//! Every random choice the generator makes comes from a stream derived from
//! the run's seed, a label saying what the stream is for, and an index (a
//! token number, say). Streams never share state, so the order in which
//! rayon workers run cannot change a single byte of the output.

use rand_chacha::{ChaCha20Rng, ChaCha8Rng};
use rand_core::{RngCore, SeedableRng};
use sha2::{Digest, Sha256};

/// Derives the 32-byte seed of stream `label`/`index` of run `seed`.
pub(crate) fn stream_seed(seed: u64, label: &str, index: u64) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(b"jwtsweep generate\0");
    hash.update(label.as_bytes());
    hash.update([0]);
    hash.update(seed.to_le_bytes());
    hash.update(index.to_le_bytes());
    hash.finalize().into()
}

/// A cryptographically strong stream, for keys and signatures.
pub(crate) fn key_stream(seed: u64, label: &str, index: u64) -> ChaCha20Rng {
    ChaCha20Rng::from_seed(stream_seed(seed, label, index))
}

/// A fast stream, for the shape of the log (ips, paths, carriers, times).
pub(crate) fn stream(seed: u64, label: &str, index: u64) -> ChaCha8Rng {
    ChaCha8Rng::from_seed(stream_seed(seed, label, index))
}

/// A uniform integer in `0..n` (0 when `n` is 0).
///
/// Multiply-shift rather than rejection: the bias is below 2^-32 for the
/// small ranges used here, and every draw consumes exactly one word.
pub(crate) fn below(rng: &mut impl RngCore, n: u64) -> u64 {
    ((u128::from(rng.next_u64()) * u128::from(n)) >> 64) as u64
}

/// A uniform index into a slice of length `n` (0 when `n` is 0).
pub(crate) fn index(rng: &mut impl RngCore, n: usize) -> usize {
    below(rng, n as u64) as usize
}

/// A uniform element of a non-empty slice.
pub(crate) fn pick<'a, T>(rng: &mut impl RngCore, items: &'a [T]) -> &'a T {
    &items[index(rng, items.len())]
}

/// True with probability `p`; exactly never for 0.0 and always for 1.0.
pub(crate) fn chance(rng: &mut impl RngCore, p: f64) -> bool {
    let unit = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    unit < p
}

/// Shuffles `items` in place (Fisher–Yates).
pub(crate) fn shuffle<T>(rng: &mut impl RngCore, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        let j = index(rng, i + 1);
        items.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_depend_on_every_input() {
        let base = stream_seed(1, "a", 0);
        assert_eq!(base, stream_seed(1, "a", 0));
        assert_ne!(base, stream_seed(2, "a", 0));
        assert_ne!(base, stream_seed(1, "b", 0));
        assert_ne!(base, stream_seed(1, "a", 1));
    }

    #[test]
    fn draws_stay_in_range() {
        let mut rng = stream(7, "test", 0);
        for n in [1u64, 2, 3, 10, 1000] {
            for _ in 0..100 {
                assert!(below(&mut rng, n) < n);
            }
        }
        assert_eq!(below(&mut rng, 0), 0);
        assert!(!chance(&mut rng, 0.0));
        assert!(chance(&mut rng, 1.0));
    }

    #[test]
    fn shuffle_permutes() {
        let mut rng = stream(7, "test", 1);
        let mut items: Vec<u32> = (0..50).collect();
        shuffle(&mut rng, &mut items);
        let mut sorted = items.clone();
        sorted.sort();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        assert_ne!(items, sorted);
    }
}
