//! Wycheproof's primitive vectors, each through `verify_signature`.
//!
//! Public keys are prepared twice, from their raw form (SEC1 point, PKCS#1
//! `RSAPublicKey`, 32 Ed25519 bytes) with `PreparedKey::public` and from
//! their SPKI with `PreparedKey::from_spki`; both must load alike and give
//! the same answer on every vector.
//!
//! Where JWS is stricter than the primitive a file tests, the expectation
//! is mapped to JWS before comparing: a truncated HMAC tag, a PSS salt
//! length other than the hash length, an RSA key under 2048 bits, and a
//! PKCS#1 v1.5 DigestInfo without its NULL are all rejected.

use jwtsweep::alg::{Alg, Family};
use jwtsweep::keys::PreparedKey;
use jwtsweep::verify::verify_signature;
use serde_json::Value as Json;

use crate::{groups, hex, label, tests, text, verb, wycheproof, Expect, Tally};

#[test]
fn wycheproof_hmac_sha256() {
    hmac("hmac_sha256_test.json", Alg::Hs256, 174);
}

#[test]
fn wycheproof_hmac_sha384() {
    hmac("hmac_sha384_test.json", Alg::Hs384, 174);
}

#[test]
fn wycheproof_hmac_sha512() {
    hmac("hmac_sha512_test.json", Alg::Hs512, 174);
}

#[test]
fn wycheproof_ecdsa_p256_p1363() {
    let file = "ecdsa_secp256r1_sha256_p1363_test.json";
    public_keys(file, Family::P256, Alg::Es256, 262);
}

#[test]
fn wycheproof_ecdsa_p384_p1363() {
    let file = "ecdsa_secp384r1_sha384_p1363_test.json";
    public_keys(file, Family::P384, Alg::Es384, 280);
}

#[test]
fn wycheproof_ecdsa_p521_p1363() {
    let file = "ecdsa_secp521r1_sha512_p1363_test.json";
    public_keys(file, Family::P521, Alg::Es512, 318);
}

#[test]
fn wycheproof_rsa_pkcs1_sha256() {
    public_keys(
        "rsa_signature_2048_sha256_test.json",
        Family::Rsa,
        Alg::Rs256,
        259,
    );
}

#[test]
fn wycheproof_rsa_pkcs1_sha384() {
    public_keys(
        "rsa_signature_2048_sha384_test.json",
        Family::Rsa,
        Alg::Rs384,
        258,
    );
}

#[test]
fn wycheproof_rsa_pkcs1_sha512() {
    public_keys(
        "rsa_signature_2048_sha512_test.json",
        Family::Rsa,
        Alg::Rs512,
        259,
    );
}

#[test]
fn wycheproof_rsa_pss_sha256() {
    public_keys(
        "rsa_pss_2048_sha256_mgf1_32_test.json",
        Family::Rsa,
        Alg::Ps256,
        108,
    );
}

#[test]
fn wycheproof_rsa_pss_sha384() {
    public_keys(
        "rsa_pss_2048_sha384_mgf1_48_test.json",
        Family::Rsa,
        Alg::Ps384,
        141,
    );
}

#[test]
fn wycheproof_ed25519() {
    public_keys("ed25519_test.json", Family::Ed25519, Alg::EdDsa, 151);
}

/// The output size of an algorithm's hash, in bytes.
fn hash_len(alg: Alg) -> usize {
    match alg {
        Alg::Hs256 | Alg::Rs256 | Alg::Ps256 | Alg::Es256 => 32,
        Alg::Hs384 | Alg::Rs384 | Alg::Ps384 | Alg::Es384 => 48,
        _ => 64,
    }
}

/// HMAC files. JWS HS* compares the whole tag (RFC 7518 §3.2), so a vector
/// of a group with a truncated `tagSize` must be rejected even where
/// Wycheproof calls it valid for truncated HMAC.
fn hmac(file: &str, alg: Alg, min: usize) {
    let (doc, mut tally) = wycheproof(file);
    for group in groups(&doc) {
        let tag_bits = group["tagSize"].as_u64().expect("tagSize") as usize;
        let truncated = tag_bits != hash_len(alg) * 8;
        for test in tests(group) {
            let key = PreparedKey::hmac(None, file, &hex(text(test, "key")), Family::Hmac.algs());
            let (msg, tag) = (hex(text(test, "msg")), hex(text(test, "tag")));
            let got = verify_signature(&key, alg, &msg, &tag);
            let expect = match Expect::of(test) {
                _ if truncated => Expect::Invalid,
                expect => expect,
            };
            tally.check(test, expect, got, &format!("{tag_bits}-bit tag"));
        }
    }
    tally.finish(min);
}

