//! HMAC-SHA-256/384/512 (RFC 2104) on `sha2`'s compression functions,
//! with each key's padded blocks hashed once.
//!
//! A prepared key keeps the hash state after its inner and its outer pad
//! block. Checking a tag then costs the compressions of the message and
//! one of the inner digest: nothing is copied but the last partial block,
//! the message is compressed where it lies (in the mapped log), and no
//! context is set up per call. `sha2` picks the SHA extensions at run time
//! where the CPU has them.
//!
//! Measured on this project's 2-core machines (bare verify with a
//! prepared key, one core, side by side in one run, 2026-12-04): a
//! 255-byte signing input 4.48M/s here against 2.90M/s for `ring::hmac`;
//! 476 bytes 3.01M/s against 2.24M/s. `ring` spends the difference
//! copying and finishing its generic digest contexts. The Wycheproof HMAC
//! vectors (tests/vectors) and a comparison with `ring` below hold it to
//! the same answers. On the Intel Xeon machines of the fourth pass
//! (BENCHMARKS.md) the bench's tokens verify at 4.74M/s here against
//! 3.12M/s for `ring`.
//!
//! Tried and not kept: checking the distinct HS256 tokens of a block of
//! lines together, their tags four at a time on the SHA extensions (the
//! cracker's interleaved rounds, `sweep/crack/shani.rs`), each check then
//! taking its tag from a memo. On the Intel Xeon four lanes gave no more
//! than one (216-221 ns against 223-230 ns a tag, 235-byte input), so
//! `sha256rnds2` is not waiting on its latency there, and the pass that
//! gathers the block's tags (a second cache lookup, split and header read
//! per token) made the no-reuse scan slower: 865-892k against 965-997k
//! tok/s. On the AMD EPYC, where the cracker's four lanes ran 2.3× one,
//! it might pay; the gathering pass would then have to share its lookups
//! with the scan loop instead of repeating them.

use std::fmt;

// `sha2` 0.10 takes its blocks as generic-array 0.14 arrays, which that
// crate now marks deprecated in favour of its 1.x; nothing else here uses
// them.
#[allow(deprecated)]
use sha2::digest::generic_array::GenericArray;
use sha2::digest::typenum::{U128, U64};
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::alg::Alg;

const SHA256_IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

const SHA384_IV: [u64; 8] = [
    0xcbbb_9d5d_c105_9ed8,
    0x629a_292a_367c_d507,
    0x9159_015a_3070_dd17,
    0x152f_ecd8_f70e_5939,
    0x6733_2667_ffc0_0b31,
    0x8eb4_4a87_6858_1511,
    0xdb0c_2e0d_64f9_8fa7,
    0x47b5_481d_befa_4fa4,
];

const SHA512_IV: [u64; 8] = [
    0x6a09_e667_f3bc_c908,
    0xbb67_ae85_84ca_a73b,
    0x3c6e_f372_fe94_f82b,
    0xa54f_f53a_5f1d_36f1,
    0x510e_527f_ade6_82d1,
    0x9b05_688c_2b3e_6c1f,
    0x1f83_d9ab_fb41_bd6b,
    0x5be0_cd19_137e_2179,
];

/// One SHA-2 width: its word, block and state, and how to compress.
trait Width {
    /// `u32` for SHA-256, `u64` for SHA-384/512.
    type Word: Copy;
    /// Bytes per block.
    const BLOCK: usize;
    /// Bytes of the length field that ends the padding.
    const LENGTH: usize;
    /// Compresses whole blocks into `state`.
    fn compress(state: &mut [Self::Word; 8], blocks: &[u8]);
    /// `state` as big-endian bytes into `out`.
    fn write(state: &[Self::Word; 8], out: &mut [u8]);
}

#[derive(Clone)]
struct W256;
#[derive(Clone)]
struct W512;

impl Width for W256 {
    type Word = u32;
    const BLOCK: usize = 64;
    const LENGTH: usize = 8;

    #[allow(deprecated)]
    fn compress(state: &mut [u32; 8], blocks: &[u8]) {
        debug_assert_eq!(blocks.len() % 64, 0);
        // SAFETY: `GenericArray<u8, U64>` is a `[u8; 64]` (same size and
        // alignment 1), and `blocks` holds `len / 64` of them.
        let blocks: &[GenericArray<u8, U64>] =
            unsafe { std::slice::from_raw_parts(blocks.as_ptr().cast(), blocks.len() / 64) };
        sha2::compress256(state, blocks);
    }

    fn write(state: &[u32; 8], out: &mut [u8]) {
        for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
    }
}

impl Width for W512 {
    type Word = u64;
    const BLOCK: usize = 128;
    const LENGTH: usize = 16;

    #[allow(deprecated)]
    fn compress(state: &mut [u64; 8], blocks: &[u8]) {
        debug_assert_eq!(blocks.len() % 128, 0);
        // SAFETY: as above, with 128-byte blocks.
        let blocks: &[GenericArray<u8, U128>] =
            unsafe { std::slice::from_raw_parts(blocks.as_ptr().cast(), blocks.len() / 128) };
        sha2::compress512(state, blocks);
    }

