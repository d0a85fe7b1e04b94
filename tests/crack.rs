//! End-to-end tests of `jwtsweep crack`: the real binary on real files.
//!
//! Tokens are minted here with `ring`: three signed with secrets from the
//! embedded list of known JWT secrets at known lines (one per HS
//! algorithm), three with strong random secrets that must never crack,
//! and tokens that are not HMAC tokens. Each test checks exactly which
//! tokens crack, what the report says about each, and that no token or
//! secret leaks unless asked for.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use jwtsweep::generate::{assemble, b64url, header_json};
use serde_json::Value;
use sha2::{Digest, Sha256};

const BIN: &str = env!("CARGO_BIN_EXE_jwtsweep");

/// The embedded list's name in reports.
const DEFAULT_LIST: &str = "jwt.secrets.list (embedded)";

/// Secrets of the embedded list at known lines (the first line holding
/// each; checked against the fixture by `planted_lines_are_right`).
const WEAK: [(&str, &str, u64); 3] = [
    ("HS256", "your-256-bit-secret", 31),
    ("HS384", "KASD;SALKD54S84D98AS7D9A8SD4A86SF4C6", 1000),
    ("HS512", "34213421", 50000),
];

/// `small.txt` holds the weak secrets at these lines, in `SMALL_LINES`
/// lines: more than two batches of candidates.
const SMALL: [u64; 3] = [7, 1100, 2400];
const SMALL_LINES: u64 = 2500;

/// Flags that test against `small.txt` only.
const SMALL_LIST: [&str; 3] = ["--no-default-wordlist", "--wordlist", "small.txt"];

/// Strong secrets: 32 bytes that no list holds.
fn strong_secret(n: u8) -> Vec<u8> {
    Sha256::digest([b"jwtsweep crack test strong secret ", &[n][..]].concat()).to_vec()
}

