//! The audit parts of a report: what the server answered to bad tokens,
//! when tokens were used, how they were issued, and how many distinct
//! tokens a set of merged reports saw.
//!
//! Every part merges exactly (sums, minima, maxima, register maxima), so
//! the audit of merged reports is the audit of one run over all inputs.
//! The only estimate is the distinct-token sketch, whose error is stated
//! in [`DistinctSketch::RELATIVE_ERROR`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Example, VerdictCounts, MAX_EXAMPLES};
use crate::token::Claims;
use crate::verdict::Verdict;

/// Non-valid token occurrences whose request the server answered with a
/// 2xx or 3xx status: the first thing an auditor wants to know.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Accepted {
    /// Such occurrences per verdict.
    pub verdicts: VerdictCounts,
    /// The first few, by file and line.
    pub examples: Vec<AcceptedExample>,
}

/// A line where a non-valid token was answered with success.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AcceptedExample {
    /// The input.
    pub file: String,
    /// The 1-based line.
    pub line: u64,
    /// The HTTP status of the request.
    pub status: u16,
    /// The token's verdict.
    pub verdict: String,
    /// The token's fingerprint.
    pub token_sha256: String,
}

impl Accepted {
    /// Counts one accepted occurrence; `example` is built only if it would
    /// be kept.
    pub fn add(
        &mut self,
        verdict: Verdict,
        at: (&str, u64),
        example: impl FnOnce() -> AcceptedExample,
    ) {
        self.verdicts.add(verdict);
        let keep = self.examples.len() < MAX_EXAMPLES
            || self
                .examples
                .last()
                .is_some_and(|e| (e.file.as_str(), e.line) > at);
        if keep {
            self.examples.push(example());
            self.tidy();
        }
    }

    /// Adds another set.
    pub fn merge(&mut self, other: Accepted) {
        self.verdicts.merge(&other.verdicts);
        self.examples.extend(other.examples);
        self.tidy();
    }

    fn tidy(&mut self) {
        self.examples.sort();
        self.examples.dedup();
        self.examples.truncate(MAX_EXAMPLES);
    }
}

/// The timeline bucket sizes.
pub const BUCKETS: [(&str, u64); 3] = [("minute", 60), ("hour", 3600), ("day", 86_400)];

/// Occurrences per verdict over time, by request time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    /// `minute`, `hour` or `day`.
    pub bucket: String,
    /// Whether the bucket is chosen from the span (no `--bucket`); a
    /// timeline being filled keeps minutes until [`Timeline::choose`].
    pub auto: bool,
    /// The earliest request time seen, RFC 3339.
    pub first: Option<String>,
    /// The latest request time seen, RFC 3339.
    pub last: Option<String>,
    /// Occurrences whose line had no request time.
    pub undated: u64,
    /// Verdict counts per bucket, keyed by the bucket's start in seconds
    /// since the epoch.
    pub buckets: BTreeMap<i64, VerdictCounts>,
    #[serde(skip)]
    span: Option<(f64, f64)>,
}

impl Default for Timeline {
    fn default() -> Timeline {
        Timeline {
            bucket: "minute".to_string(),
            auto: false,
            first: None,
            last: None,
            undated: 0,
            buckets: BTreeMap::new(),
            span: None,
        }
    }
}

impl Timeline {
    /// The bucket length in seconds.
    pub fn bucket_secs(&self) -> u64 {
        bucket_secs(&self.bucket).unwrap_or(60)
    }

    /// Occurrences in the busiest bucket (at least 1, to scale charts by).
    pub fn busiest(&self) -> u64 {
        self.buckets
            .values()
            .map(|c| c.total())
            .max()
            .unwrap_or(1)
            .max(1)
    }

    /// Counts an occurrence at `time` (`None`: undated).
    pub fn add(&mut self, time: Option<f64>, verdict: Verdict) {
        let Some(t) = time.filter(|t| t.is_finite()) else {
            self.undated += 1;
            return;
        };
        let step = self.bucket_secs() as i64;
        let start = (t as i64).div_euclid(step).saturating_mul(step);
        self.buckets.entry(start).or_default().add(verdict);
        let (lo, hi) = self.span.get_or_insert((t, t));
        *lo = lo.min(t);
        *hi = hi.max(t);
    }

