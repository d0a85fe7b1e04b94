//! `jwtsweep scan`.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};

use super::{EXIT_ERROR, EXIT_INVALID, EXIT_VALID};
use crate::alg::{Alg, AlgSet};
use crate::judge::Policy;
use crate::keys::Keyring;
use crate::report::csv::{CsvOccurrences, CsvTokens};
use crate::report::occurrences::JsonLines;
use crate::report::text::RenderOptions;
use crate::report::{self, InputError, Report};
use crate::scan::{Occurrence, Progress, ScanConfig, Sink, TimeRule};
use crate::source::{self, Input, MmapChoice};

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

    /// Report format: text, json, csv (one row per token occurrence), md
    /// or html (one self-contained page).
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,

    /// Write the report to FILE instead of stdout.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// How the report is shown.
    #[command(flatten)]
    pub view: ViewArgs,

    /// Timeline bucket: minute, hour or day (default: chosen from the span
    /// of request times).
    #[arg(long, value_enum)]
    pub bucket: Option<Bucket>,

    /// Tokens issued to live longer than this are a finding: seconds, or a
    /// number with s, m, h or d.
    #[arg(long, value_name = "DURATION", default_value = "24h")]
    pub max_lifetime: String,

    /// Report tokens (or jti values) used from more than N client
    /// addresses or user agents (1 to 63; off by default: it keeps about
    /// a hundred bytes per distinct token).
    #[arg(long, value_name = "N")]
    pub replay_ips: Option<u64>,

    /// No progress line on stderr (shown only when stderr is a terminal).
    #[arg(short, long)]
    pub quiet: bool,

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

/// How a report is shown, shared by `scan` and `merge`.
#[derive(Debug, Args)]
pub struct ViewArgs {
    /// Rows per breakdown table in text, md and html reports.
    #[arg(long, value_name = "N", default_value_t = report::text::TOP)]
    pub top: usize,

    /// Colour in text reports: auto (when writing to a terminal), always or
    /// never.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,
}

/// Summary formats of commands with a text and a JSON form (`crack`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned tables for a terminal.
    Text,
    /// JSON.
    Json,
}

/// Report formats of `scan` and `merge`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Aligned tables for a terminal.
    Text,
    /// The versioned JSON report (docs/report-schema.md).
    Json,
    /// One row per token occurrence.
    Csv,
    /// One row per distinct token: first and last seen, verdict counts.
    CsvTokens,
    /// Markdown, to paste into a ticket.
    Md,
    /// A self-contained HTML page with charts.
    Html,
}

/// `--bucket` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Bucket {
    /// One minute.
    Minute,
    /// One hour.
    Hour,
    /// One day.
    Day,
}

/// `--color` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    /// Colour when writing to a terminal and `NO_COLOR` is unset.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
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
    let mut config = configure(&args)?;
    let (inputs, missing) = source::expand(&args.inputs);
    let progress_line = (!args.quiet && io::stderr().is_terminal()).then(|| {
        let progress = Arc::new(Progress::default());
        config.progress = Some(Arc::clone(&progress));
        ProgressLine::start(progress, total_bytes(&inputs))
    });

    // occurrences file and report file, opened before the scan so a bad
    // path fails early
    let mut sink = match &args.tokens {
        Some(path) => {
            let file = File::create(path)
                .with_context(|| format!("--tokens {}: cannot create", path.display()))?;
            Some(JsonLines::new(BufWriter::with_capacity(1 << 20, file)))
        }
        None => None,
    };
    let mut output = open_output(args.output.as_deref())?;
    let mut csv = match args.format {
        ReportFormat::Csv => {
            Some(CsvOccurrences::new(&mut output).context("writing the CSV header")?)
        }
        _ => None,
    };
    let mut csv_tokens = (args.format == ReportFormat::CsvTokens).then(CsvTokens::new);

    let mut sinks: Vec<&mut dyn Sink> = Vec::new();
    if let Some(s) = sink.as_mut() {
        sinks.push(s);
    }
    if let Some(s) = csv.as_mut() {
        sinks.push(s);
    }
    if let Some(s) = csv_tokens.as_mut() {
        sinks.push(s);
    }
    let mut tee = Tee(sinks);
    let recording = !tee.0.is_empty();
    let mut report = crate::scan::scan(
        &inputs,
        &config,
        recording.then_some(&mut tee as &mut dyn Sink),
    )?;
    drop(tee);
    drop(progress_line);
    if let (Some(sink), Some(path)) = (sink, &args.tokens) {
        sink.finish()
            .with_context(|| format!("--tokens {}: write failed", path.display()))?;
    }
    if let Some(csv) = csv {
        finish_output(csv.finish().map(|_| ()), args.output.as_deref())?;
    }
    if let Some(table) = csv_tokens {
        finish_output(table.write(&mut output), args.output.as_deref())?;
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

    if !matches!(args.format, ReportFormat::Csv | ReportFormat::CsvTokens) {
        let options = args.view.options(args.output.is_none());
        let result = write_report(&report, args.format, &options, &mut output);
        finish_output(result, args.output.as_deref())?;
    }
    Ok(exit_status(&report))
}

