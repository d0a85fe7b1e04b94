//! End-to-end tests: the real binary on real files.
//!
//! A corpus is minted once per test binary with `jwtsweep generate` (every
//! verdict, every algorithm, both log formats, every carrier), then scanned
//! through every path: mmap and read, one thread and many, tiny chunks and
//! large, cache on and off, a file and stdin. Each must give exactly the
//! verdicts the generator intended, and identical output.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_jwtsweep");

/// Every verdict the generator can intend.
const ALL_VERDICTS: &str = "valid=30,expired=6,not_yet_valid=6,bad_signature=6,unknown_key=6,\
alg_none=6,unsupported_alg=6,unsupported_crit=6,malformed=6,encrypted_jwe=6,wrong_issuer=6,\
wrong_audience=6";

fn run(args: &[&str], dir: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The shared corpus: a temp dir holding access.log, keys/, expected.jsonl.
fn corpus() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let o = run(
            &[
                "generate",
                "--out",
                ".",
                "--seed",
                "11",
                "--lines",
                "1500",
                "--distinct",
                "240",
                "--mix",
                ALL_VERDICTS,
                "--format",
                "mixed",
                "--noise",
                "0.1",
            ],
            dir.path(),
        );
        assert!(o.status.success(), "generate failed: {}", stderr(&o));
        dir
    })
    .path()
}

/// The flags the generator says make its verdicts hold.
fn manifest_flags(dir: &Path) -> Vec<String> {
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let flags = manifest["scan_flags"]
        .as_array()
        .expect("scan_flags in manifest");
    flags
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect()
}