    /// Adds counts of occurrences whose request times lie in `[lo, hi]`,
    /// all within one bucket.
    pub fn add_counts(&mut self, lo: f64, hi: f64, counts: &VerdictCounts) {
        let step = self.bucket_secs() as i64;
        let start = (lo as i64).div_euclid(step).saturating_mul(step);
        self.buckets.entry(start).or_default().merge(counts);
        let (min, max) = self.span.get_or_insert((lo, hi));
        *min = min.min(lo);
        *max = max.max(hi);
    }

    /// Merges another timeline: counts add, the coarser bucket wins, and
    /// an automatic bucket is chosen again from the joint span.
    pub fn merge(&mut self, mut other: Timeline) {
        self.restore_span();
        other.restore_span();
        let bucket = if other.bucket_secs() > self.bucket_secs() {
            other.bucket.clone()
        } else {
            self.bucket.clone()
        };
        self.coarsen(&bucket);
        other.coarsen(&bucket);
        for (start, counts) in other.buckets {
            self.buckets.entry(start).or_default().merge(&counts);
        }
        self.undated = self.undated.saturating_add(other.undated);
        self.span = match (self.span, other.span) {
            (Some(a), Some(b)) => Some((a.0.min(b.0), a.1.max(b.1))),
            (a, b) => a.or(b),
        };
        self.auto = self.auto && other.auto;
        self.settle();
    }

    /// Fixes the bucket: `choice` (a [`BUCKETS`] name), or from the span
    /// when `None`; then records the span as text.
    pub fn choose(&mut self, choice: Option<&str>) {
        match choice {
            Some(bucket) => {
                self.auto = false;
                self.coarsen(bucket);
            }
            None => self.auto = true,
        }
        self.settle();
    }

    /// Coarsens to the span's bucket if automatic, and writes the span.
    fn settle(&mut self) {
        if self.auto {
            let span = self.span.map_or(0.0, |(lo, hi)| hi - lo);
            let bucket = if span <= 3.0 * 3600.0 {
                "minute"
            } else if span <= 7.0 * 86_400.0 {
                "hour"
            } else {
                "day"
            };
            self.coarsen(bucket);
        }
        self.first = self.span.map(|(lo, _)| crate::time::format_rfc3339(lo));
        self.last = self.span.map(|(_, hi)| crate::time::format_rfc3339(hi));
    }

    /// Regroups the buckets into `bucket`, if it is coarser.
    fn coarsen(&mut self, bucket: &str) {
        let Some(step) = bucket_secs(bucket) else {
            return;
        };
        if step <= self.bucket_secs() {
            return;
        }
        let step = step as i64;
        let mut coarse: BTreeMap<i64, VerdictCounts> = BTreeMap::new();
        for (start, counts) in std::mem::take(&mut self.buckets) {
            coarse
                .entry(start.div_euclid(step).saturating_mul(step))
                .or_default()
                .merge(&counts);
        }
        self.buckets = coarse;
        self.bucket = bucket.to_string();
    }

    /// The span from the written first and last times, after reading a
    /// report back.
    fn restore_span(&mut self) {
        if self.span.is_none() {
            let parse = |s: &Option<String>| {
                s.as_deref()
                    .and_then(|s| crate::time::parse_rfc3339(s.as_bytes()))
                    .map(|(t, _)| t)
            };
            if let (Some(lo), Some(hi)) = (parse(&self.first), parse(&self.last)) {
                self.span = Some((lo, hi));
            }
        }
    }
}

/// The length of a named bucket.
pub fn bucket_secs(name: &str) -> Option<u64> {
    BUCKETS.iter().find(|(n, _)| *n == name).map(|&(_, s)| s)
}

/// Token lifetimes (`exp − iat`), occurrences per range.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lifetimes {
    /// Up to 5 minutes.
    pub up_to_5m: u64,
    /// Over 5 minutes, up to an hour.
    pub up_to_1h: u64,
    /// Over an hour, up to a day.
    pub up_to_1d: u64,
    /// Over a day, up to 30 days.
    pub up_to_30d: u64,
    /// Over 30 days.
    pub over_30d: u64,
}

