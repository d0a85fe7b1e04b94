//! Wycheproof's JOSE vectors (`json_web_signature_test.json`,
//! `json_web_key_test.json`), each through the full `check`.
//!
//! Each group's keys are loaded with `PreparedKey::from_jwk` into a
//! `Keyring`: the public JWK where the group has one, else the private one
//! (HMAC groups hold only an `oct` key). A key that `from_jwk` refuses or
//! skips is left out, so its tokens find no key.
//!
//! These vectors sign payloads that are not JSON objects ("foo", "Test",
//! empty). A JWT must carry a claims object (RFC 7519 §7.2 step 10), so
//! `check` calls such a token malformed. That is our choice, and right for
//! a JWT engine, but it would reject every such vector for the wrong
//! reason. So when `check` stops at a claims set that is not
//! a JSON object, [`outcome`] goes on to the signature alone, the way
//! `check` would have: same header `alg` and `kid`, same key lookup, same
//! `verify_signature`. A valid vector must then verify, and an invalid one
//! must not.

use jwtsweep::alg::Alg;
use jwtsweep::judge::Policy;
use jwtsweep::keys::{Candidates, Keyring, PreparedKey};
use jwtsweep::token::{self, Malformed, Part, Scratch};
use jwtsweep::verdict::Verdict;
use jwtsweep::verify::{check, verify_signature, Reason};
use serde_json::Value as Json;

use crate::{groups, label, tests, text, verb, wycheproof, Expect, Tally};

