//! Loading keys and preparing them once.
//!
//! A [`Keyring`] maps key ids and algorithm families to [`PreparedKey`]s.
//! Preparation happens at load time: the hash states after the HMAC inner
//! and outer pads are computed ([`crate::hmac`]), public keys are parsed
//! once per algorithm they are bound to (aws-lc-rs checks EC points are on
//! their curve and RSA moduli for size). The hot loop only looks keys up.
//!
//! Each key is bound to the algorithms its type allows (oct: HS*, RSA:
//! RS*/PS*, each curve: its ES alg, Ed25519: EdDSA), narrowed by a JWK
//! `alg`. Key material never appears in `Debug` output or error messages.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use aws_lc_rs::signature::{ParsedPublicKey, VerificationAlgorithm};
use base64_simd::URL_SAFE_NO_PAD;
use serde_json::Value as Json;

use crate::alg::{Alg, AlgSet, Family};
use crate::hmac::HmacKey;

/// A key file that could not be used.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct KeyError {
    /// The file at fault.
    pub path: PathBuf,
    /// What is wrong with it, without key material.
    pub reason: String,
}

impl KeyError {
    fn new(path: &Path, reason: impl Into<String>) -> KeyError {
        KeyError {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }
}

/// How a key verifies, prepared for repeated use.
pub(crate) enum Verifier {
    /// One prepared HMAC key per hash, for the HS algs the key is bound to.
    /// Boxed: three prepared states are large beside the other variants.
    Hmac(Box<HmacKey>),
    /// A public key parsed once per algorithm it is bound to (aws-lc-rs
    /// binds a parsed key to one algorithm).
    Public(Vec<(Alg, ParsedPublicKey)>),
}

/// The aws-lc-rs verification algorithm for a public-key JWS alg.
fn backend_alg(alg: Alg) -> Option<&'static dyn VerificationAlgorithm> {
    use aws_lc_rs::signature as s;
    Some(match alg {
        Alg::Rs256 => &s::RSA_PKCS1_2048_8192_SHA256,
        Alg::Rs384 => &s::RSA_PKCS1_2048_8192_SHA384,
        Alg::Rs512 => &s::RSA_PKCS1_2048_8192_SHA512,
        Alg::Ps256 => &s::RSA_PSS_2048_8192_SHA256,
        Alg::Ps384 => &s::RSA_PSS_2048_8192_SHA384,
        Alg::Ps512 => &s::RSA_PSS_2048_8192_SHA512,
        Alg::Es256 => &s::ECDSA_P256_SHA256_FIXED,
        Alg::Es384 => &s::ECDSA_P384_SHA384_FIXED,
        Alg::Es512 => &s::ECDSA_P521_SHA512_FIXED,
        Alg::EdDsa => &s::ED25519,
        Alg::Hs256 | Alg::Hs384 | Alg::Hs512 => return None,
    })
}

/// A key ready to verify, bound to its algorithms.
pub struct PreparedKey {
    /// The key id (`kid`), if it has one.
    pub id: Option<String>,
    /// Where it came from, for messages: `path` or `path#index`.
    pub origin: String,
    /// The family its type belongs to.
    pub family: Family,
    /// The algorithms it may verify: a subset of its family's.
    pub algs: AlgSet,
    pub(crate) verifier: Verifier,
    /// The key's public bytes in the forms an RS→HS forger would use as an
    /// HMAC secret; kept for the key-confusion sweep.
    pub(crate) public_forms: Vec<Vec<u8>>,
}

