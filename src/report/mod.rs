//! The aggregate report: a monoid.
//!
//! Each worker folds its occurrences into its own [`Report`]; reports merge
//! with [`Report::merge`], which is associative and commutative on every
//! count, so chunks, files, threads and runs combine into the report of one
//! run over everything, in memory and from their JSON form alike (see
//! [`audit`] for the one estimate, distinct tokens across JSON reports).
//! Renderers turn a finished report into text, JSON, Markdown, HTML, and
//! occurrences into CSV or JSON lines.

pub mod audit;
pub mod csv;
pub mod html;
pub mod markdown;
pub mod occurrences;
pub mod text;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use serde::{Deserialize, Serialize};

use self::audit::{Accepted, AuditFinding, DistinctSketch, Hygiene, Replay, Timeline};
use crate::alg::Alg;
use crate::cache::CacheStats;
use crate::find::Carrier;
use crate::sweep::findings::Finding;
use crate::verdict::Verdict;
use crate::verify::Checked;

/// The version of the JSON report schema (see `docs/report-schema.md`).
pub const SCHEMA_VERSION: u32 = 3;

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
        // Saturating: counts may come from a merged report file.
        self.0.iter().fold(0u64, |sum, &n| sum.saturating_add(n))
    }

    /// Adds another set of counts.
    pub fn merge(&mut self, other: &VerdictCounts) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a = a.saturating_add(b);
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
    /// Whether `distinct_tokens` is an estimate from the sketch (reports
    /// merged from JSON whose token sets may overlap).
    #[serde(default)]
    pub distinct_tokens_estimated: bool,
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
        self.bearer = self.bearer.saturating_add(other.bearer);
        self.parameter = self.parameter.saturating_add(other.parameter);
        self.json_member = self.json_member.saturating_add(other.json_member);
        self.bare = self.bare.saturating_add(other.bare);
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
    /// `--max-lifetime` in seconds: longer-lived tokens are a finding.
    #[serde(default)]
    pub max_lifetime_secs: f64,
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
    /// Entries held when the scan ended, summed over workers.
    #[serde(default)]
    pub entries: u64,
    /// What those entries were charged against `--cache-mib`: their
    /// token text and a fixed allowance each for the check and the table.
    #[serde(default)]
    pub bytes: u64,
}

