//! The distinct-token cache: each distinct token is checked once.
//!
//! A client sends the same token with every request until it expires, so a
//! log holds far fewer distinct tokens than occurrences. The cache maps the
//! whole token text (never a truncated or unseeded hash a forger could
//! collide) to its [`Checked`] result.
//!
//! Memory is bounded by a byte budget using two generations: entries go
//! into the young map; a hit in the old map promotes the entry; when the
//! young map fills half the budget, the old map is dropped (its entries
//! counted as evictions) and the young map becomes old. That gives
//! least-recently-used behaviour at the cost of two lookups on a miss,
//! with no per-entry bookkeeping.
//!
//! Caching is not free: an entry costs an allocation or two and about a
//! kilobyte of fresh memory the kernel has to zero, about 1 µs, which is
//! as much as checking an HMAC token again. So a token whose check was
//! cheap (HMAC, or rejected before any signature check) enters the cache
//! only on its second sighting, as a TinyLFU "doorkeeper" does: a log of
//! tokens that each appear once (300k distinct HS256 tokens) scanned 20%
//! faster in 40% of the memory, and a token used many times pays one
//! extra check. Tokens whose check was a public-key signature (15 µs and
//! up) are cached at once. The doorkeeper remembers hashes in a small
//! direct-mapped table: a collision only admits a token early or late,
//! never changes a result, since the cache itself is keyed by the whole
//! token.

use std::sync::Arc;

use hashbrown::HashTable;

use crate::verify::Checked;

/// The default budget for all workers together, in MiB.
pub const DEFAULT_CACHE_MIB: usize = 256;

/// Bytes charged per entry besides the token text: the shared check (a
/// 352-byte `Checked` behind an `Arc`, 384 in the allocator), its claim
/// strings (about 100 for a typical claim set) and the table slot with
/// its share of free slots (about 40). Measured against peak RSS on the
/// realistic bench log; 320 undercounted by 40%.
const ENTRY_OVERHEAD: usize = 544;

/// The part of [`ENTRY_OVERHEAD`] that is the table slot, with its share
/// of free slots.
const SLOT_OVERHEAD: usize = 40;

/// Hits, misses and evictions, summed over workers in the report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that had to check the token.
    pub misses: u64,
    /// Entries dropped to stay within the budget.
    pub evictions: u64,
}

/// Doorkeeper slots per worker (4 bytes each): enough to remember the
/// cheap tokens of a busy stretch of log between a token's first and second
/// sighting, small enough to stay in the core's L2 cache.
const DOORKEEPER_SLOTS: usize = 1 << 16;

/// Whether checking the token again would cost more than caching it: its
/// alg is a public-key one (a signature check is 15 µs and up, against
/// about 1 µs to cache an entry).
fn costly(checked: &Checked) -> bool {
    checked
        .alg_known
        .is_some_and(|alg| alg.family() != crate::alg::Family::Hmac)
}

/// How [`TokenCache::get_or_check`]'s `check` filled its slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filled {
    /// It checked the token (a cache miss).
    Checked,
    /// It copied another worker's check from a [`SharedChecks`] (a hit).
    Shared,
}

/// Checks of public-key tokens, shared by every worker of a scan.
///
/// Each worker has its own [`TokenCache`], so with two workers a token
/// used all over a log was checked twice: on the bench's realistic log,
/// 5000 distinct RS256, ES256 and HS256 tokens took each worker about
/// 120 ms of signature checks, a quarter of a 1-thread scan, and two
/// threads did 1.7x one. A worker that misses its own cache looks here
/// before checking a public-key token, and puts what it checks here.
/// Lookups lock one of 16 shards and happen only on a worker's own miss.
/// HMAC checks, cheaper than the lookup's copy, are not shared. Bounded
/// by a byte budget: when it is spent, nothing more is added.
pub struct SharedChecks {
    shards: Vec<std::sync::Mutex<HashTable<Entry>>>,
    bytes: std::sync::atomic::AtomicUsize,
    budget: usize,
}

