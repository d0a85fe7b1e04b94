//! Criterion benches, one group per pipeline stage, with throughput units:
//! find (bytes), parse (tokens), verify per algorithm next to its floor
//! (the bare backend call with a prepared key), check (a distinct token,
//! end to end), judge and aggregate (occurrences), and whole scans of an
//! in-memory log with and without token reuse.
//!
//! Run with `cargo bench --bench stages`; `-- find` runs one group.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use jwtsweep::alg::Alg;
use jwtsweep::find::Finder;
use jwtsweep::generate::{self, Claims, KeySet};
use jwtsweep::judge::Policy;
use jwtsweep::keys::{Keyring, PreparedKey};
use jwtsweep::report::{Report, TokenIds, VerdictCounts};
use jwtsweep::scan::{scan_bytes, ScanConfig, TimeRule};
use jwtsweep::token::{self, Scratch};
use jwtsweep::verify;

/// 2026-12-03T10:00:00Z: every minted token is valid then.
const NOW: i64 = 1_796_292_000;

struct Fixture {
    keys: KeySet,
    keyring: Keyring,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: std::sync::OnceLock<Fixture> = std::sync::OnceLock::new();
    FIXTURE.get_or_init(|| {
        let keys = KeySet::generate(5);
        let mut keyring = Keyring::new();
        for (i, jwk) in keys.jwks()["keys"].as_array().unwrap().iter().enumerate() {
            let key = PreparedKey::from_jwk(&format!("bench#{i}"), jwk)
                .unwrap()
                .unwrap();
            keyring.add(key);
        }
        Fixture { keys, keyring }
    })
}

/// `n` distinct tokens signed with `alg`, each a realistic size.
fn tokens(alg: Alg, n: usize) -> Vec<String> {
    let f = fixture();
    (0..n)
        .map(|i| {
            let sub = format!("user-{i}");
            let jti = format!("{:016x}", i as u64 * 0x9E37_79B9);
            let claims = Claims {
                iss: "https://issuer.example",
                sub: &sub,
                aud: &["api"],
                aud_as_array: false,
                iat: NOW - 600,
                nbf: NOW - 600,
                exp: NOW + 3000,
                jti: &jti,
            };
            generate::mint(&f.keys, alg, "", &claims.to_json())
        })
        .collect()
}

/// An access log of `lines` lines in combined format carrying `tokens`
/// round-robin after `Bearer`.
fn log(tokens: &[String], lines: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..lines {
        let t = &tokens[i % tokens.len()];
        let line = format!(
            "203.0.113.{} - - [03/Dec/2026:10:{:02}:{:02} +0000] \"GET /api/orders/{i} HTTP/1.1\" \
             200 512 \"-\" \"Mozilla/5.0 (X11; Linux x86_64) Firefox/126.0\" \"Bearer {t}\"\n",
            i % 250,
            (i / 60) % 60,
            i % 60
        );
        out.extend_from_slice(line.as_bytes());
    }
    out
}

fn find(c: &mut Criterion) {
    let data = log(&tokens(Alg::Hs256, 200), 5_000);
    let plain: Vec<u8> = String::from_utf8_lossy(&data)
        .lines()
        .map(|l| l.split("\"Bearer").next().unwrap().to_string() + "\n")
        .collect::<String>()
        .into_bytes();
    let finder = Finder::new();
    let mut group = c.benchmark_group("find");
    for (name, bytes) in [("log_with_tokens", &data), ("log_without_tokens", &plain)] {
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        let mut out = Vec::new();
        group.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                finder.find_all(black_box(bytes), &mut out);
                out.len()
            })
        });
    }
    group.finish();
}

fn parse(c: &mut Criterion) {
    let tokens = tokens(Alg::Hs256, 1_000);
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Elements(tokens.len() as u64));
    let mut scratch = Scratch::new();
    group.bench_function("hs256_header_claims_signature", |b| {
        b.iter(|| {
            for t in &tokens {
                let segments = token::split(t.as_bytes()).unwrap();
                black_box(token::parse(&segments, &mut scratch).unwrap());
            }
        })
    });
    let claims: Vec<Vec<u8>> = tokens
        .iter()
        .map(|t| {
            let segments = token::split(t.as_bytes()).unwrap();
            let mut out = Vec::new();
            assert!(token::decode_into(segments.payload, &mut out));
            out
        })
        .collect();
    let mut reader = jwtsweep::json::Reader::new();
    group.bench_function("claims_json_only", |b| {
        b.iter(|| {
            let mut n = 0;
            for text in &claims {
                reader.read_object(black_box(text), |_, _| n += 1).unwrap();
            }
            n
        })
    });
    let mut out = Vec::new();
    group.bench_function("base64_payload_only", |b| {
        b.iter(|| {
            for t in &tokens {
                let segments = token::split(t.as_bytes()).unwrap();
                assert!(token::decode_into(black_box(segments.payload), &mut out));
            }
        })
    });
    group.finish();
}

