//! Cracking weak HMAC secrets: every distinct HS256/384/512 token tested
//! against wordlists of known secrets and against the public keys an
//! RS→HS forger would use as a secret.
//!
//! The pieces, usable without the command line:
//!
//! - [`Candidates`] (in [`wordlist`]): distinct candidate secrets, each
//!   with the source and line (or public-key form) it came from; the list
//!   of known JWT secrets is embedded ([`wordlist::DEFAULT_WORDLIST`]);
//! - [`TokenSet`] (in [`tokens`]): the distinct tokens of a scan (it is a
//!   [`crate::scan::Sink`]) or of a list, with occurrence counts and where
//!   each was first seen;
//! - [`Target`]: one HS token's signing input and decoded signature;
//! - [`crack`]: targets × candidates on every core, returning which
//!   candidate signed each target;
//! - [`sweep`]: all of it at once, giving a [`CrackReport`].
//!
//! # Speed
//! Each candidate's HMAC pads are hashed once per batch and shared by every
//! token of that hash, each token's signing input is prepared once, and a
//! token stops being tested once cracked. HS256 runs on the x86 SHA
//! extensions, four candidates at a time, when the CPU has them
//! (`shani.rs`); otherwise, and for HS384/HS512, on `sha2`'s block
//! functions (`portable.rs`).
//!
//! Measured on this project's 2-core AMD EPYC (Zen 3), one thread, HS256,
//! 100k candidates × 20 tokens, in million candidate × token pairs per
//! second (other work on the machine: ±15%):
//!
//! | signing input | floor | `ring` | `hmac` + `sha2` | `sha2` core | SHA-NI × 4 |
//! |---|---|---|---|---|---|
//! | 75 bytes | 3.4 | 3.5 | 6.2 | 5.8 | 16.9 |
//! | 220 bytes | 2.6 | 2.5 | 3.6 | 3.5–4.2 | 12.0 |
//! | 476 bytes | 1.8 | 1.8 | 2.3 | 2.0–2.4 | 6.0–7.9 |
//!
//! Floor: `ring::hmac::sign` with one prepared key, no candidates. `ring`:
//! `Key::new` per candidate, then `sign` per token. `hmac` + `sha2`: the
//! prepared `Hmac<Sha256>` cloned per token. `sha2` core: the portable
//! engine, `sha2`'s block function on prepared pad states.
//!
//! `ring` computes the pads once per `Key` too, but its `sign` costs more
//! per call than cloning a prepared `sha2` state, so the prepared-state
//! design is faster even than the floor of one prepared `ring` key. The
//! `hmac` crate over `sha2` and `sha2`'s core used directly (what the
//! portable engine does) are within noise of each other, so the portable
//! engine needs no dependency beyond `sha2`; the SHA-NI engine is 3× both
//! (see `shani.rs` for why).

mod portable;
pub mod report;
#[cfg(target_arch = "x86_64")]
mod shani;
pub mod tokens;
pub mod wordlist;

use std::ops::Range;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use sha2::Digest;

use crate::alg::{Alg, Family};
use crate::token;

pub use report::{CrackReport, CrackedToken};
pub use tokens::{Found, TokenSet};
pub use wordlist::{Candidates, KeyForm, Origin, Source, SourceKind, WordlistError};

/// Candidates per batch: their pads are hashed once and tested against
/// every live token of the batch's slice. Small enough that the pads stay
/// in L2 and that a token cracked early stops costing soon.
const BATCH: usize = 1024;

/// Tokens per slice of a batch, so that many tokens and few candidates
/// still spread over every core.
const SLICE: usize = 256;

/// One HS token to crack: its signing input and decoded signature.
#[derive(Clone, PartialEq, Eq)]
pub struct Target {
    alg: Alg,
    signing_input: Box<[u8]>,
    signature: Box<[u8]>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The signing input and signature together are the token.
        f.debug_struct("Target")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// Why a token cannot be a [`Target`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Not a three-segment compact JWS.
    #[error("not a compact JWS")]
    NotCompact,
    /// The header is unreadable or has no `alg`.
    #[error("header unreadable: {0}")]
    Malformed(token::Malformed),
    /// The algorithm is not HS256, HS384 or HS512.
    #[error("not an HMAC token")]
    NotHmac,
    /// The signature is not base64url, or not the algorithm's MAC length.
    #[error("signature is not a {0} MAC")]
    Signature(Alg),
}