/// Files whose groups each hold one public key. Each key is prepared from
/// its raw form and from its SPKI; the two must agree.
fn public_keys(file: &str, family: Family, alg: Alg, min: usize) {
    let (doc, mut tally) = wycheproof(file);
    for group in groups(&doc) {
        let raw = PreparedKey::public(None, file, family, &raw_key(group, family), family.algs());
        let spki = PreparedKey::from_spki(None, file, &hex(text(group, "publicKeyDer")));
        if let Some(bits) = small_rsa(group, family) {
            if raw.is_ok() || spki.is_ok() {
                tally.fail(format!("a {bits}-bit RSA key loaded; it must not"));
            }
        }

        let group_expect = group_rule(group, family, alg);
        for test in tests(group) {
            let expect = group_expect.unwrap_or_else(|| vector_rule(test));
            verify_both(&mut tally, test, expect, alg, [&raw, &spki]);
        }
    }
    tally.finish(min);
}

/// Verifies one vector with both forms of its group's key, and tallies it.
fn verify_both(
    tally: &mut Tally,
    test: &Json,
    expect: Expect,
    alg: Alg,
    keys: [&Result<PreparedKey, String>; 2],
) {
    let (raw, spki) = match keys {
        [Ok(raw), Ok(spki)] => (raw, spki),
        [Err(why), Err(_)] => return tally.check(test, expect, false, &format!("key: {why}")),
        [raw, _] => {
            let loaded = if raw.is_ok() { "raw" } else { "SPKI" };
            return tally.mismatch(test, format!("only the {loaded} form of the key loads"));
        }
    };

    let (msg, sig) = (hex(text(test, "msg")), hex(text(test, "sig")));
    let got = verify_signature(raw, alg, &msg, &sig);
    if got != verify_signature(spki, alg, &msg, &sig) {
        tally.mismatch(test, "raw and SPKI forms of the key disagree".into());
    }
    if Expect::of(test) == Expect::Acceptable {
        let flags = test["flags"].to_string();
        tally.note(format!("{} acceptable {flags}: {}", label(test), verb(got)));
    }
    tally.check(test, expect, got, "");
}

/// The key in the raw form `PreparedKey::public` takes.
fn raw_key(group: &Json, family: Family) -> Vec<u8> {
    match family {
        // PKCS#1 RSAPublicKey
        Family::Rsa => hex(text(group, "publicKeyAsn")),
        // 32 bytes
        Family::Ed25519 => hex(text(&group["publicKey"], "pk")),
        // SEC1 uncompressed point
        _ => hex(text(&group["publicKey"], "uncompressed")),
    }
}

/// Where JWS rejects a whole group that Wycheproof may accept: RSA keys
/// under 2048 bits (RFC 7518 §3.3, §3.5; they must fail to load) and PSS
/// with MGF1 on another hash or a salt not of the hash's length (RFC 7518
/// §3.5). `None`: each vector's own result stands.
fn group_rule(group: &Json, family: Family, alg: Alg) -> Option<Expect> {
    if family != Family::Rsa {
        return None;
    }
    if small_rsa(group, family).is_some() {
        return Some(Expect::Invalid);
    }
    if matches!(alg, Alg::Ps256 | Alg::Ps384 | Alg::Ps512) {
        let salt = group["sLen"].as_u64().expect("sLen") as usize;
        if salt != hash_len(alg) || group["mgfSha"] != group["sha"] {
            return Some(Expect::Invalid);
        }
    }
    None
}

/// A vector's own expectation, with our choice for the acceptable ones.
///
/// The only acceptable vectors in these files are PKCS#1 v1.5 signatures
/// whose DigestInfo leaves out the NULL parameters (`MissingNull`), an
/// encoding some old signers produced. The DigestInfo JWS uses is the one
/// with NULL (RFC 8017 §9.2), so we reject them, as ring does, and assert
/// it so that a backend that starts accepting them is noticed.
fn vector_rule(test: &Json) -> Expect {
    let flagged = |flag: &str| {
        test["flags"]
            .as_array()
            .is_some_and(|f| f.iter().any(|x| x == flag))
    };
    match Expect::of(test) {
        Expect::Acceptable if flagged("MissingNull") => Expect::Invalid,
        expect => expect,
    }
}

/// The modulus size of a group's RSA key, if it is under 2048 bits.
fn small_rsa(group: &Json, family: Family) -> Option<usize> {
    if family != Family::Rsa {
        return None;
    }
    let bits = modulus_bits(&hex(text(&group["publicKey"], "modulus")));
    (bits < 2048).then_some(bits)
}

/// The bit length of a big-endian unsigned integer.
fn modulus_bits(bytes: &[u8]) -> usize {
    let Some(start) = bytes.iter().position(|&b| b != 0) else {
        return 0;
    };
    (bytes.len() - start) * 8 - bytes[start].leading_zeros() as usize
}