/// The size of the inputs, for the ETA (0 when unknown, e.g. stdin).
fn total_bytes(inputs: &[Input]) -> u64 {
    let mut total = 0;
    for input in inputs {
        match input {
            Input::File(path) => total += std::fs::metadata(path).map_or(0, |m| m.len()),
            Input::Stdin => return 0,
        }
    }
    total
}

/// A progress line on stderr (bytes and tokens per second, ETA), redrawn
/// twice a second from the scan's counters, and erased when dropped.
struct ProgressLine {
    done: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ProgressLine {
    fn start(progress: Arc<Progress>, total: u64) -> ProgressLine {
        let done = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&done);
        let thread = std::thread::spawn(move || {
            let started = Instant::now();
            let mut drawn = false;
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
                let elapsed = started.elapsed().as_secs_f64();
                // short scans draw nothing; then twice a second
                if elapsed < 1.0 || (elapsed * 10.0) as u64 % 5 != 0 {
                    continue;
                }
                let bytes = progress.bytes.load(Ordering::Relaxed);
                let tokens = progress.tokens.load(Ordering::Relaxed);
                eprint!("\r\x1b[2K{}", progress_text(bytes, tokens, total, elapsed));
                drawn = true;
            }
            if drawn {
                eprint!("\r\x1b[2K");
            }
        });
        ProgressLine {
            done,
            thread: Some(thread),
        }
    }
}

impl Drop for ProgressLine {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `12.0 of 48.0 MiB, 6.0 MiB/s, 1500 tokens/s, ETA 6s`.
fn progress_text(bytes: u64, tokens: u64, total: u64, elapsed: f64) -> String {
    const MIB: f64 = (1u64 << 20) as f64;
    let rate = bytes as f64 / elapsed.max(1e-3);
    let mut text = format!("{:.1}", bytes as f64 / MIB);
    if total > 0 {
        text += &format!(" of {:.1}", total as f64 / MIB);
    }
    text += &format!(
        " MiB, {:.1} MiB/s, {:.0} tokens/s",
        rate / MIB,
        tokens as f64 / elapsed.max(1e-3)
    );
    if total > bytes && rate > 0.0 {
        let eta = (total - bytes) as f64 / rate;
        text += &format!(", ETA {}", report::text::duration(eta.ceil()));
    }
    text
}

/// The exit status a report calls for.
pub(super) fn exit_status(report: &Report) -> i32 {
    if !report.errors.is_empty() {
        EXIT_ERROR
    } else if report.any_invalid() {
        EXIT_INVALID
    } else {
        EXIT_VALID
    }
}

/// Sends each occurrence to every sink in turn.
struct Tee<'a>(Vec<&'a mut dyn Sink>);

impl Sink for Tee<'_> {
    fn occurrence(&mut self, occurrence: &Occurrence) -> io::Result<()> {
        for sink in &mut self.0 {
            sink.occurrence(occurrence)?;
        }
        Ok(())
    }
}