impl Target {
    /// A target from a token whose header names `alg`.
    pub fn new(alg: Alg, token: &[u8]) -> Result<Target, TargetError> {
        if alg.family() != Family::Hmac {
            return Err(TargetError::NotHmac);
        }
        let segments = token::split(token).ok_or(TargetError::NotCompact)?;
        if segments.count != 3 {
            return Err(TargetError::NotCompact);
        }
        let mut signature = Vec::new();
        if !token::decode_into(segments.signature, &mut signature)
            || signature.len() != portable::output_len(alg)
        {
            return Err(TargetError::Signature(alg));
        }
        Ok(Target {
            alg,
            signing_input: segments.signing_input.into(),
            signature: signature.into(),
        })
    }

    /// A target from a token, reading `alg` from its header.
    pub fn parse(token: &[u8]) -> Result<Target, TargetError> {
        let segments = token::split(token).ok_or(TargetError::NotCompact)?;
        let parsed =
            token::parse(&segments, &mut token::Scratch::new()).map_err(TargetError::Malformed)?;
        match parsed.header.alg {
            Some(token::AlgValue::Known(alg)) => Target::new(alg, token),
            _ => Err(TargetError::NotHmac),
        }
    }

    /// The token's HS algorithm.
    pub fn alg(&self) -> Alg {
        self.alg
    }
}

/// Which engine runs HS256.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Backend {
    /// The SHA extensions if the CPU has them, else portable.
    #[default]
    Auto,
    /// `sha2`'s block functions everywhere (for comparison and tests).
    Portable,
}

/// How to crack.
#[derive(Clone, Copy, Debug, Default)]
pub struct CrackOptions {
    /// Worker threads; 0 means one per core (the default).
    pub threads: usize,
    /// The HS256 engine (default: [`Backend::Auto`]).
    pub backend: Backend,
}

/// What [`crack`] found.
#[derive(Clone, Debug, PartialEq)]
pub struct CrackResult {
    /// Per target, in order: the index in [`Candidates`] of the secret
    /// that signed it, if any did.
    pub cracked: Vec<Option<usize>>,
    /// Candidate × token HMACs computed (fewer than the product once
    /// tokens are cracked).
    pub hmacs: u64,
    /// Seconds spent.
    pub duration_secs: f64,
    /// Worker threads used.
    pub threads: usize,
    /// The engines used, for reports: e.g. `HS256: sha-ni x4`.
    pub engine: String,
}

impl CrackResult {
    /// How many targets were cracked.
    pub fn cracked_count(&self) -> usize {
        self.cracked.iter().flatten().count()
    }

    /// Candidate × token HMACs per second, over all threads.
    pub fn per_second(&self) -> f64 {
        match self.duration_secs > 0.0 {
            true => self.hmacs as f64 / self.duration_secs,
            false => 0.0,
        }
    }
}

/// A failure of the cracking run itself.
#[derive(Debug, thiserror::Error)]
pub enum CrackError {
    /// The worker pool could not start.
    #[error("cannot start {threads} worker threads: {source}")]
    Threads {
        /// Threads asked for.
        threads: usize,
        /// The cause.
        source: rayon::ThreadPoolBuildError,
    },
}

/// Tests every target against every candidate on `threads` threads (0:
/// one per core).
pub fn crack(
    targets: &[Target],
    candidates: &Candidates,
    threads: usize,
) -> Result<CrackResult, CrackError> {
    let options = CrackOptions {
        threads,
        ..CrackOptions::default()
    };
    crack_with(targets, candidates, &options)
}

/// [`crack`] with every option.
pub fn crack_with(
    targets: &[Target],
    candidates: &Candidates,
    options: &CrackOptions,
) -> Result<CrackResult, CrackError> {
    let started = Instant::now();
    let threads = match options.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let (groups, engine) = groups(targets, options.backend);
    log::debug!("crack: {threads} threads; engines: {engine}");
    log::debug!(
        "crack: {} tokens × {} candidates, batches of {BATCH}",
        targets.len(),
        candidates.len()
    );

    let work = Work::new(targets.len(), candidates.len(), &groups);
    if work.items > 0 {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("jwtsweep-crack-{i}"))
            .build()
            .map_err(|source| CrackError::Threads { threads, source })?;
        pool.broadcast(|_| work.run(candidates));
    }

    let cracked = work
        .winners
        .iter()
        .map(|w| match w.load(Ordering::Relaxed) {
            usize::MAX => None,
            index => Some(index),
        })
        .collect();
    Ok(CrackResult {
        cracked,
        hmacs: work.hmacs.load(Ordering::Relaxed),
        duration_secs: started.elapsed().as_secs_f64(),
        threads,
        engine,
    })
}