impl From<CacheStats> for CacheReport {
    fn from(s: CacheStats) -> CacheReport {
        CacheReport {
            hits: s.hits,
            misses: s.misses,
            evictions: s.evictions,
            entries: 0,
            bytes: 0,
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
    /// Distinct tokens per verdict: tokens with at least one occurrence
    /// given that verdict (a token valid at 10:00 and expired at 11:00
    /// counts under both). Exact for one scan; merged from JSON reports,
    /// the largest of the parts (a lower bound).
    #[serde(default)]
    pub distinct_per_verdict: VerdictCounts,
    /// Occurrences per verdict, by header `alg`.
    pub by_alg: BTreeMap<String, VerdictCounts>,
    /// Occurrences per verdict, by header `kid`.
    pub by_kid: BTreeMap<String, VerdictCounts>,
    /// Occurrences per verdict, by `iss`.
    pub by_issuer: BTreeMap<String, VerdictCounts>,
    /// Occurrences per verdict, by each `aud` value (a token with several
    /// audiences counts under each).
    #[serde(default)]
    pub by_audience: BTreeMap<String, VerdictCounts>,
    /// Occurrences per verdict, by `sub`.
    #[serde(default)]
    pub by_subject: BTreeMap<String, VerdictCounts>,
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
    /// Occurrences per verdict by the HTTP status class of their request.
    #[serde(default)]
    pub by_status: ByStatus,
    /// Non-valid tokens whose request was answered with success.
    #[serde(default)]
    pub accepted: Accepted,
    /// Verdicts over time, by request time.
    #[serde(default)]
    pub timeline: Timeline,
    /// How tokens were issued and used, per issuer, for tokens whose
    /// signature verified.
    #[serde(default)]
    pub hygiene: BTreeMap<String, Hygiene>,
    /// Tokens used from many clients (`--replay-ips`); absent when not
    /// asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay: Option<Replay>,
    /// A sketch of the distinct tokens, to estimate them across reports.
    #[serde(default)]
    pub distinct_sketch: DistinctSketch,
    /// Wall-clock seconds the scan took.
    pub duration_secs: f64,
    /// Identities of the distinct tokens, each with the verdicts its
    /// occurrences had (one bit per verdict), for exact merging in memory:
    /// one map, where a set of tokens and a set per verdict made two
    /// inserts per distinct token (10% of a no-reuse scan).
    #[serde(skip)]
    distinct: DistinctIds,
    /// Whether `distinct` holds every distinct token (false for reports
    /// read from JSON).
    #[serde(skip)]
    exact: bool,
}

/// Verdict counts per HTTP status class.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ByStatus {
    /// 1xx
    #[serde(rename = "1xx")]
    pub informational: VerdictCounts,
    /// 2xx: the request succeeded.
    #[serde(rename = "2xx")]
    pub success: VerdictCounts,
    /// 3xx: redirected (often to content the token unlocked).
    #[serde(rename = "3xx")]
    pub redirect: VerdictCounts,
    /// 4xx: refused, e.g. 401 or 403.
    #[serde(rename = "4xx")]
    pub client_error: VerdictCounts,
    /// 5xx
    #[serde(rename = "5xx")]
    pub server_error: VerdictCounts,
    /// The line carried no status.
    #[serde(rename = "(none)")]
    pub none: VerdictCounts,
}

impl ByStatus {
    /// The counts for a status.
    pub fn of_mut(&mut self, status: Option<u16>) -> &mut VerdictCounts {
        match status.map(|s| s / 100) {
            Some(1) => &mut self.informational,
            Some(2) => &mut self.success,
            Some(3) => &mut self.redirect,
            Some(4) => &mut self.client_error,
            Some(5) => &mut self.server_error,
            _ => &mut self.none,
        }
    }

    /// The classes with their names, in order.
    pub fn rows(&self) -> [(&'static str, &VerdictCounts); 6] {
        [
            ("1xx", &self.informational),
            ("2xx", &self.success),
            ("3xx", &self.redirect),
            ("4xx", &self.client_error),
            ("5xx", &self.server_error),
            (NONE, &self.none),
        ]
    }

    fn merge(&mut self, o: &ByStatus) {
        self.informational.merge(&o.informational);
        self.success.merge(&o.success);
        self.redirect.merge(&o.redirect);
        self.client_error.merge(&o.client_error);
        self.server_error.merge(&o.server_error);
        self.none.merge(&o.none);
    }
}

impl Report {
    /// An empty report.
    pub fn new() -> Report {
        Report {
            schema_version: SCHEMA_VERSION,
            exact: true,
            ..Report::default()
        }
    }