/// A vector on which we knowingly part from Wycheproof: its tcId, what we
/// do with it (true: accept), and why.
type Deviation = (u64, bool, &'static str);

const DUPLICATE_OF_357: &str = "byte-identical to tcId 357, which is labelled valid: an \
     upstream labelling error (C2SP/wycheproof#236); we accept it like 357";
const NOT_BASE64URL: &str = "a '?' inside a base64url segment; RFC 7515 §2 and §5.2 allow no \
     other characters, so we call the token malformed where Wycheproof says valid";
const JWK_ALG_PS256: &str = "the token is PS384 (RFC 7520 Figure 20) but the group's JWK says \
     alg PS256; we bind a key to its JWK alg (RFC 7517 §4.4), so the key is not offered";
const JWK_ALG_ES521: &str = "the group's JWK says alg ES521, which is no JWS algorithm (a typo \
     of ES512); from_jwk skips a key whose alg is not a JWS alg, so no key is found";

/// Where `json_web_signature_test.json` and we knowingly disagree.
const JWS_DEVIATIONS: &[Deviation] = &[
    (346, false, JWK_ALG_PS256),
    (347, false, JWK_ALG_ES521),
    (350, false, JWK_ALG_PS256),
    (351, false, JWK_ALG_ES521),
    (367, true, DUPLICATE_OF_357),
    (370, true, DUPLICATE_OF_357),
    (372, false, NOT_BASE64URL),
    (373, false, NOT_BASE64URL),
];

const MIXED_KEY_SET: &str = "flagged Ambiguous: the set mixes an HMAC secret with a public \
     key; our keyring holds both kinds by design (--secret beside --jwks), and binding each key \
     to its family's algs is what stops key confusion";
const DUPLICATE_KID: &str = "flagged Ambiguous: two keys share a kid; the keyring keeps every \
     key of a kid and tries each (as during key rotation), so the right one verifies";
const ROCA_KEY: &str = "the RSA modulus has the ROCA fingerprint (CVE-2017-15361); keys are not \
     tested for it at load, a known gap";
const SHORT_HMAC_KEY: &str = "the oct key is shorter than the hash output, which RFC 7518 §3.2 \
     forbids; we verify with any non-empty secret rather than call tokens made with an \
     operator's short secret forged";

/// Where `json_web_key_test.json` and we knowingly disagree.
const JWK_DEVIATIONS: &[Deviation] = &[
    (1, true, MIXED_KEY_SET),
    (4, true, DUPLICATE_KID),
    (7, true, ROCA_KEY),
    (10, true, SHORT_HMAC_KEY),
    (11, true, SHORT_HMAC_KEY),
    (12, true, SHORT_HMAC_KEY),
];

#[test]
fn wycheproof_json_web_signature() {
    run("json_web_signature_test.json", JWS_DEVIATIONS, 390);
}

#[test]
fn wycheproof_json_web_key() {
    run("json_web_key_test.json", JWK_DEVIATIONS, 26);
}

/// RFC 7518 §3.3: an RSA key under 2048 bits must not load. The only such
/// key in these files is the JWK of `json_web_key_test.json`'s
/// `keysize_too_small` group.
#[test]
fn rsa_jwk_under_2048_bits_is_refused() {
    let (doc, _) = wycheproof("json_web_key_test.json");
    let group = groups(&doc)
        .iter()
        .find(|g| g["comment"] == "keysize_too_small");
    let jwk = &group.expect("keysize_too_small group")["public"]["keys"][0];
    assert_eq!(text(jwk, "kty"), "RSA");
    match PreparedKey::from_jwk("keysize_too_small", jwk) {
        Err(why) => assert!(why.contains("1024 bits"), "{why}"),
        Ok(key) => panic!("a 1024-bit RSA key loaded: {key:?}"),
    }
}

/// Checks every compact vector of a file against its group's keyring.
fn run(file: &str, deviations: &[Deviation], min: usize) {
    let (doc, mut tally) = wycheproof(file);
    for (n, group) in groups(&doc).iter().enumerate() {
        let keyring = group_keyring(group, &format!("group {n}"), &mut tally);
        for test in tests(group) {
            let jws = text(test, "jws");
            if jws.trim_start().starts_with('{') {
                tally.skip(test, "JSON serialization; we read compact tokens only");
                continue;
            }
            if jws.bytes().filter(|&b| b == b'.').count() == 4 {
                tally.skip(test, "a JWE");
                continue;
            }
            let outcome = outcome(jws, &keyring);
            let got = outcome.is_ok();
            let detail = outcome.unwrap_or_else(|why| why);
            let id = test["tcId"].as_u64().expect("tcId");
            match deviations.iter().find(|d| d.0 == id) {
                Some(&(_, ours, why)) => {
                    tally.note(format!("{}: {} by choice: {why}", label(test), verb(ours)));
                    let expect = if ours { Expect::Valid } else { Expect::Invalid };
                    tally.check(test, expect, got, &detail);
                }
                None => tally.check(test, Expect::of(test), got, &detail),
            }
        }
    }
    tally.finish(min);
}

/// The keys of a group: its public JWK or JWK Set where it has one, else
/// its private one.
fn group_keyring(group: &Json, origin: &str, tally: &mut Tally) -> Keyring {
    let jwk = group.get("public").unwrap_or(&group["private"]);
    let list = match jwk.get("keys").and_then(Json::as_array) {
        Some(list) => list.clone(),
        None => vec![jwk.clone()],
    };
    let mut keyring = Keyring::new();
    for (n, jwk) in list.iter().enumerate() {
        let origin = format!("{origin} key {n}");
        match PreparedKey::from_jwk(&origin, jwk) {
            Ok(Some(key)) => keyring.add(key),
            Ok(None) => tally.note(format!("{origin}: skipped, not a JWS key")),
            Err(why) => tally.note(format!("{origin}: refused: {why}")),
        }
    }
    keyring
}

/// Whether we accept a compact token with these keys, and how or why not.
/// A token whose claims are not a JSON object is judged by its signature
/// alone (see the module docs).
fn outcome(jws: &str, keyring: &Keyring) -> Result<String, String> {
    let checked = check(
        jws.as_bytes(),
        keyring,
        &Policy::default(),
        &mut Scratch::new(),
    );
    match checked.before_time {
        None => Ok("valid JWT".into()),
        Some((Verdict::Malformed, Reason::Malformed(Malformed::Json(Part::Claims, _))))
            if !payload_is_object(jws) =>
        {
            match signature_only(jws, keyring) {
                Ok(()) => Ok("not a JWT, but the signature verifies".into()),
                Err(why) => Err(format!("not a JWT, and {why}")),
            }
        }
        Some((verdict, reason)) => Err(format!("{verdict}: {reason}")),
    }
}

/// Whether the payload decodes (strictly) to a JSON object.
fn payload_is_object(jws: &str) -> bool {
    let Some(segments) = token::split(jws.as_bytes()) else {
        return false;
    };
    let mut payload = Vec::new();
    token::decode_into(segments.payload, &mut payload)
        && serde_json::from_slice::<Json>(&payload).is_ok_and(|v| v.is_object())
}

/// The signature part of `check` for a JWS that is not a JWT: the header's
/// `alg` and `kid` pick the keys, and one of them must verify the
/// signature over the signing input.
pub(crate) fn signature_only(jws: &str, keyring: &Keyring) -> Result<(), String> {
    let segments = token::split(jws.as_bytes()).ok_or("not three segments")?;
    let mut header = Vec::new();
    if !token::decode_into(segments.header, &mut header) {
        return Err("header is not base64url".into());
    }
    let header: Json = serde_json::from_slice(&header).map_err(|e| format!("header: {e}"))?;
    let alg = header["alg"].as_str().unwrap_or("");
    let alg = Alg::from_name(alg.as_bytes()).ok_or(format!("alg {alg:?} is not verified"))?;
    let mut signature = Vec::new();
    if !token::decode_into(segments.signature, &mut signature) {
        return Err("signature is not base64url".into());
    }
    let keys = match keyring.candidates(alg, header["kid"].as_str()) {
        Candidates::Keys(keys) => keys,
        other => return Err(format!("no key: {other:?}")),
    };
    match keys
        .iter()
        .any(|(_, key)| verify_signature(key, alg, segments.signing_input, &signature))
    {
        true => Ok(()),
        false => Err(format!(
            "the signature verifies with none of {} keys",
            keys.len()
        )),
    }
}
