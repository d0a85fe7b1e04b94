//! The worked examples of RFC 7515 Appendix A, RFC 7520 §4 and RFC 8037
//! §A.4, each through `check`, the judge and `verify_signature`.
//!
//! RFC 7515 A.1–A.3 sign JWT claims with `exp` 1300819380 (2011-03-22), so
//! they are valid just before then and expired now. A.4 and the RFC 7520
//! and RFC 8037 examples sign plain text, which our JWT rules call
//! malformed; for those the signature alone must verify.

use base64_simd::URL_SAFE_NO_PAD;
use jwtsweep::alg::Alg;
use jwtsweep::judge::Policy;
use jwtsweep::keys::{Keyring, PreparedKey};
use jwtsweep::token::{self, Malformed, Part, Scratch};
use jwtsweep::verdict::Verdict;
use jwtsweep::verify::{check, verify_signature, Checked, Reason};
use serde_json::Value as Json;

use crate::{b64url, fixture, text};

/// `exp` of the RFC 7515 example claims.
const EXP_2011: f64 = 1300819380.0;

/// 2026-01-01T00:00:00Z.
const AT_2026: f64 = 1767225600.0;

/// RFC 7515 A.1–A.3: JWTs whose signature verifies and whose `exp` has
/// passed.
#[test]
fn rfc7515_appendix_a_jwts() {
    let cases = [
        ("a1_hs256.json", Alg::Hs256),
        ("a2_rs256.json", Alg::Rs256),
        ("a3_es256.json", Alg::Es256),
    ];
    for (file, alg) in cases {
        let (key, token) = rfc7515(file);
        let keyring = keyring(&key);
        let policy = Policy::default();
        let checked = run_check(&token, &keyring);

        assert_eq!(
            checked.before_time, None,
            "{file}: signature or header rejected"
        );
        assert_eq!(checked.alg_known, Some(alg), "{file}");
        assert_eq!(checked.claims.exp, Some(EXP_2011), "{file}");
        assert_eq!(checked.claims.iss(), Some("joe"), "{file}");
        assert_eq!(
            policy.verdict(&checked, EXP_2011 - 10.0),
            Verdict::Valid,
            "{file}"
        );
        assert_eq!(
            policy.verdict(&checked, AT_2026),
            Verdict::Expired,
            "{file}"
        );

        // the signature-only judge of the JOSE vectors agrees with `check`
        assert_eq!(
            crate::jose::signature_only(&token, &keyring),
            Ok(()),
            "{file}"
        );
        let forged = flip_signature_bit(&token);
        assert!(
            crate::jose::signature_only(&forged, &keyring).is_err(),
            "{file}"
        );

        let forged = run_check(&forged, &keyring);
        assert_eq!(
            forged.before_time,
            Some((Verdict::BadSignature, Reason::Mismatch(1))),
            "{file}"
        );
    }
}

/// RFC 7515 A.4: ES512 over the text "Payload", which is not a JWT.
#[test]
fn rfc7515_appendix_a4_es512() {
    let (key, token) = rfc7515("a4_es512.json");
    assert_not_a_jwt("RFC 7515 A.4", &token, &key, Alg::Es512);
}

/// RFC 7515 A.5: an unsecured JWS is `alg_none` whatever keys are loaded.
#[test]
fn rfc7515_appendix_a5_alg_none() {
    let (_, token) = rfc7515("a5_none.json");
    let (hs256, _) = rfc7515("a1_hs256.json");
    for keyring in [Keyring::new(), keyring(&hs256)] {
        let checked = run_check(&token, &keyring);
        assert_eq!(
            checked.before_time,
            Some((Verdict::AlgNone, Reason::AlgNone))
        );
        assert_eq!(
            Policy::default().verdict(&checked, EXP_2011 - 10.0),
            Verdict::AlgNone
        );
    }
}