    /// Folds in one occurrence of a checked token whose identity is `id`
    /// (see `TokenIds`): [`Report::count`], [`Report::add_distinct_verdict`]
    /// and [`Report::add_breakdowns`] at once.
    pub fn add(&mut self, checked: &Checked, id: u128, verdict: Verdict, carrier: Carrier) {
        self.count(verdict, carrier);
        self.add_distinct_verdict(id, verdict);
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

    /// Notes that the token with identity `id` had an occurrence with
    /// `verdict`; noting it again is harmless, so a scan calls this once
    /// per check and verdict, not per occurrence. The distinct counts
    /// follow at [`Report::settle_distinct`].
    pub fn add_distinct_verdict(&mut self, id: u128, verdict: Verdict) {
        self.distinct.insert(id, 1 << verdict.index());
    }

    /// Notes a distinct token by its identity, without a verdict; counted
    /// at [`Report::settle_distinct`].
    pub fn add_distinct(&mut self, id: u128) {
        self.distinct.insert(id, 0);
    }

    /// Brings `totals.distinct_tokens` and `distinct_per_verdict` up to
    /// date with the identities noted so far. [`Report::merge`] settles;
    /// a report filled by the `add` methods alone needs this call before
    /// its distinct counts are read.
    pub fn settle_distinct(&mut self) {
        if !self.exact {
            return;
        }
        self.distinct.settle();
        let (len, per_verdict) = self.distinct.counts();
        self.totals.distinct_tokens = len as u64;
        self.distinct_per_verdict = per_verdict;
    }

    /// Adds a token's verdict counts to the alg, kid, issuer, audience and
    /// subject breakdowns.
    pub fn add_breakdowns(&mut self, checked: &Checked, counts: &VerdictCounts) {
        let (alg, kid) = (checked.alg(), checked.kid.as_deref());
        self.add_breakdowns_for(alg, kid, checked.claims.iss(), counts);
        let claims = &checked.claims;
        self.add_audience_subject(claims.has_aud.then(|| claims.aud()), claims.sub(), counts);
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

    /// Adds verdict counts under each audience and a subject.
    pub fn add_audience_subject<'a>(
        &mut self,
        audiences: Option<impl Iterator<Item = &'a str>>,
        sub: Option<&str>,
        counts: &VerdictCounts,
    ) {
        self.add_audiences(audiences, counts);
        self.add_subject(sub, counts);
    }

    /// Adds verdict counts under each of a token's audiences (or under
    /// none, when the token has no `aud`).
    pub fn add_audiences<'a>(
        &mut self,
        audiences: Option<impl Iterator<Item = &'a str>>,
        counts: &VerdictCounts,
    ) {
        match audiences {
            Some(list) => list.for_each(|aud| add_to(&mut self.by_audience, Some(aud), counts)),
            None => add_to(&mut self.by_audience, None, counts),
        }
    }

    /// Adds verdict counts under a subject (`None` when the tokens lack
    /// one).
    pub fn add_subject(&mut self, sub: Option<&str>, counts: &VerdictCounts) {
        add_to(&mut self.by_subject, sub, counts);
    }

    /// Merges another report into this one. Counts add; distinct tokens
    /// are a set union; settings are kept from `self` unless empty.
    pub fn merge(&mut self, other: Report) {
        let (mine_empty, theirs_empty) = (self.totals.tokens == 0, other.totals.tokens == 0);
        let t = &mut self.totals;
        t.files = t.files.saturating_add(other.totals.files);
        t.lines = t.lines.saturating_add(other.totals.lines);
        t.bytes = t.bytes.saturating_add(other.totals.bytes);
        t.tokens = t.tokens.saturating_add(other.totals.tokens);
        self.verdicts.merge(&other.verdicts);
        for (mine, theirs) in [
            (&mut self.by_alg, other.by_alg),
            (&mut self.by_kid, other.by_kid),
            (&mut self.by_issuer, other.by_issuer),
            (&mut self.by_audience, other.by_audience),
            (&mut self.by_subject, other.by_subject),
        ] {
            for (key, counts) in theirs {
                merge_key(mine, key, &counts);
            }
        }
        self.carriers.merge(&other.carriers);
        self.time_sources.request_time = self
            .time_sources
            .request_time
            .saturating_add(other.time_sources.request_time);
        self.time_sources.fallback = self
            .time_sources
            .fallback
            .saturating_add(other.time_sources.fallback);
        self.cache.hits = self.cache.hits.saturating_add(other.cache.hits);
        self.cache.misses = self.cache.misses.saturating_add(other.cache.misses);
        self.cache.evictions = self.cache.evictions.saturating_add(other.cache.evictions);
        self.cache.entries = self.cache.entries.saturating_add(other.cache.entries);
        self.cache.bytes = self.cache.bytes.saturating_add(other.cache.bytes);
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
        self.by_status.merge(&other.by_status);
        self.accepted.merge(other.accepted);
        self.timeline.merge(other.timeline);
        for (issuer, hygiene) in other.hygiene {
            self.add_hygiene(&issuer, &hygiene);
        }
        self.replay = match (self.replay.take(), other.replay) {
            (Some(mut mine), Some(theirs)) => {
                mine.merge(theirs);
                Some(mine)
            }
            (mine, theirs) => mine.or(theirs),
        };
        self.distinct_sketch.merge(&other.distinct_sketch);
        self.merge_distinct(
            other.distinct,
            other.exact,
            (other.totals, &other.distinct_per_verdict),
            mine_empty,
            theirs_empty,
        );
        if self.settings == Settings::default() {
            self.settings = other.settings;
        }
        self.duration_secs = self.duration_secs.max(other.duration_secs);
        self.note_audit_findings();
    }