impl fmt::Debug for PreparedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material.
        f.debug_struct("PreparedKey")
            .field("id", &self.id)
            .field("origin", &self.origin)
            .field("family", &self.family)
            .field("algs", &self.algs.iter().map(Alg::name).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl PreparedKey {
    /// Prepares an HMAC secret for the given HS algorithms.
    pub fn hmac(id: Option<String>, origin: &str, secret: &[u8], algs: AlgSet) -> PreparedKey {
        hmac_key(
            id,
            origin.to_string(),
            secret,
            algs.intersect(Family::Hmac.algs()),
        )
    }

    /// Prepares a public key from its raw bytes: a PKCS#1 `RSAPublicKey`
    /// DER for RSA, a SEC1 point for EC, 32 bytes for Ed25519. `algs` is
    /// narrowed to the family's.
    pub fn public(
        id: Option<String>,
        origin: &str,
        family: Family,
        raw: &[u8],
        algs: AlgSet,
    ) -> Result<PreparedKey, String> {
        public_key(
            id,
            origin.to_string(),
            family,
            raw,
            algs.intersect(family.algs()),
        )
    }

    /// Prepares a public key from an SPKI DER.
    pub fn from_spki(id: Option<String>, origin: &str, der: &[u8]) -> Result<PreparedKey, String> {
        let (family, raw) = spki_parts(der)?;
        public_key(id, origin.to_string(), family, &raw, family.algs())
    }

    /// Prepares one JWK; `Ok(None)` for a key that is not for JWS
    /// verification (`use: enc`, an encryption `alg`, an unknown `kty`).
    pub fn from_jwk(origin: &str, jwk: &Json) -> Result<Option<PreparedKey>, String> {
        jwk_key(origin.to_string(), jwk)
    }
}

/// Every configured key, looked up by `kid` and by algorithm.
#[derive(Debug, Default)]
pub struct Keyring {
    keys: Vec<PreparedKey>,
    /// Per kid: the keys of that id bound to each alg, and whether any
    /// key has it. Looked up once per distinct token, so the lists are
    /// ready made (collecting them per lookup was an allocation each) and
    /// the map hashes with ahash (SipHash was 1% of a scan).
    by_kid: HashMap<String, KidKeys, ahash::RandomState>,
    by_alg: [Vec<usize>; Alg::ALL.len()],
    /// HMAC keys made from every public key's forms, for the key-confusion
    /// sweep.
    confusion: Vec<HmacKey>,
}

/// The keys of one kid, by the algs they are bound to.
#[derive(Debug, Default)]
struct KidKeys {
    by_alg: [Vec<usize>; Alg::ALL.len()],
}

/// Keys to try, in load order, each with its index in [`Keyring::keys`].
#[derive(Clone, Copy, Debug)]
pub struct KeyList<'k> {
    indexes: &'k [usize],
    keys: &'k [PreparedKey],
}

impl<'k> KeyList<'k> {
    /// The keys with their indexes.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &'k PreparedKey)> + 'k {
        let keys = self.keys;
        self.indexes.iter().map(move |&i| (i, &keys[i]))
    }

    /// How many keys.
    pub fn len(&self) -> usize {
        self.indexes.len()
    }

    /// Whether there are none (never, in [`Candidates::Keys`]).
    pub fn is_empty(&self) -> bool {
        self.indexes.is_empty()
    }

    /// The first key.
    pub fn first(&self) -> Option<&'k PreparedKey> {
        self.indexes.first().map(|&i| &self.keys[i])
    }
}

/// The keys a token may be checked against.
#[derive(Debug)]
pub enum Candidates<'k> {
    /// At least one key fits: try each.
    Keys(KeyList<'k>),
    /// The `kid` names no key.
    NoSuchKid,
    /// The `kid` names keys, but none of a type that verifies this alg.
    KidWrongType,
    /// No key at all fits this alg.
    NoKeyForAlg,
}

impl Keyring {
    /// An empty keyring.
    pub fn new() -> Keyring {
        Keyring::default()
    }

    /// Adds a prepared key.
    pub fn add(&mut self, mut key: PreparedKey) {
        key.public_forms.sort();
        key.public_forms.dedup();
        let index = self.keys.len();
        if let Some(id) = &key.id {
            let kid = self.by_kid.entry(id.clone()).or_default();
            for alg in key.algs.iter() {
                kid.by_alg[alg.index()].push(index);
            }
        }
        for alg in key.algs.iter() {
            self.by_alg[alg.index()].push(index);
        }
        self.confusion
            .extend(key.public_forms.iter().map(|form| HmacKey::new(form)));
        self.keys.push(key);
    }

    /// Whether an HS* MAC verifies with one of the public keys' forms as
    /// the secret: proof of RS→HS key confusion.
    pub fn mac_matches_public_key(&self, alg: Alg, input: &[u8], mac: &[u8]) -> bool {
        self.confusion.iter().any(|key| key.verify(alg, input, mac))
    }

    /// Every key, in load order.
    pub fn keys(&self) -> &[PreparedKey] {
        &self.keys
    }