impl SharedChecks {
    const SHARDS: usize = 16;

    /// Shared checks holding at most about `budget` bytes.
    pub fn new(budget: usize) -> SharedChecks {
        SharedChecks {
            shards: (0..Self::SHARDS).map(|_| Default::default()).collect(),
            bytes: Default::default(),
            budget,
        }
    }

    fn shard(&self, hash: u64) -> std::sync::MutexGuard<'_, HashTable<Entry>> {
        // the top bits pick the shard; the table uses the low ones
        let shard = &self.shards[(hash >> 60) as usize % Self::SHARDS];
        shard.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Entries held, and the bytes they hold that no worker's cache holds
    /// too, for the report. A check shared from a worker's cache is the
    /// same `Arc` (see [`SharedChecks::put_arc`]): while that cache still
    /// holds it, it is counted there, and here only the token's copy and
    /// the slot. Counting it in both (as the budget does, to stay on the
    /// safe side once the worker evicts its entry) overstated the report's
    /// `cache.bytes` on two threads.
    pub fn held(&self) -> (usize, usize) {
        let (mut entries, mut bytes) = (0, 0);
        for shard in &self.shards {
            let shard = shard.lock().unwrap_or_else(|e| e.into_inner());
            for entry in shard.iter() {
                entries += 1;
                bytes += entry.token.len();
                bytes += match Arc::strong_count(&entry.checked) {
                    1 => ENTRY_OVERHEAD,
                    _ => SLOT_OVERHEAD,
                };
            }
        }
        (entries, bytes)
    }

    /// Whether nothing has been put (a log without public-key tokens
    /// never looks here).
    pub fn is_empty(&self) -> bool {
        self.bytes.load(std::sync::atomic::Ordering::Relaxed) == 0
    }

    /// Another worker's check of `token` (hash `hash`), if one was put.
    pub fn get(&self, token: &[u8], hash: u64) -> Option<Arc<Checked>> {
        let shard = self.shard(hash);
        let same = |e: &Entry| e.hash == hash && *e.token == *token;
        shard.find(hash, same).map(|e| Arc::clone(&e.checked))
    }

    /// Shares a check of `token` if it is a public-key one and the budget
    /// allows.
    pub fn put(&self, token: &[u8], hash: u64, checked: &Checked) {
        self.put_with(token, hash, checked, || Arc::new(checked.clone()));
    }

    /// [`SharedChecks::put`] of a check already in an `Arc`, shared as it
    /// is. What the caller's worker later changes in it (its breakdown
    /// slots, the verdicts it has noted) is reset by whoever takes it.
    pub fn put_arc(&self, token: &[u8], hash: u64, checked: &Arc<Checked>) {
        self.put_with(token, hash, checked, || Arc::clone(checked));
    }

    fn put_with(
        &self,
        token: &[u8],
        hash: u64,
        checked: &Checked,
        share: impl FnOnce() -> Arc<Checked>,
    ) {
        use std::sync::atomic::Ordering::Relaxed;
        if !costly(checked) {
            return;
        }
        let cost = token.len() + ENTRY_OVERHEAD;
        if self.bytes.fetch_add(cost, Relaxed) + cost > self.budget {
            self.bytes.fetch_sub(cost, Relaxed);
            return;
        }
        let mut shard = self.shard(hash);
        let same = |e: &Entry| e.hash == hash && *e.token == *token;
        if shard.find(hash, same).is_some() {
            self.bytes.fetch_sub(cost, Relaxed);
            return;
        }
        let entry = Entry {
            hash,
            token: token.into(),
            checked: share(),
        };
        shard.insert_unique(hash, entry, |e| e.hash);
    }
}

/// A token's check, as [`TokenCache::get_or_check`] found or made it.
pub enum Looked<'f> {
    /// Shared with the cache.
    Cached(Arc<Checked>),
    /// Held by the cache and borrowed from it ([`TokenCache::recent`]).
    Held(&'f Arc<Checked>),
    /// Made in the caller's slot, not cached.
    Fresh(&'f Checked),
}

impl std::ops::Deref for Looked<'_> {
    type Target = Checked;

    fn deref(&self) -> &Checked {
        match self {
            Looked::Cached(checked) => checked,
            Looked::Held(checked) => checked,
            Looked::Fresh(checked) => checked,
        }
    }
}