    /// Distinct tokens: an exact union while both sides hold their token
    /// identities (in memory); otherwise the other side's count if this
    /// one is empty, else the sketch's estimate.
    ///
    /// Distinct tokens per verdict likewise: exact while both sides hold
    /// identities, else bounded below by the larger side.
    fn merge_distinct(
        &mut self,
        ids: DistinctIds,
        exact: bool,
        (theirs, per_verdict): (Totals, &VerdictCounts),
        mine_empty: bool,
        theirs_empty: bool,
    ) {
        if self.exact && exact {
            self.distinct.union(ids);
            self.settle_distinct();
            return;
        }
        self.settle_distinct();
        for (mine, &theirs) in self.distinct_per_verdict.0.iter_mut().zip(&per_verdict.0) {
            *mine = (*mine).max(theirs);
        }
        self.exact = false;
        self.distinct.clear();
        if theirs_empty {
            return;
        }
        if mine_empty {
            self.totals.distinct_tokens = theirs.distinct_tokens;
            self.totals.distinct_tokens_estimated = theirs.distinct_tokens_estimated;
            return;
        }
        self.totals.distinct_tokens = self.distinct_sketch.estimate();
        self.totals.distinct_tokens_estimated = true;
    }

    /// Adds hygiene counts under an issuer, respecting [`MAX_KEYS`]; empty
    /// counts add no issuer.
    pub fn add_hygiene(&mut self, issuer: &str, hygiene: &Hygiene) {
        if hygiene.occurrences == 0 {
            return;
        }
        let key = match self.hygiene.contains_key(issuer) {
            true => issuer.to_string(),
            false if self.hygiene.len() >= MAX_KEYS => OTHER.to_string(),
            false => clean_key(issuer),
        };
        self.hygiene.entry(key).or_default().merge(hygiene);
    }

    /// Fixes the timeline's bucket (a name from [`audit::BUCKETS`], or
    /// `None` to choose from the span) and brings the audit findings up to
    /// date; the scan calls this once, at its end.
    pub fn finish_audit(&mut self, bucket: Option<&str>) {
        self.timeline.choose(bucket);
        self.note_audit_findings();
    }

