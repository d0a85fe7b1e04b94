//! A worker's breakdown keys: which alg, kid, issuer, audiences and
//! subject each check carries, and the verdict counts under each.
//!
//! A check is filed once, when it is made, under two indexes: its *group*
//! (alg, kid, issuer and audiences together, which the hygiene counts and
//! key-family notes need side by side) and its *subject*. An occurrence
//! then adds its verdict to two vectors by index; string-keyed lookups per
//! occurrence, or a per-chunk tally of checks, cost 7% of a no-reuse scan.
//! The report's maps are built from these once, when the scan ends.
//!
//! Each key is interned on its own, once per worker, and each breakdown
//! holds at most [`MAX_KEYS`] keys, as the report does: further keys are
//! counted under [`OTHER`] without being stored, so a log with a fresh
//! subject (or a hostile fresh `kid`) in every token costs a lookup per
//! token, not an allocation. Keys kept are the first a worker meets, which
//! is what the report's own merge keeps. Interning the five strings as one
//! key made a string allocation per distinct subject and took 19% of a
//! scan of 300k distinct HS256 tokens.

use hashbrown::HashTable;

use crate::bytes;
use crate::report::{Report, VerdictCounts, MAX_KEYS, NONE, OTHER};
use crate::verify::Checked;

/// Joins a token's audiences into one key; a control character, which
/// the report never keeps in a breakdown key anyway.
const AUD_SEPARATOR: char = '\u{1f}';

/// A key of one breakdown: absent, a string, or the overflow.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Slot {
    Absent,
    Other,
    Kept(u32),
}

/// The strings of one breakdown, each kept once.
#[derive(Default)]
struct Strings {
    index: HashTable<u32>,
    text: Vec<Box<str>>,
}

impl Strings {
    fn slot(&mut self, key: Option<&str>, hasher: &ahash::RandomState) -> Slot {
        let Some(key) = key else {
            return Slot::Absent;
        };
        let hash = hasher.hash_one(key);
        let text = &self.text;
        if let Some(&i) = self.index.find(hash, |&i| {
            bytes::same(text[i as usize].as_bytes(), key.as_bytes())
        }) {
            return Slot::Kept(i);
        }
        if self.text.len() >= MAX_KEYS {
            return Slot::Other;
        }
        let i = self.text.len() as u32;
        self.text.push(key.into());
        let text = &self.text;
        self.index
            .insert_unique(hash, i, |&j| hasher.hash_one(&*text[j as usize]));
        Slot::Kept(i)
    }

    fn get(&self, slot: Slot) -> Option<&str> {
        match slot {
            Slot::Absent => None,
            Slot::Other => Some(OTHER),
            Slot::Kept(i) => Some(&self.text[i as usize]),
        }
    }

    /// A kept key: neither absent nor the overflow.
    fn kept(&self, slot: Slot) -> Option<&str> {
        match slot {
            Slot::Kept(i) => Some(&self.text[i as usize]),
            _ => None,
        }
    }

    /// Whether `slot` holds `key`.
    fn holds(&self, slot: Slot, key: Option<&str>) -> bool {
        match (slot, key) {
            (Slot::Absent, None) => true,
            (Slot::Kept(i), Some(key)) => {
                bytes::same(self.text[i as usize].as_bytes(), key.as_bytes())
            }
            _ => false,
        }
    }
}

/// A worker's breakdown keys and counts.
#[derive(Default)]
pub(super) struct Groups {
    hasher: ahash::RandomState,
    alg: Strings,
    kid: Strings,
    iss: Strings,
    /// The audiences, joined by [`AUD_SEPARATOR`].
    aud: Strings,
    sub: Strings,
    /// Each group's alg, kid, issuer and audiences.
    groups: Vec<[Slot; 4]>,
    group_index: HashTable<u32>,
    /// Verdict counts per group.
    pub(super) counts: Vec<VerdictCounts>,
    /// Verdict counts per subject slot: kept subjects by index, then the
    /// absent subject, then the overflow.
    pub(super) subjects: Vec<VerdictCounts>,
    /// The audiences of the check being filed, joined.
    joined: String,
}

