//! Attack findings: what a distinct token's shape says about how it was
//! made, beside (never instead of) its verdict.
//!
//! Forged tokens leave marks: `alg: none`, an HMAC keyed with a public key
//! (RS→HS confusion), ECDSA signatures of zeros (CVE-2022-21449) or in DER,
//! headers that point the verifier at attacker-chosen keys (`jwk`, `jku`,
//! `x5u`, `x5c`), a `kid` built to reach a file, a query or a shell, and
//! encodings crafted for parser differentials. [`detect`] finds these once
//! per distinct token; the report counts them per distinct token and per
//! occurrence, with line references.

use std::fmt;

use crate::alg::{Alg, Family};
use crate::json::JsonError;
use crate::keys::Keyring;
use crate::token::{Header, Malformed, Part};

/// How urgently a finding needs a human.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Proof or near-proof of a forgery or a broken verifier.
    Critical,
    /// An attack attempt, or a token built to confuse verifiers.
    High,
    /// Unusual and worth a look.
    Medium,
    /// Hygiene.
    Low,
}

impl Severity {
    /// The lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
        }
    }
}

/// A kind of finding about a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Finding {
    /// An HS* token whose MAC verifies with a configured public key as the
    /// secret.
    KeyConfusion,
    /// An ECDSA signature with r or s zero.
    EcdsaZeroSignature,
    /// `alg` is `none` in some casing.
    AlgNone,
    /// A signed alg with an empty signature.
    EmptySignature,
    /// An ECDSA signature in DER instead of R‖S.
    EcdsaDerSignature,
    /// An ECDSA signature of the wrong length.
    EcdsaSignatureLength,
    /// A `jwk` or `x5c` header: a key carried in the token itself.
    EmbeddedKey,
    /// A `jku` or `x5u` header: a URL to fetch keys from.
    KeyUrl,
    /// A `kid` with path traversal, SQL or shell metacharacters.
    KidInjection,
    /// A header or claims object repeats a member name.
    DuplicateMembers,
    /// A registered claim of the wrong JSON type.
    WrongClaimType,
    /// A `crit` header.
    Crit,
    /// `b64: false` (RFC 7797 unencoded payload).
    UnencodedPayload,
    /// A `zip` header in a JWS.
    CompressedPayload,
    /// A segment with padding or non-zero unused bits.
    NonCanonicalBase64,
    /// The same `kid` seen with more than one key family, or an issuer
    /// seen with HMAC and a public-key family.
    AlgFamilyMix,
}

impl Finding {
    /// Every finding, most severe first.
    pub const ALL: [Finding; 16] = [
        Finding::KeyConfusion,
        Finding::EcdsaZeroSignature,
        Finding::AlgNone,
        Finding::EmptySignature,
        Finding::EmbeddedKey,
        Finding::KeyUrl,
        Finding::KidInjection,
        Finding::DuplicateMembers,
        Finding::WrongClaimType,
        Finding::AlgFamilyMix,
        Finding::EcdsaDerSignature,
        Finding::EcdsaSignatureLength,
        Finding::Crit,
        Finding::UnencodedPayload,
        Finding::CompressedPayload,
        Finding::NonCanonicalBase64,
    ];