fn run(args: &[&str], dir: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> Value {
    serde_json::from_str(&stdout(o))
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", stdout(o), stderr(o)))
}

/// A token for `alg` whose HMAC key is `secret`.
fn mint(alg: &str, kid: Option<&str>, claims: &str, secret: &[u8]) -> String {
    let header = header_json(alg, kid, "");
    let input = format!(
        "{}.{}",
        b64url(header.as_bytes()),
        b64url(claims.as_bytes())
    );
    let algorithm = match alg {
        "HS256" => ring::hmac::HMAC_SHA256,
        "HS384" => ring::hmac::HMAC_SHA384,
        _ => ring::hmac::HMAC_SHA512,
    };
    let tag = ring::hmac::sign(&ring::hmac::Key::new(algorithm, secret), input.as_bytes());
    assemble(&header, claims, tag.as_ref())
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The test tokens and a log that carries them.
struct Corpus {
    dir: tempfile::TempDir,
    /// (alg, secret, line in the embedded list, token)
    weak: Vec<(&'static str, &'static str, u64, String)>,
    strong: Vec<String>,
}

impl Corpus {
    fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Mints the tokens once per test binary and writes `access.log`: each
/// weak token twice (first on lines 2, 3 and 4), each strong token once,
/// an RS256 token and an unsigned one.
fn corpus() -> &'static Corpus {
    static CORPUS: OnceLock<Corpus> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let weak: Vec<_> = WEAK
            .iter()
            .enumerate()
            .map(|(i, &(alg, secret, line))| {
                let claims = format!(r#"{{"iss":"https://weak.example/{i}","sub":"u{i}"}}"#);
                let kid = format!("weak-{i}");
                (
                    alg,
                    secret,
                    line,
                    mint(alg, Some(&kid), &claims, secret.as_bytes()),
                )
            })
            .collect();
        let strong: Vec<_> = ["HS256", "HS384", "HS512"]
            .iter()
            .enumerate()
            .map(|(i, alg)| {
                let claims = format!(r#"{{"iss":"https://strong.example","n":{i}}}"#);
                mint(alg, None, &claims, &strong_secret(i as u8))
            })
            .collect();
        let rs256 = assemble(&header_json("RS256", None, ""), "{}", &[1; 256]);
        let none = assemble(&header_json("none", None, ""), "{}", &[]);

        let mut log = String::from("GET /health HTTP/1.1\n");
        for (_, _, _, token) in &weak {
            log.push_str(&format!("GET /api Authorization: Bearer {token}\n"));
        }
        for token in &strong {
            log.push_str(&format!("GET /api?access_token={token} HTTP/1.1\r\n"));
        }
        log.push_str(&format!(
            "{{\"token\":\"{rs256}\"}}\n{{\"jwt\":\"{none}\"}}\n"
        ));
        for (_, _, _, token) in &weak {
            log.push_str(&format!("cookie: jwt={token}; path=/\n"));
        }
        std::fs::write(dir.path().join("access.log"), log).unwrap();

        // a short wordlist, so that most tests need not run the whole list
        let mut small = String::new();
        for line in 1..=SMALL_LINES {
            match SMALL.iter().position(|&at| at == line) {
                Some(i) => small.push_str(WEAK[i].1),
                None => small.push_str(&format!("filler-{line}")),
            }
            small.push_str("\r\n");
        }
        std::fs::write(dir.path().join("small.txt"), small).unwrap();
        Corpus { dir, weak, strong }
    })
}

/// The cracked entries of a JSON report, by fingerprint.
fn cracked(report: &Value) -> BTreeSet<String> {
    report["cracked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["token_sha256"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn planted_lines_are_right() {
    let list: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "fixtures/secrets/jwt.secrets.list",
    ]
    .iter()
    .collect();
    let text = std::fs::read(list).unwrap();
    let lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
    for (_, secret, line) in WEAK {
        let at = lines
            .iter()
            .position(|l| l.strip_suffix(b"\r").unwrap_or(l) == secret.as_bytes())
            .unwrap();
        assert_eq!(at as u64 + 1, line, "{secret}");
    }
}

#[test]
fn finds_exactly_the_planted_secrets() {
    let c = corpus();
    let o = run(&["crack", "--format", "json", "access.log"], c.path());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let report = json(&o);

    let want: BTreeSet<String> = c.weak.iter().map(|w| sha256_hex(&w.3)).collect();
    assert_eq!(cracked(&report), want);
    for (i, (alg, _, line, token)) in c.weak.iter().enumerate() {
        let entry = report["cracked"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["token_sha256"] == sha256_hex(token))
            .unwrap();
        assert_eq!(entry["alg"], *alg);
        assert_eq!(entry["kid"], format!("weak-{i}"));
        assert_eq!(entry["iss"], format!("https://weak.example/{i}"));
        assert_eq!(entry["occurrences"], 2);
        assert_eq!(entry["first_seen"], format!("access.log:{}", i + 2));
        assert_eq!(entry["kind"], "wordlist");
        assert_eq!(entry["source"], DEFAULT_LIST);
        assert_eq!(entry["source_line"], *line);
    }
    assert_eq!(report["tokens_tested"], 6);
    assert_eq!(report["skipped_not_hmac"], 2);
    assert_eq!(report["tokens_found"], 8);
    assert_eq!(report["occurrences"], 11);
    assert!(report["candidates"].as_u64().unwrap() > 100_000);
    assert_json_shape(&report);
    assert_no_leak(c, &o, "the whole list");
}

/// Neither a weak secret nor any token appears in the output.
fn assert_no_leak(c: &Corpus, o: &Output, what: &str) {
    let all = stdout(o) + &stderr(o);
    for (_, secret, _, token) in &c.weak {
        assert!(!all.contains(secret), "{what}: secret shown");
        assert!(!all.contains(token.as_str()), "{what}: token shown");
    }
    assert!(!all.contains("eyJ"), "{what}: token shown");
}

#[test]
fn secrets_and_tokens_stay_out_of_output_unless_asked() {
    let c = corpus();
    let with = |extra: &[&str]| {
        let mut args = vec!["crack", "access.log"];
        args.extend_from_slice(&SMALL_LIST);
        args.extend_from_slice(extra);
        run(&args, c.path())
    };
    let o = with(&[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("CRACKED 3 of 6 tokens"),
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("secret: line 1100 of small.txt"),
        "{}",
        stdout(&o)
    );
    assert_no_leak(c, &o, "text");

    // with --show-secrets, each secret beside its token's fingerprint
    let report = json(&with(&["--format", "json", "--show-secrets"]));
    for entry in report["cracked"].as_array().unwrap() {
        let (_, secret, _, _) = c
            .weak
            .iter()
            .find(|w| sha256_hex(&w.3) == entry["token_sha256"])
            .unwrap();
        assert_eq!(entry["secret"], *secret);
        assert_eq!(
            entry["secret_hex"].as_str().unwrap().len(),
            secret.len() * 2
        );
    }
    let text = stdout(&with(&["--show-secrets"]));
    for (_, secret, _, _) in &c.weak {
        assert!(text.contains(&format!("{secret:?}")), "{text}");
    }
    assert!(!text.contains("eyJ"));
}

/// The JSON report's members, and a cracked entry's without secrets.
fn assert_json_shape(report: &Value) {
    for key in [
        "schema_version",
        "cracked",
        "tokens_tested",
        "candidates",
        "duration_secs",
        "candidates_per_second",
        "candidates_per_second_per_thread",
        "hmacs",
        "threads",
        "engine",
        "sources",
        "errors",
    ] {
        assert!(report.get(key).is_some(), "missing {key}");
    }
    let entry = &report["cracked"][0];
    let mut keys: Vec<&str> = entry
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "alg",
            "first_seen",
            "iss",
            "key_form",
            "kid",
            "kind",
            "occurrences",
            "source",
            "source_line",
            "token_sha256"
        ]
    );
}

#[test]
fn engines_and_thread_counts_agree() {
    let c = corpus();
    let mut seen = None;
    for args in [
        &["-j", "1"][..],
        &["-j", "2"],
        &["-j", "3", "--engine", "portable"],
    ] {
        let mut all = vec!["crack", "--format", "json", "access.log"];
        all.extend_from_slice(&SMALL_LIST);
        all.extend_from_slice(args);
        let report = json(&run(&all, c.path()));
        let entries = report["cracked"].clone();
        let lines: Vec<&Value> = entries
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["source_line"])
            .collect();
        assert_eq!(lines, SMALL.iter().collect::<Vec<_>>(), "{args:?}");
        assert_eq!(seen.get_or_insert(entries.clone()), &entries, "{args:?}");
    }
}