impl Groups {
    /// Files a check: returns its group and its subject index.
    pub(super) fn intern(&mut self, checked: &Checked) -> (u32, u32) {
        let claims = &checked.claims;
        let mut joined = std::mem::take(&mut self.joined);
        let audiences = match claims.has_aud {
            false => None,
            true => {
                joined.clear();
                for (i, aud) in claims.aud().enumerate() {
                    if i > 0 {
                        joined.push(AUD_SEPARATOR);
                    }
                    joined.push_str(aud);
                }
                Some(joined.as_str())
            }
        };
        let key = [
            checked.alg(),
            checked.kid.as_deref(),
            claims.iss(),
            audiences,
        ];
        let group = self.group(key);
        self.joined = joined;
        let subject = match self.sub.slot(claims.sub(), &self.hasher) {
            Slot::Kept(i) => i as usize,
            Slot::Absent => MAX_KEYS,
            Slot::Other => MAX_KEYS + 1,
        };
        if self.subjects.len() <= subject {
            self.subjects.resize(subject + 1, VerdictCounts::default());
        }
        (group, subject as u32)
    }

    /// The group of an alg, kid, issuer and audiences, created if new.
    fn group(&mut self, key: [Option<&str>; 4]) -> u32 {
        // Most tokens share these with the token before.
        if let Some(last) = self.groups.len().checked_sub(1) {
            let [alg, kid, iss, aud] = self.groups[last];
            if self.alg.holds(alg, key[0])
                && self.kid.holds(kid, key[1])
                && self.iss.holds(iss, key[2])
                && self.aud.holds(aud, key[3])
            {
                return last as u32;
            }
        }
        let hasher = &self.hasher;
        let slots = [
            self.alg.slot(key[0], hasher),
            self.kid.slot(key[1], hasher),
            self.iss.slot(key[2], hasher),
            self.aud.slot(key[3], hasher),
        ];
        let hash = hasher.hash_one(slots);
        let groups = &self.groups;
        if let Some(&i) = self
            .group_index
            .find(hash, |&i| groups[i as usize] == slots)
        {
            return i;
        }
        let i = self.groups.len() as u32;
        self.groups.push(slots);
        self.counts.push(VerdictCounts::default());
        let groups = &self.groups;
        self.group_index
            .insert_unique(hash, i, |&j| hasher.hash_one(groups[j as usize]));
        i
    }

    /// The issuer of a group, as the hygiene report names it.
    pub(super) fn issuer(&self, group: usize) -> &str {
        self.iss.get(self.groups[group][2]).unwrap_or(NONE)
    }

    /// Adds every group's and subject's counts to the report's breakdowns,
    /// and empties.
    pub(super) fn drain_into(&mut self, report: &mut Report) {
        for (&[alg, kid, iss, aud], counts) in self.groups.iter().zip(&self.counts) {
            // The overflow is no one kid or issuer to note families of.
            let family = (self.kid.kept(kid), self.iss.kept(iss));
            let (alg, kid, iss) = (self.alg.get(alg), self.kid.get(kid), self.iss.get(iss));
            report.add_breakdowns_for(alg, kid, iss, counts);
            let audiences = self.aud.get(aud).map(|list| list.split(AUD_SEPARATOR));
            report.add_audiences(audiences, counts);
            report.add_family(alg, family.0, family.1);
        }
        for (i, counts) in self.subjects.iter().enumerate() {
            if counts.total() == 0 {
                continue;
            }
            let subject = match i {
                _ if i < MAX_KEYS => self.sub.get(Slot::Kept(i as u32)),
                _ if i == MAX_KEYS => None,
                _ => Some(OTHER),
            };
            report.add_subject(subject, counts);
        }
        *self = Groups::default();
    }
}
