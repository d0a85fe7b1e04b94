//! The aggregate report: a monoid.
//!
//! Each worker folds its occurrences into its own [`Report`]; reports merge
//! with [`Report::merge`], which is associative and commutative on every
//! count, so chunks, files, threads and runs combine into the report of one
//! run over everything. Renderers turn a finished report into text or JSON.

pub mod occurrences;
pub mod text;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use serde::{Deserialize, Serialize};

use crate::alg::Alg;
use crate::cache::CacheStats;
use crate::find::Carrier;
use crate::sweep::findings::Finding;
use crate::verdict::Verdict;
use crate::verify::Checked;

/// The version of the JSON report schema (see `docs/report-schema.md`).
pub const SCHEMA_VERSION: u32 = 1;

/// A breakdown map holds at most this many keys; the rest are counted
/// under [`OTHER`], so hostile logs with a fresh `kid` per token cannot
/// grow the report without bound.
pub const MAX_KEYS: usize = 1000;

/// The key that collects what [`MAX_KEYS`] leaves out.
pub const OTHER: &str = "(other)";

/// The key for tokens that lack the field.
pub const NONE: &str = "(none)";

/// Breakdown keys are cut to this many characters.
const MAX_KEY_CHARS: usize = 120;

/// Occurrence counts per verdict.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VerdictCounts(pub [u64; Verdict::ALL.len()]);

impl VerdictCounts {
    /// Adds one occurrence of `verdict`.
    pub fn add(&mut self, verdict: Verdict) {
        self.0[verdict.index()] += 1;
    }

    /// The count of `verdict`.
    pub fn of(&self, verdict: Verdict) -> u64 {
        self.0[verdict.index()]
    }

    /// Every occurrence counted.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// Adds another set of counts.
    pub fn merge(&mut self, other: &VerdictCounts) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a += b;
        }
    }
}

impl Serialize for VerdictCounts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(Verdict::ALL.len()))?;
        for verdict in Verdict::ALL {
            map.serialize_entry(verdict.name(), &self.of(verdict))?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for VerdictCounts {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<String, u64>::deserialize(d)?;
        let mut counts = VerdictCounts::default();
        for (name, n) in map {
            let verdict = Verdict::from_name(&name)
                .ok_or_else(|| serde::de::Error::custom(format!("unknown verdict {name:?}")))?;
            counts.0[verdict.index()] = n;
        }
        Ok(counts)
    }
}

/// What was read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Inputs opened and read (fully or up to an error).
    pub files: u64,
    /// Lines read.
    pub lines: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Token occurrences found.
    pub tokens: u64,
    /// Distinct tokens among them.
    pub distinct_tokens: u64,
}

/// Occurrences by how they were found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CarrierCounts {
    /// After a `Bearer` scheme.
    pub bearer: u64,
    /// In a query or cookie parameter.
    pub parameter: u64,
    /// In a JSON string member.
    pub json_member: u64,
    /// Recognised by its JSON header alone.
    pub bare: u64,
}

impl CarrierCounts {
    fn add(&mut self, carrier: Carrier) {
        *match carrier {
            Carrier::Bearer => &mut self.bearer,
            Carrier::Parameter => &mut self.parameter,
            Carrier::JsonMember => &mut self.json_member,
            Carrier::Bare => &mut self.bare,
        } += 1;
    }

    fn merge(&mut self, other: &CarrierCounts) {
        self.bearer += other.bearer;
        self.parameter += other.parameter;
        self.json_member += other.json_member;
        self.bare += other.bare;
    }
}

/// Which evaluation time judged the occurrences whose verdict depended on
/// the clock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeSources {
    /// Judged at the request time found on their line.
    pub request_time: u64,
    /// Judged at the fallback time (`--at`, or the scan's start).
    pub fallback: u64,
}

/// An input that could not be read, or not completely.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputError {
    /// The path, or `-` for standard input.
    pub file: String,
    /// What went wrong.
    pub message: String,
}

