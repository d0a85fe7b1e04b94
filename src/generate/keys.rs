//! The keys a generated log is signed with: one per family, made from the
//! seed or reloaded from a directory an earlier run wrote.
//!
//! Each key is published once per algorithm it signs, with its own `kid`
//! (`rs256-1`, `ps256-1`, … share one RSA key), because a JWK's `alg`
//! binds it to one algorithm (RFC 7517 §4.4) and a keyring that honours
//! that must still find a key for every token.

use std::fmt;
use std::fs;
use std::path::Path;

use p521::ecdsa::signature::hazmat::RandomizedPrehashSigner;
use p521::ecdsa::signature::Signer;
use p521::elliptic_curve::sec1::ToEncodedPoint;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use ring::hmac;
use ring::signature::{RSA_PKCS1_SHA256, RSA_PKCS1_SHA384, RSA_PKCS1_SHA512};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use rsa::traits::PublicKeyParts;
use rsa::{Pkcs1v15Sign, Pss, RsaPrivateKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256, Sha384, Sha512};

use super::{rng, GenerateError};
use crate::alg::{Alg, Family};

/// Bits of a generated RSA modulus, and the least a loaded one may have.
pub const RSA_BITS: usize = 2048;

/// Bytes of a generated HMAC secret.
pub const HMAC_SECRET_LEN: usize = 32;

/// File holding the raw HMAC secret.
pub const HMAC_SECRET_FILE: &str = "hs.secret";

/// File holding the JWK Set of every key.
pub const JWKS_FILE: &str = "jwks.json";

/// The asymmetric families, with the stem of their PEM file names
/// (`<stem>.pem` for SPKI, `<stem>.private.pem` for PKCS#8).
const PEM_STEMS: [(Family, &str); 5] = [
    (Family::Rsa, "rsa"),
    (Family::P256, "p256"),
    (Family::P384, "p384"),
    (Family::P521, "p521"),
    (Family::Ed25519, "ed25519"),
];

/// A key per family, ready to sign.
///
/// `Debug` shows no key material.
pub struct KeySet {
    hmac_secret: Vec<u8>,
    hmac: [hmac::Key; 3],
    rsa: RsaPrivateKey,
    /// The same RSA key in ring, for RS* (about 3x faster than `rsa`);
    /// `None` when ring refuses the key (over 8192 bits).
    rsa_ring: Option<ring::rsa::KeyPair>,
    p256: p256::ecdsa::SigningKey,
    p384: p384::ecdsa::SigningKey,
    p521: p521::SecretKey,
    p521_signer: p521::ecdsa::SigningKey,
    ed25519: ed25519_dalek::SigningKey,
}

impl KeySet {
    /// Makes every key from `seed`: the same seed gives the same keys.
    ///
    /// The 2048-bit RSA key takes most of the time: 0.1 s to a second,
    /// depending on how soon the seeded stream yields primes.
    pub fn generate(seed: u64) -> KeySet {
        let mut rng = rng::key_stream(seed, "rsa", 0);
        // Invariant: 2048 bits with the default exponent is a size the
        // crate supports, so only a broken RNG could make this fail.
        let rsa = RsaPrivateKey::new(&mut rng, RSA_BITS).expect("2048-bit rsa key generation");
        KeySet::generate_with_rsa(seed, rsa)
    }

    /// Makes every key but RSA from `seed`, and takes `rsa` as given.
    pub(crate) fn generate_with_rsa(seed: u64, rsa: RsaPrivateKey) -> KeySet {
        let mut hmac_secret = vec![0; HMAC_SECRET_LEN];
        rng::key_stream(seed, "hmac", 0).fill_bytes(&mut hmac_secret);
        let p256 = p256::ecdsa::SigningKey::random(&mut rng::key_stream(seed, "p256", 0));
        let p384 = p384::ecdsa::SigningKey::random(&mut rng::key_stream(seed, "p384", 0));
        let p521 = p521::SecretKey::random(&mut rng::key_stream(seed, "p521", 0));
        let mut ed25519 = [0; 32];
        rng::key_stream(seed, "ed25519", 0).fill_bytes(&mut ed25519);
        let ed25519 = ed25519_dalek::SigningKey::from_bytes(&ed25519);
        KeySet::from_parts(hmac_secret, rsa, p256, p384, p521, ed25519)
    }

