//! Making each distinct token so that it has exactly its intended verdict
//! and nothing of higher precedence.
//!
//! Time claims are fitted to the request times of the lines that carry
//! the token (see [`super::plan`]), with [`MARGIN_SECS`] to spare beyond
//! the scanner's default 60 s leeway. Every token that is not meant to
//! fail on time is valid in time; every token that is not meant to fail on
//! its signature is signed with the right key.

use rand_core::RngCore;
use sha2::{Digest, Sha256};

use super::keys::KeySet;
use super::mint::{self, Claims};
use super::plan::TokenPlan;
use super::rng;
use crate::alg::Alg;
use crate::verdict::Verdict;

/// Seconds between a token's validity bounds and its nearest use: the
/// scanner's default 60 s leeway plus ten minutes.
pub const MARGIN_SECS: i64 = 660;

/// The usual lifetime of a token.
const LIFETIME_SECS: i64 = 3600;

/// `kid`s that name no key in the generated JWK Set.
const UNKNOWN_KIDS: [&str; 3] = ["retired-7", "rotated-2024-01", "legacy"];

/// Header algorithms this engine does not verify.
const UNSUPPORTED_ALGS: [&str; 3] = ["HS1", "RS1", "ES256K"];

/// A minted token and what `expected.jsonl` says about it.
#[derive(Clone, Debug)]
pub(crate) struct Crafted {
    /// The compact token text as written to the log.
    pub text: String,
    /// The members of its `expected.jsonl` line after `line`, without
    /// braces: verdict, alg, kid, token_sha256.
    pub expected: String,
}

/// What every token of a run shares.
pub(crate) struct Context<'a> {
    /// The keys to sign with.
    pub keys: &'a KeySet,
    /// The run's seed.
    pub seed: u64,
    /// The issuer valid tokens carry.
    pub issuer: &'a str,
    /// The audience valid tokens carry.
    pub audience: &'a str,
}

/// A token before its `expected.jsonl` members are derived.
struct Made {
    text: String,
    alg: Option<String>,
    kid: Option<String>,
}

impl Made {
    fn new(text: String, alg: &str, kid: Option<&str>) -> Made {
        Made {
            text,
            alg: Some(alg.to_owned()),
            kid: kid.map(str::to_owned),
        }
    }
}

/// Mints distinct token number `index` as `plan` says.
pub(crate) fn craft(ctx: &Context<'_>, index: usize, plan: &TokenPlan) -> Crafted {
    let mut rng = rng::stream(ctx.seed, "token", index as u64);
    let (iat, nbf, exp) = fit_times(plan, &mut rng);
    let sub = format!("user-{}", rng::below(&mut rng, 100_000));
    let jti = format!("{:016x}", rng.next_u64());
    let claims = Claims {
        iss: ctx.issuer,
        sub: &sub,
        aud: &[ctx.audience],
        aud_as_array: false,
        iat,
        nbf,
        exp,
        jti: &jti,
    };

    let made = match plan.verdict {
        Verdict::Malformed => malformed(ctx, plan.alg, &claims, &mut rng),
        Verdict::EncryptedJwe => encrypted_jwe(&mut rng),
        Verdict::AlgNone => alg_none(&claims, &mut rng),
        Verdict::UnsupportedAlg => unsupported_alg(&claims, &mut rng),
        Verdict::UnsupportedCrit => unsupported_crit(ctx, plan.alg, &claims, &mut rng),
        Verdict::UnknownKey => unknown_key(ctx, plan.alg, &claims, &mut rng),
        Verdict::BadSignature => bad_signature(ctx, plan.alg, &claims, &mut rng),
        Verdict::WrongIssuer => wrong_issuer(ctx, plan.alg, &claims, &mut rng),
        Verdict::WrongAudience => wrong_audience(ctx, plan.alg, &claims, &mut rng),
        Verdict::Expired | Verdict::NotYetValid => signed(ctx, plan.alg, &claims),
        Verdict::Valid => valid(ctx, plan.alg, &claims, &mut rng),
    };
    finish(made, plan.verdict)
}

