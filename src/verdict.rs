//! The verdict of one token occurrence: a closed set whose declaration order
//! is the precedence. When several apply, the earliest wins.

use std::fmt;

/// One verdict per occurrence. `Ord` follows precedence: a smaller value wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Verdict {
    /// Not a well-formed JWS: bad base64, bad JSON, duplicate members,
    /// a registered claim of the wrong type, a missing `alg`.
    Malformed,
    /// A JWE (five segments): encrypted, so nothing inside can be judged.
    EncryptedJwe,
    /// `alg` is `none` (in any casing): an unsigned token.
    AlgNone,
    /// An algorithm this engine does not verify, or one outside `--algs`.
    UnsupportedAlg,
    /// The header lists `crit` extensions, none of which we understand.
    UnsupportedCrit,
    /// No configured key may verify this token (by `kid` and family).
    UnknownKey,
    /// A key fits, but the signature does not verify with any fitting key.
    BadSignature,
    /// `exp` has passed at the evaluation time (leeway included).
    Expired,
    /// `nbf` is still ahead at the evaluation time (leeway included).
    NotYetValid,
    /// `--issuer` was given and `iss` is missing or matches none.
    WrongIssuer,
    /// `--audience` was given and `aud` is missing or matches none.
    WrongAudience,
    /// The signature verifies and every claim holds.
    Valid,
}

impl Verdict {
    /// Every verdict, in precedence order.
    pub const ALL: [Verdict; 12] = [
        Verdict::Malformed,
        Verdict::EncryptedJwe,
        Verdict::AlgNone,
        Verdict::UnsupportedAlg,
        Verdict::UnsupportedCrit,
        Verdict::UnknownKey,
        Verdict::BadSignature,
        Verdict::Expired,
        Verdict::NotYetValid,
        Verdict::WrongIssuer,
        Verdict::WrongAudience,
        Verdict::Valid,
    ];

    /// The snake_case name used in every output format.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Malformed => "malformed",
            Verdict::EncryptedJwe => "encrypted_jwe",
            Verdict::AlgNone => "alg_none",
            Verdict::UnsupportedAlg => "unsupported_alg",
            Verdict::UnsupportedCrit => "unsupported_crit",
            Verdict::UnknownKey => "unknown_key",
            Verdict::BadSignature => "bad_signature",
            Verdict::Expired => "expired",
            Verdict::NotYetValid => "not_yet_valid",
            Verdict::WrongIssuer => "wrong_issuer",
            Verdict::WrongAudience => "wrong_audience",
            Verdict::Valid => "valid",
        }
    }

    /// Parses a snake_case name.
    pub fn from_name(name: &str) -> Option<Verdict> {
        Verdict::ALL.into_iter().find(|v| v.name() == name)
    }

    /// A position in [`Verdict::ALL`], for count arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_is_precedence() {
        let mut sorted = Verdict::ALL;
        sorted.sort();
        assert_eq!(sorted, Verdict::ALL);
        assert!(Verdict::Malformed < Verdict::Valid);
        assert_eq!(Verdict::ALL.iter().min(), Some(&Verdict::Malformed));
    }

    #[test]
    fn names_round_trip() {
        for v in Verdict::ALL {
            assert_eq!(Verdict::from_name(v.name()), Some(v));
            assert_eq!(Verdict::ALL[v.index()], v);
        }
    }
}
