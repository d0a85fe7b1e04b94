//! Minting compact JWS tokens (RFC 7515 §7.1) in memory.
//!
//! These are the building blocks a bench calls to make N tokens without
//! touching the disk: build a header and claims as compact JSON, then sign
//! them with a [`KeySet`]. The JSON is written by hand in a fixed member
//! order, so a token's bytes depend only on its inputs.

use super::keys::KeySet;
use crate::alg::Alg;

/// Encodes bytes as base64url without padding (RFC 7515 §2).
pub fn b64url(bytes: &[u8]) -> String {
    base64_simd::URL_SAFE_NO_PAD.encode_to_string(bytes)
}

/// A JSON string literal for `text`, quotes and escapes included.
pub fn json_string(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

/// A compact header `{"alg":…,"typ":"JWT","kid":…,<extra>}`.
///
/// `extra` is zero or more further members, comma-separated, without
/// braces (e.g. `"crit":["exp"],"exp":1`); `kid` is left out when `None`.
pub fn header_json(alg: &str, kid: Option<&str>, extra: &str) -> String {
    let mut header = format!("{{\"alg\":{},\"typ\":\"JWT\"", json_string(alg));
    if let Some(kid) = kid {
        header.push_str(",\"kid\":");
        header.push_str(&json_string(kid));
    }
    if !extra.is_empty() {
        header.push(',');
        header.push_str(extra);
    }
    header.push('}');
    header
}

/// The registered claims a generated token carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claims<'a> {
    /// `iss`.
    pub iss: &'a str,
    /// `sub`.
    pub sub: &'a str,
    /// `aud`: written as a string when it has one member and
    /// `aud_as_array` is false, else as an array.
    pub aud: &'a [&'a str],
    /// Write `aud` as an array even with one member.
    pub aud_as_array: bool,
    /// `iat`, epoch seconds.
    pub iat: i64,
    /// `nbf`, epoch seconds.
    pub nbf: i64,
    /// `exp`, epoch seconds.
    pub exp: i64,
    /// `jti`.
    pub jti: &'a str,
}

impl Claims<'_> {
    /// The claims as compact JSON, members in a fixed order.
    pub fn to_json(&self) -> String {
        format!(
            "{{\"iss\":{},\"sub\":{},\"aud\":{},\"iat\":{},\"nbf\":{},\"exp\":{},\"jti\":{}}}",
            json_string(self.iss),
            json_string(self.sub),
            self.aud_json(),
            self.iat,
            self.nbf,
            self.exp,
            json_string(self.jti),
        )
    }

    fn aud_json(&self) -> String {
        if let ([one], false) = (self.aud, self.aud_as_array) {
            return json_string(one);
        }
        let members: Vec<String> = self.aud.iter().map(|a| json_string(a)).collect();
        format!("[{}]", members.join(","))
    }
}

/// `b64(header) . b64(claims) . b64(signature)`, with no signing: for
/// tokens that carry a signature made elsewhere, or none at all.
pub fn assemble(header_json: &str, claims_json: &str, signature: &[u8]) -> String {
    let mut token = signing_input(header_json, claims_json);
    token.push('.');
    token.push_str(&b64url(signature));
    token
}

/// The JWS signing input `b64(header) . b64(claims)`.
pub fn signing_input(header_json: &str, claims_json: &str) -> String {
    let mut input = b64url(header_json.as_bytes());
    input.push('.');
    input.push_str(&b64url(claims_json.as_bytes()));
    input
}

/// Signs `header_json` and `claims_json` as given with the key for `alg`.
///
/// The header is not checked against `alg`: a caller may sign a header
/// that names another `kid`, or one that is malformed on purpose.
pub fn sign(keys: &KeySet, alg: Alg, header_json: &str, claims_json: &str) -> String {
    let signature = signature(keys, alg, header_json, claims_json);
    assemble(header_json, claims_json, &signature)
}

/// The raw signature [`sign`] would append.
pub fn signature(keys: &KeySet, alg: Alg, header_json: &str, claims_json: &str) -> Vec<u8> {
    keys.sign(alg, signing_input(header_json, claims_json).as_bytes())
}

