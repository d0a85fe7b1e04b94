//! Deterministic synthetic data: signed tokens, the keys to verify them,
//! and access logs full of them, with a verdict intended for every line.
//!
//! [`generate`] writes a directory a scan can be checked against:
//!
//! - `access.log`, one request per line, most carrying one token;
//! - `keys/`, every key (see [`KeySet`]) and `jwks.json`;
//! - `expected.jsonl`, the intended verdict of every token-bearing line;
//! - `manifest.json`, the options, the counts, and the scan flags under
//!   which the intended verdicts hold.
//!
//! The same options and seed give the same bytes, on any number of
//! threads: every random choice comes from a stream named for its purpose
//! (see `rng`), and tokens are signed in parallel but each from its own
//! stream. For benches, [`KeySet`] and [`mint()`] make tokens in memory.

mod craft;
mod keys;
mod log;
mod manifest;
mod mint;
mod plan;
mod rng;

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

pub use craft::MARGIN_SECS;
pub use keys::{KeySet, HMAC_SECRET_FILE, HMAC_SECRET_LEN, JWKS_FILE, RSA_BITS};
pub use mint::{assemble, b64url, header_json, json_string, mint, sign, signature, Claims};

use crate::alg::Alg;
use crate::verdict::Verdict;

/// The log file written into the output directory.
pub const ACCESS_LOG: &str = "access.log";
/// The file of intended verdicts, one JSON object per token-bearing line.
pub const EXPECTED: &str = "expected.jsonl";
/// The file describing the run.
pub const MANIFEST: &str = "manifest.json";
/// The folder of keys.
pub const KEYS_DIR: &str = "keys";

/// The default `--mix`: mostly valid, some expired, some forged.
pub const DEFAULT_MIX: &str = "valid=90,expired=5,bad_signature=5";

/// 2026-12-03T10:00:00Z, the default time of the first request.
pub const DEFAULT_START: i64 = 1_796_292_000;

/// The latest time a request may have: 9999-12-31T23:59:59Z, the last
/// second both log time formats can write with a four-digit year.
const LATEST_TIME: i64 = 253_402_300_799;

/// What to generate. [`GenerateOptions::new`] gives every default.
#[derive(Clone, Debug, PartialEq)]
pub struct GenerateOptions {
    /// Where to write; created if missing.
    pub out_dir: PathBuf,
    /// The seed every random choice derives from. Default 1.
    pub seed: u64,
    /// Log lines to write. Default 10 000.
    pub lines: usize,
    /// Distinct tokens to mint; lines reuse them. Capped at the number of
    /// token-bearing lines. Default 1 000.
    pub distinct: usize,
    /// Algorithms to sign with, taken round-robin. Default: all.
    pub algs: Vec<Alg>,
    /// Relative weights of the intended verdicts. Default [`DEFAULT_MIX`].
    pub mix: Vec<(Verdict, u32)>,
    /// The line format. Default [`LogFormat::Combined`].
    pub format: LogFormat,
    /// Epoch seconds of the first request. Default [`DEFAULT_START`].
    pub start: i64,
    /// Request times rise evenly over `[start, start + span_secs)`.
    /// Default 86 400 (a day).
    pub span_secs: i64,
    /// The chance, from 0.0 to 1.0, that a line carries no token. Default 0.
    pub noise: f64,
    /// The `iss` of tokens meant to pass. Default `https://issuer.example`.
    pub issuer: String,
    /// The `aud` of tokens meant to pass. Default `api`.
    pub audience: String,
    /// A `keys/` folder of an earlier run to sign with, instead of making
    /// keys from the seed (which costs a second for RSA). Default none.
    pub keys_from: Option<PathBuf>,
}