fn read_jsonl(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Scans the corpus with extra flags; returns (exit code, JSON report,
/// occurrences file text).
/// The JSON report of a scan of the generated corpus that writes no
/// occurrences (mapped files then take the chunk-queue path).
fn scan_corpus_report(extra: &[&str]) -> Value {
    let dir = corpus();
    let mut args: Vec<String> = vec!["scan".into(), "--format".into(), "json".into()];
    args.extend(manifest_flags(dir));
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push("access.log".into());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = run(&refs, dir);
    serde_json::from_str(&stdout(&o))
        .unwrap_or_else(|e| panic!("report is not JSON ({e}): {}\n{}", stdout(&o), stderr(&o)))
}

fn scan_corpus(extra: &[&str], name: &str) -> (i32, Value, String) {
    let dir = corpus();
    let tokens = dir.join(format!("{name}.jsonl"));
    let mut args: Vec<String> = vec!["scan".into(), "--format".into(), "json".into()];
    args.extend(manifest_flags(dir));
    args.extend(["--tokens".into(), tokens.display().to_string()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    if !extra.contains(&"-") {
        args.push("access.log".into());
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = if extra.contains(&"-") {
        let mut child = Command::new(BIN)
            .args(&refs)
            .current_dir(dir)
            .stdin(std::fs::File::open(dir.join("access.log")).unwrap())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let _ = child.stdin.take();
        child.wait_with_output().unwrap()
    } else {
        run(&refs, dir)
    };
    let report: Value = serde_json::from_str(&stdout(&o))
        .unwrap_or_else(|e| panic!("report is not JSON ({e}): {}\n{}", stdout(&o), stderr(&o)));
    let text = std::fs::read_to_string(&tokens).unwrap();
    (o.status.code().unwrap(), report, text)
}

/// The report without what legitimately differs between runs of the same
/// input (timing, cache counters, file label, scan start).
fn comparable(mut report: Value) -> Value {
    let obj = report.as_object_mut().unwrap();
    obj.remove("duration_secs");
    obj.remove("cache");
    report["settings"]["at"] = Value::Null;
    report
}

#[test]
fn every_occurrence_gets_the_intended_verdict() {
    let (code, report, _) = scan_corpus(&[], "intended");
    assert_eq!(code, 1, "some tokens are not valid");
    let got = read_jsonl(&corpus().join("intended.jsonl"));
    let expected = read_jsonl(&corpus().join("expected.jsonl"));
    assert_eq!(
        got.len(),
        expected.len(),
        "one occurrence per token-bearing line"
    );

    let mut wrong = Vec::new();
    let mut seen = BTreeMap::<String, usize>::new();
    for (g, e) in got.iter().zip(&expected) {
        *seen
            .entry(e["verdict"].as_str().unwrap().into())
            .or_default() += 1;
        let same = g["line"] == e["line"]
            && g["verdict"] == e["verdict"]
            && g["token_sha256"] == e["token_sha256"];
        if !same {
            wrong.push(format!(
                "line {}: want {} got {} ({})",
                e["line"], e["verdict"], g["verdict"], g["reason"]
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong verdicts:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert_eq!(
        seen.len(),
        12,
        "the corpus exercises every verdict: {seen:?}"
    );

    // Distinct tokens per verdict, from the generator's own account.
    let mut distinct = BTreeMap::<String, std::collections::BTreeSet<String>>::new();
    for e in &expected {
        let tokens = distinct
            .entry(e["verdict"].as_str().unwrap().to_string())
            .or_default();
        tokens.insert(e["token_sha256"].as_str().unwrap().to_string());
    }
    for (verdict, tokens) in &distinct {
        assert_eq!(
            report["distinct_per_verdict"][verdict].as_u64(),
            Some(tokens.len() as u64),
            "distinct tokens with verdict {verdict}"
        );
    }
    assert_eq!(
        report["totals"]["tokens"].as_u64().unwrap() as usize,
        expected.len()
    );
    let lines = std::fs::read_to_string(corpus().join("access.log"))
        .unwrap()
        .lines()
        .count();
    assert_eq!(report["totals"]["lines"].as_u64().unwrap() as usize, lines);
}

#[test]
fn every_path_gives_identical_output() {
    let (_, base_report, base_tokens) = scan_corpus(&["--mmap", "never", "-j", "1"], "base");
    let base_report = comparable(base_report);
    assert!(!base_tokens.is_empty());
    let variants: [&[&str]; 6] = [
        &["--mmap", "always", "-j", "1"],
        &["--mmap", "always", "-j", "4"],
        &["--mmap", "never", "-j", "3", "--chunk-bytes", "700"],
        &[
            "--mmap",
            "always",
            "-j",
            "2",
            "--chunk-bytes",
            "1",
            "--cache-mib",
            "0",
        ],
        &["--mmap", "auto", "--cache-mib", "0"],
        &["-j", "2", "--chunk-bytes", "4096", "-"],
    ];
    // without occurrences to write, a mapped file's chunks come from a
    // queue; the report must not change
    let queued: [&[&str]; 3] = [
        &["--mmap", "always", "-j", "1"],
        &["--mmap", "always", "-j", "3", "--chunk-bytes", "700"],
        &[
            "--mmap",
            "always",
            "-j",
            "2",
            "--chunk-bytes",
            "1",
            "--cache-mib",
            "0",
        ],
    ];
    for extra in queued {
        let report = comparable(scan_corpus_report(extra));
        assert!(
            report == base_report,
            "report differs with {extra:?}: {report}"
        );
    }
    for (i, extra) in variants.iter().enumerate() {
        let (_, report, tokens) = scan_corpus(extra, &format!("variant{i}"));
        let tokens = if extra.contains(&"-") {
            tokens.replace("\"file\":\"-\"", "\"file\":\"access.log\"")
        } else {
            tokens
        };
        assert!(tokens == base_tokens, "occurrences differ with {extra:?}");
        let mut report = comparable(report);
        if extra.contains(&"-") {
            // The stdin input has another label only.
            let text = report
                .to_string()
                .replace("\"file\":\"-\"", "\"file\":\"access.log\"");
            report = serde_json::from_str(&text).unwrap();
        }
        assert!(
            report == base_report,
            "report differs with {extra:?}: {report}"
        );
    }
}

#[test]
fn cache_counts_hits_and_can_be_disabled() {
    let (_, on, _) = scan_corpus(&["-j", "1"], "cache_on");
    let (_, off, _) = scan_corpus(&["-j", "1", "--cache-mib", "0"], "cache_off");
    let tokens = on["totals"]["tokens"].as_u64().unwrap();
    let distinct = on["totals"]["distinct_tokens"].as_u64().unwrap();
    assert!(distinct < tokens);
    // Every distinct token is checked at least once; cheap (HMAC) tokens
    // enter the cache at their second sighting, so are checked twice when
    // seen more than once (more if the doorkeeper's slot was taken).
    let (hits, misses) = (
        on["cache"]["hits"].as_u64().unwrap(),
        on["cache"]["misses"].as_u64().unwrap(),
    );
    assert_eq!(hits + misses, tokens);
    assert!(misses >= distinct, "{misses} checks of {distinct} tokens");
    assert!(hits >= (tokens - distinct) / 2, "{hits} hits");
    assert_eq!(off["cache"]["misses"].as_u64().unwrap(), tokens);
    assert_eq!(off["cache"]["hits"].as_u64().unwrap(), 0);
}

#[test]
fn tokens_stay_out_of_output_unless_asked() {
    let dir = corpus();
    let log = std::fs::read_to_string(dir.join("access.log")).unwrap();
    let expected = read_jsonl(&dir.join("expected.jsonl"));
    let line_no = expected[0]["line"].as_u64().unwrap() as usize;
    let line = log.lines().nth(line_no - 1).unwrap();
    // The longest base64url-and-dots run on the line is its token.
    let token = line
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
        .max_by_key(|s| s.len())
        .unwrap();
    assert!(token.matches('.').count() >= 2);

    let (_, report, tokens) = scan_corpus(&[], "hidden");
    assert!(!tokens.contains(token) && !report.to_string().contains(token));
    let (_, _, shown) = scan_corpus(&["--show-tokens"], "shown");
    assert!(shown.contains(token));
    let text = run(
        &[
            "scan",
            "--debug",
            "--secret",
            "keys/hs.secret",
            "access.log",
        ],
        dir,
    );
    assert!(!stdout(&text).contains(token) && !stderr(&text).contains(token));
    let secret = std::fs::read(dir.join("keys/hs.secret")).unwrap();
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    assert!(!stderr(&text).contains(&hex));
    assert!(
        stderr(&text).contains("debug: threads"),
        "{}",
        stderr(&text)
    );
}

/// A scratch directory with the corpus keys and a hand-made log.
fn scratch(log: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let keys = corpus().join("keys");
    std::fs::create_dir(dir.path().join("keys")).unwrap();
    for entry in std::fs::read_dir(&keys).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(
            entry.path(),
            dir.path().join("keys").join(entry.file_name()),
        )
        .unwrap();
    }
    let path = dir.path().join("test.log");
    std::fs::write(&path, log).unwrap();
    (dir, path)
}

/// A valid HS256 token from the corpus, with the line it came from.
fn valid_hs256() -> String {
    let dir = corpus();
    let log = std::fs::read_to_string(dir.join("access.log")).unwrap();
    let expected = read_jsonl(&dir.join("expected.jsonl"));
    let e = expected
        .iter()
        .find(|e| e["verdict"] == "valid" && e["alg"] == "HS256")
        .expect("a valid HS256 token in the corpus");
    let line = log
        .lines()
        .nth(e["line"].as_u64().unwrap() as usize - 1)
        .unwrap();
    line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
        .find(|s| s.starts_with("eyJ") && s.matches('.').count() == 2)
        .unwrap()
        .to_string()
}

fn verdicts(tokens_file: &Path) -> Vec<(u64, u64, String)> {
    read_jsonl(tokens_file)
        .iter()
        .map(|v| {
            (
                v["line"].as_u64().unwrap(),
                v["offset"].as_u64().unwrap(),
                v["verdict"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn awkward_lines_lose_nothing() {
    let t = valid_hs256();
    let at = (claims_of(&t)["nbf"].as_f64().unwrap() + 120.0).to_string();
    let at = at.as_str();
    let long = "x".repeat(300_000);
    let mut log = Vec::new();
    log.extend_from_slice(format!("crlf Bearer {t}\r\n").as_bytes());
    log.extend_from_slice(b"\xff\xfe not utf-8 \xc3\x28 ");
    log.extend_from_slice(format!("token={t};\n").as_bytes());
    log.extend_from_slice(format!("{long} \"{t}\" {long}\n").as_bytes());
    log.extend_from_slice(format!("{{\"jwt\":\"{t}\"}}\n").as_bytes());
    log.extend_from_slice(format!("last line, no newline {t}").as_bytes());
    let (dir, path) = scratch(&log);
    for mmap in ["always", "never"] {
        let out = dir.path().join(format!("{mmap}.jsonl"));
        let o = run(
            &[
                "scan",
                "--jwks",
                "keys/jwks.json",
                "--at",
                at,
                "--mmap",
                mmap,
                "--chunk-bytes",
                "1000",
                "--tokens",
                out.to_str().unwrap(),
                path.to_str().unwrap(),
            ],
            dir.path(),
        );
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let got = verdicts(&out);
        let lines: Vec<u64> = got.iter().map(|g| g.0).collect();
        assert_eq!(lines, [1, 2, 3, 4, 5], "{mmap}");
        assert_eq!(got[0].1, 12);
        assert_eq!(got[2].1, 300_002);
        assert!(got.iter().all(|g| g.2 == "valid"), "{got:?}");
    }
}

#[test]
fn exit_codes_and_unreadable_inputs() {
    let t = valid_hs256();
    let (dir, path) = scratch(format!("[03/Dec/2026:10:00:00 +0000] Bearer {t}\n").as_bytes());
    let log = path.to_str().unwrap();
    let keys = ["--jwks", "keys/jwks.json"];

    // Valid at a time inside its lifetime → 0; long after → 1.
    let claims = claims_of(&t);
    let inside = (claims["nbf"].as_f64().unwrap() + 120.0).to_string();
    let o = run(
        &["scan", keys[0], keys[1], "--at", &inside, log],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let o = run(
        &[
            "scan",
            keys[0],
            keys[1],
            "--at",
            "2099-01-01T00:00:00Z",
            log,
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1));

    // No tokens at all → 0.
    let empty = dir.path().join("empty.log");
    std::fs::write(&empty, "nothing here\n").unwrap();
    let o = run(&["scan", empty.to_str().unwrap()], dir.path());
    assert_eq!(o.status.code(), Some(0));

    // A missing input and an input that fails mid-read are reported by
    // name; the other input is still counted; exit 2.
    let missing = dir.path().join("missing.log");
    let o = run(
        &[
            "scan",
            keys[0],
            keys[1],
            "--at",
            &inside,
            "--format",
            "json",
            missing.to_str().unwrap(),
            log,
            "/proc/self/mem",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("missing.log"), "{}", stderr(&o));
    assert!(stderr(&o).contains("/proc/self/mem"), "{}", stderr(&o));
    let report: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(report["totals"]["tokens"], 1);
    assert_eq!(report["verdicts"]["valid"], 1);
    assert_eq!(report["errors"].as_array().unwrap().len(), 2);
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64_simd::URL_SAFE_NO_PAD.decode_to_vec(payload).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
fn bad_flags_and_key_files_name_the_culprit() {
    let (dir, path) = scratch(b"x\n");
    let log = path.to_str().unwrap();
    std::fs::write(dir.path().join("garbage.pem"), "not a key").unwrap();
    std::fs::write(
        dir.path().join("bad.json"),
        "{\"keys\":[{\"kty\":\"RSA\"}]}",
    )
    .unwrap();
    let cases: [(&[&str], &str); 7] = [
        (&["--key", "garbage.pem"], "garbage.pem"),
        (&["--jwks", "bad.json"], "bad.json"),
        (&["--secret", "nope.secret"], "nope.secret"),
        (&["--at", "yesterday"], "--at"),
        (&["--algs", "HS256,none"], "--algs"),
        (&["--algs", "XS1"], "--algs"),
        (&["--leeway=-5"], "--leeway"),
    ];
    for (flags, culprit) in cases {
        let mut args = vec!["scan"];
        args.extend_from_slice(flags);
        args.push(log);
        let o = run(&args, dir.path());
        assert_eq!(o.status.code(), Some(2), "{flags:?}");
        assert!(stderr(&o).contains(culprit), "{flags:?}: {}", stderr(&o));
    }
    // The private key is never echoed when a private PEM is given as --key.
    let private = std::fs::read_to_string(dir.path().join("keys/rsa.private.pem")).unwrap();
    let o = run(&["scan", "--key", "keys/rsa.private.pem", log], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("public key"), "{}", stderr(&o));
    let body: String = private.lines().nth(1).unwrap().to_string();
    assert!(!stderr(&o).contains(&body));
}

#[test]
fn key_confusion_and_kid_rules() {
    use jwtsweep::generate::{assemble, b64url, header_json};

    let (dir, _) = scratch(b"");
    // RS→HS confusion: an HS256 token whose MAC key is the RSA public PEM.
    let pem = std::fs::read(dir.path().join("keys/rsa.pem")).unwrap();
    let claims = r#"{"sub":"attacker","exp":4102444800}"#;
    let header = header_json("HS256", None, "");
    let input = format!(
        "{}.{}",
        b64url(header.as_bytes()),
        b64url(claims.as_bytes())
    );
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &pem);
    let tag = ring::hmac::sign(&key, input.as_bytes());
    let forged = assemble(&header, claims, tag.as_ref());
    // kid naming an RSA key on an HS token.
    let header = header_json("HS256", Some("kid-rsa"), "");
    let input = format!(
        "{}.{}",
        b64url(header.as_bytes()),
        b64url(claims.as_bytes())
    );
    let wrong_kid = assemble(
        &header,
        claims,
        ring::hmac::sign(&key, input.as_bytes()).as_ref(),
    );

    let log = format!("Bearer {forged}\nBearer {wrong_kid}\n");
    std::fs::write(dir.path().join("c.log"), log).unwrap();
    let out = dir.path().join("c.jsonl");
    let o = run(
        &[
            "scan",
            "--key",
            "kid-rsa=keys/rsa.pem",
            "--tokens",
            out.to_str().unwrap(),
            "c.log",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let got = read_jsonl(&out);
    assert_eq!(got[0]["verdict"], "unknown_key");
    assert_eq!(got[0]["reason"], "no configured key verifies this alg");
    assert_eq!(got[1]["verdict"], "unknown_key");
    assert_eq!(
        got[1]["reason"],
        "kid names a key whose type cannot verify this alg"
    );
}