#[test]
fn custom_wordlist_with_crlf_reports_its_own_lines() {
    let c = corpus();
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("mine.txt");
    // line 4 holds the HS256 weak secret, CRLF and all; line 6 is empty
    std::fs::write(
        &list,
        b"alpha\r\nbeta\r\n\r\nyour-256-bit-secret\r\n34213421 \r\n\r\ngamma",
    )
    .unwrap();
    let log = c.path().join("access.log");
    let (list_arg, log_arg) = (list.display().to_string(), log.display().to_string());
    let o = run(
        &[
            "crack",
            "--format",
            "json",
            "--no-default-wordlist",
            "--wordlist",
            &list_arg,
            &log_arg,
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let report = json(&o);
    assert_eq!(cracked(&report), BTreeSet::from([sha256_hex(&c.weak[0].3)]));
    let entry = &report["cracked"][0];
    assert_eq!(entry["source"], list_arg.as_str());
    assert_eq!(entry["source_line"], 4);
    // "34213421 " keeps its space: not the HS512 secret
    assert_eq!(report["candidates"], 5);

    // before the embedded list, a custom list is the one reported
    let o = run(
        &[
            "crack",
            "--format",
            "json",
            "--wordlist",
            &list_arg,
            &log_arg,
        ],
        dir.path(),
    );
    let report = json(&o);
    assert_eq!(report["cracked"].as_array().unwrap().len(), 3);
    let from_mine = report["cracked"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["source"] == list_arg.as_str())
        .count();
    assert_eq!(from_mine, 1);
    assert_eq!(report["sources"][0]["name"], list_arg.as_str());
    assert_eq!(report["sources"][1]["name"], DEFAULT_LIST);
}

/// A directory holding `keys/` from `jwtsweep generate`.
fn generated_keys() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let o = run(
            &["generate", "--out", ".", "--lines", "20", "--distinct", "5"],
            dir.path(),
        );
        assert!(o.status.success(), "{}", stderr(&o));
        dir
    })
    .path()
}

