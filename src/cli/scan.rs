//! `jwtsweep scan`.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};

use super::{EXIT_ERROR, EXIT_INVALID, EXIT_VALID};
use crate::alg::{Alg, AlgSet};
use crate::judge::Policy;
use crate::keys::Keyring;
use crate::report::occurrences::JsonLines;
use crate::report::{self, InputError, Report};
use crate::scan::{ScanConfig, TimeRule};
use crate::source::{self, MmapChoice};

/// Flags of `jwtsweep scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Log files or directories (walked recursively); `-` reads stdin.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,

    /// An HMAC secret file (raw bytes), optionally with a key id: `kid=FILE`.
    #[arg(long, value_name = "[KID=]FILE")]
    pub secret: Vec<String>,

    /// A PEM public key (SPKI, PKCS#1 RSA, or X.509 certificate): `[kid=]FILE`.
    #[arg(long, value_name = "[KID=]FILE")]
    pub key: Vec<String>,

    /// A JWK Set (or single JWK) file; key ids come from each `kid`.
    #[arg(long, value_name = "FILE")]
    pub jwks: Vec<PathBuf>,

    /// Accept only these algorithms (comma-separated, e.g. `RS256,ES256`).
    #[arg(long, value_name = "ALGS", value_delimiter = ',')]
    pub algs: Vec<String>,

    /// Clock skew allowed for `exp` and `nbf`, in seconds.
    #[arg(long, default_value_t = crate::judge::DEFAULT_LEEWAY, value_name = "SECONDS")]
    pub leeway: f64,

    /// Require `iss` to equal one of these (repeatable).
    #[arg(long, value_name = "ISS")]
    pub issuer: Vec<String>,

    /// Require `aud` to contain one of these (repeatable).
    #[arg(long, value_name = "AUD")]
    pub audience: Vec<String>,

    /// Judge every occurrence at this time (RFC 3339 or epoch seconds)
    /// instead of its line's request time.
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,

    /// Summary format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Write one JSON line per token occurrence to FILE.
    #[arg(long, value_name = "FILE")]
    pub tokens: Option<PathBuf>,

    /// Include the raw token text in `--tokens` output. Tokens are
    /// credentials: only use this on data you may disclose.
    #[arg(long)]
    pub show_tokens: bool,

    /// Worker threads (default: one per core).
    #[arg(short = 'j', long, value_name = "N", default_value_t = 0)]
    pub threads: usize,

    /// Memory-map regular files: auto, always or never.
    #[arg(long, value_enum, default_value_t = MmapArg::Auto)]
    pub mmap: MmapArg,

    /// Memory budget of the distinct-token cache, in MiB (0 disables it).
    #[arg(long, value_name = "MIB", default_value_t = crate::cache::DEFAULT_CACHE_MIB)]
    pub cache_mib: usize,

    /// Chunk size in bytes for parallel work (for testing).
    #[arg(long, hide = true, default_value_t = crate::chunk::DEFAULT_CHUNK)]
    pub chunk_bytes: usize,
}

/// Summary formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned tables for a terminal.
    Text,
    /// The versioned JSON report (docs/report-schema.md).
    Json,
}

/// `--mmap` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MmapArg {
    /// Map regular files of 1 MiB or more.
    Auto,
    /// Map every regular non-empty file.
    Always,
    /// Read everything.
    Never,
}

pub(super) fn run(args: ScanArgs) -> anyhow::Result<i32> {
    let config = configure(&args)?;
    let (inputs, missing) = source::expand(&args.inputs);

    // occurrences file, opened before the scan so a bad path fails early
    let mut sink = match &args.tokens {
        Some(path) => {
            let file = File::create(path)
                .with_context(|| format!("--tokens {}: cannot create", path.display()))?;
            Some(JsonLines::new(BufWriter::with_capacity(1 << 20, file)))
        }
        None => None,
    };

    let mut report = crate::scan::scan(
        &inputs,
        &config,
        sink.as_mut().map(|s| s as &mut dyn crate::scan::Sink),
    )?;
    if let (Some(sink), Some(path)) = (sink, &args.tokens) {
        sink.finish()
            .with_context(|| format!("--tokens {}: write failed", path.display()))?;
    }
    for (file, e) in missing {
        report.errors.insert(
            0,
            InputError {
                file,
                message: e.to_string(),
            },
        );
    }
    for e in &report.errors {
        eprintln!("jwtsweep: {}: {}", e.file, e.message);
    }

    write_summary(&report, args.format)?;
    Ok(if !report.errors.is_empty() {
        EXIT_ERROR
    } else if report.any_invalid() {
        EXIT_INVALID
    } else {
        EXIT_VALID
    })
}