    fn write(state: &[u64; 8], out: &mut [u8]) {
        for (chunk, word) in out.chunks_exact_mut(8).zip(state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
    }
}

/// The states after a key's inner and outer pad blocks.
#[derive(Clone)]
struct Pads<W: Width> {
    inner: [W::Word; 8],
    outer: [W::Word; 8],
}

impl<W: Width> Pads<W> {
    /// `key` must already be at most a block long.
    fn new(iv: [W::Word; 8], key: &[u8]) -> Pads<W> {
        let mut inner_block = [0x36u8; 128];
        let mut outer_block = [0x5cu8; 128];
        for (i, &b) in key.iter().enumerate() {
            inner_block[i] ^= b;
            outer_block[i] ^= b;
        }
        let (mut inner, mut outer) = (iv, iv);
        W::compress(&mut inner, &inner_block[..W::BLOCK]);
        W::compress(&mut outer, &outer_block[..W::BLOCK]);
        Pads { inner, outer }
    }

    /// The MAC of `message`, `len` bytes of it into `out`.
    fn mac(&self, message: &[u8], len: usize, out: &mut [u8; 64]) {
        // inner: the whole blocks where they lie, then the padded rest
        let mut state = self.inner;
        let whole = message.len() / W::BLOCK * W::BLOCK;
        W::compress(&mut state, &message[..whole]);
        let rest = &message[whole..];
        let mut tail = [0u8; 256];
        tail[..rest.len()].copy_from_slice(rest);
        tail[rest.len()] = 0x80;
        let blocks = if rest.len() + 1 + W::LENGTH <= W::BLOCK {
            1
        } else {
            2
        };
        let end = blocks * W::BLOCK;
        let bits = ((W::BLOCK as u128 + message.len() as u128) * 8).to_be_bytes();
        tail[end - W::LENGTH..end].copy_from_slice(&bits[16 - W::LENGTH..]);
        W::compress(&mut state, &tail[..end]);

        // outer: the inner digest, padded, in one block
        let mut block = [0u8; 128];
        W::write(&state, &mut block[..64]);
        block[len..].fill(0);
        block[len] = 0x80;
        let bits = ((W::BLOCK as u128 + len as u128) * 8).to_be_bytes();
        block[W::BLOCK - W::LENGTH..W::BLOCK].copy_from_slice(&bits[16 - W::LENGTH..]);
        let mut state = self.outer;
        W::compress(&mut state, &block[..W::BLOCK]);
        W::write(&state, &mut out[..]);
    }
}

/// A secret prepared for HS256, HS384 and HS512.
#[derive(Clone)]
pub struct HmacKey {
    hs256: Pads<W256>,
    hs384: Pads<W512>,
    hs512: Pads<W512>,
}

impl fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material.
        f.write_str("HmacKey(..)")
    }
}

impl HmacKey {
    /// Hashes the pads of `secret` for each width; a secret longer than a
    /// block is hashed first, as RFC 2104 says.
    pub fn new(secret: &[u8]) -> HmacKey {
        let short256 = (secret.len() > 64).then(|| Sha256::digest(secret).to_vec());
        let short384 = (secret.len() > 128).then(|| Sha384::digest(secret).to_vec());
        let short512 = (secret.len() > 128).then(|| Sha512::digest(secret).to_vec());
        HmacKey {
            hs256: Pads::new(SHA256_IV, short256.as_deref().unwrap_or(secret)),
            hs384: Pads::new(SHA384_IV, short384.as_deref().unwrap_or(secret)),
            hs512: Pads::new(SHA512_IV, short512.as_deref().unwrap_or(secret)),
        }
    }

    /// The tag of `message` under `alg` (an HS alg; HS512 for any other):
    /// the buffer and how many of its bytes are the tag.
    pub fn sign(&self, alg: Alg, message: &[u8]) -> ([u8; 64], usize) {
        let mut out = [0u8; 64];
        let len = match alg {
            Alg::Hs256 => {
                self.hs256.mac(message, 32, &mut out);
                32
            }
            Alg::Hs384 => {
                // SHA-384 is SHA-512 from its own IV, cut to 48 bytes.
                self.hs384.mac(message, 48, &mut out);
                48
            }
            _ => {
                self.hs512.mac(message, 64, &mut out);
                64
            }
        };
        (out, len)
    }

    /// Whether `tag` is the tag of `message` under `alg`, compared in
    /// constant time.
    pub fn verify(&self, alg: Alg, message: &[u8], tag: &[u8]) -> bool {
        let (out, len) = self.sign(alg, message);
        tag.len() == len && constant_time_eq(&out[..len], tag)
    }
}

/// Equal slices of equal length, in time that does not depend on where
/// they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_ring_at_every_length_and_key_size() {
        let algs = [
            (Alg::Hs256, ring::hmac::HMAC_SHA256),
            (Alg::Hs384, ring::hmac::HMAC_SHA384),
            (Alg::Hs512, ring::hmac::HMAC_SHA512),
        ];
        for key_len in [0, 1, 32, 63, 64, 65, 127, 128, 129, 300] {
            let secret: Vec<u8> = (0..key_len).map(|i| (i * 31 + 7) as u8).collect();
            let ours = HmacKey::new(&secret);
            for len in 0..300 {
                let message: Vec<u8> = (0..len).map(|i| (i * 13 + key_len) as u8).collect();
                for (alg, theirs) in algs {
                    let want = ring::hmac::sign(&ring::hmac::Key::new(theirs, &secret), &message);
                    let (got, n) = ours.sign(alg, &message);
                    assert_eq!(
                        &got[..n],
                        want.as_ref(),
                        "{alg} key {key_len} message {len}"
                    );
                    assert!(ours.verify(alg, &message, want.as_ref()));
                    let mut bad = want.as_ref().to_vec();
                    bad[n - 1] ^= 1;
                    assert!(!ours.verify(alg, &message, &bad));
                    assert!(!ours.verify(alg, &message, &want.as_ref()[..n - 1]));
                }
            }
        }
    }
}
