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

use std::collections::HashMap;
use std::sync::Arc;

use ahash::RandomState;

use crate::verify::Checked;

/// The default budget for all workers together, in MiB.
pub const DEFAULT_CACHE_MIB: usize = 256;

/// Bytes charged per entry besides the token text: the map slots, the
/// `Arc<Checked>` and a typical set of claim strings.
const ENTRY_OVERHEAD: usize = 320;

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

/// One worker's cache.
///
/// Maps hash with ahash (AES rounds, seeded at random per process): SipHash
/// over a 400-byte token took 8% of a no-reuse HS256 scan; the random seed
/// keeps crafted tokens from piling into one bucket, and the key is the
/// whole token, so a collision costs a comparison, never a wrong verdict.
pub struct TokenCache {
    young: HashMap<Box<[u8]>, Arc<Checked>, RandomState>,
    old: HashMap<Box<[u8]>, Arc<Checked>, RandomState>,
    young_bytes: usize,
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
            young: HashMap::default(),
            old: HashMap::default(),
            young_bytes: 0,
            generation_bytes: budget / 2,
            stats: CacheStats::default(),
        }
    }

    /// The cached result for `token`, or `check(token)` stored for next
    /// time.
    pub fn get_or_check(
        &mut self,
        token: &[u8],
        check: impl FnOnce(&[u8]) -> Checked,
    ) -> Arc<Checked> {
        if let Some(hit) = self.young.get(token) {
            self.stats.hits += 1;
            return Arc::clone(hit);
        }
        if let Some((key, hit)) = self.old.remove_entry(token) {
            self.stats.hits += 1;
            self.insert(key, Arc::clone(&hit));
            return hit;
        }
        self.stats.misses += 1;
        let checked = Arc::new(check(token));
        if self.generation_bytes > 0 {
            self.insert(token.into(), Arc::clone(&checked));
        }
        checked
    }

    fn insert(&mut self, key: Box<[u8]>, value: Arc<Checked>) {
        let cost = key.len() + ENTRY_OVERHEAD;
        if self.young_bytes + cost > self.generation_bytes {
            self.stats.evictions += self.old.len() as u64;
            self.old = std::mem::take(&mut self.young);
            self.young_bytes = 0;
        }
        self.young_bytes += cost;
        self.young.insert(key, value);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::Policy;
    use crate::keys::Keyring;
    use crate::token::Scratch;

    fn check(token: &[u8]) -> Checked {
        crate::verify::check(
            token,
            &Keyring::new(),
            &Policy::default(),
            &mut Scratch::new(),
        )
    }

    #[test]
    fn checks_each_distinct_token_once() {
        let mut cache = TokenCache::new(1 << 20);
        let mut calls = 0;
        for token in [b"a.b.c", b"a.b.c", b"x.y.z", b"a.b.c"] {
            cache.get_or_check(token, |t| {
                calls += 1;
                check(t)
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

    #[test]
    fn stays_within_budget_and_keeps_recent_entries() {
        let budget = 4 * (ENTRY_OVERHEAD + 8);
        let mut cache = TokenCache::new(budget);
        for i in 0..100u32 {
            let token = format!("t{i:03}.a.b");
            cache.get_or_check(token.as_bytes(), check);
            // A token used again right away stays cached.
            cache.get_or_check(b"hot.a.b", check);
            assert!(cache.len() <= 4 + 1);
        }
        assert!(cache.stats.evictions > 90);
        assert!(cache.stats.hits >= 99, "{:?}", cache.stats);
    }

    #[test]
    fn zero_budget_disables() {
        let mut cache = TokenCache::new(0);
        cache.get_or_check(b"a.b.c", check);
        cache.get_or_check(b"a.b.c", check);
        assert_eq!(cache.stats.misses, 2);
        assert!(cache.is_empty());
    }
}
