//! The distinct tokens a crack run tests: gathered from a scan (a
//! [`TokenSet`] is a [`Sink`]) or added one by one, each with its
//! occurrence count and where it was first seen.

use std::collections::HashMap;
use std::io;

use crate::alg::{Alg, Family};
use crate::judge::Policy;
use crate::keys::Keyring;
use crate::scan::{Occurrence, Sink};
use crate::token::Scratch;
use crate::verdict::Verdict;
use crate::verify::{self, Checked};

/// A distinct HMAC token.
#[derive(Clone)]
pub struct Found {
    /// The token text.
    pub token: Box<str>,
    /// SHA-256 of the token text.
    pub fingerprint: [u8; 32],
    /// Its HS algorithm.
    pub alg: Alg,
    /// The header `kid`.
    pub kid: Option<String>,
    /// The `iss` claim.
    pub iss: Option<String>,
    /// How many times it was seen.
    pub occurrences: u64,
    /// Where it was first seen: `file:line`, `--token`, or `FILE:line`.
    pub first_seen: String,
}

impl std::fmt::Debug for Found {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the token.
        f.debug_struct("Found")
            .field("fingerprint", &verify::hex(&self.fingerprint))
            .field("alg", &self.alg)
            .field("occurrences", &self.occurrences)
            .field("first_seen", &self.first_seen)
            .finish_non_exhaustive()
    }
}

/// What kind of token a distinct token is, for the crack run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// An HS token: the index of its [`Found`].
    Hmac(usize),
    /// Another algorithm, `none`, or a JWE.
    NotHmac,
    /// Unreadable.
    Malformed,
}

/// The distinct tokens seen, HMAC ones kept with their text.
#[derive(Default)]
pub struct TokenSet {
    found: Vec<Found>,
    kinds: HashMap<[u8; 32], Kind>,
    occurrences: u64,
    not_hmac: u64,
    malformed: u64,
    keyring: Keyring,
    policy: Policy,
    scratch: Scratch,
}

impl TokenSet {
    /// No tokens yet.
    pub fn new() -> TokenSet {
        TokenSet::default()
    }

    /// The distinct HMAC tokens, in the order first seen.
    pub fn found(&self) -> &[Found] {
        &self.found
    }

    /// Distinct tokens of every kind.
    pub fn distinct(&self) -> u64 {
        self.kinds.len() as u64
    }

    /// Occurrences of every kind.
    pub fn occurrences(&self) -> u64 {
        self.occurrences
    }

    /// Distinct tokens that are not HMAC tokens (other algorithms,
    /// `none`, JWE).
    pub fn not_hmac(&self) -> u64 {
        self.not_hmac
    }

    /// Distinct tokens too malformed to read their algorithm.
    pub fn malformed(&self) -> u64 {
        self.malformed
    }

    /// Adds one occurrence of a token given as text (from `--token` or a
    /// list), seen at `seen_at`.
    pub fn add_token(&mut self, token: &str, seen_at: impl FnOnce() -> String) {
        let checked = verify::check(
            token.as_bytes(),
            &self.keyring,
            &self.policy,
            &mut self.scratch,
        );
        let fingerprint = checked.fingerprint_of(token.as_bytes());
        self.add(token, fingerprint, &checked, seen_at);
    }

    /// Adds one occurrence of a checked token.
    fn add(
        &mut self,
        token: &str,
        fingerprint: [u8; 32],
        checked: &Checked,
        seen_at: impl FnOnce() -> String,
    ) {
        self.occurrences += 1;
        if let Some(kind) = self.kinds.get(&fingerprint) {
            if let Kind::Hmac(i) = *kind {
                self.found[i].occurrences += 1;
            }
            return;
        }
        let kind = match (checked.alg_known, &checked.before_time) {
            (Some(alg), _) if alg.family() == Family::Hmac => {
                self.found.push(Found {
                    token: token.into(),
                    fingerprint,
                    alg,
                    kid: checked.kid.as_deref().map(String::from),
                    iss: checked.claims.iss().map(str::to_string),
                    occurrences: 1,
                    first_seen: seen_at(),
                });
                Kind::Hmac(self.found.len() - 1)
            }
            // Only a token whose header cannot be read lands here: its
            // algorithm is unknown, so there is nothing to test. An HS
            // token whose claims the strict reader rejects still has its
            // header's alg, and is tested by the arm above (the CLI test
            // `a_token_with_malformed_claims_is_still_cracked` holds it
            // to that). Counted, so the report shows how many there were.
            (None, Some((Verdict::Malformed, _))) => {
                self.malformed += 1;
                Kind::Malformed
            }
            _ => {
                self.not_hmac += 1;
                Kind::NotHmac
            }
        };
        self.kinds.insert(fingerprint, kind);
    }
}

impl Sink for TokenSet {
    fn occurrence(&mut self, o: &Occurrence) -> io::Result<()> {
        // The scan keeps token text only when asked; without it an HMAC
        // token cannot be tested, which is a caller's bug.
        let token = o.token.as_deref().ok_or_else(|| {
            io::Error::other("the scan must keep token text (ScanConfig::keep_token_text)")
        })?;
        self.add(token, o.fingerprint, &o.checked, || {
            format!("{}:{}", o.file, o.line)
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HS: &str = "eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJpIn0.AAAA";
    const RS: &str = "eyJhbGciOiJSUzI1NiJ9.e30.AAAA";
    const NONE: &str = "eyJhbGciOiJub25lIn0.e30.";

    #[test]
    fn counts_distinct_tokens_by_kind() {
        let mut set = TokenSet::new();
        for (n, token) in [HS, RS, HS, NONE, "eyJ.e30.AA", HS].iter().enumerate() {
            set.add_token(token, || format!("t:{}", n + 1));
        }
        assert_eq!(set.occurrences(), 6);
        assert_eq!(set.distinct(), 4);
        assert_eq!((set.not_hmac(), set.malformed()), (2, 1));
        let found = &set.found()[0];
        assert_eq!(found.alg, Alg::Hs256);
        assert_eq!(found.iss.as_deref(), Some("i"));
        assert_eq!((found.occurrences, found.first_seen.as_str()), (3, "t:1"));
        assert!(!format!("{found:?}").contains("eyJ"));
    }
}