impl GenerateOptions {
    /// The defaults, writing into `out_dir`.
    pub fn new(out_dir: impl Into<PathBuf>) -> GenerateOptions {
        GenerateOptions {
            out_dir: out_dir.into(),
            seed: 1,
            lines: 10_000,
            distinct: 1_000,
            algs: Alg::ALL.to_vec(),
            mix: vec![
                (Verdict::Valid, 90),
                (Verdict::Expired, 5),
                (Verdict::BadSignature, 5),
            ],
            format: LogFormat::Combined,
            start: DEFAULT_START,
            span_secs: 86_400,
            noise: 0.0,
            issuer: "https://issuer.example".to_owned(),
            audience: "api".to_owned(),
            keys_from: None,
        }
    }
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum LogFormat {
    /// nginx combined format plus a quoted Authorization field.
    #[default]
    Combined,
    /// One JSON object per line.
    Json,
    /// Each line, at random, one of the two.
    Mixed,
}

impl LogFormat {
    /// The lowercase name (`combined`, `json`, `mixed`).
    pub fn name(self) -> &'static str {
        match self {
            LogFormat::Combined => "combined",
            LogFormat::Json => "json",
            LogFormat::Mixed => "mixed",
        }
    }

    /// Parses a lowercase name.
    pub fn from_name(name: &str) -> Option<LogFormat> {
        [LogFormat::Combined, LogFormat::Json, LogFormat::Mixed]
            .into_iter()
            .find(|f| f.name() == name)
    }
}

/// What [`generate`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenerateSummary {
    /// The access log.
    pub access_log: PathBuf,
    /// The intended verdicts.
    pub expected: PathBuf,
    /// The manifest.
    pub manifest: PathBuf,
    /// The keys folder.
    pub keys_dir: PathBuf,
    /// Lines written.
    pub lines: usize,
    /// Lines that carry a token.
    pub token_lines: usize,
    /// Distinct tokens minted.
    pub tokens: usize,
    /// Token-bearing lines per intended verdict, indexed by
    /// [`Verdict::index`].
    pub lines_by_verdict: [usize; Verdict::ALL.len()],
    /// Distinct tokens per intended verdict, indexed by [`Verdict::index`].
    pub tokens_by_verdict: [usize; Verdict::ALL.len()],
    /// The scan flags under which the intended verdicts hold, with paths
    /// relative to the output directory.
    pub scan_flags: Vec<String>,
}

/// Why generation failed: a bad option, or a file that could not be read
/// or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GenerateError {
    /// An option is out of range or inconsistent with another.
    #[error("{option}: {reason}")]
    InvalidOption {
        /// The option at fault, as named in [`GenerateOptions`].
        option: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A file or directory could not be read or written.
    #[error("{}: {cause}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's reason.
        cause: io::Error,
    },
    /// A key file was read but holds no usable key.
    #[error("{}: {reason}", path.display())]
    Key {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

impl GenerateError {
    pub(crate) fn io(path: &Path, cause: io::Error) -> GenerateError {
        GenerateError::Io {
            path: path.to_owned(),
            cause,
        }
    }

    pub(crate) fn key(path: &Path, reason: impl Into<String>) -> GenerateError {
        GenerateError::Key {
            path: path.to_owned(),
            reason: reason.into(),
        }
    }

    fn option(option: &'static str, reason: impl Into<String>) -> GenerateError {
        GenerateError::InvalidOption {
            option,
            reason: reason.into(),
        }
    }
}

/// Parses a mix such as `valid=90,expired=5,bad_signature=5`: verdict
/// names (see [`Verdict::name`]) with relative weights. Each verdict may
/// appear once, and the weights must not all be zero.
pub fn parse_mix(text: &str) -> Result<Vec<(Verdict, u32)>, GenerateError> {
    let mut mix: Vec<(Verdict, u32)> = Vec::new();
    for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (name, weight) = item.split_once('=').ok_or_else(|| {
            GenerateError::option("mix", format!("{item:?} is not verdict=weight"))
        })?;
        let verdict = Verdict::from_name(name.trim()).ok_or_else(|| {
            let known: Vec<&str> = Verdict::ALL.iter().map(|v| v.name()).collect();
            let reason = format!("unknown verdict {name:?}; known: {}", known.join(", "));
            GenerateError::option("mix", reason)
        })?;
        let weight: u32 = weight.trim().parse().map_err(|_| {
            GenerateError::option("mix", format!("weight {weight:?} of {name} is not a count"))
        })?;
        if mix.iter().any(|&(v, _)| v == verdict) {
            return Err(GenerateError::option(
                "mix",
                format!("{name} is given twice"),
            ));
        }
        mix.push((verdict, weight));
    }
    check_mix(&mix)?;
    Ok(mix)
}