/// One hash engine for one HS algorithm.
trait Hasher: Sync {
    /// A candidate's absorbed pads.
    type Pad: Send;
    /// A token ready to be tested.
    type Prepared: Send + Sync;

    /// Hashes a candidate's pads.
    fn pad(&self, key: &[u8]) -> Self::Pad;

    /// Hashes the pads of several candidates.
    fn pads(&self, keys: &[&[u8]]) -> Vec<Self::Pad> {
        keys.iter().map(|key| self.pad(key)).collect()
    }

    /// Prepares a token of this engine's algorithm.
    fn prepare(&self, target: &Target) -> Self::Prepared;

    /// The first of `pads`, in order, whose HMAC of the token is its
    /// signature.
    fn first_match(&self, pads: &[Self::Pad], target: &Self::Prepared) -> Option<usize>;
}

/// The key as one hash block (RFC 2104 §2): hashed first if longer than
/// a block, then zero-filled to `block_size` bytes.
fn key_block(alg: Alg, key: &[u8], block_size: usize) -> Vec<u8> {
    let mut block = match (key.len() > block_size, alg) {
        (false, _) => key.to_vec(),
        (true, Alg::Hs384) => sha2::Sha384::digest(key).to_vec(),
        (true, Alg::Hs512) => sha2::Sha512::digest(key).to_vec(),
        (true, _) => sha2::Sha256::digest(key).to_vec(),
    };
    block.resize(block_size, 0);
    block
}

/// The targets of one algorithm with their engine, as the work sees them.
trait Group: Sync {
    /// How many targets.
    fn len(&self) -> usize;

    /// Tests candidates `range` against targets `slice` (positions in
    /// this group); returns the HMACs computed.
    fn run(
        &self,
        candidates: &Candidates,
        range: Range<usize>,
        slice: Range<usize>,
        work: &Work,
    ) -> u64;
}

/// The targets of one algorithm and their engine. A target is prepared
/// afresh for each item of work: preparing costs less than a thousandth
/// of testing a batch, and memory then stays at one slice per thread
/// however many tokens there are (a prepared HS256 token holds 256 bytes
/// per block of its signing input).
struct HasherGroup<'t, H: Hasher> {
    hasher: H,
    /// (index in the caller's targets, target)
    targets: Vec<(usize, &'t Target)>,
}

impl<H: Hasher> Group for HasherGroup<'_, H> {
    fn len(&self) -> usize {
        self.targets.len()
    }

    fn run(
        &self,
        candidates: &Candidates,
        range: Range<usize>,
        slice: Range<usize>,
        work: &Work,
    ) -> u64 {
        let start = range.start;
        let live = |t: usize| work.winners[t].load(Ordering::Relaxed) > start;
        let targets = &self.targets[slice];
        if !targets.iter().any(|&(t, _)| live(t)) {
            return 0;
        }
        let keys: Vec<&[u8]> = range.map(|i| candidates.secret(i)).collect();
        let pads = self.hasher.pads(&keys);
        let mut hmacs = 0;
        for &(t, target) in targets {
            if !live(t) {
                continue;
            }
            let prepared = self.hasher.prepare(target);
            match self.hasher.first_match(&pads, &prepared) {
                Some(i) => {
                    hmacs += i as u64 + 1;
                    work.record(t, start + i);
                }
                None => hmacs += pads.len() as u64,
            }
        }
        hmacs
    }
}

/// Groups targets by algorithm, each with its engine.
fn groups(targets: &[Target], backend: Backend) -> (Vec<Box<dyn Group + '_>>, String) {
    let mut groups: Vec<Box<dyn Group + '_>> = Vec::new();
    let mut engines = Vec::new();
    for alg in [Alg::Hs256, Alg::Hs384, Alg::Hs512] {
        let of_alg: Vec<(usize, &Target)> = targets
            .iter()
            .enumerate()
            .filter(|(_, t)| t.alg == alg)
            .collect();
        if of_alg.is_empty() {
            continue;
        }
        let (group, name) = match alg {
            Alg::Hs256 => hs256_group(of_alg, backend),
            _ => (
                group(portable::Portable::<portable::Sha512Core>::new(alg), of_alg),
                "sha2",
            ),
        };
        groups.push(group);
        engines.push(format!("{alg}: {name}"));
    }
    (groups, engines.join(", "))
}