    /// The findings the audit parts support, most severe first.
    fn audit_findings(&self) -> Vec<(AuditFinding, Vec<String>)> {
        let mut out = Vec::new();
        let accepted = self.accepted.verdicts.total();
        if accepted > 0 {
            let examples = self
                .accepted
                .examples
                .iter()
                .map(|e| Example {
                    file: e.file.clone(),
                    line: e.line,
                    token_sha256: e.token_sha256.clone(),
                })
                .collect();
            let subjects = Verdict::ALL
                .into_iter()
                .filter(|&v| self.accepted.verdicts.of(v) > 0)
                .map(|v| format!("{}: {}", v.name(), self.accepted.verdicts.of(v)))
                .collect();
            let finding = AuditFinding {
                name: "invalid_token_accepted",
                severity: "critical",
                explanation: "requests carrying tokens that fail verification were answered \
                    with success (2xx/3xx): make sure these endpoints verify tokens and \
                    reject bad ones"
                    .to_string(),
                occurrences: accepted,
                examples,
            };
            out.push((finding, subjects));
        }
        if let Some(replay) = self.replay.as_ref().filter(|r| r.tokens > 0) {
            let subjects = replay
                .shared
                .iter()
                .take(MAX_EXAMPLES)
                .map(|s| {
                    format!(
                        "{}: {} clients, {} user agents{}, {} uses from {} to {}, first at {}",
                        s.token,
                        s.clients,
                        s.user_agents,
                        if s.capped { " (or more)" } else { "" },
                        s.occurrences,
                        s.first_seen.as_deref().unwrap_or("?"),
                        s.last_seen.as_deref().unwrap_or("?"),
                        s.first_at
                    )
                })
                .collect();
            let finding = AuditFinding {
                name: "token_shared",
                severity: "high",
                explanation: format!(
                    "{} tokens (or jti values) were used from more than {} client addresses \
                     or user agents: they may be stolen and replayed, or shared between \
                     services; revoke them and find out who holds them",
                    replay.tokens, replay.threshold
                ),
                occurrences: replay.shared.iter().map(|s| s.occurrences).sum(),
                examples: Vec::new(),
            };
            out.push((finding, subjects));
        }
        let per_issuer = |count: fn(&Hygiene) -> u64| -> (u64, Vec<String>) {
            let subjects = self
                .hygiene
                .iter()
                .filter(|(_, h)| count(h) > 0)
                .map(|(issuer, h)| format!("issuer {issuer}: {}", count(h)))
                .collect();
            (self.hygiene.values().map(count).sum(), subjects)
        };
        let max_lifetime = crate::report::text::duration(self.settings.max_lifetime_secs);
        // name, severity, explanation, and the count per issuer
        type Rule = (&'static str, &'static str, String, fn(&Hygiene) -> u64);
        let rules: [Rule; 4] = [
            (
                "token_without_exp",
                "medium",
                "tokens without an expiry (exp) work forever if they leak: have the issuer \
                 set exp"
                    .to_string(),
                |h| h.no_exp,
            ),
            (
                "expired_token_in_use",
                "medium",
                "clients keep sending tokens after they expire: check that they refresh \
                 them, and that servers refuse them"
                    .to_string(),
                |h| h.used_after_exp.total(),
            ),
            (
                "lifetime_beyond_limit",
                "low",
                format!(
                    "tokens are issued to live longer than {max_lifetime} (--max-lifetime): \
                     shorten the issuer's token lifetime"
                ),
                |h| h.beyond_max_lifetime,
            ),
            (
                "used_before_issued",
                "low",
                "tokens were used before their issue time (iat): the issuer's clock runs \
                 ahead of the servers' (check NTP), or tokens were made up"
                    .to_string(),
                |h| h.used_before_iat,
            ),
        ];
        for (name, severity, explanation, count) in rules {
            let (occurrences, subjects) = per_issuer(count);
            if occurrences > 0 {
                let finding = AuditFinding {
                    name,
                    severity,
                    explanation,
                    occurrences,
                    examples: Vec::new(),
                };
                out.push((finding, subjects));
            }
        }
        out
    }