impl Lifetimes {
    fn add(&mut self, secs: f64) {
        *match secs {
            s if s <= 300.0 => &mut self.up_to_5m,
            s if s <= 3600.0 => &mut self.up_to_1h,
            s if s <= 86_400.0 => &mut self.up_to_1d,
            s if s <= 30.0 * 86_400.0 => &mut self.up_to_30d,
            _ => &mut self.over_30d,
        } += 1;
    }

    fn merge(&mut self, o: &Lifetimes) {
        self.up_to_5m += o.up_to_5m;
        self.up_to_1h += o.up_to_1h;
        self.up_to_1d += o.up_to_1d;
        self.up_to_30d += o.up_to_30d;
        self.over_30d += o.over_30d;
    }

    /// The ranges with their labels, shortest first.
    pub fn rows(&self) -> [(&'static str, u64); 5] {
        [
            ("<= 5m", self.up_to_5m),
            ("<= 1h", self.up_to_1h),
            ("<= 1d", self.up_to_1d),
            ("<= 30d", self.up_to_30d),
            ("> 30d", self.over_30d),
        ]
    }
}

/// How long after `exp` expired tokens were used, occurrences per range.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AfterExp {
    /// Within a minute.
    pub under_1m: u64,
    /// Within an hour.
    pub under_1h: u64,
    /// Within a day.
    pub under_1d: u64,
    /// A day or more.
    pub over_1d: u64,
    /// The longest, in seconds.
    pub max_secs: f64,
}

impl AfterExp {
    fn add(&mut self, secs: f64) {
        *match secs {
            s if s < 60.0 => &mut self.under_1m,
            s if s < 3600.0 => &mut self.under_1h,
            s if s < 86_400.0 => &mut self.under_1d,
            _ => &mut self.over_1d,
        } += 1;
        self.max_secs = self.max_secs.max(secs);
    }

    /// Occurrences in every range.
    pub fn total(&self) -> u64 {
        self.under_1m + self.under_1h + self.under_1d + self.over_1d
    }

    fn merge(&mut self, o: &AfterExp) {
        self.under_1m += o.under_1m;
        self.under_1h += o.under_1h;
        self.under_1d += o.under_1d;
        self.over_1d += o.over_1d;
        self.max_secs = self.max_secs.max(o.max_secs);
    }
}

/// How one issuer's tokens were made and used, over the occurrences of
/// tokens whose signature verified (a forged token's claims say nothing
/// about its issuer). Times of use are request times; occurrences on
/// lines without one are left out of `used_after_exp`, `used_before_iat`
/// and `iat_ahead`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Hygiene {
    /// Occurrences counted.
    pub occurrences: u64,
    /// Occurrences of tokens without `exp`: they never expire.
    pub no_exp: u64,
    /// Occurrences of tokens without `iat`.
    pub no_iat: u64,
    /// Lifetimes of tokens with both `iat` and `exp`.
    pub lifetimes: Lifetimes,
    /// The longest lifetime, in seconds.
    pub max_lifetime_secs: f64,
    /// Occurrences with a lifetime over `--max-lifetime`.
    pub beyond_max_lifetime: u64,
    /// Uses after `exp`, by how long after.
    pub used_after_exp: AfterExp,
    /// Uses before `iat` by more than the leeway: the issuer's clock is
    /// ahead of the server's, or the token was made up.
    pub used_before_iat: u64,
    /// The largest `iat − request time`, in seconds: how far the
    /// issuer's clock runs ahead (negative: never ahead).
    pub max_iat_ahead_secs: Option<f64>,
}

/// The limits hygiene is judged by.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HygieneRules {
    /// Allowed clock skew, in seconds.
    pub leeway: f64,
    /// The longest acceptable lifetime, in seconds.
    pub max_lifetime: f64,
}