    /// The snake_case name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Finding::KeyConfusion => "key_confusion",
            Finding::EcdsaZeroSignature => "ecdsa_zero_signature",
            Finding::AlgNone => "alg_none",
            Finding::EmptySignature => "empty_signature",
            Finding::EcdsaDerSignature => "ecdsa_der_signature",
            Finding::EcdsaSignatureLength => "ecdsa_signature_length",
            Finding::EmbeddedKey => "embedded_key",
            Finding::KeyUrl => "key_url",
            Finding::KidInjection => "kid_injection",
            Finding::DuplicateMembers => "duplicate_members",
            Finding::WrongClaimType => "wrong_claim_type",
            Finding::Crit => "crit_header",
            Finding::UnencodedPayload => "unencoded_payload",
            Finding::CompressedPayload => "compressed_payload",
            Finding::NonCanonicalBase64 => "non_canonical_base64",
            Finding::AlgFamilyMix => "alg_family_mix",
        }
    }

    /// How urgent it is.
    pub fn severity(self) -> Severity {
        match self {
            Finding::KeyConfusion | Finding::EcdsaZeroSignature | Finding::AlgNone => {
                Severity::Critical
            }
            Finding::EmptySignature
            | Finding::EmbeddedKey
            | Finding::KeyUrl
            | Finding::KidInjection
            | Finding::DuplicateMembers
            | Finding::WrongClaimType
            | Finding::AlgFamilyMix => Severity::High,
            Finding::EcdsaDerSignature
            | Finding::EcdsaSignatureLength
            | Finding::Crit
            | Finding::UnencodedPayload
            | Finding::CompressedPayload => Severity::Medium,
            Finding::NonCanonicalBase64 => Severity::Low,
        }
    }

    /// One line a non-expert can act on.
    pub fn explanation(self) -> &'static str {
        match self {
            Finding::KeyConfusion => {
                "HMAC token keyed with one of your public keys: a forgery (RS/ES to HS key \
                 confusion); any server that accepted it trusts alg from the token"
            }
            Finding::EcdsaZeroSignature => {
                "ECDSA signature of zeros (CVE-2022-21449): forged; patch Java 15-18 verifiers"
            }
            Finding::AlgNone => {
                "unsigned token (alg none): anyone can write one; no server should accept it"
            }
            Finding::EmptySignature => {
                "signed algorithm with an empty signature: a forgery attempt"
            }
            Finding::EcdsaDerSignature => {
                "ECDSA signature in DER, not the R||S form JWS requires: a non-JOSE signer \
                 or a probe for lenient verifiers"
            }
            Finding::EcdsaSignatureLength => {
                "ECDSA signature of the wrong length for its curve: truncated or tampered"
            }
            Finding::EmbeddedKey => {
                "the token carries its own key (jwk or x5c header): servers that trust it \
                 accept tokens signed by anyone"
            }
            Finding::KeyUrl => {
                "the token names a URL to fetch its key from (jku or x5u): an attacker can \
                 point it at their own key; never fetched here"
            }
            Finding::KidInjection => {
                "kid holds path traversal, SQL or shell characters: an injection attempt \
                 against the key lookup"
            }
            Finding::DuplicateMembers => {
                "a header or claims member appears twice: libraries disagree on which wins \
                 (parser differential)"
            }
            Finding::WrongClaimType => {
                "a registered claim has the wrong JSON type (e.g. exp as a string): some \
                 verifiers skip the check (CVE-2026-25537)"
            }
            Finding::Crit => "crit header: extensions a verifier must understand or reject",
            Finding::UnencodedPayload => {
                "b64 false (unencoded payload): rarely legitimate in a bearer token"
            }
            Finding::CompressedPayload => {
                "zip header in a signed token: compression is defined for JWE only"
            }
            Finding::NonCanonicalBase64 => {
                "a segment is not canonical base64url (padding or stray bits): crafted or \
                 from a sloppy encoder"
            }
            Finding::AlgFamilyMix => {
                "one kid or issuer is used with more than one key type: key confusion \
                 attempts or a misconfigured issuer"
            }
        }
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of findings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Findings(u32);

impl Findings {
    /// Adds a finding.
    pub fn insert(&mut self, finding: Finding) {
        self.0 |= finding.bit();
    }

    /// Whether the set holds `finding`.
    pub fn contains(self, finding: Finding) -> bool {
        self.0 & finding.bit() != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The members, most severe first.
    pub fn iter(self) -> impl Iterator<Item = Finding> {
        Finding::ALL.into_iter().filter(move |f| self.contains(*f))
    }
}

/// What [`detect`] looks at: what parsing learned, even of a malformed
/// token.
pub struct Evidence<'a> {
    /// The header, if it parsed.
    pub header: Option<&'a Header>,
    /// The `kid`, if the header had one.
    pub kid: Option<&'a str>,
    /// Why the token is malformed, if it is.
    pub malformed: Option<Malformed>,
    /// The alg, if supported.
    pub alg: Option<Alg>,
    /// The decoded signature (empty if it did not decode).
    pub signature: &'a [u8],
    /// The signature segment's text.
    pub signature_text: &'a [u8],
    /// `header.payload`.
    pub signing_input: &'a [u8],
    /// Whether a configured key verified the signature.
    pub verified: bool,
}

