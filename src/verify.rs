//! Checking a distinct token: structure, header, signature and the claims
//! that do not depend on time.
//!
//! [`check`] runs once per distinct token (the [`crate::cache`] sees to
//! that) and returns a [`Checked`]: everything the judge needs to give each
//! occurrence its verdict at that occurrence's own evaluation time.
//!
//! Backends, chosen per algorithm by measurement on this project's 2-core
//! AMD EPYC machines (bare verify of a 400-byte input with a prepared key,
//! one core, side by side in one run, 2026-12-03):
//!
//! | alg | chosen | per second | the others |
//! |---|---|---|---|
//! | HS256 | `sha2` compression, pads once ([`crate::hmac`]) | 4.48M | `ring` 2.90M |
//! | RS256 | aws-lc-rs, key parsed once | 52.9k | aws-lc-rs unparsed 47.5k, `ring` 41.6k |
//! | ES256 | aws-lc-rs, parsed once | 17.6k | `ring` 16.8k |
//! | ES384 | aws-lc-rs, parsed once | 4.39k | `ring` 1.15k |
//! | ES512 | aws-lc-rs, parsed once | 2.53k | RustCrypto `p521` 0.62k (`ring` has none) |
//! | EdDSA | aws-lc-rs, parsed once | 23.8k | `ed25519-dalek` verify_strict 20.7k |
//!
//! The HS256 row is a 255-byte input on 2026-12-04 (4.7-4.8M against
//! `ring`'s 3.3M on the bench's tokens); on 2026-12-03 `ring` did 2.21M,
//! aws-lc-rs 1.99M and `hmac` + `sha2` 1.34M.
//!
//! Those figures are from the AMD EPYC machines. On the Intel Xeon ones
//! of the fourth pass (BENCHMARKS.md, `cargo bench --bench stages`) the
//! choices hold: HS256 4.62M/s against `ring`'s 3.12M/s, and each checked
//! public-key token within 3% of its aws-lc-rs floor (RS256 65.3k/s,
//! ES256 17.4k/s, EdDSA 29.7k/s).
//!
//! The Wycheproof suite (tests/vectors) holds every backend to the same
//! answers.
//!
//! EdDSA batch verification is measured but not used. `ed25519-dalek`'s
//! `verify_batch` checks 64 signatures at 53.0k/s per core against 23.9k/s
//! for aws-lc-rs one at a time (`cargo bench --bench peers -- EdDSA`), but
//! a batch checks the cofactored equation `[8]([s]B - R - [k]A) = 0` while
//! the single check is cofactorless, `[s]B = R + [k]A`. A signer can make
//! `R` with a small-order component that passes the first and fails the
//! second, so a token's verdict would depend on which batch it fell in,
//! and on how the log was chunked. Making the two agree needs a torsion
//! check of every `R` (a scalar multiplication by the group order), which
//! costs about what the batch saves. Moving every EdDSA check to the
//! cofactored rule (as ZIP 215 does) would allow batching, but would also
//! accept signatures that OpenSSL, BoringSSL and aws-lc reject: a decision
//! about what "valid" means that this module does not take on its own.

use std::fmt;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, OnceLock};

use sha2::{Digest, Sha256};

use crate::alg::Alg;
use crate::judge::Policy;
use crate::keys::{Candidates, Keyring, PreparedKey, Verifier};
use crate::sweep::findings::{self, Evidence, Findings};
use crate::token::{self, AlgValue, Malformed, Parsed, Scratch, Segments};
use crate::verdict::Verdict;

/// Why a token got a verdict other than valid, as far as it is decided
/// without the clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The token is malformed in this way.
    Malformed(Malformed),
    /// A five-segment JWE.
    Encrypted,
    /// `alg` is `none`.
    AlgNone,
    /// `alg` is not one we verify.
    AlgUnknown,
    /// `alg` is supported but excluded by `--algs`.
    AlgExcluded,
    /// A `crit` header is present.
    Crit,
    /// The `kid` names no configured key.
    NoSuchKid,
    /// The `kid` names keys whose type cannot verify this alg.
    KidWrongType,
    /// No configured key is bound to this alg.
    NoKeyForAlg,
    /// An ECDSA signature of the wrong length (DER, truncated, padded).
    EcdsaLength,
    /// An ECDSA signature with r or s zero (CVE-2022-21449).
    EcdsaZero,
    /// The signature did not verify with any of this many fitting keys.
    Mismatch(usize),
    /// `--issuer` given and `iss` absent.
    NoIssuer,
    /// `--issuer` given and `iss` matches none.
    IssuerMismatch,
    /// `--audience` given and `aud` absent.
    NoAudience,
    /// `--audience` given and `aud` matches none.
    AudienceMismatch,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Malformed(m) => m.fmt(f),
            Reason::Encrypted => f.write_str("five segments: an encrypted JWE"),
            Reason::AlgNone => f.write_str("alg none: the token is unsigned"),
            Reason::AlgUnknown => f.write_str("alg is not a supported JWS algorithm"),
            Reason::AlgExcluded => f.write_str("alg is excluded by --algs"),
            Reason::Crit => f.write_str("crit header lists extensions we do not understand"),
            Reason::NoSuchKid => f.write_str("kid names no configured key"),
            Reason::KidWrongType => {
                f.write_str("kid names a key whose type cannot verify this alg")
            }
            Reason::NoKeyForAlg => f.write_str("no configured key verifies this alg"),
            Reason::EcdsaLength => f.write_str("ECDSA signature is not R||S of the curve's size"),
            Reason::EcdsaZero => f.write_str("ECDSA signature has r or s zero"),
            Reason::Mismatch(1) => f.write_str("signature does not verify with the key"),
            Reason::Mismatch(n) => write!(f, "signature verifies with none of {n} keys"),
            Reason::NoIssuer => f.write_str("iss missing"),
            Reason::IssuerMismatch => f.write_str("iss matches no --issuer"),
            Reason::NoAudience => f.write_str("aud missing"),
            Reason::AudienceMismatch => f.write_str("aud matches no --audience"),
        }
    }
}