impl Hygiene {
    /// Counts one occurrence of a verified token used at `time`.
    pub fn add(&mut self, claims: &Claims, time: Option<f64>, rules: &HygieneRules) {
        self.occurrences += 1;
        match (claims.iat, claims.exp) {
            (Some(iat), Some(exp)) => {
                let lifetime = exp - iat;
                self.lifetimes.add(lifetime);
                self.max_lifetime_secs = self.max_lifetime_secs.max(lifetime);
                if lifetime > rules.max_lifetime {
                    self.beyond_max_lifetime += 1;
                }
            }
            (None, exp) => {
                self.no_iat += 1;
                self.no_exp += u64::from(exp.is_none());
            }
            (Some(_), None) => self.no_exp += 1,
        }
        let Some(time) = time else { return };
        if let Some(exp) = claims.exp.filter(|&exp| time > exp) {
            self.used_after_exp.add(time - exp);
        }
        if let Some(iat) = claims.iat {
            if iat - time > rules.leeway {
                self.used_before_iat += 1;
            }
            let ahead = iat - time;
            self.max_iat_ahead_secs = Some(self.max_iat_ahead_secs.map_or(ahead, |m| m.max(ahead)));
        }
    }

    /// Adds another issuer's counts.
    pub fn merge(&mut self, o: &Hygiene) {
        self.occurrences += o.occurrences;
        self.no_exp += o.no_exp;
        self.no_iat += o.no_iat;
        self.lifetimes.merge(&o.lifetimes);
        self.max_lifetime_secs = self.max_lifetime_secs.max(o.max_lifetime_secs);
        self.beyond_max_lifetime += o.beyond_max_lifetime;
        self.used_after_exp.merge(&o.used_after_exp);
        self.used_before_iat += o.used_before_iat;
        self.max_iat_ahead_secs = match (self.max_iat_ahead_secs, o.max_iat_ahead_secs) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }
}

/// A HyperLogLog sketch of the distinct tokens, fed with a hash that is
/// the same in every process, so sketches from separate runs merge by
/// taking the larger register. A single run counts distinct tokens
/// exactly; the sketch answers only for reports merged from JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DistinctSketch {
    registers: Vec<u8>,
}

impl Default for DistinctSketch {
    fn default() -> DistinctSketch {
        DistinctSketch {
            registers: vec![0; 1 << DistinctSketch::BITS],
        }
    }
}

impl DistinctSketch {
    /// Index bits: 4096 registers.
    const BITS: u32 = 12;

    /// The standard error of the estimate, `1.04 / √4096`.
    pub const RELATIVE_ERROR: f64 = 0.01625;

    /// Notes a token text.
    pub fn add(&mut self, token: &[u8]) {
        self.add_hash(stable_hash(token));
    }

    /// Notes a token text by its [`stable_hash`].
    pub fn add_hash(&mut self, hash: u64) {
        let index = (hash >> (64 - Self::BITS)) as usize;
        let rank = ((hash << Self::BITS) | (1 << (Self::BITS - 1))).leading_zeros() as u8 + 1;
        let register = &mut self.registers[index];
        *register = (*register).max(rank);
    }

    /// Takes the larger of each register.
    pub fn merge(&mut self, other: &DistinctSketch) {
        for (a, &b) in self.registers.iter_mut().zip(&other.registers) {
            *a = (*a).max(b);
        }
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.registers.iter().all(|&r| r == 0)
    }

    /// The estimated number of distinct tokens.
    pub fn estimate(&self) -> u64 {
        let m = self.registers.len() as f64;
        let sum: f64 = self.registers.iter().map(|&r| (-(r as f64)).exp2()).sum();
        let raw = 0.7213 / (1.0 + 1.079 / m) * m * m / sum;
        let zeros = self.registers.iter().filter(|&&r| r == 0).count();
        // Small ranges: linear counting is the better estimate.
        let estimate = if raw <= 2.5 * m && zeros > 0 {
            m * (m / zeros as f64).ln()
        } else {
            raw
        };
        estimate.round() as u64
    }
}

impl Serialize for DistinctSketch {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::verify::hex(&self.registers))
    }
}

impl<'de> Deserialize<'de> for DistinctSketch {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let bytes = text.as_bytes();
        let expected = 2usize << Self::BITS;
        if bytes.len() != expected {
            return Err(serde::de::Error::custom(format!(
                "distinct_sketch: {} hex digits, expected {expected}",
                bytes.len()
            )));
        }
        let nibble = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
        let registers = bytes
            .chunks_exact(2)
            .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(|| serde::de::Error::custom("distinct_sketch: not hex"))?;
        Ok(DistinctSketch { registers })
    }
}