/// The settings that shaped the verdicts, so a report can be read alone.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// The time rule: `request_time_else_scan_start` or `fixed`.
    pub time_rule: String,
    /// The fallback or fixed evaluation time, RFC 3339.
    pub at: String,
    /// Leeway in seconds.
    pub leeway_secs: f64,
    /// `--issuer` values.
    pub issuers: Vec<String>,
    /// `--audience` values.
    pub audiences: Vec<String>,
    /// Accepted algorithms.
    pub algs: Vec<String>,
    /// The keys loaded, as `id (family: algs) from origin`.
    pub keys: Vec<String>,
}

/// Cache counters, as in the JSON report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheReport {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that checked a token.
    pub misses: u64,
    /// Entries dropped to stay within `--cache-mib`.
    pub evictions: u64,
}

impl From<CacheStats> for CacheReport {
    fn from(s: CacheStats) -> CacheReport {
        CacheReport {
            hits: s.hits,
            misses: s.misses,
            evictions: s.evictions,
        }
    }
}

/// The aggregate of a scan.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The settings of the run.
    pub settings: Settings,
    /// What was read.
    pub totals: Totals,
    /// Occurrences per verdict.
    pub verdicts: VerdictCounts,
    /// Occurrences per verdict, by header `alg`.
    pub by_alg: BTreeMap<String, VerdictCounts>,
    /// Occurrences per verdict, by header `kid`.
    pub by_kid: BTreeMap<String, VerdictCounts>,
    /// Occurrences per verdict, by `iss`.
    pub by_issuer: BTreeMap<String, VerdictCounts>,
    /// Occurrences by how they were found.
    pub carriers: CarrierCounts,
    /// Evaluation times used.
    pub time_sources: TimeSources,
    /// Distinct-token cache counters.
    pub cache: CacheReport,
    /// Attack findings, by name (see [`crate::sweep::findings`]).
    pub findings: BTreeMap<String, FindingReport>,
    /// The key families each `kid` was used with, for the
    /// `alg_family_mix` finding.
    pub kid_families: BTreeMap<String, BTreeSet<String>>,
    /// The key families each issuer was used with.
    pub issuer_families: BTreeMap<String, BTreeSet<String>>,
    /// Inputs that could not be read fully.
    pub errors: Vec<InputError>,
    /// Wall-clock seconds the scan took.
    pub duration_secs: f64,
    /// Fingerprints of the distinct tokens, for exact merging in memory.
    #[serde(skip)]
    distinct: HashSet<u128, BuildHasherDefault<IdHasher>>,
}

impl Report {
    /// An empty report.
    pub fn new() -> Report {
        Report {
            schema_version: SCHEMA_VERSION,
            ..Report::default()
        }
    }

    /// Folds in one occurrence of a checked token whose identity is `id`
    /// (see [`TokenIds`]): [`Report::count`], [`Report::add_distinct`] and
    /// [`Report::add_breakdowns`] at once.
    pub fn add(&mut self, checked: &Checked, id: u128, verdict: Verdict, carrier: Carrier) {
        self.count(verdict, carrier);
        self.add_distinct(id);
        let mut counts = VerdictCounts::default();
        counts.add(verdict);
        self.add_breakdowns(checked, &counts);
    }

    /// Counts one occurrence's verdict and carrier.
    pub fn count(&mut self, verdict: Verdict, carrier: Carrier) {
        self.totals.tokens += 1;
        self.verdicts.add(verdict);
        self.carriers.add(carrier);
    }

    /// Notes a distinct token by its identity; seeing it again is
    /// harmless, so a scan calls this once per check, not per occurrence.
    pub fn add_distinct(&mut self, id: u128) {
        if self.distinct.insert(id) {
            self.totals.distinct_tokens = self.distinct.len() as u64;
        }
    }

    /// Adds a token's verdict counts to the alg, kid and issuer breakdowns.
    pub fn add_breakdowns(&mut self, checked: &Checked, counts: &VerdictCounts) {
        let (alg, kid) = (checked.alg(), checked.kid.as_deref());
        self.add_breakdowns_for(alg, kid, checked.claims.iss(), counts);
    }

    /// Adds verdict counts under an alg, a kid and an issuer (each `None`
    /// when the tokens lack it).
    pub fn add_breakdowns_for(
        &mut self,
        alg: Option<&str>,
        kid: Option<&str>,
        iss: Option<&str>,
        counts: &VerdictCounts,
    ) {
        add_to(&mut self.by_alg, alg, counts);
        add_to(&mut self.by_kid, kid, counts);
        add_to(&mut self.by_issuer, iss, counts);
    }

