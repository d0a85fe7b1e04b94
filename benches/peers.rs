//! The peers, side by side on the same tokens in one run: jwtsweep's check
//! of a distinct token (parse, verify, claims) next to the `jsonwebtoken`
//! crate's `decode` (with the validation an auditor would use: exp, iss,
//! aud), `jwt-simple`'s `verify_token` with the same options, and the
//! floor: the bare signature check with a prepared key, no parsing at all.
//!
//! Run with `cargo bench --bench peers`; ratios between rows of one group
//! are what to compare (the machines here are shared and noisy).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use jwtsweep::alg::Alg;
use jwtsweep::generate::{self, Claims, KeySet};
use jwtsweep::judge::Policy;
use jwtsweep::keys::{Candidates, Keyring, PreparedKey};
use jwtsweep::token::{self, Scratch};
use jwtsweep::verdict::Verdict;
use jwtsweep::verify;

const ISSUER: &str = "https://issuer.example";
const AUDIENCE: &str = "api";
/// Tokens expire in 2100: the peers judge against the wall clock.
const EXP: i64 = 4_102_444_800;
const IAT: i64 = 1_700_000_000;

struct Fixture {
    keys: KeySet,
    keyring: Keyring,
    dir: tempfile::TempDir,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: std::sync::OnceLock<Fixture> = std::sync::OnceLock::new();
    FIXTURE.get_or_init(|| {
        let keys = KeySet::generate(9);
        let dir = tempfile::tempdir().unwrap();
        keys.write(dir.path()).unwrap();
        let mut keyring = Keyring::new();
        for (i, jwk) in keys.jwks()["keys"].as_array().unwrap().iter().enumerate() {
            keyring.add(
                PreparedKey::from_jwk(&format!("peers#{i}"), jwk)
                    .unwrap()
                    .unwrap(),
            );
        }
        Fixture { keys, keyring, dir }
    })
}

fn pem(name: &str) -> Vec<u8> {
    std::fs::read(fixture().dir.path().join(name)).unwrap()
}

fn tokens(alg: Alg, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let sub = format!("user-{i}");
            let jti = format!("{i:016x}");
            let claims = Claims {
                iss: ISSUER,
                sub: &sub,
                aud: &[AUDIENCE],
                aud_as_array: false,
                iat: IAT,
                nbf: IAT,
                exp: EXP,
                jti: &jti,
            };
            generate::mint(&fixture().keys, alg, "", &claims.to_json())
        })
        .collect()
}

/// The floor's inputs: signing input and decoded signature per token.
fn split_all(tokens: &[String]) -> Vec<(Vec<u8>, Vec<u8>)> {
    tokens
        .iter()
        .map(|t| {
            let s = token::split(t.as_bytes()).unwrap();
            let mut sig = Vec::new();
            assert!(token::decode_into(s.signature, &mut sig));
            (s.signing_input.to_vec(), sig)
        })
        .collect()
}