/// What checking a distinct token found. Cached and shared by all of the
/// token's occurrences.
#[derive(Clone, Debug)]
pub struct Checked {
    /// SHA-256 of the token text, the fingerprint reports use; computed
    /// on first need (see [`Checked::fingerprint_of`]), since it costs as
    /// much as an HMAC check and a scan without per-token output never
    /// needs it.
    fingerprint: OnceLock<[u8; 32]>,
    /// The header `alg` text, when it names no supported algorithm.
    alg_other: Option<String>,
    /// The supported algorithm, if `alg` named one.
    pub alg_known: Option<Alg>,
    /// The header `kid`.
    pub kid: Option<Arc<str>>,
    /// The claims the judge and the reports read.
    pub claims: token::Claims,
    /// A verdict that wins before any time judgement (malformed through
    /// bad_signature), with its reason.
    pub before_time: Option<(Verdict, Reason)>,
    /// A verdict that applies if the time claims hold (wrong_issuer,
    /// wrong_audience), with its reason.
    pub after_time: Option<(Verdict, Reason)>,
    /// The index, in [`Keyring::keys`], of the key that verified the
    /// signature.
    pub key: Option<usize>,
    /// The token's identity for distinct counts ([`crate::report::TokenIds`]),
    /// set by the scanning worker; zero elsewhere.
    pub(crate) id: u128,
    /// The breakdown group the scanning worker filed this check under; only
    /// meaningful to that worker.
    pub(crate) group: u32,
    /// The breakdown subject the scanning worker filed this check under.
    pub(crate) subject: u32,
    /// What the token's shape says about how it was made.
    pub findings: Findings,
    /// The verdicts the scanning worker has already counted this check
    /// under, one bit per verdict, so distinct tokens per verdict cost a
    /// set insert only the first time.
    pub(crate) verdicts_seen: VerdictBits,
}

/// One bit per verdict, set through a shared reference.
#[derive(Debug, Default)]
pub(crate) struct VerdictBits(AtomicU16);

impl Clone for VerdictBits {
    fn clone(&self) -> VerdictBits {
        VerdictBits(AtomicU16::new(self.0.load(Ordering::Relaxed)))
    }
}

impl VerdictBits {
    /// Sets `verdict`'s bit; whether it was clear before.
    pub(crate) fn first(&self, verdict: Verdict) -> bool {
        let bit = 1 << verdict.index();
        self.0.fetch_or(bit, Ordering::Relaxed) & bit == 0
    }
}

impl Default for Checked {
    fn default() -> Checked {
        Checked::new()
    }
}

impl Checked {
    fn new() -> Checked {
        Checked {
            fingerprint: OnceLock::new(),
            alg_known: None,
            alg_other: None,
            kid: None,
            claims: token::Claims::default(),
            before_time: None,
            after_time: None,
            key: None,
            id: 0,
            group: 0,
            subject: 0,
            findings: Findings::default(),
            verdicts_seen: VerdictBits::default(),
        }
    }

    /// Back to [`Checked::new`]'s state, keeping the claims' memory.
    fn reset(&mut self) {
        // field by field, not a fresh value moved in: that copied the
        // whole struct per token
        self.fingerprint.take();
        (self.alg_other, self.alg_known, self.kid) = (None, None, None);
        self.claims.clear();
        (self.before_time, self.after_time, self.key) = (None, None, None);
        (self.id, self.group, self.subject) = (0, 0, 0);
        self.findings = Findings::default();
        self.verdicts_seen = VerdictBits::default();
    }