/// The findings about one distinct token.
pub fn detect(evidence: &Evidence<'_>, keyring: &Keyring) -> Findings {
    let mut found = Findings::default();

    // how it is malformed
    match evidence.malformed {
        Some(Malformed::Json(_, JsonError::DuplicateMember)) => {
            found.insert(Finding::DuplicateMembers)
        }
        Some(Malformed::Claim(_)) => found.insert(Finding::WrongClaimType),
        Some(Malformed::Base64(part)) if canonical_length(evidence, part) => {
            found.insert(Finding::NonCanonicalBase64)
        }
        _ => {}
    }

    // the header
    if let Some(header) = evidence.header {
        header_findings(header, &mut found);
    }
    if evidence.kid.is_some_and(kid_is_injection) {
        found.insert(Finding::KidInjection);
    }

    // the signature
    if let Some(alg) = evidence.alg {
        if evidence.signature_text.is_empty() {
            found.insert(Finding::EmptySignature);
        }
        ecdsa_findings(alg, evidence.signature, &mut found);
        if alg.family() == Family::Hmac && !evidence.verified && !evidence.signature.is_empty() {
            let input = evidence.signing_input;
            if keyring.mac_matches_public_key(alg, input, evidence.signature) {
                found.insert(Finding::KeyConfusion);
            }
        }
    }
    found
}

/// Whether a base64 failure is of a segment whose length is possible, so
/// its fault is padding or stray bits rather than a truncated segment. The
/// finder only takes base64url characters and dots, so no other character
/// can be at fault.
fn canonical_length(evidence: &Evidence<'_>, part: Part) -> bool {
    match part {
        Part::Signature => evidence.signature_text.len() % 4 != 1,
        _ => true,
    }
}

fn header_findings(header: &Header, found: &mut Findings) {
    if header.alg_is_none() {
        found.insert(Finding::AlgNone);
    }
    if header.jwk || header.x5c {
        found.insert(Finding::EmbeddedKey);
    }
    if header.jku || header.x5u {
        found.insert(Finding::KeyUrl);
    }
    if header.crit {
        found.insert(Finding::Crit);
    }
    if header.b64_false {
        found.insert(Finding::UnencodedPayload);
    }
    if header.zip {
        found.insert(Finding::CompressedPayload);
    }
}

/// Path traversal, SQL and shell metacharacters in a `kid`.
pub fn kid_is_injection(kid: &str) -> bool {
    // Nearly every kid is plain: letters, digits and `-_.:`, no `..` or
    // `--`.
    let plain = kid
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    // (a pairwise look: `str::contains` sets up a substring searcher per
    // call, which showed at 2.7% of a no-reuse scan)
    let doubled = |w: &[u8]| w == b".." || w == b"--";
    if plain && !kid.as_bytes().windows(2).any(doubled) {
        return false;
    }
    let lower = kid.to_ascii_lowercase();
    let traversal = lower.contains("../")
        || lower.contains("..\\")
        || lower.starts_with('/')
        || lower.contains("%2e%2e")
        || lower.contains('\0');
    let sql = kid.contains('\'')
        || lower.contains("--")
        || lower.contains("/*")
        || lower.contains(" or ")
        || lower.contains("union")
        || lower.contains("select ");
    let shell = ['`', '|', ';', '&', '$', '<', '>', '\n']
        .iter()
        .any(|&c| kid.contains(c));
    traversal || sql || shell
}