/// Formats a mix as [`parse_mix`] reads it.
pub fn format_mix(mix: &[(Verdict, u32)]) -> String {
    let items: Vec<String> = mix
        .iter()
        .map(|(v, w)| format!("{}={w}", v.name()))
        .collect();
    items.join(",")
}

fn check_mix(mix: &[(Verdict, u32)]) -> Result<(), GenerateError> {
    if mix.iter().all(|&(_, w)| w == 0) {
        return Err(GenerateError::option(
            "mix",
            "no verdict has a weight above zero",
        ));
    }
    Ok(())
}

/// Checks that the options can be honoured, naming the first at fault.
pub fn validate(opts: &GenerateOptions) -> Result<(), GenerateError> {
    check_mix(&opts.mix)?;
    if opts.algs.is_empty() {
        return Err(GenerateError::option("algs", "no algorithm given"));
    }
    if !(0.0..=1.0).contains(&opts.noise) {
        return Err(GenerateError::option(
            "noise",
            "must be between 0.0 and 1.0",
        ));
    }
    if opts.distinct == 0 && opts.lines > 0 && opts.noise < 1.0 {
        let reason = "must be at least 1 when lines carry tokens";
        return Err(GenerateError::option("distinct", reason));
    }
    if opts.span_secs <= 0 {
        return Err(GenerateError::option("span_secs", "must be at least 1"));
    }
    // claims reach a few hours before the first request; keep them positive
    if opts.start < 86_400 {
        return Err(GenerateError::option(
            "start",
            "must be at least 86400 (1970-01-02)",
        ));
    }
    if opts
        .start
        .checked_add(opts.span_secs)
        .is_none_or(|end| end > LATEST_TIME)
    {
        let reason = "start + span_secs must not pass 9999-12-31T23:59:59Z";
        return Err(GenerateError::option("span_secs", reason));
    }
    Ok(())
}

/// Writes a synthetic log, its keys, its intended verdicts and a manifest
/// into `opts.out_dir`. The same options give the same bytes.
pub fn generate(opts: &GenerateOptions) -> Result<GenerateSummary, GenerateError> {
    validate(opts)?;
    let out = &opts.out_dir;
    fs::create_dir_all(out).map_err(|e| GenerateError::io(out, e))?;

    // keys first: loading is the likeliest thing to fail
    let keys = match &opts.keys_from {
        Some(dir) => KeySet::load(dir)?,
        None => KeySet::generate(opts.seed),
    };
    keys.write(&out.join(KEYS_DIR))?;

    // lay out the log, then mint every distinct token in parallel
    let plan = plan::Plan::new(opts);
    let ctx = craft::Context {
        keys: &keys,
        seed: opts.seed,
        issuer: &opts.issuer,
        audience: &opts.audience,
    };
    let tokens: Vec<craft::Crafted> = plan
        .tokens
        .par_iter()
        .enumerate()
        .map(|(i, token)| craft::craft(&ctx, i, token))
        .collect();

    let summary = summary(opts, &plan);
    write_log(opts, &plan, &tokens)?;
    manifest::write(&out.join(MANIFEST), opts, &summary)?;
    Ok(summary)
}