    /// The fingerprint of `token`, which must be the text this was
    /// checked from; computed once and kept.
    pub fn fingerprint_of(&self, token: &[u8]) -> [u8; 32] {
        *self
            .fingerprint
            .get_or_init(|| Sha256::digest(token).into())
    }

    /// The header `alg` as written, if the header was readable (a
    /// supported alg by its canonical name).
    pub fn alg(&self) -> Option<&str> {
        match self.alg_known {
            Some(alg) => Some(alg.name()),
            None => self.alg_other.as_deref(),
        }
    }

    /// The fingerprint, if it has been computed.
    pub fn fingerprint(&self) -> Option<[u8; 32]> {
        self.fingerprint.get().copied()
    }
}

/// Lowercase hex of some bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

/// Checks a distinct token against the keyring and the time-free parts of
/// the policy.
pub fn check(token: &[u8], keyring: &Keyring, policy: &Policy, scratch: &mut Scratch) -> Checked {
    let mut checked = Checked::new();
    check_in_place(token, keyring, policy, scratch, &mut checked);
    checked
}

/// [`check`] into `out`, replacing all it held but keeping its memory: a
/// worker checks each token it does not cache into the same `Checked`,
/// where a fresh one per token cost two allocations and their freeing.
pub fn check_in_place(
    token: &[u8],
    keyring: &Keyring,
    policy: &Policy,
    scratch: &mut Scratch,
    out: &mut Checked,
) {
    out.reset();
    let mut parsed = Parsed::default();
    let Some(segments) = token::split(token) else {
        let malformed = Malformed::Base64(token::Part::Header);
        out.before_time = Some((Verdict::Malformed, Reason::Malformed(malformed)));
        return;
    };
    let outcome = check_into(out, &segments, &mut parsed, keyring, policy, scratch);
    if let Err((verdict, reason)) = outcome {
        out.before_time = Some((verdict, reason));
    }
    out.findings = sweep(out, &parsed, &segments, keyring, &scratch.signature);
}

/// The attack findings, from what checking learned.
fn sweep(
    checked: &Checked,
    parsed: &Parsed,
    segments: &Segments<'_>,
    keyring: &Keyring,
    signature: &[u8],
) -> Findings {
    let malformed = match checked.before_time {
        Some((_, Reason::Malformed(m))) => Some(m),
        _ => None,
    };
    let evidence = Evidence {
        header: parsed.header_read.then_some(&parsed.header),
        kid: checked.kid.as_deref(),
        malformed,
        alg: checked.alg_known.filter(|_| !parsed.encrypted),
        signature,
        signature_text: segments.signature,
        signing_input: segments.signing_input,
        verified: checked.key.is_some(),
    };
    findings::detect(&evidence, keyring)
}

fn check_into(
    checked: &mut Checked,
    segments: &Segments<'_>,
    parsed: &mut Parsed,
    keyring: &Keyring,
    policy: &Policy,
    scratch: &mut Scratch,
) -> Result<(), (Verdict, Reason)> {
    let malformed = |m| (Verdict::Malformed, Reason::Malformed(m));

    // structure, header, claims
    let parse = token::parse_into(segments, scratch, parsed, &mut checked.claims);
    if parsed.header_read {
        checked.alg_other = parsed.header.alg_text.take();
        if let Some(AlgValue::Known(alg)) = parsed.header.alg {
            checked.alg_known = Some(alg);
        }
        checked.kid = parsed.header.kid.take();
    }
    parse.map_err(malformed)?;
    if parsed.encrypted {
        return Err((Verdict::EncryptedJwe, Reason::Encrypted));
    }

    // algorithm and extensions
    let alg = match parsed.header.alg {
        Some(AlgValue::Known(alg)) => alg,
        Some(AlgValue::None) => return Err((Verdict::AlgNone, Reason::AlgNone)),
        _ => return Err((Verdict::UnsupportedAlg, Reason::AlgUnknown)),
    };
    if !policy.algs.contains(alg) {
        return Err((Verdict::UnsupportedAlg, Reason::AlgExcluded));
    }
    if parsed.header.crit {
        return Err((Verdict::UnsupportedCrit, Reason::Crit));
    }

    // keys and signature
    let keys = match keyring.candidates(alg, checked.kid.as_deref()) {
        Candidates::Keys(keys) => keys,
        Candidates::NoSuchKid => return Err((Verdict::UnknownKey, Reason::NoSuchKid)),
        Candidates::KidWrongType => return Err((Verdict::UnknownKey, Reason::KidWrongType)),
        Candidates::NoKeyForAlg => return Err((Verdict::UnknownKey, Reason::NoKeyForAlg)),
    };
    let signature = &scratch.signature;
    if let Some(reason) = ecdsa_shape(alg, signature) {
        return Err((Verdict::BadSignature, reason));
    }
    let input = segments.signing_input;
    let verifies = |(_, key): &(usize, &PreparedKey)| verify_signature(key, alg, input, signature);
    let Some((index, _)) = keys.iter().find(verifies) else {
        return Err((Verdict::BadSignature, Reason::Mismatch(keys.len())));
    };
    checked.key = Some(index);

    // claims that do not depend on time
    checked.after_time = policy.judge_identity(&checked.claims);
    Ok(())
}