    /// Merges another report into this one. Counts add; distinct tokens
    /// are a set union; settings are kept from `self` unless empty.
    pub fn merge(&mut self, other: Report) {
        let t = &mut self.totals;
        t.files += other.totals.files;
        t.lines += other.totals.lines;
        t.bytes += other.totals.bytes;
        t.tokens += other.totals.tokens;
        self.verdicts.merge(&other.verdicts);
        for (mine, theirs) in [
            (&mut self.by_alg, other.by_alg),
            (&mut self.by_kid, other.by_kid),
            (&mut self.by_issuer, other.by_issuer),
        ] {
            for (key, counts) in theirs {
                merge_key(mine, key, &counts);
            }
        }
        self.carriers.merge(&other.carriers);
        self.time_sources.request_time += other.time_sources.request_time;
        self.time_sources.fallback += other.time_sources.fallback;
        self.cache.hits += other.cache.hits;
        self.cache.misses += other.cache.misses;
        self.cache.evictions += other.cache.evictions;
        self.errors.extend(other.errors);
        for (name, theirs) in other.findings {
            self.findings.entry(name).or_default().merge(theirs);
        }
        for (mine, theirs) in [
            (&mut self.kid_families, other.kid_families),
            (&mut self.issuer_families, other.issuer_families),
        ] {
            for (key, families) in theirs {
                if mine.len() < MAX_KEYS || mine.contains_key(&key) {
                    mine.entry(key).or_default().extend(families);
                }
            }
        }
        self.note_family_mix();
        if self.distinct.is_empty() {
            self.distinct = other.distinct;
        } else {
            self.distinct.extend(other.distinct);
        }
        self.totals.distinct_tokens = self.distinct.len() as u64;
        if self.settings == Settings::default() {
            self.settings = other.settings;
        }
        self.duration_secs = self.duration_secs.max(other.duration_secs);
    }

    /// Counts one occurrence of a token (identity `id`) with `finding`,
    /// at `example`.
    pub fn add_finding(&mut self, finding: Finding, id: u128, example: Example) {
        let entry = self
            .findings
            .entry(finding.name().to_string())
            .or_insert_with(|| FindingReport::new(finding));
        entry.occurrences += 1;
        if entry.ids.insert(id) {
            entry.distinct_tokens = entry.ids.len() as u64;
        }
        if entry.examples.len() < MAX_EXAMPLES || Some(&example) < entry.examples.last() {
            entry.examples.push(example);
            entry.examples.sort();
            entry.examples.dedup();
            entry.examples.truncate(MAX_EXAMPLES);
        }
    }

    /// Notes the key family of tokens with this alg, kid and issuer.
    pub fn add_family(&mut self, alg: Option<&str>, kid: Option<&str>, iss: Option<&str>) {
        let Some(family) = alg
            .and_then(|a| Alg::from_name(a.as_bytes()))
            .map(Alg::family)
        else {
            return;
        };
        for (map, key) in [
            (&mut self.kid_families, kid),
            (&mut self.issuer_families, iss),
        ] {
            let Some(key) = key else { continue };
            if map.len() < MAX_KEYS || map.contains_key(key) {
                map.entry(clean_key(key))
                    .or_default()
                    .insert(family.name().to_string());
            }
        }
        self.note_family_mix();
    }