fn hs256_group(
    targets: Vec<(usize, &Target)>,
    backend: Backend,
) -> (Box<dyn Group + '_>, &'static str) {
    #[cfg(target_arch = "x86_64")]
    if backend == Backend::Auto {
        if let Some(ni) = shani::ShaNi::detect() {
            return (group(ni, targets), "sha-ni x4");
        }
        log::debug!("crack: no SHA extensions on this CPU; HS256 on sha2");
    }
    let _ = backend;
    let hasher = portable::Portable::<portable::Sha256Core>::new(Alg::Hs256);
    (group(hasher, targets), "sha2")
}

fn group<'t, H: Hasher + 't>(hasher: H, targets: Vec<(usize, &'t Target)>) -> Box<dyn Group + 't> {
    Box::new(HasherGroup { hasher, targets })
}

/// The work of one run, handed out in candidate order: item `i` is batch
/// `i / slots.len()` against slot `i % slots.len()` (a group's slice of
/// targets). Going in order means a token cracked by an early line of a
/// list stops costing anything soon after.
struct Work<'g> {
    groups: &'g [Box<dyn Group + 'g>],
    /// (group, slice of its targets)
    slots: Vec<(usize, Range<usize>)>,
    candidates: usize,
    items: usize,
    next: AtomicUsize,
    /// Per target: the lowest candidate index that cracked it, or MAX.
    winners: Vec<AtomicUsize>,
    /// Targets not cracked yet.
    remaining: AtomicUsize,
    hmacs: AtomicU64,
}