/// JWS ECDSA signatures are R‖S, each exactly the curve's size (RFC 7518
/// §3.4), and neither may be zero (CVE-2022-21449). Both backends reject
/// these too; checking here gives the precise reason.
fn ecdsa_shape(alg: Alg, signature: &[u8]) -> Option<Reason> {
    let size = match alg {
        Alg::Es256 => 32,
        Alg::Es384 => 48,
        Alg::Es512 => 66,
        _ => return None,
    };
    if signature.len() != 2 * size {
        return Some(Reason::EcdsaLength);
    }
    let (r, s) = signature.split_at(size);
    let zero = |half: &[u8]| half.iter().all(|&b| b == 0);
    (zero(r) || zero(s)).then_some(Reason::EcdsaZero)
}

/// Verifies a signature with one prepared key. The key must be bound to
/// `alg`; a key of another family never verifies.
pub fn verify_signature(key: &PreparedKey, alg: Alg, input: &[u8], sig: &[u8]) -> bool {
    if !key.algs.contains(alg) {
        return false;
    }
    match &key.verifier {
        Verifier::Hmac(key) => key.verify(alg, input, sig),
        Verifier::Public(parsed) => parsed
            .iter()
            .find(|(bound, _)| *bound == alg)
            .is_some_and(|(_, key)| key.verify_sig(input, sig).is_ok()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecdsa_shape_rules() {
        assert_eq!(ecdsa_shape(Alg::Es256, &[1; 64]), None);
        assert_eq!(ecdsa_shape(Alg::Es256, &[1; 63]), Some(Reason::EcdsaLength));
        assert_eq!(ecdsa_shape(Alg::Es512, &[1; 132]), None);
        let mut zero_r = [1u8; 64];
        zero_r[..32].fill(0);
        assert_eq!(ecdsa_shape(Alg::Es256, &zero_r), Some(Reason::EcdsaZero));
        assert_eq!(ecdsa_shape(Alg::Es256, &[0; 64]), Some(Reason::EcdsaZero));
        assert_eq!(ecdsa_shape(Alg::Hs256, &[]), None);
    }

    #[test]
    fn a_reused_slot_checks_as_a_fresh_one() {
        use base64_simd::URL_SAFE_NO_PAD as B64;
        let token = |header: &str, claims: &str, sig: &str| {
            let (h, c) = (B64.encode_to_string(header), B64.encode_to_string(claims));
            format!("{h}.{c}.{sig}")
        };
        let tokens = [
            token(
                r#"{"alg":"HS256","kid":"../x","jku":"https://e"}"#,
                r#"{"iss":"a","sub":"b","aud":["c","d"],"exp":1,"nbf":2,"iat":3,"jti":"j"}"#,
                "c2ln",
            ),
            token(r#"{"alg":"none"}"#, "{}", ""),
            token(r#"{"alg":"HS256"}"#, r#"{"exp":"x"}"#, "c2ln"),
            "a.b".to_string(),
            token(r#"{"alg":"RSA-OAEP"}"#, "{}", "x") + ".y.z",
            token(r#"{"alg":"ES256"}"#, r#"{"sub":"s"}"#, &"A".repeat(86)),
            token(
                r#"{"alg":"HS256","crit":["b64"],"b64":false}"#,
                r#"{"aud":"x"}"#,
                "",
            ),
        ];
        let (keyring, policy) = (Keyring::new(), Policy::default());
        let mut slot = Checked::new();
        let mut scratch = Scratch::new();
        // each token after every other, so every field is left set once
        for first in &tokens {
            for second in &tokens {
                check_in_place(first.as_bytes(), &keyring, &policy, &mut scratch, &mut slot);
                slot.fingerprint_of(first.as_bytes());
                let _ = slot.verdicts_seen.first(Verdict::Valid);
                (slot.id, slot.group, slot.subject) = (1, 2, 3);
                check_in_place(
                    second.as_bytes(),
                    &keyring,
                    &policy,
                    &mut scratch,
                    &mut slot,
                );
                let fresh = check(second.as_bytes(), &keyring, &policy, &mut Scratch::new());
                assert_eq!(
                    format!("{slot:?}"),
                    format!("{fresh:?}"),
                    "{first} then {second}"
                );
            }
        }
    }

    #[test]
    fn hex_is_lowercase() {
        assert_eq!(hex(&[0x00, 0xAB, 0x7f]), "00ab7f");
    }
}
