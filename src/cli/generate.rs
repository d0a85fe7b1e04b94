//! `jwtsweep generate`.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};

use super::EXIT_VALID;
use crate::alg::Alg;
use crate::generate::{self, GenerateError, GenerateOptions, LogFormat};

/// Flags of `jwtsweep generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The directory to write access.log, keys/, expected.jsonl and
    /// manifest.json into (created if missing).
    #[arg(long, short = 'o', value_name = "DIR")]
    pub out: PathBuf,

    /// Seed for every random choice: the same seed gives the same bytes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// Log lines to write.
    #[arg(long, default_value_t = 10_000)]
    pub lines: usize,

    /// Distinct tokens to mint; lines reuse them as clients do.
    #[arg(long, default_value_t = 1_000)]
    pub distinct: usize,

    /// Algorithms to sign with (comma-separated; default all).
    #[arg(long, value_delimiter = ',', value_name = "ALGS")]
    pub algs: Vec<String>,

    /// Relative weights of intended verdicts, e.g. `valid=90,expired=10`.
    #[arg(long, default_value = generate::DEFAULT_MIX)]
    pub mix: String,

    /// Line format.
    #[arg(long, value_enum, default_value_t = FormatArg::Combined)]
    pub format: FormatArg,

    /// First request time (RFC 3339 or epoch seconds).
    #[arg(long, value_name = "TIME")]
    pub start: Option<String>,

    /// Seconds the request times spread over.
    #[arg(long, default_value_t = 86_400)]
    pub span: i64,

    /// The chance, 0 to 1, that a line carries no token (`--lines` counts
    /// all lines).
    #[arg(long, default_value_t = 0.0)]
    pub noise: f64,

    /// `iss` of tokens meant to pass.
    #[arg(long, default_value = "https://issuer.example")]
    pub issuer: String,

    /// `aud` of tokens meant to pass.
    #[arg(long, default_value = "api")]
    pub audience: String,

    /// Sign with the keys/ folder of an earlier run instead of new keys.
    #[arg(long, value_name = "DIR")]
    pub keys_from: Option<PathBuf>,
}

/// `--format` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// nginx combined format with a quoted Authorization field.
    Combined,
    /// JSON lines.
    Json,
    /// Each line one of the two, at random.
    Mixed,
}

pub(super) fn run(args: GenerateArgs) -> anyhow::Result<i32> {
    let mut opts = GenerateOptions::new(&args.out);
    opts.seed = args.seed;
    opts.lines = args.lines;
    opts.distinct = args.distinct;
    if !args.algs.is_empty() {
        opts.algs = args
            .algs
            .iter()
            .map(|name| {
                Alg::from_name(name.trim().as_bytes())
                    .with_context(|| format!("--algs: unknown algorithm {name:?}"))
            })
            .collect::<anyhow::Result<_>>()?;
    }
    opts.mix = generate::parse_mix(&args.mix).map_err(flag_error)?;
    opts.format = match args.format {
        FormatArg::Combined => LogFormat::Combined,
        FormatArg::Json => LogFormat::Json,
        FormatArg::Mixed => LogFormat::Mixed,
    };
    if let Some(start) = &args.start {
        let t = crate::time::parse_at(start).map_err(|e| anyhow::anyhow!("--start: {e}"))?;
        opts.start = t.floor() as i64;
    }
    if args.span <= 0 {
        bail!("--span {}: must be at least 1 second", args.span);
    }
    opts.span_secs = args.span;
    opts.noise = args.noise;
    opts.issuer = args.issuer;
    opts.audience = args.audience;
    opts.keys_from = args.keys_from;

    let summary = generate::generate(&opts).map_err(flag_error)?;
    eprintln!(
        "jwtsweep: wrote {} lines ({} with tokens, {} distinct) to {}",
        summary.lines,
        summary.token_lines,
        summary.tokens,
        summary.access_log.display()
    );
    eprintln!("jwtsweep: scan them with: {}", summary.scan_flags.join(" "));
    Ok(EXIT_VALID)
}

/// Names a bad option by its flag, as the user typed it.
fn flag_error(e: GenerateError) -> anyhow::Error {
    match e {
        GenerateError::InvalidOption { option, reason } => {
            let flag = match option {
                "span_secs" => "span",
                "keys_from" => "keys-from",
                "out_dir" => "out",
                other => other,
            };
            anyhow::anyhow!("--{flag}: {reason}")
        }
        other => other.into(),
    }
}