/// A 64-bit hash that is the same in every process and on every machine
/// (XXH3-64 with seed 0, a published algorithm), so that sketches from
/// separate runs are comparable. Not keyed: a log could be crafted to skew
/// a sketch, which only affects merged estimates. The multiply-fold over
/// 8-byte words it replaced was a chain of dependent multiplications,
/// about 2% of a scan of distinct HS256 tokens.
pub fn stable_hash(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(bytes)
}

/// Distinct clients and user agents are counted per token up to this
/// many; `--replay-ips` must stay below it.
pub const MAX_TRACKED: usize = 64;

/// The replay report keeps this many tokens, most widely shared first.
pub const MAX_REPLAYED: usize = 20;

/// How one token (or one `iss` + `jti`) was used, while scanning.
#[derive(Clone, Debug, Default)]
pub struct TokenUse {
    /// Occurrences.
    pub occurrences: u64,
    /// Hashes of the distinct client addresses, sorted, at most
    /// [`MAX_TRACKED`].
    pub clients: Vec<u64>,
    /// Hashes of the distinct user agents, likewise.
    pub agents: Vec<u64>,
    /// The earliest and latest request time.
    pub seen: Option<(f64, f64)>,
    /// The first place, by file and line.
    pub first_at: Option<(String, u64)>,
    /// How the report names it: a token fingerprint or `iss`/`jti`.
    pub name: String,
}

impl TokenUse {
    /// Counts one use.
    pub fn add(&mut self, client: Option<u64>, agent: Option<u64>, time: Option<f64>) {
        self.occurrences += 1;
        for (set, value) in [(&mut self.clients, client), (&mut self.agents, agent)] {
            if let Some(v) = value {
                insert_capped(set, v);
            }
        }
        if let Some(t) = time {
            let (lo, hi) = self.seen.get_or_insert((t, t));
            *lo = lo.min(t);
            *hi = hi.max(t);
        }
    }

    /// Notes a place it was used at; the first by file and line is kept.
    pub fn place(&mut self, file: &str, line: u64) {
        let earlier = self
            .first_at
            .as_ref()
            .is_none_or(|(f, l)| (file, line) < (f.as_str(), *l));
        if earlier {
            self.first_at = Some((file.to_string(), line));
        }
    }

    /// Merges another worker's uses of the same token. Capped sets stay
    /// exact up to the cap: the count is min(true count, cap) whatever
    /// the split.
    pub fn merge(&mut self, other: TokenUse) {
        self.occurrences = self.occurrences.saturating_add(other.occurrences);
        for (set, theirs) in [
            (&mut self.clients, other.clients),
            (&mut self.agents, other.agents),
        ] {
            for v in theirs {
                insert_capped(set, v);
            }
        }
        self.seen = match (self.seen, other.seen) {
            (Some(a), Some(b)) => Some((a.0.min(b.0), a.1.max(b.1))),
            (a, b) => a.or(b),
        };
        if let Some((file, line)) = other.first_at {
            self.place(&file, line);
        }
        if self.name.is_empty() {
            self.name = other.name;
        }
    }
}

/// Inserts into a sorted set unless it holds [`MAX_TRACKED`] values; a
/// full set keeps its smallest values, so the count is the same
/// whatever order values arrive in.
fn insert_capped(set: &mut Vec<u64>, value: u64) {
    if let Err(i) = set.binary_search(&value) {
        if set.len() < MAX_TRACKED {
            set.insert(i, value);
        } else if i < MAX_TRACKED {
            set.insert(i, value);
            set.pop();
        }
    }
}

/// Tokens used from more than `threshold` client addresses or user
/// agents (`--replay-ips`): shared or stolen and replayed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Replay {
    /// `--replay-ips`.
    pub threshold: u64,
    /// Tokens (or `iss`/`jti` pairs) over the threshold.
    pub tokens: u64,
    /// The most widely shared, at most [`MAX_REPLAYED`].
    pub shared: Vec<SharedToken>,
}

