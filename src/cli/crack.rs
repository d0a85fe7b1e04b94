//! `jwtsweep crack`.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};

use super::scan::MmapArg;
use super::{EXIT_ERROR, EXIT_INVALID, EXIT_VALID};
use crate::judge::Policy;
use crate::keys::Keyring;
use crate::report::InputError;
use crate::scan::{ScanConfig, TimeRule};
use crate::source::{self, MmapChoice};
use crate::sweep::crack::{
    self, Backend, Candidates, CrackOptions, CrackReport, SweepOptions, TokenSet,
};

/// Flags of `jwtsweep crack`.
#[derive(Debug, Args)]
pub struct CrackArgs {
    /// Log files or directories (walked recursively) to find tokens in;
    /// `-` reads stdin.
    #[arg(value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,

    /// A token to test (repeatable). It lands in shell history: prefer
    /// --tokens-from for real tokens.
    #[arg(long, value_name = "TOKEN")]
    pub token: Vec<String>,

    /// A file of tokens to test, one per line (repeatable; `-` is stdin).
    #[arg(long, value_name = "FILE")]
    pub tokens_from: Vec<PathBuf>,

    /// A wordlist of secrets, one per line, raw bytes; a trailing `\r` is
    /// dropped and empty lines are skipped (repeatable).
    #[arg(long, value_name = "FILE")]
    pub wordlist: Vec<PathBuf>,

    /// Do not test the embedded list of ~104k known JWT secrets.
    #[arg(long)]
    pub no_default_wordlist: bool,

    /// A PEM public key to try as an HMAC secret, as text, DER and file
    /// bytes: a match proves RS->HS key confusion. `[kid=]FILE`.
    #[arg(long, value_name = "[KID=]FILE")]
    pub key: Vec<String>,

    /// A JWK Set (or single JWK) whose public keys to try as HMAC secrets.
    #[arg(long, value_name = "FILE")]
    pub jwks: Vec<PathBuf>,

    /// Print each cracked token's secret. Secrets are credentials: only use
    /// this where they may be disclosed.
    #[arg(long)]
    pub show_secrets: bool,

    /// Summary format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Write the HMAC tokens left uncracked to FILE, one per line, the
    /// input of `hashcat -m 16500`. The file holds the tokens themselves:
    /// they are credentials.
    #[arg(long, value_name = "FILE")]
    pub export_hashcat: Option<PathBuf>,

    /// Worker threads (default: one per core).
    #[arg(short = 'j', long, value_name = "N", default_value_t = 0)]
    pub threads: usize,

    /// Memory-map regular log files: auto, always or never.
    #[arg(long, value_enum, default_value_t = MmapArg::Auto)]
    pub mmap: MmapArg,

    /// The HS256 engine: auto (SHA extensions when present) or portable
    /// (for benchmarks and tests).
    #[arg(long, hide = true, value_enum, default_value_t = EngineArg::Auto)]
    pub engine: EngineArg,
}

/// Summary formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A summary for a terminal.
    Text,
    /// A JSON object: cracked tokens by fingerprint, counts and speed.
    Json,
}

/// `--engine` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum EngineArg {
    /// The SHA extensions when the CPU has them.
    Auto,
    /// `sha2`'s block functions.
    Portable,
}

pub(super) fn run(args: CrackArgs) -> anyhow::Result<i32> {
    if args.inputs.is_empty() && args.token.is_empty() && args.tokens_from.is_empty() {
        bail!("nothing to crack: give log INPUTs, --token or --tokens-from");
    }
    let stdin_inputs = args.inputs.iter().filter(|p| p.as_os_str() == "-").count();
    let stdin_lists = args.tokens_from.iter().filter(|p| p.as_os_str() == "-");
    if stdin_inputs + stdin_lists.count() > 1 {
        bail!("stdin (`-`) can be read only once: give it as one INPUT or one --tokens-from");
    }
    let candidates = load_candidates(&args)?;

    // the export file, created before the work so a bad path fails early
    let export = match &args.export_hashcat {
        Some(path) => Some(
            File::create(path)
                .with_context(|| format!("--export-hashcat {}: cannot create", path.display()))?,
        ),
        None => None,
    };

    let started = Instant::now();
    let (tokens, errors) = gather(&args)?;
    let scan_duration_secs = started.elapsed().as_secs_f64();

    let options = SweepOptions {
        crack: CrackOptions {
            threads: args.threads,
            backend: match args.engine {
                EngineArg::Auto => Backend::Auto,
                EngineArg::Portable => Backend::Portable,
            },
        },
        show_secrets: args.show_secrets,
    };
    let mut report = crack::sweep(&tokens, &candidates, &options)?;
    report.scan_duration_secs = scan_duration_secs;
    report.errors = errors;
    for e in &report.errors {
        eprintln!("jwtsweep: {}: {}", e.file, e.message);
    }

    if let (Some(file), Some(path)) = (export, &args.export_hashcat) {
        export_hashcat(&report, &tokens, file)
            .with_context(|| format!("--export-hashcat {}: write failed", path.display()))?;
    }
    write_summary(&report, args.format)?;
    Ok(if !report.errors.is_empty() {
        EXIT_ERROR
    } else if !report.cracked.is_empty() {
        EXIT_INVALID
    } else {
        EXIT_VALID
    })
}