    /// Whether no key is configured.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The keys a token with this `alg` and `kid` is checked against: with
    /// a `kid`, only keys of that id; without, every key bound to the alg.
    pub fn candidates(&self, alg: Alg, kid: Option<&str>) -> Candidates<'_> {
        let indexes = match kid {
            Some(kid) => {
                let Some(keys) = self.by_kid.get(kid) else {
                    return Candidates::NoSuchKid;
                };
                let fit = &keys.by_alg[alg.index()];
                if fit.is_empty() {
                    return Candidates::KidWrongType;
                }
                fit
            }
            None => {
                let fit = &self.by_alg[alg.index()];
                if fit.is_empty() {
                    return Candidates::NoKeyForAlg;
                }
                fit
            }
        };
        Candidates::Keys(KeyList {
            indexes,
            keys: &self.keys,
        })
    }

    /// Loads a raw secret file (`--secret`).
    pub fn load_secret(&mut self, id: Option<String>, path: &Path) -> Result<(), KeyError> {
        let bytes = read(path)?;
        if bytes.is_empty() {
            return Err(KeyError::new(path, "secret file is empty"));
        }
        let origin = path.display().to_string();
        self.add(hmac_key(id, origin, &bytes, Family::Hmac.algs()));
        Ok(())
    }

    /// Loads every public key in a PEM file (`--key`): SPKI `PUBLIC KEY`,
    /// PKCS#1 `RSA PUBLIC KEY`, or X.509 `CERTIFICATE`. Several blocks get
    /// the same id and origins `path#1`, `path#2`…
    pub fn load_pem(&mut self, id: Option<String>, path: &Path) -> Result<usize, KeyError> {
        let bytes = read(path)?;
        let blocks =
            pem::parse_many(&bytes).map_err(|e| KeyError::new(path, format!("not PEM: {e}")))?;
        if blocks.is_empty() {
            return Err(KeyError::new(path, "no PEM block found"));
        }
        let many = blocks.len() > 1;
        for (n, block) in blocks.iter().enumerate() {
            let origin = match many {
                true => format!("{}#{}", path.display(), n + 1),
                false => path.display().to_string(),
            };
            let mut key = pem_block_key(id.clone(), origin, block)
                .map_err(|reason| KeyError::new(path, reason))?;
            if !many {
                // The file as published is what a forger would download.
                key.public_forms.extend(with_and_without_newline(&bytes));
            }
            self.add(key);
        }
        Ok(blocks.len())
    }

    /// Loads a JWK Set or a single JWK (`--jwks`). Keys for encryption
    /// (`use: enc`, or an `alg` that is not a JWS alg) and key types we
    /// cannot verify with are skipped and returned as notes.
    pub fn load_jwks(&mut self, path: &Path) -> Result<Vec<String>, KeyError> {
        let bytes = read(path)?;
        let doc: Json = serde_json::from_slice(&bytes)
            .map_err(|e| KeyError::new(path, format!("not JSON: {e}")))?;
        let list = match doc.get("keys") {
            Some(Json::Array(list)) => list.clone(),
            Some(_) => return Err(KeyError::new(path, "\"keys\" is not an array")),
            None if doc.get("kty").is_some() => vec![doc],
            None => return Err(KeyError::new(path, "neither a JWK Set nor a JWK")),
        };
        let mut skipped = Vec::new();
        for (n, jwk) in list.iter().enumerate() {
            let origin = format!("{}#{}", path.display(), n + 1);
            match jwk_key(origin.clone(), jwk) {
                Ok(Some(key)) => self.add(key),
                Ok(None) => skipped.push(format!("{origin}: not a signature verification key")),
                Err(reason) => return Err(KeyError::new(path, format!("key {}: {reason}", n + 1))),
            }
        }
        Ok(skipped)
    }
}

fn read(path: &Path) -> Result<Vec<u8>, KeyError> {
    std::fs::read(path).map_err(|e| KeyError::new(path, e.to_string()))
}

fn hmac_key(id: Option<String>, origin: String, secret: &[u8], algs: AlgSet) -> PreparedKey {
    PreparedKey {
        id,
        origin,
        family: Family::Hmac,
        algs,
        verifier: Verifier::Hmac(Box::new(HmacKey::new(secret))),
        public_forms: Vec::new(),
    }
}

/// Object identifiers (DER content bytes) of the key types we accept.
mod oid {
    pub const RSA: &str = "1.2.840.113549.1.1.1";
    pub const EC: &str = "1.2.840.10045.2.1";
    pub const P256: &str = "1.2.840.10045.3.1.7";
    pub const P384: &str = "1.3.132.0.34";
    pub const P521: &str = "1.3.132.0.35";
    pub const ED25519: &str = "1.3.101.112";
}