impl Looked<'_> {
    /// The check as a shared value, copied out of the slot if need be.
    pub fn shared(&self) -> Arc<Checked> {
        match self {
            Looked::Cached(checked) => Arc::clone(checked),
            Looked::Held(checked) => Arc::clone(checked),
            Looked::Fresh(checked) => Arc::new((*checked).clone()),
        }
    }
}

/// One cached token.
struct Entry {
    hash: u64,
    token: Box<[u8]>,
    checked: Arc<Checked>,
}

/// One worker's cache.
///
/// The caller hashes each token once (with ahash: AES rounds or folded
/// multiplies, seeded at random per process) and every lookup and insert
/// reuses that hash: hashing a 400-byte token four or five times per miss
/// with SipHash took 8% of a no-reuse HS256 scan. The random seed keeps
/// crafted tokens from piling into one bucket, and the key is the whole
/// token, so a collision costs a comparison, never a wrong verdict.
pub struct TokenCache {
    young: HashTable<Entry>,
    old: HashTable<Entry>,
    young_bytes: usize,
    /// What the old generation's entries were charged.
    old_bytes: usize,
    /// The doorkeeper: a tag of each cheap token's hash, by its low bits.
    seen_once: Box<[u32]>,
    /// Half the budget: the size at which generations turn over. Zero
    /// disables caching.
    generation_bytes: usize,
    /// Counters since creation.
    pub stats: CacheStats,
}

impl TokenCache {
    /// A cache holding at most about `budget` bytes.
    pub fn new(budget: usize) -> TokenCache {
        TokenCache {
            young: HashTable::new(),
            old: HashTable::new(),
            young_bytes: 0,
            old_bytes: 0,
            seen_once: vec![0; if budget > 0 { DOORKEEPER_SLOTS } else { 0 }].into(),
            generation_bytes: budget / 2,
            stats: CacheStats::default(),
        }
    }