impl<'g> Work<'g> {
    fn new(targets: usize, candidates: usize, groups: &'g [Box<dyn Group + 'g>]) -> Work<'g> {
        let mut slots = Vec::new();
        for (g, group) in groups.iter().enumerate() {
            let len = group.len();
            slots.extend((0..len).step_by(SLICE).map(|s| (g, s..len.min(s + SLICE))));
        }
        Work {
            groups,
            items: candidates.div_ceil(BATCH) * slots.len(),
            slots,
            candidates,
            next: AtomicUsize::new(0),
            winners: (0..targets).map(|_| AtomicUsize::new(usize::MAX)).collect(),
            remaining: AtomicUsize::new(targets),
            hmacs: AtomicU64::new(0),
        }
    }

    /// One worker: takes items in order until none are left or every
    /// target is cracked.
    fn run(&self, candidates: &Candidates) {
        let mut hmacs = 0;
        while self.remaining.load(Ordering::Relaxed) > 0 {
            let item = self.next.fetch_add(1, Ordering::Relaxed);
            if item >= self.items {
                break;
            }
            let batch = item / self.slots.len();
            let (g, slice) = &self.slots[item % self.slots.len()];
            let range = batch * BATCH..self.candidates.min((batch + 1) * BATCH);
            hmacs += self.groups[*g].run(candidates, range, slice.clone(), self);
        }
        self.hmacs.fetch_add(hmacs, Ordering::Relaxed);
    }

    /// Candidate `index` signed target `t`. The lowest index wins, so the
    /// result does not depend on which thread got there first.
    fn record(&self, t: usize, index: usize) {
        if self.winners[t].fetch_min(index, Ordering::Relaxed) == usize::MAX {
            self.remaining.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// How to sweep.
#[derive(Clone, Copy, Debug, Default)]
pub struct SweepOptions {
    /// How to crack.
    pub crack: CrackOptions,
    /// Put each cracked token's secret in the report (`--show-secrets`).
    pub show_secrets: bool,
}

/// Cracks every HMAC token of `tokens` and reports the result.
pub fn sweep(
    tokens: &TokenSet,
    candidates: &Candidates,
    options: &SweepOptions,
) -> Result<CrackReport, CrackError> {
    // targets, from each HS token's text
    let mut targets = Vec::new();
    let mut tested = Vec::new();
    let mut malformed = 0;
    for (i, found) in tokens.found().iter().enumerate() {
        match Target::new(found.alg, found.token.as_bytes()) {
            Ok(target) => {
                targets.push(target);
                tested.push(i);
            }
            Err(e) => {
                log::debug!("{}: not tested: {e}", found.first_seen);
                malformed += 1;
            }
        }
    }

    let result = crack_with(&targets, candidates, &options.crack)?;
    Ok(CrackReport::new(
        tokens,
        candidates,
        &tested,
        &result,
        malformed,
        options.show_secrets,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(alg: Alg, key: &[u8], claims: &str) -> String {
        let header = crate::generate::header_json(alg.name(), None, "");
        let b64 = crate::generate::b64url;
        let input = format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()));
        let algorithm = match alg {
            Alg::Hs256 => ring::hmac::HMAC_SHA256,
            Alg::Hs384 => ring::hmac::HMAC_SHA384,
            _ => ring::hmac::HMAC_SHA512,
        };
        let tag = ring::hmac::sign(&ring::hmac::Key::new(algorithm, key), input.as_bytes());
        crate::generate::assemble(&header, claims, tag.as_ref())
    }

    fn candidates(lines: usize, planted: &[(usize, &str)]) -> Candidates {
        let mut text = String::new();
        for i in 1..=lines {
            match planted.iter().find(|(at, _)| *at == i) {
                Some((_, secret)) => text.push_str(secret),
                None => text.push_str(&format!("filler-{i}")),
            }
            text.push('\n');
        }
        let mut c = Candidates::new();
        c.add_wordlist("w", text.as_bytes());
        c
    }

    #[test]
    fn finds_exactly_the_planted_secrets_on_every_path() {
        let planted = [(3, "alpha"), (1500, "beta"), (2049, "gamma")];
        let c = candidates(2100, &planted);
        let mut targets = Vec::new();
        for (n, alg) in [Alg::Hs256, Alg::Hs384, Alg::Hs512].into_iter().enumerate() {
            for (i, (_, secret)) in planted.iter().enumerate() {
                let claims = format!("{{\"n\":{n},\"i\":{i}}}");
                targets.push(
                    Target::parse(token(alg, secret.as_bytes(), &claims).as_bytes()).unwrap(),
                );
            }
            let strong = token(alg, b"a strong secret not in any list", "{}");
            targets.push(Target::parse(strong.as_bytes()).unwrap());
        }
        let want: Vec<Option<usize>> = (0..3)
            .flat_map(|_| [Some(2), Some(1499), Some(2048), None])
            .collect();
        let mut first = None;
        for threads in [1, 2, 3] {
            for backend in [Backend::Auto, Backend::Portable] {
                let options = CrackOptions { threads, backend };
                let result = crack_with(&targets, &c, &options).unwrap();
                assert_eq!(result.cracked, want, "{threads} threads, {backend:?}");
                assert_eq!(result.cracked_count(), 9);
                // the strong tokens were tried against every candidate
                assert!(result.hmacs >= 3 * 2100);
                first.get_or_insert(result.cracked);
            }
        }
    }

    #[test]
    fn many_tokens_few_candidates() {
        let c = candidates(3, &[(2, "k")]);
        let targets: Vec<Target> = (0..700)
            .map(|i| {
                let key: &[u8] = if i % 100 == 7 { b"k" } else { b"other" };
                Target::parse(token(Alg::Hs256, key, &format!("{{\"i\":{i}}}")).as_bytes()).unwrap()
            })
            .collect();
        let result = crack(&targets, &c, 2).unwrap();
        assert_eq!(result.cracked_count(), 7);
        assert!(result.cracked.iter().flatten().all(|&i| i == 1));
    }

    #[test]
    fn targets_refuse_what_cannot_be_tested() {
        let good = token(Alg::Hs256, b"k", "{}");
        assert_eq!(Target::parse(good.as_bytes()).unwrap().alg(), Alg::Hs256);
        let header = crate::generate::header_json("HS256", None, "");
        let short = crate::generate::assemble(&header, "{}", &[7; 31]);
        assert_eq!(
            Target::parse(short.as_bytes()),
            Err(TargetError::Signature(Alg::Hs256))
        );
        assert_eq!(Target::parse(b"a.b"), Err(TargetError::NotCompact));
        assert_eq!(
            Target::new(Alg::Rs256, good.as_bytes()),
            Err(TargetError::NotHmac)
        );
        let none = "eyJhbGciOiJub25lIn0.e30.";
        assert_eq!(Target::parse(none.as_bytes()), Err(TargetError::NotHmac));
        assert!(!format!("{:?}", Target::parse(good.as_bytes()).unwrap()).contains("eyJ"));
    }

    #[test]
    fn nothing_to_do_is_quick_and_empty() {
        let c = Candidates::new();
        let result = crack(&[], &c, 1).unwrap();
        assert!(result.cracked.is_empty());
        assert_eq!(result.hmacs, 0);
    }
}