    /// Writes the audit findings into [`Report::findings`], replacing
    /// what an earlier call or a merge left there.
    fn note_audit_findings(&mut self) {
        for name in AUDIT_FINDINGS {
            self.findings.remove(name);
        }
        for (finding, subjects) in self.audit_findings() {
            let entry = FindingReport {
                severity: finding.severity.to_string(),
                explanation: finding.explanation,
                occurrences: finding.occurrences,
                distinct_tokens: 0,
                examples: finding.examples,
                subjects,
                ids: HashSet::default(),
            };
            self.findings.insert(finding.name.to_string(), entry);
        }
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
        type Check<'a> = (&'a str, &'a Families, &'a dyn Fn(&BTreeSet<String>) -> bool);
        let checks: [Check; 2] = [
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

    /// The breakdowns with their titles, in the order renderers show them.
    pub fn breakdowns(&self) -> [(&'static str, &BTreeMap<String, VerdictCounts>); 5] {
        [
            ("alg", &self.by_alg),
            ("kid", &self.by_kid),
            ("issuer", &self.by_issuer),
            ("audience", &self.by_audience),
            ("subject", &self.by_subject),
        ]
    }

    /// Whether any occurrence is not valid.
    pub fn any_invalid(&self) -> bool {
        self.verdicts.total() > self.verdicts.of(Verdict::Valid)
    }
}

/// Key families by kid or issuer.
type Families = BTreeMap<String, BTreeSet<String>>;

/// The names of the findings derived from the audit parts; their
/// `distinct_tokens` is not counted (0).
pub const AUDIT_FINDINGS: [&str; 6] = [
    "invalid_token_accepted",
    "token_shared",
    "token_without_exp",
    "expired_token_in_use",
    "lifetime_beyond_limit",
    "used_before_issued",
];

/// Severities, most severe first.
pub const SEVERITIES: [&str; 4] = ["critical", "high", "medium", "low"];

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
    /// How the renderers give this finding's size when it is about kids
    /// or issuers rather than tokens (`alg_family_mix` counts no
    /// occurrences, only which it names): how many it names. `None` for a
    /// finding about tokens, whose occurrences say it.
    pub fn subjects_only(&self) -> Option<String> {
        let n = self.subjects.len();
        (self.occurrences == 0 && n > 0).then(|| match n {
            1 => "1 kid or issuer".to_string(),
            _ => format!("{n} kids or issuers"),
        })
    }

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
        self.occurrences = self.occurrences.saturating_add(other.occurrences);
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
/// Two honest tokens collide with probability about 2^-112 (the bits
/// `DistinctIds` keeps). A scan builds identities with
/// [`TokenIds::id_from`], whose high half is the unkeyed
/// [`audit::stable_hash`]: a log crafted with N tokens sharing one such
/// hash gets about N²/2^49 pairs of them counted as one (2^24 crafted
/// tokens to merge one pair), which can lower `distinct_tokens` by that
/// many and nothing else: verdicts, the cache, replay keys and findings
/// compare whole tokens or whole identities.
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

    /// An identity from the keyed low half ([`TokenIds::hash`]) and the
    /// token's [`audit::stable_hash`], which a scan computes for the
    /// distinct-token sketch anyway: one pass over the token fewer than
    /// [`TokenIds::id_with`]. The stable half is the same in every run,
    /// so a crafted pair of tokens could share it; they would still need
    /// the keyed half's top 48 bits to agree to count as one (2^-48),
    /// and honest tokens collide with probability about 2^-112.
    pub fn id_from(&self, low: u64, stable: u64) -> u128 {
        (stable as u128) << 64 | low as u128
    }
}

/// Identities are already keyed hashes: the set uses their low bits as is.
#[derive(Default)]
struct IdHasher(u64);

/// Identities of distinct tokens, each with the verdicts its occurrences
/// had (one bit per verdict).
///
/// A note is an identity's top 112 bits with the verdict bits in the low
/// 16. Notes are appended to one of [`DistinctIds::BUCKETS`] buckets by
/// their top bits, and a bucket is sorted and deduplicated (verdict bits
/// OR-ed together) when it has doubled since it was last, so it holds at
/// most about twice as many notes as distinct tokens. A hash map here
/// cost a random access and a share of its growth (fresh pages the kernel
/// zeroes) per distinct token: 15-25% of a scan of 300k distinct HS256
/// tokens. An append lands in one of 256 cache lines in use, each bucket
/// sorts inside the core's cache, and two sets unite bucket by bucket.
/// 112 bits leave two honest tokens a chance of about 2^-112 of counting
/// as one; of those bits only the 48 of the keyed half are secret, so a
/// crafted log does better (see `TokenIds`).
#[derive(Clone, Debug, Default)]
struct DistinctIds {
    buckets: Vec<IdBucket>,
}

/// One bucket of [`DistinctIds`]: `notes[..settled]` is sorted with one
/// note per identity; the rest were appended since.
#[derive(Clone, Debug, Default)]
struct IdBucket {
    notes: Vec<u128>,
    settled: usize,
}

impl IdBucket {
    /// Sorts and deduplicates the notes, uniting the verdict bits of each
    /// identity.
    fn settle(&mut self) {
        if self.settled == self.notes.len() {
            return;
        }
        self.notes.sort_unstable();
        let mut kept = 0;
        for i in 0..self.notes.len() {
            let note = self.notes[i];
            if kept > 0 && (self.notes[kept - 1] ^ note) >> 16 == 0 {
                self.notes[kept - 1] |= note;
            } else {
                self.notes[kept] = note;
                kept += 1;
            }
        }
        self.notes.truncate(kept);
        self.settled = kept;
    }
}

impl PartialEq for DistinctIds {
    fn eq(&self, other: &DistinctIds) -> bool {
        let settled = |ids: &DistinctIds| {
            let mut ids = ids.clone();
            ids.settle();
            let notes: Vec<u128> = ids.buckets.into_iter().flat_map(|b| b.notes).collect();
            notes
        };
        settled(self) == settled(other)
    }
}

impl DistinctIds {
    const BUCKETS: usize = 256;