    /// The cached result for `token`, whose hash is `hash`; or
    /// `check(token, fresh)` made into the caller's `fresh` slot (or
    /// copied there from a [`SharedChecks`], as `check` says), and
    /// stored for next time if it is worth it (see the module docs). A
    /// token checked once and not cached costs no allocation: the slot's
    /// memory is reused from token to token.
    pub fn get_or_check<'f>(
        &mut self,
        token: &[u8],
        hash: u64,
        fresh: &'f mut Checked,
        check: impl FnOnce(&[u8], &mut Checked) -> Filled,
    ) -> Looked<'f> {
        self.get_or_check_sharing(token, hash, fresh, check, None)
    }

    /// [`TokenCache::get_or_check`], putting what `check` checked (not
    /// what it copied from there) into `shared` too: the same `Arc` as
    /// this cache's entry where there is one, so a public-key check is
    /// cloned once, not twice.
    pub fn get_or_check_sharing<'f>(
        &mut self,
        token: &[u8],
        hash: u64,
        fresh: &'f mut Checked,
        check: impl FnOnce(&[u8], &mut Checked) -> Filled,
        shared: Option<&SharedChecks>,
    ) -> Looked<'f> {
        if let Some(hit) = self.recent(token, hash) {
            return Looked::Cached(Arc::clone(hit));
        }
        self.get_or_check_older(token, hash, fresh, check, shared)
    }

    /// The check of `token` (whose hash is `hash`) if the younger
    /// generation holds it, where most hits are, counted as a hit. It is
    /// borrowed, not shared: on a log whose clients reuse their tokens, an
    /// `Arc` cloned and dropped per occurrence was two locked instructions
    /// each time. Otherwise [`TokenCache::get_or_check_older`] goes on.
    pub fn recent(&mut self, token: &[u8], hash: u64) -> Option<&Arc<Checked>> {
        let same = |e: &Entry| e.hash == hash && *e.token == *token;
        let hit = self.young.find(hash, same)?;
        self.stats.hits += 1;
        Some(&hit.checked)
    }

    /// [`TokenCache::get_or_check_sharing`] after [`TokenCache::recent`]
    /// found nothing: the older generation, then the check.
    pub fn get_or_check_older<'f>(
        &mut self,
        token: &[u8],
        hash: u64,
        fresh: &'f mut Checked,
        check: impl FnOnce(&[u8], &mut Checked) -> Filled,
        shared: Option<&SharedChecks>,
    ) -> Looked<'f> {
        // The doorkeeper's slot is read after the check, a few hundred
        // nanoseconds from now; fetching it now hides the cache miss that
        // was 4% of a scan of tokens that each appear once.
        if let Some(slot) = self.seen_once.get(hash as usize & (DOORKEEPER_SLOTS - 1)) {
            prefetch(slot);
        }
        let same = |e: &Entry| e.hash == hash && *e.token == *token;
        if let Ok(found) = self.old.find_entry(hash, same) {
            self.stats.hits += 1;
            let (entry, _) = found.remove();
            self.old_bytes -= entry.token.len() + ENTRY_OVERHEAD;
            let checked = Arc::clone(&entry.checked);
            self.insert(entry);
            return Looked::Cached(checked);
        }
        let filled = check(token, fresh);
        let share = shared.filter(|_| filled == Filled::Checked);
        match filled {
            Filled::Checked => self.stats.misses += 1,
            Filled::Shared => self.stats.hits += 1,
        }
        if self.generation_bytes > 0 && (costly(fresh) || self.seen_before(hash)) {
            let checked = Arc::new(fresh.clone());
            if let Some(shared) = share {
                shared.put_arc(token, hash, &checked);
            }
            let entry = Entry {
                hash,
                token: token.into(),
                checked: Arc::clone(&checked),
            };
            self.insert(entry);
            return Looked::Cached(checked);
        }
        if let Some(shared) = share {
            shared.put(token, hash, fresh);
        }
        Looked::Fresh(fresh)
    }

    /// Whether the doorkeeper has seen `hash` before; notes it if not.
    fn seen_before(&mut self, hash: u64) -> bool {
        let slot = &mut self.seen_once[hash as usize & (DOORKEEPER_SLOTS - 1)];
        // never zero, so an empty slot matches nothing
        let tag = (hash >> 32) as u32 | 1;
        std::mem::replace(slot, tag) == tag
    }

    fn insert(&mut self, entry: Entry) {
        let cost = entry.token.len() + ENTRY_OVERHEAD;
        if self.young_bytes + cost > self.generation_bytes {
            self.stats.evictions += self.old.len() as u64;
            self.old = std::mem::take(&mut self.young);
            self.old_bytes = self.young_bytes;
            self.young_bytes = 0;
        }
        self.young_bytes += cost;
        self.young.insert_unique(entry.hash, entry, |e| e.hash);
    }

    /// What the entries held now were charged against the budget.
    pub fn charged_bytes(&self) -> usize {
        self.young_bytes + self.old_bytes
    }

    /// Entries held now.
    pub fn len(&self) -> usize {
        self.young.len() + self.old.len()
    }

    /// Whether the cache holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Hints that `item` will be read soon.