    /// Brings the `alg_family_mix` finding up to date with the families.
    fn note_family_mix(&mut self) {
        // A kid names one key, so any mix is suspect. An issuer may rightly
        // sign with RSA and EC keys; only HMAC beside a public-key family
        // is the mark of key confusion there.
        let kid_mixed = |f: &BTreeSet<String>| f.len() > 1;
        let issuer_mixed = |f: &BTreeSet<String>| f.len() > 1 && f.contains("hmac");
        let mut subjects = Vec::new();
        let checks: [(
            &str,
            &BTreeMap<String, BTreeSet<String>>,
            &dyn Fn(&BTreeSet<String>) -> bool,
        ); 2] = [
            ("kid", &self.kid_families, &kid_mixed),
            ("issuer", &self.issuer_families, &issuer_mixed),
        ];
        for (what, map, mixed) in checks {
            for (key, families) in map.iter().filter(|(_, f)| mixed(f)) {
                let list: Vec<&str> = families.iter().map(String::as_str).collect();
                subjects.push(format!("{what} {key}: {}", list.join(", ")));
            }
        }
        if subjects.is_empty() {
            return;
        }
        let entry = self
            .findings
            .entry(Finding::AlgFamilyMix.name().to_string())
            .or_insert_with(|| FindingReport::new(Finding::AlgFamilyMix));
        entry.subjects = subjects;
    }

    /// Whether any occurrence is not valid.
    pub fn any_invalid(&self) -> bool {
        self.verdicts.total() > self.verdicts.of(Verdict::Valid)
    }
}

/// A line reference for a finding.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Example {
    /// The input.
    pub file: String,
    /// The 1-based line.
    pub line: u64,
    /// The token's fingerprint.
    pub token_sha256: String,
}

/// Findings keep this many line references: the first by file and line,
/// so the choice does not depend on threads or merge order.
pub const MAX_EXAMPLES: usize = 5;

/// The counts behind one kind of finding.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FindingReport {
    /// `critical`, `high`, `medium` or `low`.
    pub severity: String,
    /// What it means, in a line.
    pub explanation: String,
    /// Occurrences of tokens with this finding.
    pub occurrences: u64,
    /// Distinct tokens with this finding.
    pub distinct_tokens: u64,
    /// The first few places, by file and line.
    pub examples: Vec<Example>,
    /// For findings about keys or issuers rather than tokens: which.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<String>,
    #[serde(skip)]
    ids: HashSet<u128, BuildHasherDefault<IdHasher>>,
}

impl FindingReport {
    fn new(finding: Finding) -> FindingReport {
        FindingReport {
            severity: finding.severity().name().to_string(),
            explanation: finding.explanation().to_string(),
            ..FindingReport::default()
        }
    }

    fn merge(&mut self, other: FindingReport) {
        if self.severity.is_empty() {
            self.severity = other.severity;
            self.explanation = other.explanation;
        }
        self.occurrences += other.occurrences;
        self.ids.extend(other.ids);
        self.distinct_tokens = self.distinct_tokens.max(self.ids.len() as u64);
        self.examples.extend(other.examples);
        self.examples.sort();
        self.examples.dedup();
        self.examples.truncate(MAX_EXAMPLES);
        self.subjects.extend(other.subjects);
        self.subjects.sort();
        self.subjects.dedup();
    }
}

/// Token identities for counting distinct tokens: a 128-bit keyed hash of
/// the token text, with keys drawn at random once per process. Computing
/// SHA-256 fingerprints for this cost as much as the HMAC checks in a scan
/// of HS256 tokens that are all distinct; this costs a twentieth of that.
/// The random keys mean no log can be crafted to make two tokens count as
/// one; two honest tokens collide with probability about 2^-128.
#[derive(Clone)]
pub struct TokenIds {
    low: ahash::RandomState,
    high: ahash::RandomState,
}

impl Default for TokenIds {
    fn default() -> TokenIds {
        TokenIds::new()
    }
}

impl TokenIds {
    /// Keys drawn at random.
    pub fn new() -> TokenIds {
        TokenIds {
            low: ahash::RandomState::new(),
            high: ahash::RandomState::new(),
        }
    }

    /// The identity of a token text.
    pub fn id(&self, token: &[u8]) -> u128 {
        self.id_with(self.hash(token), token)
    }

    /// The low half of the identity: a 64-bit keyed hash, which the token
    /// cache uses as its hash so each occurrence is hashed once.
    pub fn hash(&self, token: &[u8]) -> u64 {
        self.low.hash_one(token)
    }

    /// The identity, given its low half from [`TokenIds::hash`].
    pub fn id_with(&self, low: u64, token: &[u8]) -> u128 {
        (self.high.hash_one(token) as u128) << 64 | low as u128
    }
}