    /// A bucket settles once it holds this many notes, or twice what it
    /// held when it last settled. Settling only bounds memory when tokens
    /// are checked again (a token cached at its second sighting, or
    /// evicted); a log of tokens that each appear once gains nothing from
    /// it, and settling at 64 notes sorted each note about twice (6% of
    /// such a scan). At most 8 MiB of notes wait unsorted per report.
    const FIRST_SETTLE: usize = 2048;

    /// Notes `id` with the verdict `bits`.
    fn insert(&mut self, id: u128, bits: u16) {
        if self.buckets.is_empty() {
            self.buckets = vec![IdBucket::default(); Self::BUCKETS];
        }
        let bucket = &mut self.buckets[(id >> 120) as usize % Self::BUCKETS];
        bucket.notes.push(id & !0xffff | bits as u128);
        if bucket.notes.len() >= (2 * bucket.settled).max(Self::FIRST_SETTLE) {
            bucket.settle();
        }
    }

    /// Settles every bucket, in parallel when there is much to sort.
    fn settle(&mut self) {
        use rayon::prelude::*;
        let pending: usize = self.buckets.iter().map(|b| b.notes.len() - b.settled).sum();
        if pending < 1 << 14 {
            self.buckets.iter_mut().for_each(IdBucket::settle);
        } else {
            self.buckets.par_iter_mut().for_each(IdBucket::settle);
        }
    }

    /// The distinct identities and the distinct identities per verdict;
    /// [`DistinctIds::settle`] must have run since the last insert.
    fn counts(&self) -> (usize, VerdictCounts) {
        let mut per_verdict = VerdictCounts::default();
        let mut len = 0;
        for bucket in &self.buckets {
            debug_assert_eq!(bucket.settled, bucket.notes.len());
            len += bucket.notes.len();
            let mut bits_seen = [0u64; 16];
            for note in &bucket.notes {
                let mut bits = *note as u16;
                while bits != 0 {
                    bits_seen[bits.trailing_zeros() as usize] += 1;
                    bits &= bits - 1;
                }
            }
            for (sum, n) in per_verdict.0.iter_mut().zip(bits_seen) {
                *sum += n;
            }
        }
        (len, per_verdict)
    }

    fn clear(&mut self) {
        *self = DistinctIds::default();
    }