/// One widely shared token.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SharedToken {
    /// `token_sha256 …` or `jti ISS/JTI`.
    pub token: String,
    /// Occurrences.
    pub occurrences: u64,
    /// Distinct client addresses (at most 64).
    pub clients: u64,
    /// Distinct user agents (at most 64).
    pub user_agents: u64,
    /// Whether a count reached the cap of 64.
    pub capped: bool,
    /// The first request time, RFC 3339.
    pub first_seen: Option<String>,
    /// The last request time.
    pub last_seen: Option<String>,
    /// The first place, `file:line`.
    pub first_at: String,
}

impl Replay {
    /// Picks the tokens over `threshold` from every token's uses.
    pub fn from_uses(threshold: u64, uses: impl Iterator<Item = TokenUse>) -> Replay {
        let mut shared: Vec<SharedToken> = uses
            .filter(|u| u.clients.len() as u64 > threshold || u.agents.len() as u64 > threshold)
            .map(|u| SharedToken {
                token: u.name,
                occurrences: u.occurrences,
                clients: u.clients.len() as u64,
                user_agents: u.agents.len() as u64,
                capped: u.clients.len().max(u.agents.len()) >= MAX_TRACKED,
                first_seen: u.seen.map(|(lo, _)| crate::time::format_rfc3339(lo)),
                last_seen: u.seen.map(|(_, hi)| crate::time::format_rfc3339(hi)),
                first_at: u
                    .first_at
                    .map_or(String::new(), |(f, l)| format!("{f}:{l}")),
            })
            .collect();
        let tokens = shared.len() as u64;
        sort_shared(&mut shared);
        shared.truncate(MAX_REPLAYED);
        Replay {
            threshold,
            tokens,
            shared,
        }
    }

    /// Merges reports' lists. Approximate: a token under the threshold in
    /// each part may be over it in the whole, and distinct clients of a
    /// token seen in two parts are taken as the larger count.
    pub fn merge(&mut self, other: Replay) {
        self.threshold = self.threshold.max(other.threshold);
        let mut matched = 0;
        for theirs in other.shared {
            let Some(mine) = self.shared.iter_mut().find(|s| s.token == theirs.token) else {
                self.shared.push(theirs);
                continue;
            };
            matched += 1;
            mine.occurrences += theirs.occurrences;
            mine.clients = mine.clients.max(theirs.clients);
            mine.user_agents = mine.user_agents.max(theirs.user_agents);
            mine.capped |= theirs.capped;
            mine.first_seen = match (mine.first_seen.take(), theirs.first_seen) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            mine.last_seen = mine.last_seen.take().max(theirs.last_seen);
            if !theirs.first_at.is_empty() && theirs.first_at < mine.first_at {
                mine.first_at = theirs.first_at;
            }
        }
        let tokens = self
            .tokens
            .saturating_add(other.tokens)
            .saturating_sub(matched);
        self.tokens = tokens.max(self.shared.len() as u64);
        sort_shared(&mut self.shared);
        self.shared.truncate(MAX_REPLAYED);
    }
}

/// Most widely shared first, then most used, then by name.
fn sort_shared(shared: &mut [SharedToken]) {
    shared.sort_by(|a, b| {
        (b.clients.max(b.user_agents))
            .cmp(&a.clients.max(a.user_agents))
            .then(b.occurrences.cmp(&a.occurrences))
            .then(a.token.cmp(&b.token))
    });
}

/// A finding derived from the audit, for renderers and the findings map.
pub(super) struct AuditFinding {
    pub name: &'static str,
    pub severity: &'static str,
    pub explanation: String,
    pub occurrences: u64,
    pub examples: Vec<Example>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sketch_estimates_within_its_error_and_merges_as_union() {
        for n in [10u64, 1000, 50_000] {
            let mut a = DistinctSketch::default();
            let mut b = DistinctSketch::default();
            for i in 0..n {
                let token = format!("eyJ.token-{i}.sig");
                if i % 2 == 0 { &mut a } else { &mut b }.add(token.as_bytes());
                // overlap: b sees every tenth of a's tokens too
                if i % 10 == 0 {
                    b.add(token.as_bytes());
                }
            }
            a.merge(&b);
            let estimate = a.estimate() as f64;
            let error = (estimate - n as f64).abs() / n as f64;
            assert!(
                error < 4.0 * DistinctSketch::RELATIVE_ERROR,
                "{n}: {estimate}"
            );
        }
        let text = serde_json::to_string(&DistinctSketch::default()).unwrap();
        assert_eq!(
            serde_json::from_str::<DistinctSketch>(&text).unwrap(),
            DistinctSketch::default()
        );
        assert!(serde_json::from_str::<DistinctSketch>("\"zz\"").is_err());
    }