    fn from_parts(
        hmac_secret: Vec<u8>,
        rsa: RsaPrivateKey,
        p256: p256::ecdsa::SigningKey,
        p384: p384::ecdsa::SigningKey,
        p521: p521::SecretKey,
        ed25519: ed25519_dalek::SigningKey,
    ) -> KeySet {
        let hmac = [
            hmac::Key::new(hmac::HMAC_SHA256, &hmac_secret),
            hmac::Key::new(hmac::HMAC_SHA384, &hmac_secret),
            hmac::Key::new(hmac::HMAC_SHA512, &hmac_secret),
        ];
        let p521_signer = p521_signing_key(&p521);
        let rsa_ring = rsa
            .to_pkcs8_der()
            .ok()
            .and_then(|der| ring::rsa::KeyPair::from_pkcs8(der.as_bytes()).ok());
        KeySet {
            hmac_secret,
            hmac,
            rsa,
            rsa_ring,
            p256,
            p384,
            p521,
            p521_signer,
            ed25519,
        }
    }

    /// Loads the keys a previous run wrote to `dir` (its `keys/` folder):
    /// `hs.secret` and every `*.private.pem`. Public files are not read;
    /// they are derived again by [`KeySet::write`].
    pub fn load(dir: &Path) -> Result<KeySet, GenerateError> {
        let secret_path = dir.join(HMAC_SECRET_FILE);
        let hmac_secret = fs::read(&secret_path).map_err(|e| GenerateError::io(&secret_path, e))?;
        if hmac_secret.is_empty() {
            return Err(GenerateError::key(&secret_path, "the secret is empty"));
        }

        let rsa = load_private(dir, "rsa", RsaPrivateKey::from_pkcs8_der)?;
        check_rsa(&dir.join("rsa.private.pem"), &rsa)?;
        let p256 = load_private(dir, "p256", p256::SecretKey::from_pkcs8_der)?;
        let p384 = load_private(dir, "p384", p384::SecretKey::from_pkcs8_der)?;
        let p521 = load_private(dir, "p521", p521::SecretKey::from_pkcs8_der)?;
        let ed25519 = load_private(dir, "ed25519", ed25519_dalek::SigningKey::from_pkcs8_der)?;
        Ok(KeySet::from_parts(
            hmac_secret,
            rsa,
            p256.into(),
            p384.into(),
            p521,
            ed25519,
        ))
    }

    /// Writes every key to `dir` (created if missing): the HMAC secret,
    /// SPKI and PKCS#8 PEMs per family, and `jwks.json`.
    pub fn write(&self, dir: &Path) -> Result<(), GenerateError> {
        fs::create_dir_all(dir).map_err(|e| GenerateError::io(dir, e))?;
        write_file(&dir.join(HMAC_SECRET_FILE), &self.hmac_secret)?;
        for (family, stem) in PEM_STEMS {
            let public_path = dir.join(format!("{stem}.pem"));
            let private_path = dir.join(format!("{stem}.private.pem"));
            let (public, private) = self
                .der_pair(family)
                .map_err(|e| GenerateError::key(&private_path, e))?;
            write_file(&public_path, pem_text("PUBLIC KEY", public).as_bytes())?;
            write_file(&private_path, pem_text("PRIVATE KEY", private).as_bytes())?;
        }
        let mut jwks = serde_json::to_string_pretty(&self.jwks()).unwrap_or_default();
        jwks.push('\n');
        write_file(&dir.join(JWKS_FILE), jwks.as_bytes())
    }