    /// Adds `other`'s identities, then settles.
    fn union(&mut self, mut other: DistinctIds) {
        use rayon::prelude::*;
        self.settle();
        if other.buckets.is_empty() {
            return;
        }
        other.settle();
        if self.buckets.is_empty() {
            *self = other;
            return;
        }
        // Both sides are sorted, so each bucket pair merges in one pass;
        // extending and sorting again was most of a 2-thread scan's final
        // merge (13 ms of 194 ms for 300k distinct tokens).
        let notes: usize = self.buckets.iter().map(|b| b.notes.len()).sum();
        let pairs = self.buckets.iter_mut().zip(other.buckets);
        if notes < 1 << 14 {
            pairs.for_each(|(mine, theirs)| mine.merge_settled(theirs));
        } else {
            let pairs: Vec<_> = pairs.collect();
            pairs
                .into_par_iter()
                .for_each(|(mine, theirs)| mine.merge_settled(theirs));
        }
    }
}

impl IdBucket {
    /// Adds a settled bucket's notes to this settled bucket, keeping it
    /// settled.
    fn merge_settled(&mut self, theirs: IdBucket) {
        if theirs.notes.is_empty() {
            return;
        }
        if self.notes.is_empty() {
            *self = theirs;
            return;
        }
        let (a, b) = (&self.notes, &theirs.notes);
        let mut merged = Vec::with_capacity(a.len() + b.len());
        let (mut i, mut j) = (0, 0);
        while i < a.len() && j < b.len() {
            let (x, y) = (a[i], b[j]);
            if (x ^ y) >> 16 == 0 {
                merged.push(x | y);
                (i, j) = (i + 1, j + 1);
            } else if x < y {
                merged.push(x);
                i += 1;
            } else {
                merged.push(y);
                j += 1;
            }
        }
        merged.extend_from_slice(&a[i..]);
        merged.extend_from_slice(&b[j..]);
        self.settled = merged.len();
        self.notes = merged;
    }
}

// A token's verdicts fit the bits of a `u16` in `Report::distinct`.
const _: () = assert!(Verdict::ALL.len() <= 16);

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
    use std::collections::HashMap;

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
        r.settle_distinct();
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
    fn distinct_ids_match_a_map_through_settles_and_unions() {
        // identities that share buckets and repeat across settle points
        let ids = TokenIds::new();
        let mut reference: HashMap<u128, u16> = HashMap::new();
        let mut parts = vec![DistinctIds::default(), DistinctIds::default()];
        // enough notes that every bucket settles several times
        let tokens: Vec<u128> = (0..7_000)
            .map(|i| ids.id(format!("t{i}").as_bytes()) & !0xffff)
            .collect();
        for i in 0..(DistinctIds::BUCKETS * DistinctIds::FIRST_SETTLE * 3) as u32 {
            let id = tokens[i as usize % tokens.len()];
            let bits = 1u16 << (i % 12);
            *reference.entry(id).or_default() |= bits;
            parts[(i % 3 == 0) as usize].insert(id, bits);
        }
        let mut whole = parts.pop().unwrap();
        whole.union(parts.pop().unwrap());
        let (len, per_verdict) = whole.counts();
        assert_eq!(len, reference.len());
        for v in 0..12 {
            let want = reference.values().filter(|b| *b & (1 << v) != 0).count();
            assert_eq!(per_verdict.0[v], want as u64, "verdict {v}");
        }
        let mut again = whole.clone();
        again.union(DistinctIds::default());
        assert_eq!(again, whole);
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
    fn merging_huge_counts_saturates() {
        let mut big = Report::new();
        big.verdicts.0 = [u64::MAX; Verdict::ALL.len()];
        big.totals.tokens = u64::MAX;
        let mut again = big.clone();
        again.merge(big);
        assert_eq!(again.totals.tokens, u64::MAX);
        assert_eq!(again.verdicts.of(Verdict::Valid), u64::MAX);
        assert_eq!(again.verdicts.total(), u64::MAX);
    }

    #[test]
    fn a_finding_about_kids_or_issuers_is_sized_by_them() {
        let mut f = FindingReport::default();
        assert_eq!(f.subjects_only(), None);
        f.subjects = vec!["issuer a: hmac, rsa".into()];
        assert_eq!(f.subjects_only().as_deref(), Some("1 kid or issuer"));
        f.subjects.push("kid k: ec-p256, rsa".into());
        assert_eq!(f.subjects_only().as_deref(), Some("2 kids or issuers"));
        // a finding with occurrences is sized by them, subjects or not
        f.occurrences = 3;
        assert_eq!(f.subjects_only(), None);
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