fn pem_block_key(
    id: Option<String>,
    origin: String,
    block: &pem::Pem,
) -> Result<PreparedKey, String> {
    use spki::der::Decode;

    let der = block.contents();
    let (family, raw) = match block.tag() {
        "PUBLIC KEY" => spki_parts(der)?,
        "RSA PUBLIC KEY" => (Family::Rsa, der.to_vec()),
        "CERTIFICATE" => {
            let cert = x509_cert::Certificate::from_der(der)
                .map_err(|e| format!("bad certificate: {e}"))?;
            let spki = cert.tbs_certificate.subject_public_key_info;
            let spki_der = spki::der::Encode::to_der(&spki)
                .map_err(|e| format!("bad certificate key: {e}"))?;
            spki_parts(&spki_der)?
        }
        tag if tag.contains("PRIVATE") => {
            return Err(format!("holds a {tag}; give the public key instead"))
        }
        tag => return Err(format!("unsupported PEM block {tag:?}")),
    };
    let mut key = public_key(id, origin, family, &raw, family.algs())?;
    key.public_forms.extend(pem_forms(block));
    Ok(key)
}

/// The PEM text (LF and CRLF line endings) with and without its final
/// newline, and the DER: the secrets an RS→HS forger would try.
fn pem_forms(block: &pem::Pem) -> Vec<Vec<u8>> {
    let mut forms = vec![block.contents().to_vec()];
    for ending in [pem::LineEnding::LF, pem::LineEnding::CRLF] {
        let text = pem::encode_config(block, pem::EncodeConfig::new().set_line_ending(ending));
        forms.extend(with_and_without_newline(text.as_bytes()));
    }
    forms
}

/// A text as is, and without its final line ending (if it has one).
fn with_and_without_newline(text: &[u8]) -> Vec<Vec<u8>> {
    let trimmed = text.strip_suffix(b"\r\n").or(text.strip_suffix(b"\n"));
    std::iter::once(text)
        .chain(trimmed)
        .map(<[u8]>::to_vec)
        .collect()
}

/// Splits an SPKI into its family and the raw key bytes ring wants.
fn spki_parts(der: &[u8]) -> Result<(Family, Vec<u8>), String> {
    use spki::der::Decode;

    let info =
        spki::SubjectPublicKeyInfoRef::from_der(der).map_err(|e| format!("bad SPKI: {e}"))?;
    let raw = info.subject_public_key.raw_bytes().to_vec();
    let family = match info.algorithm.oid.to_string().as_str() {
        oid::RSA => Family::Rsa,
        oid::ED25519 => Family::Ed25519,
        oid::EC => {
            let curve = info
                .algorithm
                .parameters_oid()
                .map_err(|_| "EC key without a named curve".to_string())?;
            match curve.to_string().as_str() {
                oid::P256 => Family::P256,
                oid::P384 => Family::P384,
                oid::P521 => Family::P521,
                other => return Err(format!("unsupported EC curve {other}")),
            }
        }
        other => return Err(format!("unsupported key algorithm {other}")),
    };
    Ok((family, raw))
}

/// Prepares a public key from its raw bytes: PKCS#1 DER for RSA, an
/// uncompressed SEC1 point for EC, 32 bytes for Ed25519.
fn public_key(
    id: Option<String>,
    origin: String,
    family: Family,
    raw: &[u8],
    algs: AlgSet,
) -> Result<PreparedKey, String> {
    // Checks and a canonical form: ECDSA points uncompressed and on their
    // curve, RSA moduli of at least 2048 bits.
    let bytes = match family {
        Family::Rsa => {
            let bits = rsa_modulus_bits(raw).ok_or("bad RSA public key")?;
            if bits < 2048 {
                return Err(format!(
                    "RSA key of {bits} bits; at least 2048 are required"
                ));
            }
            raw.to_vec()
        }
        Family::P256 => {
            use p256::elliptic_curve::sec1::ToEncodedPoint;
            let key = p256::PublicKey::from_sec1_bytes(raw).map_err(|_| "point not on P-256")?;
            key.to_encoded_point(false).as_bytes().to_vec()
        }
        Family::P384 => {
            use p384::elliptic_curve::sec1::ToEncodedPoint;
            let key = p384::PublicKey::from_sec1_bytes(raw).map_err(|_| "point not on P-384")?;
            key.to_encoded_point(false).as_bytes().to_vec()
        }
        Family::P521 => {
            use p521::elliptic_curve::sec1::ToEncodedPoint;
            let key = p521::PublicKey::from_sec1_bytes(raw).map_err(|_| "point not on P-521")?;
            key.to_encoded_point(false).as_bytes().to_vec()
        }
        Family::Ed25519 => {
            let bytes: [u8; 32] = raw.try_into().map_err(|_| "Ed25519 key is not 32 bytes")?;
            ed25519_dalek::VerifyingKey::from_bytes(&bytes)
                .map_err(|_| "bad Ed25519 public key")?;
            bytes.to_vec()
        }
        Family::Hmac => return Err("an HMAC secret is not a public key".into()),
    };

    // one parsed key per algorithm
    let mut parsed = Vec::new();
    for alg in algs.iter() {
        let Some(backend) = backend_alg(alg) else {
            continue;
        };
        let key = ParsedPublicKey::new(backend, &bytes)
            .map_err(|_| format!("the {} key cannot verify {alg}", family.name()))?;
        parsed.push((alg, key));
    }
    let verifier = Verifier::Public(parsed);
    Ok(PreparedKey {
        id,
        origin,
        family,
        algs,
        verifier,
        public_forms: Vec::new(),
    })
}