/// Counts and paths of a run, before anything is written.
fn summary(opts: &GenerateOptions, plan: &plan::Plan) -> GenerateSummary {
    let mut lines_by_verdict = [0; Verdict::ALL.len()];
    for &token in plan.line_tokens.iter().filter(|&&t| t != plan::NO_TOKEN) {
        lines_by_verdict[plan.tokens[token as usize].verdict.index()] += 1;
    }
    let mut tokens_by_verdict = [0; Verdict::ALL.len()];
    for token in &plan.tokens {
        tokens_by_verdict[token.verdict.index()] += 1;
    }
    let out = &opts.out_dir;
    GenerateSummary {
        access_log: out.join(ACCESS_LOG),
        expected: out.join(EXPECTED),
        manifest: out.join(MANIFEST),
        keys_dir: out.join(KEYS_DIR),
        lines: opts.lines,
        token_lines: plan.token_lines(),
        tokens: plan.tokens.len(),
        lines_by_verdict,
        tokens_by_verdict,
        scan_flags: manifest::scan_flags(opts),
    }
}

/// Writes `access.log` and `expected.jsonl` in one pass over the lines.
fn write_log(
    opts: &GenerateOptions,
    plan: &plan::Plan,
    tokens: &[craft::Crafted],
) -> Result<(), GenerateError> {
    let log_path = opts.out_dir.join(ACCESS_LOG);
    let expected_path = opts.out_dir.join(EXPECTED);
    let mut log = create(&log_path)?;
    let mut expected = create(&expected_path)?;
    let mut lines = log::LineWriter::new(opts.format, opts.seed);

    for (index, &token) in plan.line_tokens.iter().enumerate() {
        let time = plan::request_time(opts, index);
        let crafted = (token != plan::NO_TOKEN).then(|| &tokens[token as usize]);
        let carried = crafted.map(|c| log::Carried {
            token: &c.text,
            client: client_of(token),
        });
        lines
            .write_line(&mut log, time, carried)
            .map_err(|e| GenerateError::io(&log_path, e))?;
        if let Some(crafted) = crafted {
            writeln!(expected, "{{\"line\":{},{}}}", index + 1, crafted.expected)
                .map_err(|e| GenerateError::io(&expected_path, e))?;
        }
    }

    log.flush().map_err(|e| GenerateError::io(&log_path, e))?;
    expected
        .flush()
        .map_err(|e| GenerateError::io(&expected_path, e))
}

/// The client that holds a token: a fixed scramble of its number, so
/// neighbouring tokens come from unrelated addresses.
fn client_of(token: u32) -> u64 {
    u64::from(token).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40
}

