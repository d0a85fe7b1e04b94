//! HMAC over `sha2`'s block functions, with both pads hashed once per
//! candidate: the portable engine, for every HS algorithm.
//!
//! A candidate's pads are two hash cores that have absorbed the key XOR
//! ipad and the key XOR opad (RFC 2104 §2). A token's signing input is cut
//! once into whole blocks and a tail, so testing a candidate against a
//! token is a clone of each core, the blocks, and two finalisations: no
//! allocation and no key schedule.
//!
//! Known shortcoming: HS384 and HS512 always run here, at about a tenth
//! of HS256's speed on the SHA extensions (0.85M against 11.8M pairs per
//! second per core for the generator's tokens), because x86 CPUs before
//! the SHA-512 extensions have no instructions for SHA-512. It is
//! tolerable because HS256 is by far the common case; a four-lane AVX2
//! engine like `shani.rs` would gain perhaps 2–3×. Reusing each token's
//! message schedule alone (scalar rounds on precomputed W + K) measured
//! 4.7M blocks/s against `sha2`'s 3.9M/s: 1.15× overall, not worth it.

use sha2::digest::core_api::{Block, Buffer, UpdateCore, VariableOutputCore};
use sha2::digest::Output;
use sha2::{Sha256VarCore, Sha512VarCore};

use super::{key_block, Hasher, Target};
use crate::alg::Alg;

/// The SHA-256 core, for HS256.
pub(super) type Sha256Core = Sha256VarCore;
/// The SHA-512 core, for HS384 (with SHA-384's initial values and a
/// truncated output) and HS512.
pub(super) type Sha512Core = Sha512VarCore;

/// What HMAC needs of a hash core: `sha2`'s two cores, named concretely
/// (a bound over `digest`'s traits drags in type-level block sizes).
pub(super) trait Core: Clone + Send + Sync {
    /// Block size in bytes.
    const BLOCK: usize;
    /// Whole blocks, in the core's own type.
    type Blocks: Send + Sync;

    /// A fresh core for an output of `len` bytes (32, 48 or 64).
    fn fresh(len: usize) -> Self;
    /// Whole blocks from bytes whose length is a multiple of the block.
    fn blocks(bytes: &[u8]) -> Self::Blocks;
    /// Absorbs whole blocks.
    fn absorb(&mut self, blocks: &Self::Blocks);
    /// Pads and finishes with `tail` (shorter than a block); returns the
    /// digest's first `len` bytes in `out`.
    fn finish(&mut self, tail: &[u8], out: &mut [u8; 64]);
}

macro_rules! core {
    ($core:ty, $block:literal) => {
        impl Core for $core {
            const BLOCK: usize = $block;
            type Blocks = Vec<Block<$core>>;

            fn fresh(len: usize) -> $core {
                // 32 for SHA-256; 48 and 64 for SHA-512: every HS length.
                <$core>::new(len).expect("an HS output length")
            }

            fn blocks(bytes: &[u8]) -> Self::Blocks {
                bytes
                    .chunks_exact($block)
                    .map(|b| {
                        let array: [u8; $block] = b.try_into().expect("whole blocks");
                        Block::<$core>::from(array)
                    })
                    .collect()
            }

            fn absorb(&mut self, blocks: &Self::Blocks) {
                self.update_blocks(blocks);
            }

            fn finish(&mut self, tail: &[u8], out: &mut [u8; 64]) {
                let mut digest = Output::<$core>::default();
                self.finalize_variable_core(&mut Buffer::<$core>::new(tail), &mut digest);
                out[..digest.len()].copy_from_slice(&digest);
            }
        }
    };
}

core!(Sha256VarCore, 64);
core!(Sha512VarCore, 128);

/// HMAC over core `C` for one algorithm.
pub(super) struct Portable<C> {
    alg: Alg,
    _core: std::marker::PhantomData<C>,
}