    /// The `kid` under which the key for `alg` is published.
    pub fn kid(alg: Alg) -> &'static str {
        match alg {
            Alg::Hs256 => "hs256-1",
            Alg::Hs384 => "hs384-1",
            Alg::Hs512 => "hs512-1",
            Alg::Rs256 => "rs256-1",
            Alg::Rs384 => "rs384-1",
            Alg::Rs512 => "rs512-1",
            Alg::Ps256 => "ps256-1",
            Alg::Ps384 => "ps384-1",
            Alg::Ps512 => "ps512-1",
            Alg::Es256 => "es256-1",
            Alg::Es384 => "es384-1",
            Alg::Es512 => "es512-1",
            Alg::EdDsa => "eddsa-1",
        }
    }

    /// The raw HMAC secret (for tests that check an HMAC independently).
    pub fn hmac_secret(&self) -> &[u8] {
        &self.hmac_secret
    }

    /// Signs `input` (the JWS signing input, `header.claims`) with the key
    /// for `alg`, in the signature encoding JWS uses (RFC 7518 §3): ECDSA as
    /// fixed-length R‖S.
    ///
    /// Every algorithm is deterministic: RSA-PSS takes its salt, and ES512
    /// its nonce, from a hash of the message (and key), so equal inputs
    /// give equal signatures on any thread. P-256 and P-384 use RFC 6979.
    pub fn sign(&self, alg: Alg, input: &[u8]) -> Vec<u8> {
        match alg {
            Alg::Hs256 => hmac::sign(&self.hmac[0], input).as_ref().to_vec(),
            Alg::Hs384 => hmac::sign(&self.hmac[1], input).as_ref().to_vec(),
            Alg::Hs512 => hmac::sign(&self.hmac[2], input).as_ref().to_vec(),
            Alg::Rs256 | Alg::Rs384 | Alg::Rs512 => self.rsa_pkcs1(alg, input),
            Alg::Ps256 => self.rsa_pss(Pss::new::<Sha256>(), &Sha256::digest(input)),
            Alg::Ps384 => self.rsa_pss(Pss::new::<Sha384>(), &Sha384::digest(input)),
            Alg::Ps512 => self.rsa_pss(Pss::new::<Sha512>(), &Sha512::digest(input)),
            Alg::Es256 => Signer::<p256::ecdsa::Signature>::sign(&self.p256, input).to_vec(),
            Alg::Es384 => Signer::<p384::ecdsa::Signature>::sign(&self.p384, input).to_vec(),
            Alg::Es512 => self.sign_p521(input),
            Alg::EdDsa => self.ed25519.sign(input).to_bytes().to_vec(),
        }
    }

    /// RS* signing, with ring where it takes the key.
    fn rsa_pkcs1(&self, alg: Alg, input: &[u8]) -> Vec<u8> {
        if let Some(signature) = self.rsa_pkcs1_ring(alg, input) {
            return signature;
        }
        let signature = match alg {
            Alg::Rs384 => self
                .rsa
                .sign(Pkcs1v15Sign::new::<Sha384>(), &Sha384::digest(input)),
            Alg::Rs512 => self
                .rsa
                .sign(Pkcs1v15Sign::new::<Sha512>(), &Sha512::digest(input)),
            _ => self
                .rsa
                .sign(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(input)),
        };
        // Invariant: the key has at least 2048 bits (generated so, checked
        // on load), far more than a DigestInfo of SHA-512 needs.
        signature.expect("rsa pkcs1 signing with a checked key")
    }

    /// PKCS#1 v1.5 signatures are unique, so ring (whose random source
    /// cannot be seeded) still gives deterministic bytes.
    fn rsa_pkcs1_ring(&self, alg: Alg, input: &[u8]) -> Option<Vec<u8>> {
        let key = self.rsa_ring.as_ref()?;
        let padding = match alg {
            Alg::Rs384 => &RSA_PKCS1_SHA384,
            Alg::Rs512 => &RSA_PKCS1_SHA512,
            _ => &RSA_PKCS1_SHA256,
        };
        let mut signature = vec![0; key.public().modulus_len()];
        let random = ring::rand::SystemRandom::new();
        key.sign(padding, &random, input, &mut signature).ok()?;
        Some(signature)
    }

    fn rsa_pss(&self, scheme: Pss, digest: &[u8]) -> Vec<u8> {
        let mut salt_rng = hash_seeded_rng(b"pss salt", &[digest]);
        // Invariant: as above; PSS-SHA512 needs 130 bytes of modulus.
        self.rsa
            .sign_with_rng(&mut salt_rng, scheme, digest)
            .expect("rsa pss signing with a checked key")
    }

    /// ES512 signing. p521 0.13 draws the nonce from `OsRng` and offers no
    /// RFC 6979 path, so the nonce comes from a ChaCha stream seeded with a
    /// hash of the secret and the digest: deterministic, and never reused
    /// across messages.
    fn sign_p521(&self, input: &[u8]) -> Vec<u8> {
        let digest = Sha512::digest(input);
        let secret = self.p521.to_bytes();
        let mut nonce_rng = hash_seeded_rng(b"p521 nonce", &[&secret, &digest]);
        // Invariant: a 64-byte digest suits bits2field on P-521, and a zero
        // r or s from a uniform nonce has probability ~2^-520.
        let signature: p521::ecdsa::Signature = self
            .p521_signer
            .sign_prehash_with_rng(&mut nonce_rng, &digest)
            .expect("p521 signing with a valid digest");
        signature.to_vec()
    }

    /// The SPKI and PKCS#8 DER of one asymmetric family's key.
    fn der_pair(&self, family: Family) -> Result<(Vec<u8>, Vec<u8>), String> {
        let no_pem = || "an hmac secret has no pem form".to_owned();
        let public = match family {
            Family::Rsa => self.rsa.to_public_key().to_public_key_der(),
            Family::P256 => self.p256.verifying_key().to_public_key_der(),
            Family::P384 => self.p384.verifying_key().to_public_key_der(),
            Family::P521 => self.p521.public_key().to_public_key_der(),
            Family::Ed25519 => self.ed25519.verifying_key().to_public_key_der(),
            Family::Hmac => return Err(no_pem()),
        };
        let private = match family {
            Family::Rsa => self.rsa.to_pkcs8_der(),
            Family::P256 => p256::SecretKey::from(&self.p256).to_pkcs8_der(),
            Family::P384 => p384::SecretKey::from(&self.p384).to_pkcs8_der(),
            Family::P521 => self.p521.to_pkcs8_der(),
            Family::Ed25519 => self.ed25519.to_pkcs8_der(),
            Family::Hmac => return Err(no_pem()),
        };
        let public = public.map_err(|e| format!("cannot encode the public key: {e}"))?;
        let private = private.map_err(|e| format!("cannot encode the private key: {e}"))?;
        Ok((public.as_bytes().to_vec(), private.as_bytes().to_vec()))
    }

    /// The JWK Set: one entry per algorithm, each with `kid`, `kty`, `alg`
    /// and `use`.
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = Alg::ALL.iter().map(|&alg| self.jwk(alg)).collect();
        json!({ "keys": keys })
    }

    fn jwk(&self, alg: Alg) -> Value {
        let mut jwk = match alg.family() {
            Family::Hmac => json!({ "kty": "oct", "k": b64(&self.hmac_secret) }),
            Family::Rsa => json!({
                "kty": "RSA",
                "n": b64(&self.rsa.n().to_bytes_be()),
                "e": b64(&self.rsa.e().to_bytes_be()),
            }),
            Family::P256 => {
                let point = self.p256.verifying_key().to_encoded_point(false);
                ec_jwk("P-256", point.as_bytes())
            }
            Family::P384 => {
                let point = self.p384.verifying_key().to_encoded_point(false);
                ec_jwk("P-384", point.as_bytes())
            }
            Family::P521 => {
                let point = self.p521.public_key().to_encoded_point(false);
                ec_jwk("P-521", point.as_bytes())
            }
            Family::Ed25519 => json!({
                "kty": "OKP",
                "crv": "Ed25519",
                "x": b64(self.ed25519.verifying_key().as_bytes()),
            }),
        };
        jwk["kid"] = KeySet::kid(alg).into();
        jwk["alg"] = alg.name().into();
        jwk["use"] = "sig".into();
        jwk
    }
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySet")
            .field("rsa_bits", &(self.rsa.size() * 8))
            .finish_non_exhaustive()
    }
}