/// Public keys first, then wordlists in the order given, then the
/// embedded list: a secret found in several is reported from the first.
fn load_candidates(args: &CrackArgs) -> anyhow::Result<Candidates> {
    let mut candidates = Candidates::new();
    let mut keyring = Keyring::new();
    for arg in &args.key {
        let path = key_path(arg);
        let before = keyring.keys().len();
        keyring.load_pem(None, &path).context("--key")?;
        for key in &keyring.keys()[before..] {
            candidates.add_public_key(key);
        }
        let bytes = std::fs::read(&path)
            .with_context(|| format!("--key {}: cannot read", path.display()))?;
        candidates.add_key_file(&path.display().to_string(), &bytes);
    }
    for path in &args.jwks {
        let before = keyring.keys().len();
        for note in keyring.load_jwks(path).context("--jwks")? {
            log::debug!("skipped {note}");
        }
        for key in &keyring.keys()[before..] {
            candidates.add_public_key(key);
        }
    }
    for path in &args.wordlist {
        candidates.add_wordlist_file(path).context("--wordlist")?;
    }
    if !args.no_default_wordlist {
        candidates.add_default_wordlist();
    }
    for source in candidates.sources() {
        log::debug!(
            "candidates: {} from {} ({} duplicates skipped)",
            source.added,
            source.name,
            source.duplicates
        );
    }
    if candidates.is_empty() {
        bail!("no candidate secrets: with --no-default-wordlist, give --wordlist, --key or --jwks");
    }
    Ok(candidates)
}

/// The key file of a `[kid=]FILE` argument. The kid does not matter here:
/// every token is tried against every key. An argument naming an existing
/// file is a path even if it contains `=`.
fn key_path(arg: &str) -> PathBuf {
    match arg.split_once('=') {
        Some((id, path)) if !id.is_empty() && !Path::new(arg).exists() => PathBuf::from(path),
        _ => PathBuf::from(arg),
    }
}

/// Collects the distinct tokens of `--token`, `--tokens-from` and the log
/// inputs. Unreadable token lists stop the run; unreadable logs are
/// reported and the run goes on, as in `scan`.
fn gather(args: &CrackArgs) -> anyhow::Result<(TokenSet, Vec<InputError>)> {
    let mut tokens = TokenSet::new();
    for (n, token) in args.token.iter().enumerate() {
        tokens.add_token(token.trim(), || format!("--token #{}", n + 1));
    }
    for path in &args.tokens_from {
        let label = path.display().to_string();
        let text = read_list(path).with_context(|| format!("--tokens-from {label}"))?;
        for (n, line) in text.split(|&b| b == b'\n').enumerate() {
            let line = String::from_utf8_lossy(line.trim_ascii());
            if !line.is_empty() {
                tokens.add_token(&line, || format!("{label}:{}", n + 1));
            }
        }
    }

    let mut errors = Vec::new();
    if args.inputs.is_empty() {
        return Ok((tokens, errors));
    }
    let (inputs, missing) = source::expand(&args.inputs);
    let mut config = ScanConfig::new(Keyring::new(), Policy::default(), TimeRule::Fixed(0.0));
    config.keep_token_text = true;
    config.threads = args.threads;
    config.mmap = match args.mmap {
        MmapArg::Auto => MmapChoice::Auto,
        MmapArg::Always => MmapChoice::Always,
        MmapArg::Never => MmapChoice::Never,
    };
    let report = crate::scan::scan(&inputs, &config, Some(&mut tokens))?;
    for (file, e) in missing {
        errors.push(InputError {
            file,
            message: e.to_string(),
        });
    }
    errors.extend(report.errors);
    Ok((tokens, errors))
}

fn read_list(path: &Path) -> io::Result<Vec<u8>> {
    if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        io::stdin().read_to_end(&mut bytes)?;
        return Ok(bytes);
    }
    std::fs::read(path)
}

/// Writes the uncracked tokens, one per line.
fn export_hashcat(report: &CrackReport, tokens: &TokenSet, file: File) -> io::Result<()> {
    let mut out = BufWriter::new(file);
    for &i in &report.uncracked {
        writeln!(out, "{}", tokens.found()[i].token)?;
    }
    out.flush()
}

/// Writes the summary to stdout; a closed pipe ends output quietly.
fn write_summary(report: &CrackReport, format: Format) -> anyhow::Result<()> {
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let result = match format {
        Format::Text => report.render_text(&mut out),
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