/// Mints a token with the standard header for `alg` and its key's `kid`
/// (see [`KeySet::kid`]), plus `header_extra` members (may be empty).
pub fn mint(keys: &KeySet, alg: Alg, header_extra: &str, claims_json: &str) -> String {
    let header = header_json(alg.name(), Some(KeySet::kid(alg)), header_extra);
    sign(keys, alg, &header, claims_json)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::generate::keys::tests::test_keys;

    fn claims() -> Claims<'static> {
        Claims {
            iss: "https://issuer.example",
            sub: "user-123",
            aud: &["api"],
            aud_as_array: false,
            iat: 1_700_000_000,
            nbf: 1_700_000_000,
            exp: 1_700_003_600,
            jti: "j-1",
        }
    }

    fn decode(segment: &str) -> Vec<u8> {
        base64_simd::URL_SAFE_NO_PAD.decode_to_vec(segment).unwrap()
    }

    #[test]
    fn header_and_claims_are_compact_json() {
        let header = header_json("HS256", Some("hs256-1"), "\"crit\":[\"exp\"],\"exp\":5");
        assert_eq!(
            header,
            r#"{"alg":"HS256","typ":"JWT","kid":"hs256-1","crit":["exp"],"exp":5}"#
        );
        assert_eq!(
            header_json("none", None, ""),
            r#"{"alg":"none","typ":"JWT"}"#
        );

        let json = claims().to_json();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["aud"], "api");
        assert_eq!(value["exp"], 1_700_003_600);
        let array = Claims {
            aud: &["web", "api"],
            ..claims()
        }
        .to_json();
        assert!(array.contains(r#""aud":["web","api"]"#), "{array}");
    }

    #[test]
    fn hs256_verifies_with_ring() {
        let keys = test_keys();
        let token = mint(keys, Alg::Hs256, "", &claims().to_json());
        assert!(token.starts_with("eyJ"));
        let (input, sig) = token.rsplit_once('.').unwrap();
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, keys.hmac_secret());
        ring::hmac::verify(&key, input.as_bytes(), &decode(sig)).unwrap();
    }

    #[test]
    fn es256_is_raw_r_s_and_verifies_with_ring() {
        let keys = test_keys();
        let token = mint(keys, Alg::Es256, "", &claims().to_json());
        let (input, sig) = token.rsplit_once('.').unwrap();
        let sig = decode(sig);
        assert_eq!(sig.len(), 64);

        let jwk = &keys.jwks()["keys"][9];
        let mut point = vec![4u8];
        point.extend(decode(jwk["x"].as_str().unwrap()));
        point.extend(decode(jwk["y"].as_str().unwrap()));
        let public = ring::signature::UnparsedPublicKey::new(
            &ring::signature::ECDSA_P256_SHA256_FIXED,
            point,
        );
        public.verify(input.as_bytes(), &sig).unwrap();
    }

    /// Verifies `token` against the test key set's JWK Set, independently
    /// of [`KeySet::sign`]: ring for all but ES512, p521's verifier there.
    pub(crate) fn verifies(jwks: &serde_json::Value, token: &str) -> bool {
        use ring::signature::{self as sig, RsaPublicKeyComponents, UnparsedPublicKey};
        let (input, signature) = token.rsplit_once('.').unwrap();
        let header = input.split('.').next().unwrap();
        let header: serde_json::Value = serde_json::from_slice(&decode(header)).unwrap();
        let (input, signature) = (input.as_bytes(), decode(signature));
        let Some(jwk) = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == header["kid"])
        else {
            return false;
        };
        let field = |name: &str| decode(jwk[name].as_str().unwrap());
        let ec_point = || [vec![4u8], field("x"), field("y")].concat();
        let rsa = |params| {
            let key = RsaPublicKeyComponents {
                n: field("n"),
                e: field("e"),
            };
            key.verify(params, input, &signature).is_ok()
        };
        let unparsed = |params, key: Vec<u8>| {
            UnparsedPublicKey::new(params, key)
                .verify(input, &signature)
                .is_ok()
        };
        let hmac = |algorithm| {
            let key = ring::hmac::Key::new(algorithm, &field("k"));
            ring::hmac::verify(&key, input, &signature).is_ok()
        };
        match jwk["alg"].as_str().unwrap() {
            "HS256" => hmac(ring::hmac::HMAC_SHA256),
            "HS384" => hmac(ring::hmac::HMAC_SHA384),
            "HS512" => hmac(ring::hmac::HMAC_SHA512),
            "RS256" => rsa(&sig::RSA_PKCS1_2048_8192_SHA256),
            "RS384" => rsa(&sig::RSA_PKCS1_2048_8192_SHA384),
            "RS512" => rsa(&sig::RSA_PKCS1_2048_8192_SHA512),
            "PS256" => rsa(&sig::RSA_PSS_2048_8192_SHA256),
            "PS384" => rsa(&sig::RSA_PSS_2048_8192_SHA384),
            "PS512" => rsa(&sig::RSA_PSS_2048_8192_SHA512),
            "ES256" => unparsed(&sig::ECDSA_P256_SHA256_FIXED, ec_point()),
            "ES384" => unparsed(&sig::ECDSA_P384_SHA384_FIXED, ec_point()),
            "EdDSA" => unparsed(&sig::ED25519, field("x")),
            "ES512" => {
                use p521::ecdsa::signature::Verifier;
                let key = p521::ecdsa::VerifyingKey::from_sec1_bytes(&ec_point()).unwrap();
                let Ok(signature) = p521::ecdsa::Signature::from_slice(&signature) else {
                    return false;
                };
                key.verify(input, &signature).is_ok()
            }
            other => panic!("unexpected alg {other}"),
        }
    }

    #[test]
    fn every_alg_verifies_independently() {
        let keys = test_keys();
        let jwks = keys.jwks();
        for alg in Alg::ALL {
            let token = mint(keys, alg, "", &claims().to_json());
            assert!(verifies(&jwks, &token), "{alg}");
            let other = mint(
                keys,
                alg,
                "",
                &Claims {
                    sub: "user-2",
                    ..claims()
                }
                .to_json(),
            );
            let (_, other_sig) = other.rsplit_once('.').unwrap();
            let (input, _) = token.rsplit_once('.').unwrap();
            assert!(!verifies(&jwks, &format!("{input}.{other_sig}")), "{alg}");
        }
    }

    #[test]
    fn segments_are_unpadded_base64url() {
        let keys = test_keys();
        for alg in Alg::ALL {
            let token = mint(keys, alg, "", &claims().to_json());
            assert_eq!(token.split('.').count(), 3);
            assert!(token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)));
        }
    }
}