/// An EC JWK from an uncompressed SEC1 point (`04 ‖ x ‖ y`).
fn ec_jwk(crv: &str, sec1: &[u8]) -> Value {
    let half = (sec1.len() - 1) / 2;
    json!({
        "kty": "EC",
        "crv": crv,
        "x": b64(&sec1[1..1 + half]),
        "y": b64(&sec1[1 + half..]),
    })
}

/// The p521 wrapper signer for a secret key.
fn p521_signing_key(secret: &p521::SecretKey) -> p521::ecdsa::SigningKey {
    // Invariant: a SecretKey is a non-zero scalar below the group order,
    // which is exactly what the signer accepts.
    p521::ecdsa::SigningKey::from_bytes(&secret.to_bytes()).expect("valid p521 scalar")
}

/// A ChaCha stream seeded with a hash of `label` and `parts`.
fn hash_seeded_rng(label: &[u8], parts: &[&[u8]]) -> ChaCha20Rng {
    let mut hash = Sha256::new();
    hash.update(label);
    for part in parts {
        hash.update(part);
    }
    ChaCha20Rng::from_seed(hash.finalize().into())
}

fn b64(bytes: &[u8]) -> String {
    base64_simd::URL_SAFE_NO_PAD.encode_to_string(bytes)
}

/// PEM text with LF line endings, whatever the platform.
fn pem_text(tag: &str, der: Vec<u8>) -> String {
    let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
    pem::encode_config(&pem::Pem::new(tag, der), config)
}