/// RFC 7520 §4.1–§4.4 (JOSE cookbook): RS256, PS384, ES512 and HS256 over
/// Hemingway's text, with the keys of RFC 7520 §3.
#[test]
fn rfc7520_section4_signatures() {
    let cases = [
        (
            "4_1.rsa_v15_signature.json",
            "3_3.rsa_public_key.json",
            Alg::Rs256,
        ),
        (
            "4_2.rsa-pss_signature.json",
            "3_3.rsa_public_key.json",
            Alg::Ps384,
        ),
        (
            "4_3.ecdsa_signature.json",
            "3_1.ec_public_key.json",
            Alg::Es512,
        ),
        (
            "4_4.hmac-sha2_integrity_protection.json",
            "3_5.symmetric_key_mac_computation.json",
            Alg::Hs256,
        ),
    ];
    for (example, jwk, alg) in cases {
        let example = fixture(&format!("jose-cookbook/jws/{example}"));
        let key = fixture(&format!("jose-cookbook/jwk/{jwk}"));
        let title = text(&example, "title");
        assert_eq!(text(&example["input"], "alg"), alg.name(), "{title}");
        let token = text(&example["output"], "compact");
        let segments = token::split(token.as_bytes()).expect("three segments");
        assert_eq!(
            segments.signing_input,
            text(&example["signing"], "sig-input").as_bytes()
        );
        assert_not_a_jwt(title, token, &key, alg);
    }
}

/// RFC 8037 §A.4 (JOSE cookbook `curve25519/jws.json`): Ed25519.
#[test]
fn rfc8037_ed25519() {
    let example = fixture("jose-cookbook/curve25519/jws.json");
    let key = &example["input"]["key"];
    let token = text(&example["output"], "compact");
    assert_not_a_jwt("RFC 8037 A.4", token, key, Alg::EdDsa);
}

/// A signed token over plain text: `check` calls it malformed for its
/// claims, the signature verifies with `key`, and a flipped bit does not.
fn assert_not_a_jwt(name: &str, token: &str, key: &Json, alg: Alg) {
    let checked = run_check(token, &keyring(key));
    match checked.before_time {
        Some((Verdict::Malformed, Reason::Malformed(Malformed::Json(Part::Claims, _)))) => {}
        other => panic!("{name}: want malformed claims JSON, got {other:?}"),
    }
    assert_eq!(
        Policy::default().verdict(&checked, AT_2026),
        Verdict::Malformed,
        "{name}"
    );

    let key = prepare(key);
    assert!(
        signature_verifies(&key, alg, token),
        "{name}: signature does not verify"
    );
    let forged = flip_signature_bit(token);
    assert!(
        !signature_verifies(&key, alg, &forged),
        "{name}: a forged signature verifies"
    );
}

fn signature_verifies(key: &PreparedKey, alg: Alg, token: &str) -> bool {
    let segments = token::split(token.as_bytes()).expect("three segments");
    let mut signature = Vec::new();
    assert!(
        token::decode_into(segments.signature, &mut signature),
        "signature is base64url"
    );
    verify_signature(key, alg, segments.signing_input, &signature)
}

/// The JWK and token of an RFC 7515 fixture.
fn rfc7515(file: &str) -> (Json, String) {
    let doc = fixture(&format!("rfc7515/{file}"));
    (doc["jwk"].clone(), text(&doc, "token").to_string())
}

fn prepare(jwk: &Json) -> PreparedKey {
    PreparedKey::from_jwk("fixture", jwk)
        .expect("key loads")
        .expect("key is for JWS")
}

fn keyring(jwk: &Json) -> Keyring {
    let mut keyring = Keyring::new();
    keyring.add(prepare(jwk));
    keyring
}

fn run_check(token: &str, keyring: &Keyring) -> Checked {
    check(
        token.as_bytes(),
        keyring,
        &Policy::default(),
        &mut Scratch::new(),
    )
}

/// The token with one bit of its decoded signature flipped, re-encoded.
fn flip_signature_bit(token: &str) -> String {
    let (signing_input, signature) = token.rsplit_once('.').expect("a dot");
    let mut signature = b64url(signature);
    let middle = signature.len() / 2;
    signature[middle] ^= 1;
    format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode_to_string(&signature)
    )
}