impl ViewArgs {
    /// The render options; colour in `auto` needs stdout to be a terminal.
    pub(super) fn options(&self, to_stdout: bool) -> RenderOptions {
        let color = match self.color {
            ColorArg::Always => true,
            ColorArg::Never => false,
            ColorArg::Auto => {
                to_stdout && io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        };
        RenderOptions {
            top: self.top,
            color,
        }
    }
}

/// The report's destination: `--output FILE`, or stdout.
pub(super) fn open_output(path: Option<&Path>) -> anyhow::Result<Box<dyn Write>> {
    Ok(match path {
        Some(path) => {
            let file = File::create(path)
                .with_context(|| format!("--output {}: cannot create", path.display()))?;
            Box::new(BufWriter::new(file))
        }
        None => Box::new(BufWriter::new(io::stdout())),
    })
}

/// Turns a write result into the operator's error; a closed stdout pipe
/// ends output quietly.
pub(super) fn finish_output(result: io::Result<()>, path: Option<&Path>) -> anyhow::Result<()> {
    match (result, path) {
        (Err(e), None) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        (result, Some(path)) => {
            result.with_context(|| format!("--output {}: write failed", path.display()))
        }
        (result, None) => result.context("writing the report to stdout"),
    }
}

/// Writes a report in a summary format (not CSV, which is per occurrence).
pub(super) fn write_report(
    report: &Report,
    format: ReportFormat,
    options: &RenderOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        ReportFormat::Text => report::text::render_with(report, options, out),
        ReportFormat::Json => serde_json::to_writer_pretty(&mut *out, report)
            .map_err(io::Error::from)
            .and_then(|_| writeln!(out)),
        ReportFormat::Md => report::markdown::render(report, options, out),
        ReportFormat::Html => report::html::render(report, options, out),
        ReportFormat::Csv | ReportFormat::CsvTokens => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "CSV lists occurrences: only a scan writes it",
        )),
    }?;
    out.flush()
}

/// Parses `--max-lifetime`: seconds, or a number with `s`, `m`, `h`, `d`.
fn parse_duration(text: &str) -> Option<f64> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().last()? {
        (i, 's') => (&text[..i], 1.0),
        (i, 'm') => (&text[..i], 60.0),
        (i, 'h') => (&text[..i], 3600.0),
        (i, 'd') => (&text[..i], 86_400.0),
        _ => (text, 1.0),
    };
    let n: f64 = number.parse().ok()?;
    (n.is_finite() && n > 0.0).then_some(n * unit)
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
    config.max_lifetime = parse_duration(&args.max_lifetime).with_context(|| {
        format!(
            "--max-lifetime {:?}: expected seconds or a number with s, m, h or d (e.g. 24h)",
            args.max_lifetime
        )
    })?;
    if let Some(n) = args.replay_ips {
        let most = crate::report::audit::MAX_TRACKED as u64 - 1;
        if !(1..=most).contains(&n) {
            bail!("--replay-ips {n}: must be from 1 to {most}");
        }
    }
    config.replay_threshold = args.replay_ips;
    config.bucket = args.bucket.map(|b| {
        match b {
            Bucket::Minute => "minute",
            Bucket::Hour => "hour",
            Bucket::Day => "day",
        }
        .to_string()
    });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_reads_well() {
        let text = progress_text(3 << 20, 3000, 12 << 20, 2.0);
        assert_eq!(text, "3.0 of 12.0 MiB, 1.5 MiB/s, 1500 tokens/s, ETA 6s");
        assert_eq!(
            progress_text(1 << 20, 0, 0, 1.0),
            "1.0 MiB, 1.0 MiB/s, 0 tokens/s"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Some(90.0));
        assert_eq!(parse_duration("30m"), Some(1800.0));
        assert_eq!(parse_duration("1.5h"), Some(5400.0));
        assert_eq!(parse_duration("7d"), Some(604_800.0));
        assert_eq!(parse_duration("0"), None);
        assert_eq!(parse_duration("-1h"), None);
        assert_eq!(parse_duration("h"), None);
        assert_eq!(parse_duration(""), None);
    }
}