fn prefetch<T>(item: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: SSE is part of every x86_64 target, and a prefetch is a
        // hint: it neither reads into the program nor faults, whatever the
        // address.
        unsafe { _mm_prefetch::<_MM_HINT_T0>((item as *const T).cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = item;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::Policy;
    use crate::keys::Keyring;
    use crate::token::Scratch;

    fn hash(token: &[u8]) -> u64 {
        token.iter().fold(7, |h, &b| h.wrapping_mul(31) ^ b as u64)
    }

    fn check(token: &[u8]) -> Checked {
        crate::verify::check(
            token,
            &Keyring::new(),
            &Policy::default(),
            &mut Scratch::new(),
        )
    }

    /// A check whose alg is a public-key one, as the cache sees it.
    fn costly_check(token: &[u8]) -> Checked {
        let mut checked = check(token);
        checked.alg_known = Some(crate::alg::Alg::Rs256);
        checked
    }

    #[test]
    fn checks_each_costly_token_once() {
        let mut cache = TokenCache::new(1 << 20);
        let mut calls = 0;
        for token in [b"a.b.c", b"a.b.c", b"x.y.z", b"a.b.c"] {
            cache.get_or_check(token, hash(token), &mut Checked::default(), |t, out| {
                calls += 1;
                *out = costly_check(t);
                Filled::Checked
            });
        }
        assert_eq!(calls, 2);
        assert_eq!(
            cache.stats,
            CacheStats {
                hits: 2,
                misses: 2,
                evictions: 0
            }
        );
    }

    /// `recent` then `get_or_check_older`, as the scan calls them, find
    /// and count what `get_or_check` does, and `recent` borrows the very
    /// entry the cache holds.
    #[test]
    fn recent_then_older_is_get_or_check() {
        let mut split = TokenCache::new(1 << 20);
        let mut whole = TokenCache::new(1 << 20);
        let tokens: [&[u8]; 5] = [b"a.b.c", b"a.b.c", b"x.y.z", b"a.b.c", b"x.y.z"];
        let fill = |t: &[u8], out: &mut Checked| {
            *out = costly_check(t);
            Filled::Checked
        };
        for token in tokens {
            let (mut slot, mut other) = (Checked::default(), Checked::default());
            let found = match split.recent(token, hash(token)) {
                Some(held) => format!("{:?}", **held),
                None => {
                    let older = split.get_or_check_older(token, hash(token), &mut slot, fill, None);
                    format!("{:?}", *older)
                }
            };
            let looked = whole.get_or_check(token, hash(token), &mut other, fill);
            assert_eq!(found, format!("{:?}", *looked));
        }
        assert_eq!(split.stats, whole.stats);
        assert_eq!(split.stats.hits, 3);
        let t: &[u8] = b"a.b.c";
        let Looked::Cached(owned) = split.get_or_check(t, hash(t), &mut Checked::default(), fill)
        else {
            panic!("cached")
        };
        let held = split.recent(t, hash(t)).expect("held");
        assert!(Arc::ptr_eq(&owned, held));
    }

    #[test]
    fn cheap_tokens_enter_on_their_second_sighting() {
        let mut cache = TokenCache::new(1 << 20);
        let mut calls = 0;
        for token in [b"a.b.c", b"x.y.z", b"a.b.c", b"a.b.c", b"a.b.c"] {
            cache.get_or_check(token, hash(token), &mut Checked::default(), |t, out| {
                calls += 1;
                *out = check(t);
                Filled::Checked
            });
        }
        // a.b.c is checked at its first and second sightings, then cached;
        // x.y.z, seen once, never takes a cache entry
        assert_eq!(calls, 3);
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.stats.hits, 2);
    }

    #[test]
    fn stays_within_budget_and_keeps_recent_entries() {
        let budget = 4 * (ENTRY_OVERHEAD + 8);
        let mut cache = TokenCache::new(budget);
        for i in 0..100u32 {
            let token = format!("t{i:03}.a.b");
            let costly = |t: &[u8], out: &mut Checked| {
                *out = costly_check(t);
                Filled::Checked
            };
            let fresh = &mut Checked::default();
            cache.get_or_check(token.as_bytes(), hash(token.as_bytes()), fresh, costly);
            // A token used again right away stays cached.
            cache.get_or_check(b"hot.a.b", hash(b"hot.a.b"), fresh, costly);
            assert!(cache.len() <= 4 + 1);
        }
        assert!(cache.stats.evictions > 90);
        assert!(cache.charged_bytes() <= budget);
        // each entry is charged its token (7 or 8 bytes) and the allowance
        let held = cache.len() * ENTRY_OVERHEAD;
        assert!((held + 7 * cache.len()..=held + 8 * cache.len()).contains(&cache.charged_bytes()));
        assert!(cache.stats.hits >= 99, "{:?}", cache.stats);
    }

    #[test]
    fn shared_checks_keep_public_key_checks_within_budget() {
        let shared = SharedChecks::new(3 * (ENTRY_OVERHEAD + 8));
        assert!(shared.is_empty());
        // HMAC checks are not shared
        shared.put(b"h000.a.b", hash(b"h000.a.b"), &check(b"h000.a.b"));
        assert!(shared.is_empty() && shared.get(b"h000.a.b", hash(b"h000.a.b")).is_none());
        for i in 0..10 {
            let token = format!("t{i:03}.a.b");
            let t = token.as_bytes();
            shared.put(t, hash(t), &costly_check(t));
            shared.put(t, hash(t), &costly_check(t));
        }
        // the first three fit, the same token once; the rest are left out
        let held: Vec<bool> = (0..10)
            .map(|i| {
                let token = format!("t{i:03}.a.b");
                shared
                    .get(token.as_bytes(), hash(token.as_bytes()))
                    .is_some()
            })
            .collect();
        assert_eq!(
            held,
            [true, true, true, false, false, false, false, false, false, false]
        );
        assert!(shared.get(b"t000.a.c", hash(b"t000.a.b")).is_none());
    }

    #[test]
    fn a_worker_shares_what_it_checked_not_what_it_copied() {
        let shared = SharedChecks::new(1 << 20);
        let t: &[u8] = b"rsa.a.b";
        // checked here: the shared entry is this cache's own, not a copy
        let mut cache = TokenCache::new(1 << 20);
        let mut slot = Checked::default();
        let looked = cache.get_or_check_sharing(
            t,
            hash(t),
            &mut slot,
            |t, out| {
                *out = costly_check(t);
                Filled::Checked
            },
            Some(&shared),
        );
        let Looked::Cached(mine) = looked else {
            panic!("a public-key check is cached")
        };
        let theirs = shared.get(t, hash(t)).expect("shared");
        assert!(Arc::ptr_eq(&mine, &theirs));
        // ...so the shared checks count only the token and the slot while
        // this cache holds the check (`mine` and `theirs` are dropped)
        drop((mine, theirs));
        assert_eq!(shared.held(), (1, t.len() + SLOT_OVERHEAD));
        drop(cache);
        assert_eq!(shared.held(), (1, t.len() + ENTRY_OVERHEAD));
        let mut cache = TokenCache::new(1 << 20);
        // without a cache of its own, a copy is shared
        let mut uncached = TokenCache::new(0);
        let u: &[u8] = b"rsb.a.b";
        let fill = |t: &[u8], out: &mut Checked| {
            *out = costly_check(t);
            Filled::Checked
        };
        uncached.get_or_check_sharing(u, hash(u), &mut Checked::default(), fill, Some(&shared));
        assert!(shared.get(u, hash(u)).is_some());
        // what a worker copied from the shared checks is not put back
        let before = shared.held();
        let v: &[u8] = b"rsc.a.b";
        let copied = |t: &[u8], out: &mut Checked| {
            *out = costly_check(t);
            Filled::Shared
        };
        cache.get_or_check_sharing(v, hash(v), &mut Checked::default(), copied, Some(&shared));
        assert_eq!(shared.held(), before);
        assert!(shared.get(v, hash(v)).is_none());
    }

    #[test]
    fn zero_budget_disables() {
        let mut cache = TokenCache::new(0);
        let fill = |t: &[u8], out: &mut Checked| {
            *out = check(t);
            Filled::Checked
        };
        cache.get_or_check(b"a.b.c", hash(b"a.b.c"), &mut Checked::default(), fill);
        cache.get_or_check(b"a.b.c", hash(b"a.b.c"), &mut Checked::default(), fill);
        assert_eq!(cache.stats.misses, 2);
        assert!(cache.is_empty());
    }
}