impl<C: Core> Portable<C> {
    /// HMAC for `alg`, whose hash must be `C` (SHA-256 for HS256, SHA-512
    /// for HS384 and HS512).
    pub(super) fn new(alg: Alg) -> Portable<C> {
        Portable {
            alg,
            _core: std::marker::PhantomData,
        }
    }
}

/// A candidate's two pads, absorbed.
pub(super) struct Pad<C> {
    inner: C,
    outer: C,
}

/// A token's signing input cut into blocks, and its signature.
pub(super) struct Prepared<C: Core> {
    blocks: C::Blocks,
    tail: Vec<u8>,
    signature: Box<[u8]>,
}

impl<C: Core> Hasher for Portable<C> {
    type Pad = Pad<C>;
    type Prepared = Prepared<C>;

    fn pad(&self, key: &[u8]) -> Pad<C> {
        let block = key_block(self.alg, key, C::BLOCK);
        let absorb = |x: u8| {
            let padded: Vec<u8> = block.iter().map(|b| b ^ x).collect();
            let mut core = C::fresh(output_len(self.alg));
            core.absorb(&C::blocks(&padded));
            core
        };
        Pad {
            inner: absorb(0x36),
            outer: absorb(0x5c),
        }
    }

    fn prepare(&self, target: &Target) -> Prepared<C> {
        let input = &target.signing_input;
        let whole = input.len() / C::BLOCK * C::BLOCK;
        Prepared {
            blocks: C::blocks(&input[..whole]),
            tail: input[whole..].to_vec(),
            signature: target.signature.clone(),
        }
    }

    fn first_match(&self, pads: &[Pad<C>], target: &Prepared<C>) -> Option<usize> {
        let len = output_len(self.alg);
        let mut inner = [0u8; 64];
        let mut tag = [0u8; 64];
        pads.iter().position(|pad| {
            let mut core = pad.inner.clone();
            core.absorb(&target.blocks);
            core.finish(&target.tail, &mut inner);
            let mut core = pad.outer.clone();
            core.finish(&inner[..len], &mut tag);
            tag[..len] == target.signature[..]
        })
    }
}

/// The MAC length of an HS algorithm, in bytes.
pub(super) fn output_len(alg: Alg) -> usize {
    match alg {
        Alg::Hs384 => 48,
        Alg::Hs512 => 64,
        _ => 32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring_tag(alg: Alg, key: &[u8], input: &[u8]) -> Vec<u8> {
        let algorithm = match alg {
            Alg::Hs256 => ring::hmac::HMAC_SHA256,
            Alg::Hs384 => ring::hmac::HMAC_SHA384,
            _ => ring::hmac::HMAC_SHA512,
        };
        let key = ring::hmac::Key::new(algorithm, key);
        ring::hmac::sign(&key, input).as_ref().to_vec()
    }

    fn agrees<C: Core>(alg: Alg) {
        let hasher = Portable::<C>::new(alg);
        let long_key = vec![7u8; 300];
        let keys: [&[u8]; 5] = [b"", b"k", &[1u8; 64], &[2u8; 128], &long_key];
        for len in [0, 1, 55, 56, 63, 64, 111, 112, 127, 128, 129, 300] {
            let input: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            for (k, key) in keys.iter().enumerate() {
                let target = Target {
                    alg,
                    signing_input: input.clone().into(),
                    signature: ring_tag(alg, key, &input).into(),
                };
                let prepared = hasher.prepare(&target);
                let pads: Vec<_> = keys.iter().map(|key| hasher.pad(key)).collect();
                assert_eq!(
                    hasher.first_match(&pads, &prepared),
                    Some(k),
                    "{alg} len {len} key {k}"
                );
            }
        }
    }

    #[test]
    fn agrees_with_ring_on_every_alg() {
        agrees::<Sha256Core>(Alg::Hs256);
        agrees::<Sha512Core>(Alg::Hs384);
        agrees::<Sha512Core>(Alg::Hs512);
    }
}
