//! Criterion benches of the crack engines, in candidate × token HMACs per
//! second on one thread, next to their floor: the bare `ring` HMAC-SHA256
//! of each token's signing input with one prepared key, and the obvious
//! way, `ring::hmac::Key::new` per candidate then `sign` per token.
//!
//! Tokens come from `JWTSWEEP_BENCH_TOKENS` (a file, one token per line;
//! `scripts/bench-crack.sh` sets it), else 20 HS256 tokens of the
//! generator's shape are minted here. None is signed with a candidate, so
//! every pair is computed.
//!
//! Run with `cargo bench --bench crack` once registered in Cargo.toml
//! (`[[bench]] name = "crack"`, `harness = false`).

// Until the bench is registered it builds under the test harness, which
// brings its own `main`: criterion's is then unused.
#![cfg_attr(test, allow(dead_code))]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use jwtsweep::generate::{assemble, b64url, header_json, Claims};
use jwtsweep::sweep::crack::wordlist::DEFAULT_WORDLIST;
use jwtsweep::sweep::crack::{crack_with, Backend, Candidates, CrackOptions, Target};

/// Candidates per iteration: the first lines of the embedded list.
const CANDIDATES: usize = 2048;

/// HS256 tokens of the generator's shape, signed with a secret in no list.
fn minted() -> Vec<String> {
    (0..20)
        .map(|i| {
            let header = header_json("HS256", Some("hs256-1"), "");
            let jti = format!("bench-{i:04}");
            let claims = Claims {
                iss: "https://issuer.example",
                sub: "user-12345",
                aud: &["api"],
                aud_as_array: false,
                iat: 1_796_290_000,
                nbf: 1_796_290_000,
                exp: 1_796_293_600,
                jti: &jti,
            }
            .to_json();
            let input = format!(
                "{}.{}",
                b64url(header.as_bytes()),
                b64url(claims.as_bytes())
            );
            let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"bench: not in any list");
            let tag = ring::hmac::sign(&key, input.as_bytes());
            assemble(&header, &claims, tag.as_ref())
        })
        .collect()
}

fn tokens() -> Vec<String> {
    match std::env::var_os("JWTSWEEP_BENCH_TOKENS").filter(|p| !p.is_empty()) {
        Some(path) => std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.to_string_lossy()))
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("eyJ"))
            .map(String::from)
            .collect(),
        None => minted(),
    }
}

/// The first `CANDIDATES` distinct lines of the embedded list.
fn candidates() -> Candidates {
    let mut candidates = Candidates::new();
    let mut end = 0;
    for _ in 0..CANDIDATES * 11 / 10 {
        end += memchr::memchr(b'\n', &DEFAULT_WORDLIST[end..]).map_or(0, |i| i + 1);
    }
    candidates.add_wordlist("bench", &DEFAULT_WORDLIST[..end]);
    candidates
}

fn crack_engines(c: &mut Criterion) {
    let tokens = tokens();
    let targets: Vec<Target> = tokens
        .iter()
        .filter_map(|t| Target::parse(t.as_bytes()).ok())
        .collect();
    let candidates = candidates();
    let secrets: Vec<&[u8]> = (0..candidates.len())
        .map(|i| candidates.secret(i))
        .collect();
    let inputs: Vec<(&[u8], Vec<u8>)> = tokens
        .iter()
        .filter_map(|t| {
            let (input, sig) = t.rsplit_once('.')?;
            let sig = base64_simd::URL_SAFE_NO_PAD.decode_to_vec(sig).ok()?;
            Some((input.as_bytes(), sig))
        })
        .collect();
    let pairs = (candidates.len() * targets.len()) as u64;

    let mut group = c.benchmark_group("crack");
    group.throughput(Throughput::Elements(pairs));
    group.sample_size(10);

    group.bench_function("floor_ring_prepared_key", |b| {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"one prepared key");
        b.iter(|| {
            let mut hits = 0;
            for _ in &secrets {
                for (input, sig) in &inputs {
                    hits += (ring::hmac::sign(&key, input).as_ref() == &sig[..]) as u32;
                }
            }
            black_box(hits)
        })
    });
    group.bench_function("ring_key_per_candidate", |b| {
        b.iter(|| {
            let mut hits = 0;
            for secret in &secrets {
                let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
                for (input, sig) in &inputs {
                    hits += (ring::hmac::sign(&key, input).as_ref() == &sig[..]) as u32;
                }
            }
            black_box(hits)
        })
    });
    for (name, backend) in [("portable", Backend::Portable), ("auto", Backend::Auto)] {
        let options = CrackOptions {
            threads: 1,
            backend,
        };
        group.bench_function(name, |b| {
            b.iter(|| black_box(crack_with(&targets, &candidates, &options).unwrap()))
        });
    }
    group.finish();
}

criterion_group!(benches, crack_engines);
criterion_main!(benches);
