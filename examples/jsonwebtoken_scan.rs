//! The baseline a user would otherwise write in Rust: find the tokens in a
//! log (with jwtsweep's finder, so only decoding is compared) and decode
//! every occurrence with the `jsonwebtoken` crate, keys picked by `kid`
//! from a JWK Set, validating exp, iss and aud. Single-threaded; prints
//! occurrences, valid count, seconds and occurrences per second as JSON.
//!
//! `cargo run --release --example jsonwebtoken_scan -- LOG JWKS ISSUER AUDIENCE`

use std::collections::HashMap;
use std::time::Instant;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, DecodingKey, Validation};
use jwtsweep::find::Finder;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, log, jwks, issuer, audience] = args.as_slice() else {
        eprintln!("usage: jsonwebtoken_scan LOG JWKS ISSUER AUDIENCE");
        std::process::exit(2);
    };
    let data = std::fs::read(log).expect("read log");
    let set: JwkSet = serde_json::from_slice(&std::fs::read(jwks).expect("read jwks")).unwrap();
    let keys: HashMap<String, DecodingKey> = set
        .keys
        .iter()
        .filter_map(|jwk| Some((jwk.common.key_id.clone()?, DecodingKey::from_jwk(jwk).ok()?)))
        .collect();

    let started = Instant::now();
    let mut found = Vec::new();
    Finder::new().find_all(&data, &mut found);
    let (mut valid, mut total) = (0u64, 0u64);
    for f in &found {
        total += 1;
        let Ok(token) = std::str::from_utf8(&data[f.start..f.end]) else {
            continue;
        };
        let Ok(header) = decode_header(token) else {
            continue;
        };
        let Some(key) = header.kid.as_ref().and_then(|kid| keys.get(kid)) else {
            continue;
        };
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        valid += decode::<serde_json::Value>(token, key, &validation).is_ok() as u64;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{{\"tool\":\"jsonwebtoken\",\"occurrences\":{total},\"valid\":{valid},\"secs\":{secs:.3},\"per_sec\":{:.0}}}",
        total as f64 / secs
    );
}