fn create(path: &Path) -> Result<BufWriter<File>, GenerateError> {
    let file = File::create(path).map_err(|e| GenerateError::io(path, e))?;
    Ok(BufWriter::with_capacity(1 << 16, file))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::generate::keys::tests::test_keys;
    use sha2::{Digest, Sha256};
    use std::sync::OnceLock;

    /// A `keys/` folder written once per test binary.
    fn shared_keys_dir() -> &'static Path {
        static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
        DIR.get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            test_keys().write(dir.path()).unwrap();
            dir
        })
        .path()
    }

    /// Small options using every algorithm and verdict, with shared keys.
    pub(crate) fn small_options() -> GenerateOptions {
        let mut opts = GenerateOptions::new("unused");
        opts.lines = 400;
        opts.distinct = 80;
        opts.mix = Verdict::ALL.iter().map(|&v| (v, 1)).collect();
        opts.format = LogFormat::Mixed;
        opts.noise = 0.1;
        opts.keys_from = Some(shared_keys_dir().to_owned());
        opts
    }

    fn run(opts: &GenerateOptions) -> (tempfile::TempDir, GenerateSummary) {
        let dir = tempfile::tempdir().unwrap();
        let opts = GenerateOptions {
            out_dir: dir.path().join("out"),
            ..opts.clone()
        };
        let summary = generate(&opts).unwrap();
        (dir, summary)
    }

    fn read_all(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        let mut files = Vec::new();
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files.extend(read_all(&path));
            } else {
                let bytes = fs::read(&path).unwrap();
                files.push((path.strip_prefix(dir).unwrap().to_owned(), bytes));
            }
        }
        files.sort();
        files
    }

    #[test]
    fn same_seed_same_bytes_on_any_thread_count() {
        let opts = small_options();
        let (a, _) = run(&opts);
        let one_thread = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let (b, _) = one_thread.install(|| run(&opts));
        let files = read_all(&a.path().join("out"));
        assert_eq!(files.len(), 15);
        assert_eq!(files, read_all(&b.path().join("out")));
    }

    #[test]
    fn different_seeds_differ() {
        let opts = small_options();
        let (a, _) = run(&opts);
        let (b, _) = run(&GenerateOptions { seed: 2, ..opts });
        let log = |d: &tempfile::TempDir| fs::read(d.path().join("out/access.log")).unwrap();
        assert_ne!(log(&a), log(&b));
    }

    #[test]
    fn expected_lines_point_at_their_tokens() {
        let (dir, summary) = run(&small_options());
        let log = fs::read_to_string(&summary.access_log).unwrap();
        let log: Vec<&str> = log.lines().collect();
        assert_eq!(log.len(), 400);

        let expected = fs::read_to_string(dir.path().join("out/expected.jsonl")).unwrap();
        let mut seen = [false; Verdict::ALL.len()];
        for record in expected.lines() {
            let record: serde_json::Value = serde_json::from_str(record).unwrap();
            let line = log[record["line"].as_u64().unwrap() as usize - 1];
            let verdict = Verdict::from_name(record["verdict"].as_str().unwrap()).unwrap();
            seen[verdict.index()] = true;
            let sha = record["token_sha256"].as_str().unwrap();
            assert!(
                token_candidates(line).any(|t| hex(&Sha256::digest(t)) == sha),
                "{line}"
            );
        }
        assert_eq!(expected.lines().count(), summary.token_lines);
        assert!(seen.iter().all(|&s| s), "every verdict appears");
    }

    #[test]
    fn intended_verdicts_hold_at_each_request_time() {
        let opts = small_options();
        let (dir, _) = run(&opts);
        let jwks = test_keys().jwks();
        let expected = fs::read_to_string(dir.path().join("out/expected.jsonl")).unwrap();
        let log = fs::read_to_string(dir.path().join("out/access.log")).unwrap();
        let log: Vec<&str> = log.lines().collect();

        for record in expected.lines() {
            let record: serde_json::Value = serde_json::from_str(record).unwrap();
            let line = record["line"].as_u64().unwrap() as usize;
            let sha = record["token_sha256"].as_str().unwrap();
            let token = token_candidates(log[line - 1])
                .find(|t| hex(&Sha256::digest(t)) == sha)
                .unwrap();
            let time = plan::request_time(&opts, line - 1);
            let verdict = Verdict::from_name(record["verdict"].as_str().unwrap()).unwrap();
            check_verdict(&opts, &jwks, token, time, verdict);
        }
    }

    /// Checks what can be checked of `verdict` without a scanner.
    fn check_verdict(
        opts: &GenerateOptions,
        jwks: &serde_json::Value,
        token: &str,
        time: i64,
        verdict: Verdict,
    ) {
        let claims = token.split('.').nth(1).unwrap();
        let claims = base64_simd::URL_SAFE_NO_PAD.decode_to_vec(claims).unwrap();
        let Ok(claims) = serde_json::from_slice::<serde_json::Value>(&claims) else {
            assert!(matches!(
                verdict,
                Verdict::Malformed | Verdict::EncryptedJwe
            ));
            return;
        };
        let (nbf, exp) = (claims["nbf"].as_i64(), claims["exp"].as_i64());
        let in_time = nbf.is_some_and(|n| n + 600 < time) && exp.is_some_and(|e| time + 600 < e);
        let aud_ok = claims["aud"] == opts.audience.as_str()
            || claims["aud"]
                .as_array()
                .is_some_and(|a| a.contains(&opts.audience.clone().into()));
        let iss_ok = claims["iss"] == opts.issuer.as_str();
        let signed = mint::tests::verifies(jwks, token);
        let why = format!("{verdict}: {claims} at {time}");
        match verdict {
            Verdict::Valid => assert!(signed && in_time && iss_ok && aud_ok, "{why}"),
            Verdict::Expired => assert!(signed && exp.unwrap() + 600 < time, "{why}"),
            Verdict::NotYetValid => assert!(signed && time < nbf.unwrap() - 600, "{why}"),
            Verdict::WrongIssuer => assert!(signed && in_time && !iss_ok && aud_ok, "{why}"),
            Verdict::WrongAudience => assert!(signed && in_time && iss_ok && !aud_ok, "{why}"),
            Verdict::BadSignature | Verdict::UnsupportedCrit => {
                assert_eq!(signed, verdict == Verdict::UnsupportedCrit, "{why}");
                assert!(in_time && iss_ok && aud_ok, "{why}");
            }
            _ => {}
        }
    }

    /// Every maximal run of base64url and dots in a line.
    fn token_candidates(line: &str) -> impl Iterator<Item = &str> {
        line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
            .filter(|s| s.starts_with("eyJ"))
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn manifest_counts_match_the_summary() {
        let (_dir, summary) = run(&small_options());
        let text = fs::read_to_string(&summary.manifest).unwrap();
        let manifest: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(manifest["counts"]["token_lines"], summary.token_lines);
        let valid = &manifest["counts"]["lines_by_verdict"]["valid"];
        assert_eq!(valid, summary.lines_by_verdict[Verdict::Valid.index()]);
        assert_eq!(manifest["scan_flags"][1], "keys/jwks.json");
    }

    #[test]
    fn parse_mix_reads_and_rejects() {
        let mix = parse_mix("valid=90, expired=10").unwrap();
        assert_eq!(mix, vec![(Verdict::Valid, 90), (Verdict::Expired, 10)]);
        assert_eq!(format_mix(&mix), "valid=90,expired=10");

        for (text, needle) in [
            ("", "no verdict"),
            ("valid=0", "no verdict"),
            ("bogus=1", "unknown verdict \"bogus\""),
            ("valid", "not verdict=weight"),
            ("valid=x", "not a count"),
            ("valid=-1", "not a count"),
            ("valid=1,valid=2", "twice"),
        ] {
            let err = parse_mix(text).unwrap_err().to_string();
            assert!(
                err.starts_with("mix: ") && err.contains(needle),
                "{text}: {err}"
            );
        }
    }

    #[test]
    fn bad_options_name_the_option() {
        let base = small_options();
        let cases: [(GenerateOptions, &str); 6] = [
            (
                GenerateOptions {
                    mix: vec![],
                    ..base.clone()
                },
                "mix: ",
            ),
            (
                GenerateOptions {
                    algs: vec![],
                    ..base.clone()
                },
                "algs: ",
            ),
            (
                GenerateOptions {
                    distinct: 0,
                    ..base.clone()
                },
                "distinct: ",
            ),
            (
                GenerateOptions {
                    noise: 1.5,
                    ..base.clone()
                },
                "noise: ",
            ),
            (
                GenerateOptions {
                    noise: f64::NAN,
                    ..base.clone()
                },
                "noise: ",
            ),
            (
                GenerateOptions {
                    span_secs: 0,
                    ..base.clone()
                },
                "span_secs: ",
            ),
        ];
        for (opts, prefix) in cases {
            let err = generate(&opts).unwrap_err().to_string();
            assert!(err.starts_with(prefix), "{err}");
        }

        let dir = tempfile::tempdir().unwrap();
        let opts = GenerateOptions {
            out_dir: dir.path().to_owned(),
            keys_from: Some("/nonexistent/keys".into()),
            ..base
        };
        let err = generate(&opts).unwrap_err().to_string();
        assert!(err.starts_with("/nonexistent/keys/hs.secret: "), "{err}");
    }

    #[test]
    fn all_noise_needs_no_tokens() {
        let opts = GenerateOptions {
            noise: 1.0,
            distinct: 0,
            ..small_options()
        };
        let (_dir, summary) = run(&opts);
        assert_eq!((summary.token_lines, summary.tokens), (0, 0));
        let log = fs::read_to_string(&summary.access_log).unwrap();
        assert_eq!(log.lines().count(), 400);
        assert!(!log.contains("eyJ"));
    }
}