/// Identities are already keyed hashes: the set uses their low bits as is.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ b as u64;
        }
    }

    fn write_u128(&mut self, n: u128) {
        self.0 = n as u64;
    }
}

/// Adds counts under `key` (or [`NONE`]), respecting [`MAX_KEYS`].
fn add_to(map: &mut BTreeMap<String, VerdictCounts>, key: Option<&str>, counts: &VerdictCounts) {
    let key = key.unwrap_or(NONE);
    match map.get_mut(key) {
        Some(mine) => mine.merge(counts),
        None => merge_key(map, clean_key(key), counts),
    }
}

fn merge_key(map: &mut BTreeMap<String, VerdictCounts>, key: String, counts: &VerdictCounts) {
    let key = if map.len() >= MAX_KEYS && !map.contains_key(&key) {
        OTHER.to_string()
    } else {
        key
    };
    map.entry(key).or_default().merge(counts);
}

/// A breakdown key: control characters replaced, cut to a bounded length.
fn clean_key(key: &str) -> String {
    let mut out: String = key
        .chars()
        .take(MAX_KEY_CHARS)
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect();
    if key.chars().count() > MAX_KEY_CHARS {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::Policy;
    use crate::keys::Keyring;
    use crate::token::Scratch;

    fn checked(token: &str) -> Checked {
        crate::verify::check(
            token.as_bytes(),
            &Keyring::new(),
            &Policy::default(),
            &mut Scratch::new(),
        )
    }

    fn report_of(items: &[(&str, Verdict)]) -> Report {
        static IDS: std::sync::OnceLock<TokenIds> = std::sync::OnceLock::new();
        let ids = IDS.get_or_init(TokenIds::new);
        let mut r = Report::new();
        for (token, verdict) in items {
            r.add(
                &checked(token),
                ids.id(token.as_bytes()),
                *verdict,
                Carrier::Bare,
            );
        }
        r
    }

    #[test]
    fn merge_equals_one_report() {
        let items = [
            ("eyJhbGciOiJIUzI1NiJ9.e30.", Verdict::UnknownKey),
            ("eyJhbGciOiJub25lIn0.e30.", Verdict::AlgNone),
            ("eyJhbGciOiJIUzI1NiJ9.e30.", Verdict::UnknownKey),
            ("x.y.z", Verdict::Malformed),
        ];
        let whole = report_of(&items);
        let mut a = report_of(&items[..1]);
        a.merge(report_of(&items[1..3]));
        a.merge(report_of(&items[3..]));
        let mut b = report_of(&items[3..]);
        b.merge(report_of(&items[..2]));
        b.merge(report_of(&items[2..3]));
        assert_eq!(a, whole);
        assert_eq!(b, whole);
        assert_eq!(whole.totals.tokens, 4);
        assert_eq!(whole.totals.distinct_tokens, 3);
        assert_eq!(whole.by_alg["HS256"].of(Verdict::UnknownKey), 2);
        assert_eq!(whole.by_alg[NONE].of(Verdict::Malformed), 1);
        assert!(whole.any_invalid());
    }

    #[test]
    fn breakdowns_are_bounded_and_clean() {
        let mut map = BTreeMap::new();
        for i in 0..MAX_KEYS + 10 {
            let mut one = VerdictCounts::default();
            one.add(Verdict::Valid);
            add_to(&mut map, Some(&format!("kid-{i}")), &one);
        }
        assert_eq!(map.len(), MAX_KEYS + 1);
        assert_eq!(map[OTHER].total(), 10);
        assert_eq!(clean_key("a\nb"), "a\u{FFFD}b");
        assert!(clean_key(&"x".repeat(500)).chars().count() <= MAX_KEY_CHARS + 1);
    }

    #[test]
    fn verdict_counts_json_round_trip() {
        let mut counts = VerdictCounts::default();
        counts.add(Verdict::Expired);
        let text = serde_json::to_string(&counts).unwrap();
        assert!(text.contains("\"expired\":1"));
        assert_eq!(
            serde_json::from_str::<VerdictCounts>(&text).unwrap(),
            counts
        );
        assert!(serde_json::from_str::<VerdictCounts>(r#"{"bogus":1}"#).is_err());
    }
}