    #[test]
    fn stable_hash_is_fixed() {
        // Pinned: sketches written by other runs and versions depend on it.
        assert_eq!(stable_hash(b""), stable_hash(b""));
        assert_ne!(stable_hash(b"a"), stable_hash(b"b"));
        assert_ne!(stable_hash(b"abcdefgh"), stable_hash(b"abcdefgh\0"));
        // XXH3-64's published value for no input, and one computed with
        // the Python `xxhash` package (a separate implementation)
        assert_eq!(stable_hash(b""), 0x2d06_8005_38d3_94c2);
        assert_eq!(
            stable_hash(b"eyJhbGciOiJub25lIn0.e30."),
            0xa02e_ed43_5b28_d66d
        );
    }

    #[test]
    fn timeline_merge_coarsens_and_chooses_from_span() {
        let mut a = Timeline::default();
        let mut b = Timeline::default();
        a.add(Some(1_796_292_000.0), Verdict::Valid);
        a.add(None, Verdict::Expired);
        b.add(
            Some(1_796_292_000.0 + 5.0 * 3600.0 + 61.0),
            Verdict::Expired,
        );
        let mut whole = a.clone();
        whole.add(
            Some(1_796_292_000.0 + 5.0 * 3600.0 + 61.0),
            Verdict::Expired,
        );
        a.choose(None);
        b.choose(None);
        whole.choose(None);
        assert_eq!(a.bucket, "minute");
        a.merge(b);
        assert_eq!(a, whole);
        assert_eq!(a.bucket, "hour");
        assert_eq!(a.undated, 1);
        assert_eq!(a.buckets.len(), 2);
        assert_eq!(
            a.buckets[&(1_796_292_000 + 5 * 3600)].of(Verdict::Expired),
            1
        );
        assert_eq!(a.first.as_deref(), Some("2026-12-03T10:00:00Z"));
    }

    #[test]
    fn capped_sets_count_the_same_whatever_the_split() {
        let values: Vec<u64> = (0..200u64)
            .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15))
            .collect();
        let mut whole = TokenUse::default();
        for &v in &values {
            whole.add(Some(v), Some(v % 3), None);
        }
        let mut a = TokenUse::default();
        let mut b = TokenUse::default();
        for &v in values.iter().rev() {
            if v % 2 == 0 { &mut a } else { &mut b }.add(Some(v), Some(v % 3), None);
        }
        b.merge(a);
        assert_eq!(b.clients, whole.clients);
        assert_eq!(whole.clients.len(), MAX_TRACKED);
        assert_eq!(whole.agents.len(), 3);
        assert_eq!(b.occurrences, 200);
    }

    #[test]
    fn hygiene_counts() {
        let mut claims = Claims::default();
        claims.iat = Some(1000.0);
        claims.exp = Some(1000.0 + 86_400.0 * 2.0);
        let rules = HygieneRules {
            leeway: 60.0,
            max_lifetime: 86_400.0,
        };
        let mut h = Hygiene::default();
        h.add(&claims, Some(900.0), &rules);
        h.add(&claims, Some(1000.0 + 86_400.0 * 2.0 + 30.0), &rules);
        claims.exp = None;
        h.add(&claims, None, &rules);
        assert_eq!(h.occurrences, 3);
        assert_eq!(h.no_exp, 1);
        assert_eq!(h.lifetimes.up_to_30d, 2);
        assert_eq!(h.beyond_max_lifetime, 2);
        assert_eq!(h.used_after_exp.under_1m, 1);
        assert_eq!(h.used_after_exp.max_secs, 30.0);
        assert_eq!(h.used_before_iat, 1);
        assert_eq!(h.max_iat_ahead_secs, Some(100.0));
    }
}
