//! JWS algorithms (RFC 7518 §3, RFC 8037 §3.1, RFC 9864) and the key
//! families that may verify them.
//!
//! Binding every algorithm to exactly one family is what makes RS→HS key
//! confusion impossible: an RSA key is never offered to an HMAC check.

use std::fmt;

/// A JWS signature algorithm this engine can verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Alg {
    /// HMAC with SHA-256.
    Hs256,
    /// HMAC with SHA-384.
    Hs384,
    /// HMAC with SHA-512.
    Hs512,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    Rs384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    Rs512,
    /// RSASSA-PSS with SHA-256 and MGF1 with SHA-256.
    Ps256,
    /// RSASSA-PSS with SHA-384 and MGF1 with SHA-384.
    Ps384,
    /// RSASSA-PSS with SHA-512 and MGF1 with SHA-512.
    Ps512,
    /// ECDSA on P-256 with SHA-256.
    Es256,
    /// ECDSA on P-384 with SHA-384.
    Es384,
    /// ECDSA on P-521 with SHA-512.
    Es512,
    /// EdDSA on Ed25519 (`EdDSA` of RFC 8037, or `Ed25519` of RFC 9864).
    EdDsa,
}

/// The kind of key an algorithm needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// A shared secret (JWK `oct`).
    Hmac,
    /// An RSA public key.
    Rsa,
    /// An EC public key on P-256.
    P256,
    /// An EC public key on P-384.
    P384,
    /// An EC public key on P-521.
    P521,
    /// An Ed25519 public key (JWK `OKP`).
    Ed25519,
}

impl Alg {
    /// Every algorithm, in a fixed order.
    pub const ALL: [Alg; 13] = [
        Alg::Hs256,
        Alg::Hs384,
        Alg::Hs512,
        Alg::Rs256,
        Alg::Rs384,
        Alg::Rs512,
        Alg::Ps256,
        Alg::Ps384,
        Alg::Ps512,
        Alg::Es256,
        Alg::Es384,
        Alg::Es512,
        Alg::EdDsa,
    ];

    /// Parses a header `alg` value. Names are case-sensitive (RFC 7515
    /// §4.1.1); `Ed25519` is the fully-specified RFC 9864 name for EdDSA
    /// over Ed25519.
    pub fn from_name(name: &[u8]) -> Option<Alg> {
        Some(match name {
            b"HS256" => Alg::Hs256,
            b"HS384" => Alg::Hs384,
            b"HS512" => Alg::Hs512,
            b"RS256" => Alg::Rs256,
            b"RS384" => Alg::Rs384,
            b"RS512" => Alg::Rs512,
            b"PS256" => Alg::Ps256,
            b"PS384" => Alg::Ps384,
            b"PS512" => Alg::Ps512,
            b"ES256" => Alg::Es256,
            b"ES384" => Alg::Es384,
            b"ES512" => Alg::Es512,
            b"EdDSA" | b"Ed25519" => Alg::EdDsa,
            _ => return None,
        })
    }

    /// The canonical name as written in a JWS header.
    pub fn name(self) -> &'static str {
        match self {
            Alg::Hs256 => "HS256",
            Alg::Hs384 => "HS384",
            Alg::Hs512 => "HS512",
            Alg::Rs256 => "RS256",
            Alg::Rs384 => "RS384",
            Alg::Rs512 => "RS512",
            Alg::Ps256 => "PS256",
            Alg::Ps384 => "PS384",
            Alg::Ps512 => "PS512",
            Alg::Es256 => "ES256",
            Alg::Es384 => "ES384",
            Alg::Es512 => "ES512",
            Alg::EdDsa => "EdDSA",
        }
    }

    /// The key family that may verify this algorithm.
    pub fn family(self) -> Family {
        match self {
            Alg::Hs256 | Alg::Hs384 | Alg::Hs512 => Family::Hmac,
            Alg::Rs256 | Alg::Rs384 | Alg::Rs512 => Family::Rsa,
            Alg::Ps256 | Alg::Ps384 | Alg::Ps512 => Family::Rsa,
            Alg::Es256 => Family::P256,
            Alg::Es384 => Family::P384,
            Alg::Es512 => Family::P521,
            Alg::EdDsa => Family::Ed25519,
        }
    }

    /// A small index, unique per algorithm, for bit sets and arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Family {
    /// A short lowercase name for messages and reports.
    pub fn name(self) -> &'static str {
        match self {
            Family::Hmac => "hmac",
            Family::Rsa => "rsa",
            Family::P256 => "ec-p256",
            Family::P384 => "ec-p384",
            Family::P521 => "ec-p521",
            Family::Ed25519 => "ed25519",
        }
    }

    /// Every algorithm this family can verify.
    pub fn algs(self) -> AlgSet {
        Alg::ALL
            .iter()
            .copied()
            .filter(|a| a.family() == self)
            .collect()
    }
}

/// A set of algorithms, as a bit set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct AlgSet(u16);

impl AlgSet {
    /// The set of every supported algorithm.
    pub fn all() -> AlgSet {
        Alg::ALL.iter().copied().collect()
    }

    /// The empty set.
    pub fn empty() -> AlgSet {
        AlgSet(0)
    }

    /// Whether `alg` is in the set.
    pub fn contains(self, alg: Alg) -> bool {
        self.0 & (1 << alg.index()) != 0
    }

    /// Adds `alg` to the set.
    pub fn insert(&mut self, alg: Alg) {
        self.0 |= 1 << alg.index();
    }

    /// The algorithms in both sets.
    pub fn intersect(self, other: AlgSet) -> AlgSet {
        AlgSet(self.0 & other.0)
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The members in the fixed order of [`Alg::ALL`].
    pub fn iter(self) -> impl Iterator<Item = Alg> {
        Alg::ALL.into_iter().filter(move |a| self.contains(*a))
    }
}

impl FromIterator<Alg> for AlgSet {
    fn from_iter<I: IntoIterator<Item = Alg>>(iter: I) -> AlgSet {
        let mut set = AlgSet::empty();
        for alg in iter {
            set.insert(alg);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for alg in Alg::ALL {
            assert_eq!(Alg::from_name(alg.name().as_bytes()), Some(alg));
        }
        assert_eq!(Alg::from_name(b"Ed25519"), Some(Alg::EdDsa));
        assert_eq!(Alg::from_name(b"hs256"), None);
        assert_eq!(Alg::from_name(b"none"), None);
    }

    #[test]
    fn families_partition_the_algorithms() {
        let fams = [
            Family::Hmac,
            Family::Rsa,
            Family::P256,
            Family::P384,
            Family::P521,
            Family::Ed25519,
        ];
        let total: usize = fams.iter().map(|f| f.algs().iter().count()).sum();
        assert_eq!(total, Alg::ALL.len());
        assert!(!Family::Hmac.algs().contains(Alg::Rs256));
        assert!(Family::Rsa.algs().contains(Alg::Ps512));
    }
}