/// `iat`, `nbf`, `exp` that make the verdict hold at every use.
fn fit_times(plan: &TokenPlan, rng: &mut impl RngCore) -> (i64, i64, i64) {
    let mut jitter = || rng::below(rng, 900) as i64;
    match plan.verdict {
        Verdict::Expired => {
            let exp = plan.first_use - MARGIN_SECS - jitter();
            (exp - LIFETIME_SECS, exp - LIFETIME_SECS, exp)
        }
        Verdict::NotYetValid => {
            let nbf = plan.last_use + MARGIN_SECS + jitter();
            let iat = plan.first_use - MARGIN_SECS - jitter();
            (iat, nbf, nbf + LIFETIME_SECS)
        }
        _ => {
            let iat = plan.first_use - MARGIN_SECS - jitter();
            let exp = (iat + LIFETIME_SECS).max(plan.last_use + MARGIN_SECS + jitter());
            (iat, iat, exp)
        }
    }
}

/// Derives the `expected.jsonl` members of a made token.
fn finish(made: Made, verdict: Verdict) -> Crafted {
    let digest = Sha256::digest(made.text.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let optional = |s: &Option<String>| s.as_deref().map_or("null".into(), mint::json_string);
    let expected = format!(
        "\"verdict\":\"{}\",\"alg\":{},\"kid\":{},\"token_sha256\":\"{}\"",
        verdict.name(),
        optional(&made.alg),
        optional(&made.kid),
        hex,
    );
    Crafted {
        text: made.text,
        expected,
    }
}

/// A correctly signed token with the standard header.
fn signed(ctx: &Context<'_>, alg: Alg, claims: &Claims<'_>) -> Made {
    let text = mint::mint(ctx.keys, alg, "", &claims.to_json());
    Made::new(text, alg.name(), Some(KeySet::kid(alg)))
}

/// Valid; sometimes with `aud` as an array that holds the audience.
fn valid(ctx: &Context<'_>, alg: Alg, claims: &Claims<'_>, rng: &mut impl RngCore) -> Made {
    let other = [ctx.audience, "reporting"];
    let mut claims = claims.clone();
    match rng::below(rng, 10) {
        0 => claims.aud_as_array = true,
        1 if ctx.audience != "reporting" => claims.aud = &other,
        _ => {}
    }
    signed(ctx, alg, &claims)
}

/// An issuer that differs from the expected one, sometimes only by a
/// trailing slash (a classic misconfiguration).
fn wrong_issuer(ctx: &Context<'_>, alg: Alg, claims: &Claims<'_>, rng: &mut impl RngCore) -> Made {
    let slash = format!("{}/", ctx.issuer);
    let candidates = [
        &slash,
        "https://login.other.example",
        "https://issuer.example.evil",
    ];
    let usable: Vec<&str> = candidates
        .into_iter()
        .filter(|c| *c != ctx.issuer)
        .collect();
    let mut claims = claims.clone();
    claims.iss = *rng::pick(rng, &usable);
    signed(ctx, alg, &claims)
}

/// An audience (string or array) that does not hold the expected one.
fn wrong_audience(
    ctx: &Context<'_>,
    alg: Alg,
    claims: &Claims<'_>,
    rng: &mut impl RngCore,
) -> Made {
    let staging = format!("{}-staging", ctx.audience);
    let choices: [&[&str]; 3] = [&[&staging], &["web", "mobile"], &["other-api"]];
    let choice = rng::pick(rng, &choices);
    let mut aud: Vec<&str> = choice
        .iter()
        .copied()
        .filter(|a| *a != ctx.audience)
        .collect();
    if aud.is_empty() {
        aud.push(&staging);
    }
    let mut claims = claims.clone();
    claims.aud = &aud;
    signed(ctx, alg, &claims)
}

/// A good token with one signature byte changed (never the first, so an
/// RSA signature stays below the modulus).
fn bad_signature(ctx: &Context<'_>, alg: Alg, claims: &Claims<'_>, rng: &mut impl RngCore) -> Made {
    let header = mint::header_json(alg.name(), Some(KeySet::kid(alg)), "");
    let claims_json = claims.to_json();
    let mut signature = mint::signature(ctx.keys, alg, &header, &claims_json);
    let at = 1 + rng::index(rng, signature.len() - 1);
    signature[at] ^= 0x01;
    let text = mint::assemble(&header, &claims_json, &signature);
    Made::new(text, alg.name(), Some(KeySet::kid(alg)))
}

/// Correctly signed, but under a `kid` that names no key.
fn unknown_key(ctx: &Context<'_>, alg: Alg, claims: &Claims<'_>, rng: &mut impl RngCore) -> Made {
    let kid = *rng::pick(rng, &UNKNOWN_KIDS);
    let header = mint::header_json(alg.name(), Some(kid), "");
    let text = mint::sign(ctx.keys, alg, &header, &claims.to_json());
    Made::new(text, alg.name(), Some(kid))
}

/// `alg` is `none` (now and then in another casing), the signature empty.
fn alg_none(claims: &Claims<'_>, rng: &mut impl RngCore) -> Made {
    const NAMES: [&str; 7] = ["none", "none", "none", "none", "none", "None", "NONE"];
    let name = *rng::pick(rng, &NAMES);
    let text = mint::assemble(&mint::header_json(name, None, ""), &claims.to_json(), &[]);
    Made::new(text, name, None)
}

/// An algorithm outside the supported set, with some signature bytes.
fn unsupported_alg(claims: &Claims<'_>, rng: &mut impl RngCore) -> Made {
    let name = *rng::pick(rng, &UNSUPPORTED_ALGS);
    let mut signature = vec![0; 20 + rng::index(rng, 45)];
    rng.fill_bytes(&mut signature);
    let text = mint::assemble(
        &mint::header_json(name, None, ""),
        &claims.to_json(),
        &signature,
    );
    Made::new(text, name, None)
}

/// Correctly signed, with a `crit` header naming an extension we do not
/// understand (RFC 7515 §4.1.11); the named member is present.
fn unsupported_crit(
    ctx: &Context<'_>,
    alg: Alg,
    claims: &Claims<'_>,
    rng: &mut impl RngCore,
) -> Made {
    let extra = if rng::chance(rng, 0.5) {
        format!("\"crit\":[\"exp\"],\"exp\":{}", claims.exp)
    } else {
        "\"crit\":[\"https://jwtsweep.example/tenant\"],\
         \"https://jwtsweep.example/tenant\":\"acme\""
            .to_owned()
    };
    let text = mint::mint(ctx.keys, alg, &extra, &claims.to_json());
    Made::new(text, alg.name(), Some(KeySet::kid(alg)))
}

/// Broken in one of four ways, each still starting with `eyJ` in both
/// header and claims so a finder sees it, and signed with the right key
/// so that nothing but the structure is wrong.
fn malformed(ctx: &Context<'_>, alg: Alg, claims: &Claims<'_>, rng: &mut impl RngCore) -> Made {
    let name = alg.name();
    let kid = KeySet::kid(alg);
    let standard = mint::header_json(name, Some(kid), "");
    let (header, claims_json, made_alg, made_kid) = match rng::below(rng, 4) {
        // a duplicate member (RFC 7515 §5.2 lets us reject it)
        0 => (
            format!("{{\"alg\":\"{name}\",\"alg\":\"{name}\"}}"),
            claims.to_json(),
            Some(name),
            None,
        ),
        // claims cut off mid-object
        1 => {
            let cut = format!("{{\"iss\":{},\"exp\":", mint::json_string(claims.iss));
            (standard, cut, Some(name), Some(kid))
        }
        // a registered claim of the wrong type
        2 => {
            let wrong = claims.to_json().replacen(
                &format!("\"exp\":{},", claims.exp),
                "\"exp\":\"tomorrow\",",
                1,
            );
            (standard, wrong, Some(name), Some(kid))
        }
        // no alg at all
        _ => {
            let header = format!("{{\"typ\":\"JWT\",\"kid\":{}}}", mint::json_string(kid));
            (header, claims.to_json(), None, Some(kid))
        }
    };
    let text = mint::sign(ctx.keys, alg, &header, &claims_json);
    Made {
        text,
        alg: made_alg.map(str::to_owned),
        kid: made_kid.map(str::to_owned),
    }
}

/// A JWE in compact form: five segments, random after the header.
fn encrypted_jwe(rng: &mut impl RngCore) -> Made {
    let header = r#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#;
    let ciphertext_len = 16 + rng::index(rng, 200);
    let mut text = mint::b64url(header.as_bytes());
    for len in [256, 12, ciphertext_len, 16] {
        let mut bytes = vec![0; len];
        rng.fill_bytes(&mut bytes);
        text.push('.');
        text.push_str(&mint::b64url(&bytes));
    }
    Made::new(text, "RSA-OAEP", None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::keys::tests::test_keys;

    fn context() -> Context<'static> {
        Context {
            keys: test_keys(),
            seed: 9,
            issuer: "https://issuer.example",
            audience: "api",
        }
    }

    fn plan(verdict: Verdict, alg: Alg) -> TokenPlan {
        TokenPlan {
            verdict,
            alg,
            first_use: 1_800_000_000,
            last_use: 1_800_001_000,
        }
    }

    fn segments(text: &str) -> Vec<Vec<u8>> {
        let decode = |s: &str| base64_simd::URL_SAFE_NO_PAD.decode_to_vec(s).unwrap();
        text.split('.').map(decode).collect()
    }

    fn claims_of(text: &str) -> serde_json::Value {
        serde_json::from_slice(&segments(text)[1]).unwrap()
    }

    #[test]
    fn time_claims_keep_their_margins() {
        let ctx = context();
        let p = plan(Verdict::Valid, Alg::Hs256);
        for i in 0..20 {
            let c = claims_of(&craft(&ctx, i, &p).text);
            assert!(c["nbf"].as_i64().unwrap() <= p.first_use - MARGIN_SECS);
            assert!(c["exp"].as_i64().unwrap() >= p.last_use + MARGIN_SECS);

            let e = claims_of(&craft(&ctx, i, &plan(Verdict::Expired, Alg::Hs256)).text);
            assert!(e["exp"].as_i64().unwrap() + 600 < p.first_use);

            let n = claims_of(&craft(&ctx, i, &plan(Verdict::NotYetValid, Alg::Hs256)).text);
            assert!(n["nbf"].as_i64().unwrap() - 600 > p.last_use);
        }
    }

    #[test]
    fn every_verdict_starts_with_ey_and_has_its_shape() {
        let ctx = context();
        for verdict in Verdict::ALL {
            for i in 0..8 {
                let made = craft(&ctx, i, &plan(verdict, Alg::Es256));
                let text = &made.text;
                assert!(text.starts_with("eyJ"), "{verdict}: {text}");
                let parts = text.split('.').count();
                assert_eq!(
                    parts,
                    if verdict == Verdict::EncryptedJwe {
                        5
                    } else {
                        3
                    }
                );
                assert!(made.expected.contains(verdict.name()));
                assert!(text.split('.').nth(1).unwrap().starts_with("eyJ") || parts == 5);
            }
        }
    }

    #[test]
    fn alg_none_has_an_empty_signature() {
        let made = craft(&context(), 0, &plan(Verdict::AlgNone, Alg::Hs256));
        assert!(made.text.ends_with('.'));
    }

    #[test]
    fn bad_signature_differs_from_the_good_one_in_one_byte() {
        let ctx = context();
        for alg in [Alg::Hs256, Alg::Es256, Alg::EdDsa] {
            let bad = craft(&ctx, 3, &plan(Verdict::BadSignature, alg)).text;
            let (input, _) = bad.rsplit_once('.').unwrap();
            let parts = segments(&bad);
            let good = ctx.keys.sign(alg, input.as_bytes());
            let diff = good.iter().zip(&parts[2]).filter(|(a, b)| a != b).count();
            assert_eq!((good.len(), diff), (parts[2].len(), 1), "{alg}");
        }
    }

    #[test]
    fn wrong_claims_miss_the_expected_values() {
        let ctx = context();
        for i in 0..12 {
            let c = claims_of(&craft(&ctx, i, &plan(Verdict::WrongIssuer, Alg::Hs256)).text);
            assert_ne!(c["iss"], "https://issuer.example");
            let c = claims_of(&craft(&ctx, i, &plan(Verdict::WrongAudience, Alg::Hs256)).text);
            let aud = &c["aud"];
            assert!(aud != "api" && !aud.as_array().is_some_and(|a| a.contains(&"api".into())));
        }
    }

    #[test]
    fn crit_names_members_of_the_header() {
        let ctx = context();
        for i in 0..8 {
            let text = craft(&ctx, i, &plan(Verdict::UnsupportedCrit, Alg::Hs384)).text;
            let header: serde_json::Value = serde_json::from_slice(&segments(&text)[0]).unwrap();
            for name in header["crit"].as_array().unwrap() {
                assert!(header.get(name.as_str().unwrap()).is_some());
            }
        }
    }
}