/// Reads `<stem>.private.pem` from `dir` and decodes its PKCS#8 DER.
fn load_private<T, E: fmt::Display>(
    dir: &Path,
    stem: &str,
    decode: impl FnOnce(&[u8]) -> Result<T, E>,
) -> Result<T, GenerateError> {
    let path = dir.join(format!("{stem}.private.pem"));
    let text = fs::read_to_string(&path).map_err(|e| GenerateError::io(&path, e))?;
    let block =
        pem::parse(&text).map_err(|e| GenerateError::key(&path, format!("not PEM: {e}")))?;
    if block.tag() != "PRIVATE KEY" {
        let reason = format!(
            "expected a PKCS#8 \"PRIVATE KEY\" block, found {:?}",
            block.tag()
        );
        return Err(GenerateError::key(&path, reason));
    }
    decode(block.contents()).map_err(|e| GenerateError::key(&path, format!("bad key: {e}")))
}

/// Checks a loaded RSA key is consistent and large enough to sign every
/// RS and PS algorithm (which makes signing infallible).
fn check_rsa(path: &Path, rsa: &RsaPrivateKey) -> Result<(), GenerateError> {
    rsa.validate()
        .map_err(|e| GenerateError::key(path, format!("inconsistent rsa key: {e}")))?;
    let bits = rsa.n().bits();
    if bits < RSA_BITS {
        let reason = format!("rsa key has {bits} bits; at least {RSA_BITS} are needed");
        return Err(GenerateError::key(path, reason));
    }
    Ok(())
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), GenerateError> {
    fs::write(path, bytes).map_err(|e| GenerateError::io(path, e))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::OnceLock;

    /// The test key set, made once per test binary (RSA keygen is slow).
    pub(crate) fn test_keys() -> &'static KeySet {
        static KEYS: OnceLock<KeySet> = OnceLock::new();
        KEYS.get_or_init(|| KeySet::generate(42))
    }

    /// A copy of the test key set, for tests that must own one.
    pub(crate) fn test_keys_clone() -> KeySet {
        KeySet::generate_with_rsa(42, test_keys().rsa.clone())
    }

    #[test]
    fn same_seed_same_keys() {
        let a = test_keys_clone();
        let b = KeySet::generate_with_rsa(42, test_keys().rsa.clone());
        assert_eq!(a.jwks(), b.jwks());
        let c = KeySet::generate_with_rsa(43, test_keys().rsa.clone());
        assert_ne!(a.jwks()["keys"][0], c.jwks()["keys"][0]);
        assert_ne!(a.jwks()["keys"][9], c.jwks()["keys"][9]);
    }

    #[test]
    fn write_then_load_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let keys = test_keys();
        keys.write(dir.path()).unwrap();
        let loaded = KeySet::load(dir.path()).unwrap();
        assert_eq!(keys.jwks(), loaded.jwks());
        for alg in Alg::ALL {
            assert_eq!(keys.sign(alg, b"a.b"), loaded.sign(alg, b"a.b"), "{alg}");
        }

        // Writing the loaded keys again gives the same bytes.
        let again = tempfile::tempdir().unwrap();
        loaded.write(again.path()).unwrap();
        for entry in fs::read_dir(dir.path()).unwrap() {
            let name = entry.unwrap().file_name();
            let first = fs::read(dir.path().join(&name)).unwrap();
            let second = fs::read(again.path().join(&name)).unwrap();
            assert_eq!(first, second, "{name:?}");
        }
    }

    #[test]
    fn load_names_the_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = KeySet::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("hs.secret"), "{err}");

        fs::write(dir.path().join("hs.secret"), b"0123456789abcdef").unwrap();
        fs::write(dir.path().join("rsa.private.pem"), "not a pem").unwrap();
        let err = KeySet::load(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("rsa.private.pem") && err.contains("not PEM"),
            "{err}"
        );
    }

    #[test]
    fn signatures_have_jws_sizes() {
        let keys = test_keys();
        let sizes = [32, 48, 64, 256, 256, 256, 256, 256, 256, 64, 96, 132, 64];
        for (alg, size) in Alg::ALL.into_iter().zip(sizes) {
            assert_eq!(keys.sign(alg, b"x.y").len(), size, "{alg}");
        }
    }

    #[test]
    fn signing_is_deterministic() {
        let keys = test_keys();
        for alg in Alg::ALL {
            assert_eq!(keys.sign(alg, b"h.c"), keys.sign(alg, b"h.c"), "{alg}");
            assert_ne!(keys.sign(alg, b"h.c"), keys.sign(alg, b"h.d"), "{alg}");
        }
    }

    #[test]
    fn ring_and_rsa_agree_on_pkcs1() {
        let keys = test_keys();
        let from_ring = keys.rsa_pkcs1_ring(Alg::Rs384, b"a.b").unwrap();
        let digest = Sha384::digest(b"a.b");
        let from_rsa = keys
            .rsa
            .sign(Pkcs1v15Sign::new::<Sha384>(), &digest)
            .unwrap();
        assert_eq!(from_ring, from_rsa);
    }

    #[test]
    fn jwks_lists_every_alg_with_kid_kty_alg() {
        let jwks = test_keys().jwks();
        let keys = jwks["keys"].as_array().unwrap();
        assert_eq!(keys.len(), Alg::ALL.len());
        for (jwk, alg) in keys.iter().zip(Alg::ALL) {
            assert_eq!(jwk["alg"], alg.name());
            assert_eq!(jwk["kid"], KeySet::kid(alg));
            assert!(jwk["kty"].is_string());
        }
        assert_eq!(keys[11]["x"].as_str().unwrap().len(), 88); // 66 bytes
    }
}