/// The bit length of an RSA modulus in a PKCS#1 `RSAPublicKey` DER.
fn rsa_modulus_bits(der: &[u8]) -> Option<usize> {
    use spki::der::{asn1::UintRef, Decode, Reader, SliceReader};
    let mut reader = SliceReader::new(der).ok()?;
    let (n, _e) = reader
        .sequence(|seq| Ok((UintRef::decode(seq)?, UintRef::decode(seq)?)))
        .ok()?;
    reader.finish(()).ok()?;
    let bytes = n.as_bytes();
    let lead = *bytes.first()?;
    Some(bytes.len() * 8 - lead.leading_zeros() as usize)
}

/// Prepares one JWK; `Ok(None)` for keys that are not for JWS verification.
fn jwk_key(origin: String, jwk: &Json) -> Result<Option<PreparedKey>, String> {
    let field = |name: &str| jwk.get(name).and_then(Json::as_str);
    let id = match jwk.get("kid") {
        None => None,
        Some(Json::String(s)) => Some(s.clone()),
        Some(_) => return Err("kid is not a string".into()),
    };
    if field("use").is_some_and(|u| u != "sig") {
        return Ok(None);
    }
    // RFC 7517 §4.3: a key whose operations exclude "verify" is not for us.
    match jwk.get("key_ops") {
        None => {}
        Some(Json::Array(ops)) if ops.iter().any(|op| op == "verify") => {}
        Some(Json::Array(_)) => return Ok(None),
        Some(_) => return Err("key_ops is not an array".into()),
    }
    let alg = match field("alg") {
        None => None,
        Some(name) => match Alg::from_name(name.as_bytes()) {
            Some(alg) => Some(alg),
            None => return Ok(None),
        },
    };
    let b64 = |name: &str| -> Result<Vec<u8>, String> {
        let text = field(name).ok_or_else(|| format!("missing {name}"))?;
        URL_SAFE_NO_PAD
            .decode_to_vec(text)
            .map_err(|_| format!("{name} is not base64url"))
    };

    // family and raw key bytes
    let kty = field("kty").ok_or("missing kty")?;
    let (family, raw) = match (kty, field("crv")) {
        ("oct", _) => (Family::Hmac, b64("k")?),
        ("RSA", _) => (Family::Rsa, rsa_der(&b64("n")?, &b64("e")?)),
        ("EC", Some(crv)) => {
            let (family, size) = match crv {
                "P-256" => (Family::P256, 32),
                "P-384" => (Family::P384, 48),
                "P-521" => (Family::P521, 66),
                _ => return Ok(None),
            };
            let (x, y) = (b64("x")?, b64("y")?);
            if x.len() != size || y.len() != size {
                return Err(format!("{crv} coordinates must be {size} bytes"));
            }
            (family, [&[4u8][..], &x, &y].concat())
        }
        ("OKP", Some("Ed25519")) => (Family::Ed25519, b64("x")?),
        ("EC" | "OKP", None) => return Err("missing crv".into()),
        _ => return Ok(None),
    };

    // the algorithms it may verify
    let mut algs = family.algs();
    if let Some(alg) = alg {
        if alg.family() != family {
            return Err(format!("alg {alg} does not fit kty {kty}"));
        }
        algs = algs.intersect(std::iter::once(alg).collect());
    }
    if family == Family::Hmac {
        if raw.is_empty() {
            return Err("empty oct key".into());
        }
        return Ok(Some(hmac_key(id, origin, &raw, algs)));
    }
    let mut key = public_key(id, origin, family, &raw, algs)?;
    key.public_forms
        .push(serde_json::to_vec(jwk).unwrap_or_default());
    Ok(Some(key))
}