fn peers(c: &mut Criterion) {
    let f = fixture();
    let policy = Policy {
        issuers: vec![ISSUER.into()],
        audiences: vec![AUDIENCE.into()],
        ..Policy::default()
    };
    let now = 1_796_292_000.0;

    for (alg, n, pem_file) in [
        (Alg::Hs256, 2_000, None),
        (Alg::Rs256, 100, Some("rsa.pem")),
        (Alg::Es256, 100, Some("p256.pem")),
        (Alg::EdDsa, 100, Some("ed25519.pem")),
    ] {
        let ts = tokens(alg, n);
        let mut group = c.benchmark_group(format!("peers/{}", alg.name()));
        group.throughput(Throughput::Elements(ts.len() as u64));
        if alg != Alg::Hs256 {
            group.sample_size(20);
        }

        // jwtsweep: a distinct token checked and judged
        let mut scratch = Scratch::new();
        group.bench_function("jwtsweep_check", |b| {
            b.iter(|| {
                for t in &ts {
                    let checked = verify::check(t.as_bytes(), &f.keyring, &policy, &mut scratch);
                    assert_eq!(policy.verdict(&checked, now), Verdict::Valid);
                }
            })
        });

        // the floor: the backend's verify with a prepared key
        let parts = split_all(&ts);
        let key = match f.keyring.candidates(alg, Some(KeySet::kid(alg))) {
            Candidates::Keys(keys) => keys.first().expect("a key"),
            other => panic!("{other:?}"),
        };
        group.bench_function("floor_prepared_key", |b| {
            b.iter(|| {
                for (input, sig) in &parts {
                    assert!(verify::verify_signature(key, alg, black_box(input), sig));
                }
            })
        });

        // HS256: ring's HMAC with a prepared key, the backend this project
        // used before src/hmac.rs, beside the floor it now ships
        if alg == Alg::Hs256 {
            let ring_key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, f.keys.hmac_secret());
            group.bench_function("ring_hmac_prepared_key", |b| {
                b.iter(|| {
                    for (input, sig) in &parts {
                        let input = black_box(&input[..]);
                        assert!(ring::hmac::verify(&ring_key, input, sig).is_ok());
                    }
                })
            });
        }

        // EdDSA batch verification (ed25519-dalek), not shipped: see the
        // module docs of src/verify.rs
        if alg == Alg::EdDsa {
            use ed25519_dalek::pkcs8::DecodePublicKey;
            let text = String::from_utf8(pem("ed25519.pem")).unwrap();
            let key = ed25519_dalek::VerifyingKey::from_public_key_pem(&text).unwrap();
            let messages: Vec<&[u8]> = parts.iter().map(|(input, _)| &input[..]).collect();
            let signatures: Vec<ed25519_dalek::Signature> = parts
                .iter()
                .map(|(_, sig)| ed25519_dalek::Signature::from_slice(sig).unwrap())
                .collect();
            let keys = vec![key; parts.len()];
            group.bench_function("dalek_verify_batch", |b| {
                b.iter(|| {
                    for ((m, s), k) in messages
                        .chunks(64)
                        .zip(signatures.chunks(64))
                        .zip(keys.chunks(64))
                    {
                        ed25519_dalek::verify_batch(black_box(m), s, k).unwrap();
                    }
                })
            });
        }

        // jsonwebtoken
        use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
        let (jwt_alg, decoding_key) = match pem_file {
            None => (
                Algorithm::HS256,
                DecodingKey::from_secret(f.keys.hmac_secret()),
            ),
            Some(file) => match alg {
                Alg::Rs256 => (
                    Algorithm::RS256,
                    DecodingKey::from_rsa_pem(&pem(file)).unwrap(),
                ),
                Alg::Es256 => (
                    Algorithm::ES256,
                    DecodingKey::from_ec_pem(&pem(file)).unwrap(),
                ),
                _ => (
                    Algorithm::EdDSA,
                    DecodingKey::from_ed_pem(&pem(file)).unwrap(),
                ),
            },
        };
        let mut validation = Validation::new(jwt_alg);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        group.bench_function("jsonwebtoken_decode", |b| {
            b.iter(|| {
                for t in &ts {
                    let data =
                        decode::<serde_json::Value>(black_box(t), &decoding_key, &validation);
                    assert!(data.is_ok(), "{:?}", data.err());
                }
            })
        });

        // jwt-simple
        use jwt_simple::prelude::*;
        let options = VerificationOptions {
            allowed_issuers: Some(HashSet::from_strings(&[ISSUER])),
            allowed_audiences: Some(HashSet::from_strings(&[AUDIENCE])),
            ..VerificationOptions::default()
        };
        let verify_simple: Box<dyn Fn(&str) -> bool> = match alg {
            Alg::Hs256 => {
                let key = HS256Key::from_bytes(f.keys.hmac_secret());
                let o = options.clone();
                Box::new(move |t| {
                    key.verify_token::<NoCustomClaims>(t, Some(o.clone()))
                        .is_ok()
                })
            }
            Alg::Rs256 => {
                let text = String::from_utf8(pem("rsa.pem")).unwrap();
                let key = RS256PublicKey::from_pem(&text).unwrap();
                let o = options.clone();
                Box::new(move |t| {
                    key.verify_token::<NoCustomClaims>(t, Some(o.clone()))
                        .is_ok()
                })
            }
            Alg::Es256 => {
                let text = String::from_utf8(pem("p256.pem")).unwrap();
                let key = ES256PublicKey::from_pem(&text).unwrap();
                let o = options.clone();
                Box::new(move |t| {
                    key.verify_token::<NoCustomClaims>(t, Some(o.clone()))
                        .is_ok()
                })
            }
            _ => {
                let text = String::from_utf8(pem("ed25519.pem")).unwrap();
                let key = Ed25519PublicKey::from_pem(&text).unwrap();
                let o = options.clone();
                Box::new(move |t| {
                    key.verify_token::<NoCustomClaims>(t, Some(o.clone()))
                        .is_ok()
                })
            }
        };
        group.bench_function("jwt_simple_verify", |b| {
            b.iter(|| {
                for t in &ts {
                    assert!(verify_simple(black_box(t)));
                }
            })
        });
        group.finish();
    }
}

criterion_group!(benches, peers);
criterion_main!(benches);