#[test]
fn rs_to_hs_confusion_is_found_through_the_public_key() {
    let dir = generated_keys();
    let pem = std::fs::read(dir.join("keys/rsa.pem")).unwrap();
    let trimmed = pem.strip_suffix(b"\n").unwrap();
    let jwks: Value =
        serde_json::from_slice(&std::fs::read(dir.join("keys/jwks.json")).unwrap()).unwrap();
    let rsa_jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kty"] == "RSA")
        .unwrap();
    let jwk_text = serde_json::to_vec(rsa_jwk).unwrap();

    let claims = r#"{"iss":"https://forged.example","sub":"admin"}"#;
    let forged = [
        mint("HS256", Some("rsa-1"), claims, &pem),
        mint("HS256", None, claims, trimmed),
        mint("HS512", None, claims, &jwk_text),
    ];
    let honest = mint("HS256", None, claims, &strong_secret(9));
    let list = dir.join("tokens.txt");
    let lines: Vec<&str> = forged
        .iter()
        .map(String::as_str)
        .chain([honest.as_str()])
        .collect();
    std::fs::write(&list, lines.join("\r\n")).unwrap();

    let o = run(
        &[
            "crack",
            "--format",
            "json",
            "--no-default-wordlist",
            "--key",
            "rsa-1=keys/rsa.pem",
            "--jwks",
            "keys/jwks.json",
            "--tokens-from",
            "tokens.txt",
        ],
        dir,
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let report = json(&o);
    let entries = report["cracked"].as_array().unwrap();
    assert_eq!(entries.len(), 3, "{report:#}");
    let forms: Vec<(&str, &str, &str)> = entries
        .iter()
        .map(|e| {
            assert_eq!(e["kind"], "public_key");
            assert_eq!(e["source_line"], Value::Null);
            (
                e["first_seen"].as_str().unwrap(),
                e["source"].as_str().unwrap(),
                e["key_form"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(forms[0], ("tokens.txt:1", "keys/rsa.pem", "pem"));
    assert_eq!(
        forms[1],
        ("tokens.txt:2", "keys/rsa.pem", "pem_without_final_newline")
    );
    assert_eq!(forms[2].0, "tokens.txt:3");
    assert!(forms[2].1.starts_with("keys/jwks.json#"), "{forms:?}");
    assert_eq!(forms[2].2, "jwk_json");

    let text = stdout(&run(
        &[
            "crack",
            "--no-default-wordlist",
            "--key",
            "keys/rsa.pem",
            "--tokens-from",
            "tokens.txt",
        ],
        dir,
    ));
    assert!(text.contains("RS->HS key confusion"), "{text}");
    assert!(!text.contains("BEGIN PUBLIC KEY"), "{text}");
}

#[test]
fn export_hashcat_holds_exactly_the_uncracked_tokens() {
    let c = corpus();
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("uncracked.txt");
    let log = c.path().join("access.log");
    let small = c.path().join("small.txt");
    let o = run(
        &[
            "crack",
            "--no-default-wordlist",
            "--wordlist",
            &small.display().to_string(),
            "--export-hashcat",
            &export.display().to_string(),
            &log.display().to_string(),
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let text = std::fs::read_to_string(&export).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let strong: Vec<&str> = c.strong.iter().map(String::as_str).collect();
    assert_eq!(lines, strong, "the strong tokens, in the order first seen");
}

#[test]
fn tokens_given_directly_are_counted_once() {
    let c = corpus();
    let dir = tempfile::tempdir().unwrap();
    let weak = &c.weak[0].3;
    std::fs::write(
        dir.path().join("list.txt"),
        format!("\r\n  {weak}\r\n{}\r\nnot a token\r\n", c.strong[0]),
    )
    .unwrap();
    let small = c.path().join("small.txt");
    let o = run(
        &[
            "crack",
            "--format",
            "json",
            "--no-default-wordlist",
            "--wordlist",
            &small.display().to_string(),
            "--token",
            weak,
            "--tokens-from",
            "list.txt",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let report = json(&o);
    assert_eq!(report["tokens_found"], 3);
    assert_eq!(report["tokens_tested"], 2);
    assert_eq!(report["skipped_malformed"], 1);
    assert_eq!(report["cracked"][0]["occurrences"], 2);
    assert_eq!(report["cracked"][0]["first_seen"], "--token #1");
}

#[test]
fn exit_codes() {
    let c = corpus();
    let dir = c.path();
    let strong = c.strong[0].as_str();

    // nothing cracked
    let o = run(
        &[
            "crack",
            "--token",
            strong,
            SMALL_LIST[0],
            SMALL_LIST[1],
            SMALL_LIST[2],
        ],
        dir,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("no secret found"));

    // operational errors: the message names the flag or file, never a token
    let cases: [(&[&str], &str); 6] = [
        (
            &["crack", "--wordlist", "missing.txt", "access.log"],
            "missing.txt",
        ),
        (&["crack", "--tokens-from", "missing.txt"], "missing.txt"),
        (
            &["crack", "--key", "access.log", "--token", strong],
            "--key",
        ),
        (&["crack"], "nothing to crack"),
        (
            &["crack", "--no-default-wordlist", "--token", strong],
            "no candidate",
        ),
        (&["crack", "--bogus", "access.log"], "--bogus"),
    ];
    for (args, needle) in cases {
        let o = run(args, dir);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("eyJ"), "{args:?}: {}", stderr(&o));
    }

    // an unreadable input is reported, the rest is still cracked
    let mut args = vec!["crack", "--format", "json", "missing.log", "access.log"];
    args.extend_from_slice(&SMALL_LIST);
    let o = run(&args, dir);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("missing.log"));
    let report = json(&o);
    assert_eq!(report["cracked"].as_array().unwrap().len(), 3);
    assert_eq!(report["errors"][0]["file"], "missing.log");
}

/// A token whose claims the strict reader rejects (a repeated member) is
/// `malformed` to the scan, but its header names HS256 and its MAC is
/// still a MAC: a weak secret behind it is found, from a log and given
/// directly.
#[test]
fn a_token_with_malformed_claims_is_still_cracked() {
    let c = corpus();
    let (alg, secret, _, _) = c.weak[0].clone();
    let token = mint(alg, None, r#"{"sub":"a","sub":"b"}"#, secret.as_bytes());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("access.log"),
        format!("GET /x?access_token={token} HTTP/1.1\n"),
    )
    .unwrap();
    std::fs::write(dir.path().join("tokens.txt"), format!("{token}\n")).unwrap();
    let small = c.path().join("small.txt").display().to_string();
    for input in [&["access.log"][..], &["--tokens-from", "tokens.txt"][..]] {
        let mut args = vec!["crack", "--format", "json", "--no-default-wordlist"];
        args.extend(["--wordlist", &small]);
        args.extend(input);
        let o = run(&args, dir.path());
        let report = json(&o);
        assert_eq!(report["skipped_malformed"], 0, "{input:?}");
        assert_eq!(
            report["cracked"].as_array().map(Vec::len),
            Some(1),
            "{input:?}"
        );
        let cracked = &report["cracked"][0];
        assert_eq!(cracked["token_sha256"], sha256_hex(&token), "{input:?}");
        assert_eq!(cracked["source_line"], SMALL[0], "{input:?}");
    }
}