/// Encodes `RSAPublicKey ::= SEQUENCE { n INTEGER, e INTEGER }` (PKCS#1).
fn rsa_der(n: &[u8], e: &[u8]) -> Vec<u8> {
    fn integer(out: &mut Vec<u8>, bytes: &[u8]) {
        let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
        let bytes = &bytes[start..];
        let pad = bytes.first().is_none_or(|&b| b >= 0x80);
        out.push(0x02);
        length(out, bytes.len() + pad as usize);
        if pad {
            out.push(0);
        }
        out.extend_from_slice(bytes);
    }
    fn length(out: &mut Vec<u8>, len: usize) {
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes = len.to_be_bytes();
            let skip = bytes
                .iter()
                .position(|&b| b != 0)
                .unwrap_or(bytes.len() - 1);
            out.push(0x80 | (bytes.len() - skip) as u8);
            out.extend_from_slice(&bytes[skip..]);
        }
    }
    let mut body = Vec::with_capacity(n.len() + e.len() + 16);
    integer(&mut body, n);
    integer(&mut body, e);
    let mut out = Vec::with_capacity(body.len() + 8);
    out.push(0x30);
    length(&mut out, body.len());
    out.extend_from_slice(&body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsa_der_round_trips_through_the_bit_counter() {
        let mut n = vec![0xC0; 256];
        n[255] = 1;
        let der = rsa_der(&n, &[1, 0, 1]);
        assert_eq!(rsa_modulus_bits(&der), Some(2048));
        let small = rsa_der(&[0x7F; 128], &[3]);
        assert_eq!(rsa_modulus_bits(&small), Some(1023));
    }

    #[test]
    fn kid_lookup_binds_families() {
        let mut ring = Keyring::new();
        ring.add(hmac_key(
            Some("h".into()),
            "t".into(),
            b"secret",
            Family::Hmac.algs(),
        ));
        assert!(
            matches!(ring.candidates(Alg::Hs256, Some("h")), Candidates::Keys(k) if k.len() == 1)
        );
        assert!(matches!(
            ring.candidates(Alg::Rs256, Some("h")),
            Candidates::KidWrongType
        ));
        assert!(matches!(
            ring.candidates(Alg::Hs256, Some("x")),
            Candidates::NoSuchKid
        ));
        assert!(matches!(
            ring.candidates(Alg::Es256, None),
            Candidates::NoKeyForAlg
        ));
        assert!(matches!(
            ring.candidates(Alg::Hs512, None),
            Candidates::Keys(_)
        ));
    }

    #[test]
    fn jwk_alg_narrows_and_must_fit() {
        let jwk: Json = serde_json::json!({"kty":"oct","k":"c2VjcmV0","alg":"HS384","kid":"a"});
        let key = jwk_key("t".into(), &jwk).unwrap().unwrap();
        assert_eq!(key.algs.iter().collect::<Vec<_>>(), [Alg::Hs384]);
        let bad: Json = serde_json::json!({"kty":"oct","k":"c2VjcmV0","alg":"RS256"});
        assert!(jwk_key("t".into(), &bad)
            .unwrap_err()
            .contains("does not fit"));
        let enc: Json = serde_json::json!({"kty":"oct","k":"c2VjcmV0","use":"enc"});
        assert!(jwk_key("t".into(), &enc).unwrap().is_none());
        let oaep: Json = serde_json::json!({"kty":"RSA","n":"AQAB","e":"AQAB","alg":"RSA-OAEP"});
        assert!(jwk_key("t".into(), &oaep).unwrap().is_none());
    }

    #[test]
    fn debug_never_shows_material() {
        let key = hmac_key(
            Some("k".into()),
            "f".into(),
            b"hunter2-secret",
            Family::Hmac.algs(),
        );
        let text = format!("{key:?}");
        assert!(!text.contains("hunter2"));
        assert!(text.contains("HS256"));
    }
}