fn ecdsa_findings(alg: Alg, signature: &[u8], found: &mut Findings) {
    let size = match alg {
        Alg::Es256 => 32,
        Alg::Es384 => 48,
        Alg::Es512 => 66,
        _ => return,
    };
    if signature.is_empty() {
        return;
    }
    if signature.len() == 2 * size {
        let (r, s) = signature.split_at(size);
        let zero = |half: &[u8]| half.iter().all(|&b| b == 0);
        if zero(r) || zero(s) {
            found.insert(Finding::EcdsaZeroSignature);
        }
    } else if is_der_signature(signature) {
        found.insert(Finding::EcdsaDerSignature);
        if der_has_zero(signature) {
            found.insert(Finding::EcdsaZeroSignature);
        }
    } else {
        found.insert(Finding::EcdsaSignatureLength);
    }
}

/// `SEQUENCE { INTEGER r, INTEGER s }` with short-form lengths, as an
/// ECDSA signature is in DER.
fn is_der_signature(sig: &[u8]) -> bool {
    der_integers(sig).is_some()
}

fn der_has_zero(sig: &[u8]) -> bool {
    der_integers(sig).is_some_and(|(r, s)| {
        let zero = |n: &[u8]| n.iter().all(|&b| b == 0);
        zero(r) || zero(s)
    })
}

/// The two integers of a DER ECDSA signature.
fn der_integers(sig: &[u8]) -> Option<(&[u8], &[u8])> {
    fn length(bytes: &[u8], at: usize) -> Option<(usize, usize)> {
        match *bytes.get(at)? {
            n if n < 0x80 => Some((n as usize, at + 1)),
            0x81 => Some((*bytes.get(at + 1)? as usize, at + 2)),
            _ => None,
        }
    }
    if sig.first() != Some(&0x30) {
        return None;
    }
    let (total, body) = length(sig, 1)?;
    if body + total != sig.len() {
        return None;
    }
    let mut at = body;
    let mut ints = [&sig[..0]; 2];
    for int in &mut ints {
        if sig.get(at) != Some(&0x02) {
            return None;
        }
        let (len, start) = length(sig, at + 1)?;
        *int = sig.get(start..start + len)?;
        at = start + len;
    }
    (at == sig.len()).then_some((ints[0], ints[1]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kid_injections() {
        for bad in [
            "../../dev/null",
            "/etc/passwd",
            "x' UNION SELECT 'key",
            "1; rm -rf /",
            "$(curl evil)",
            "a|b",
            "k--",
            "..\\windows",
        ] {
            assert!(kid_is_injection(bad), "{bad}");
        }
        for good in ["rsa-1", "2024-01-rotated", "a1b2c3", "key.v2", "urn:key:7"] {
            assert!(!kid_is_injection(good), "{good}");
        }
    }

    #[test]
    fn ecdsa_shapes() {
        let mut f = Findings::default();
        ecdsa_findings(Alg::Es256, &[0; 64], &mut f);
        assert!(f.contains(Finding::EcdsaZeroSignature));

        let mut f = Findings::default();
        // SEQUENCE { INTEGER 1, INTEGER 2 }
        ecdsa_findings(Alg::Es256, &[0x30, 6, 2, 1, 1, 2, 1, 2], &mut f);
        assert!(f.contains(Finding::EcdsaDerSignature));
        assert!(!f.contains(Finding::EcdsaZeroSignature));

        let mut f = Findings::default();
        ecdsa_findings(Alg::Es256, &[0x30, 6, 2, 1, 0, 2, 1, 0], &mut f);
        assert!(f.contains(Finding::EcdsaDerSignature) && f.contains(Finding::EcdsaZeroSignature));

        let mut f = Findings::default();
        ecdsa_findings(Alg::Es384, &[1; 64], &mut f);
        assert_eq!(
            f.iter().collect::<Vec<_>>(),
            [Finding::EcdsaSignatureLength]
        );

        let mut f = Findings::default();
        ecdsa_findings(Alg::Es256, &[7; 64], &mut f);
        assert!(f.is_empty());
    }

    #[test]
    fn severities_are_ordered_in_all() {
        let sev: Vec<Severity> = Finding::ALL.iter().map(|f| f.severity()).collect();
        let mut sorted = sev.clone();
        sorted.sort();
        assert_eq!(sev, sorted);
        let mut set = Findings::default();
        set.insert(Finding::Crit);
        set.insert(Finding::KeyConfusion);
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            [Finding::KeyConfusion, Finding::Crit]
        );
    }
}