/// Writes the summary to stdout; a closed pipe ends output quietly.
fn write_summary(report: &Report, format: Format) -> anyhow::Result<()> {
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let result = match format {
        Format::Text => report::text::render(report, &mut out),
        Format::Json => serde_json::to_writer_pretty(&mut out, report)
            .map_err(io::Error::from)
            .and_then(|_| writeln!(out)),
    }
    .and_then(|_| out.flush());
    match result {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing the report to stdout"),
    }
}

/// Validates flags and loads keys into an immutable configuration.
fn configure(args: &ScanArgs) -> anyhow::Result<ScanConfig> {
    if !(args.leeway.is_finite() && args.leeway >= 0.0) {
        bail!(
            "--leeway {}: must be a non-negative number of seconds",
            args.leeway
        );
    }
    if args.chunk_bytes == 0 {
        bail!("--chunk-bytes must be at least 1");
    }
    let time_rule = match &args.at {
        Some(text) => {
            TimeRule::Fixed(crate::time::parse_at(text).map_err(|e| anyhow::anyhow!("--at: {e}"))?)
        }
        None => TimeRule::RequestTimeElse(crate::time::now()),
    };
    let policy = Policy {
        leeway: args.leeway,
        issuers: args.issuer.clone(),
        audiences: args.audience.clone(),
        algs: parse_algs(&args.algs)?,
    };
    let mut config = ScanConfig::new(load_keys(args)?, policy, time_rule);
    config.threads = args.threads;
    config.mmap = match args.mmap {
        MmapArg::Auto => MmapChoice::Auto,
        MmapArg::Always => MmapChoice::Always,
        MmapArg::Never => MmapChoice::Never,
    };
    config.cache_bytes = args.cache_mib.saturating_mul(1 << 20);
    config.chunk_bytes = args.chunk_bytes;
    config.keep_token_text = args.show_tokens;
    // The process exits right after the scan.
    config.free_caches = false;
    Ok(config)
}

fn parse_algs(names: &[String]) -> anyhow::Result<AlgSet> {
    if names.is_empty() {
        return Ok(AlgSet::all());
    }
    let mut set = AlgSet::empty();
    for name in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        match Alg::from_name(name.as_bytes()) {
            Some(alg) => set.insert(alg),
            None if name.eq_ignore_ascii_case("none") => {
                bail!("--algs: none is never accepted")
            }
            None => {
                let known: Vec<_> = Alg::ALL.iter().map(|a| a.name()).collect();
                bail!(
                    "--algs: unknown algorithm {name:?}; known: {}",
                    known.join(",")
                )
            }
        }
    }
    Ok(set)
}

/// Splits `kid=FILE`; an argument naming an existing file is a path even
/// if it contains `=`.
fn split_id(arg: &str) -> (Option<String>, PathBuf) {
    if !Path::new(arg).exists() {
        if let Some((id, path)) = arg.split_once('=') {
            if !id.is_empty() {
                return (Some(id.to_string()), PathBuf::from(path));
            }
        }
    }
    (None, PathBuf::from(arg))
}

fn load_keys(args: &ScanArgs) -> anyhow::Result<Keyring> {
    let mut keyring = Keyring::new();
    for arg in &args.secret {
        let (id, path) = split_id(arg);
        keyring.load_secret(id, &path).context("--secret")?;
    }
    for arg in &args.key {
        let (id, path) = split_id(arg);
        keyring.load_pem(id, &path).context("--key")?;
    }
    for path in &args.jwks {
        for note in keyring.load_jwks(path).context("--jwks")? {
            log::debug!("skipped {note}");
        }
    }
    for key in keyring.keys() {
        let algs: Vec<_> = key.algs.iter().map(|a| a.name()).collect();
        log::debug!(
            "key {} ({}, {}) from {}",
            key.id.as_deref().unwrap_or("(no kid)"),
            key.family.name(),
            algs.join(","),
            key.origin
        );
    }
    if keyring.is_empty() {
        log::debug!("no keys: every signed token will be unknown_key");
    }
    Ok(keyring)
}