fn verify_stage(c: &mut Criterion) {
    let f = fixture();
    let mut group = c.benchmark_group("verify");
    for alg in [
        Alg::Hs256,
        Alg::Hs384,
        Alg::Hs512,
        Alg::Rs256,
        Alg::Ps256,
        Alg::Es256,
        Alg::Es384,
        Alg::Es512,
        Alg::EdDsa,
    ] {
        let ts = tokens(alg, 64);
        let parts: Vec<(Vec<u8>, Vec<u8>)> = ts
            .iter()
            .map(|t| {
                let s = token::split(t.as_bytes()).unwrap();
                let mut sig = Vec::new();
                assert!(token::decode_into(s.signature, &mut sig));
                (s.signing_input.to_vec(), sig)
            })
            .collect();
        let key = match f.keyring.candidates(alg, Some(KeySet::kid(alg))) {
            jwtsweep::keys::Candidates::Keys(keys) => keys.first().expect("a key"),
            other => panic!("no key for {alg}: {other:?}"),
        };
        group.throughput(Throughput::Elements(parts.len() as u64));
        group.bench_function(format!("{}_prepared_key", alg.name()), |b| {
            b.iter(|| {
                for (input, sig) in &parts {
                    assert!(verify::verify_signature(key, alg, black_box(input), sig));
                }
            })
        });
        if alg == Alg::Hs256 {
            // ring's HMAC with a prepared key and nothing else, beside the
            // sha2-based one shipped (src/hmac.rs), the row above
            let secret = f.keys.hmac_secret();
            let prepared = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
            group.bench_function("HS256_ring_hmac", |b| {
                b.iter(|| {
                    for (input, sig) in &parts {
                        assert!(ring::hmac::verify(&prepared, black_box(input), sig).is_ok());
                    }
                })
            });
        }
    }
    group.finish();
}

fn check(c: &mut Criterion) {
    let f = fixture();
    let policy = Policy::default();
    let mut group = c.benchmark_group("check");
    for alg in [Alg::Hs256, Alg::Rs256, Alg::Es256, Alg::EdDsa] {
        let ts = tokens(alg, if alg == Alg::Hs256 { 1_000 } else { 64 });
        group.throughput(Throughput::Elements(ts.len() as u64));
        let mut scratch = Scratch::new();
        group.bench_function(format!("{}_distinct_token", alg.name()), |b| {
            b.iter(|| {
                for t in &ts {
                    let checked = verify::check(t.as_bytes(), &f.keyring, &policy, &mut scratch);
                    assert!(checked.before_time.is_none());
                }
            })
        });
    }
    group.finish();
}

fn judge_and_aggregate(c: &mut Criterion) {
    let f = fixture();
    let policy = Policy::default();
    let ts = tokens(Alg::Hs256, 100);
    let checked: Vec<Arc<verify::Checked>> = ts
        .iter()
        .map(|t| {
            Arc::new(verify::check(
                t.as_bytes(),
                &f.keyring,
                &policy,
                &mut Scratch::new(),
            ))
        })
        .collect();
    let mut group = c.benchmark_group("judge");
    group.throughput(Throughput::Elements(checked.len() as u64));
    group.bench_function("time_claims_per_occurrence", |b| {
        b.iter(|| {
            for (i, c) in checked.iter().enumerate() {
                black_box(policy.judge(c, (NOW + i as i64) as f64));
            }
        })
    });
    group.finish();

    let ids = TokenIds::new();
    let mut group = c.benchmark_group("aggregate");
    group.throughput(Throughput::Elements(checked.len() as u64));
    group.bench_function("report_add", |b| {
        b.iter_batched(
            Report::new,
            |mut report| {
                for (c, t) in checked.iter().zip(&ts) {
                    report.add(
                        c,
                        ids.id(t.as_bytes()),
                        jwtsweep::Verdict::Valid,
                        jwtsweep::find::Carrier::Bearer,
                    );
                }
                report
            },
            BatchSize::SmallInput,
        )
    });
    let parts: Vec<Report> = (0..8)
        .map(|k| {
            let mut r = Report::new();
            for (c, t) in checked.iter().zip(&ts).skip(k).step_by(8) {
                let mut counts = VerdictCounts::default();
                counts.add(jwtsweep::Verdict::Valid);
                r.add_breakdowns(c, &counts);
                r.add_distinct(ids.id(t.as_bytes()));
            }
            r
        })
        .collect();
    group.throughput(Throughput::Elements(parts.len() as u64));
    group.bench_function("report_merge", |b| {
        b.iter_batched(
            || parts.clone(),
            |parts| {
                let mut whole = Report::new();
                for p in parts {
                    whole.merge(p);
                }
                whole
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn scan(c: &mut Criterion) {
    let f = fixture();
    let mut group = c.benchmark_group("scan");
    group.sample_size(10);
    for (name, distinct, lines) in [
        ("hs256_no_reuse", 20_000, 20_000),
        ("hs256_reuse_50", 400, 20_000),
    ] {
        let data = log(&tokens(Alg::Hs256, distinct), lines);
        let mut keyring = Keyring::new();
        for (i, jwk) in f.keys.jwks()["keys"].as_array().unwrap().iter().enumerate() {
            keyring.add(
                PreparedKey::from_jwk(&format!("bench#{i}"), jwk)
                    .unwrap()
                    .unwrap(),
            );
        }
        let mut config =
            ScanConfig::new(keyring, Policy::default(), TimeRule::RequestTimeElse(0.0));
        config.threads = 1;
        group.throughput(Throughput::Elements(lines as u64));
        group.bench_function(format!("{name}_1_thread"), |b| {
            b.iter(|| {
                let report = scan_bytes(black_box(&data), "bench", &config, None).unwrap();
                assert_eq!(report.totals.tokens, lines as u64);
            })
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    find,
    parse,
    verify_stage,
    check,
    judge_and_aggregate,
    scan
);
criterion_main!(benches);
