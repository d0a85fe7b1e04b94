//! The scan: inputs in, one verdict per occurrence and a report out.
//!
//! Each input is cut into line-aligned chunks ([`crate::chunk`]) that run
//! on the rayon pool, each worker finding tokens, checking each distinct
//! token once through its own [`TokenCache`] (public-key checks also go
//! to a [`SharedChecks`] the workers share), judging every occurrence at
//! its own evaluation time and folding it into the worker's own
//! [`Report`]; the workers' reports merge once, when the scan ends. Line
//! numbers are counted as chunks are scanned and worked out only where an
//! occurrence, a finding or an example needs one.
//!
//! A mapped file whose occurrences are not written is one queue of chunks
//! that the workers take in file order, its pages released behind them;
//! line numbers are then noted as `Deferred` and worked out when the
//! file is done.
//! When occurrences are written (`--tokens`, CSV), chunks run in batches
//! whose results are taken in input order, so the [`Sink`] sees them in
//! file order; mapped files then go window by window. Streams are read in
//! blocks the size of a batch, cut at the last newline. Memory stays
//! bounded whatever the input's size.

use std::cell::OnceCell;
use std::collections::HashMap;
use std::io::{self, Read};
use std::ops::Range;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use rayon::prelude::*;

use crate::cache::{Filled, Looked, SharedChecks, TokenCache};
use crate::chunk;
use crate::context;
use crate::find::{Carrier, Finder, Found};
use crate::judge::{Policy, TimeOutcome};
use crate::keys::Keyring;
use crate::report::audit::stable_hash;
use crate::report::audit::{
    AcceptedExample, Hygiene, HygieneRules, Replay, Timeline, TokenUse, MAX_TRACKED,
};
use crate::report::{Example, InputError, Report, Settings, TokenIds, VerdictCounts};
use crate::source::{self, Input, MmapChoice, Opened};
use crate::time;
use crate::token;
use crate::verdict::Verdict;
use crate::verify::{self, Checked};

mod groups;
use groups::Groups;

/// How each occurrence's evaluation time is chosen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TimeRule {
    /// The request time on the occurrence's line, else this time (the
    /// scan's start, read once).
    RequestTimeElse(f64),
    /// This time for every occurrence (`--at`).
    Fixed(f64),
}

impl TimeRule {
    fn describe(self) -> (&'static str, f64) {
        match self {
            TimeRule::RequestTimeElse(t) => ("request_time_else_scan_start", t),
            TimeRule::Fixed(t) => ("fixed", t),
        }
    }
}

/// Everything a scan needs; built once, shared by workers.
pub struct ScanConfig {
    /// The keys tokens are verified with.
    pub keyring: Keyring,
    /// Leeway, issuers, audiences, algorithms.
    pub policy: Policy,
    /// How evaluation times are chosen.
    pub time_rule: TimeRule,
    /// Worker threads; 0 means one per core.
    pub threads: usize,
    /// Whether to map files.
    pub mmap: MmapChoice,
    /// Target chunk size in bytes.
    pub chunk_bytes: usize,
    /// Distinct-token cache budget for all workers, in bytes.
    pub cache_bytes: usize,
    /// Whether occurrences carry the raw token text (`--show-tokens`).
    pub keep_token_text: bool,
    /// Whether to free the token caches when the scan ends (default). A
    /// process about to exit can skip it: freeing a cache entry by entry
    /// took a tenth of a scan of a million distinct tokens, and the
    /// operating system reclaims the memory at exit anyway.
    pub free_caches: bool,
    /// Tokens issued to live longer than this many seconds are a finding
    /// (default: a day).
    pub max_lifetime: f64,
    /// The timeline's bucket (`minute`, `hour`, `day`); `None` (default)
    /// chooses from the span of request times.
    pub bucket: Option<String>,
    /// Report tokens used from more than this many client addresses or
    /// user agents (`--replay-ips`); `None` (default) skips the tracking,
    /// which keeps about a hundred bytes per distinct token.
    pub replay_threshold: Option<u64>,
    /// Counters a progress display reads while the scan runs (`None`,
    /// the default, counts nothing).
    pub progress: Option<Arc<Progress>>,
}

/// Bytes and tokens scanned so far, updated once per chunk.
#[derive(Debug, Default)]
pub struct Progress {
    /// Bytes of input scanned.
    pub bytes: AtomicU64,
    /// Token occurrences found.
    pub tokens: AtomicU64,
}

impl ScanConfig {
    /// A configuration with defaults around the given keys and policy.
    pub fn new(keyring: Keyring, policy: Policy, time_rule: TimeRule) -> ScanConfig {
        ScanConfig {
            keyring,
            policy,
            time_rule,
            threads: 0,
            mmap: MmapChoice::Auto,
            chunk_bytes: chunk::DEFAULT_CHUNK,
            cache_bytes: crate::cache::DEFAULT_CACHE_MIB << 20,
            keep_token_text: false,
            free_caches: true,
            max_lifetime: DEFAULT_MAX_LIFETIME,
            bucket: None,
            replay_threshold: None,
            progress: None,
        }
    }
}

/// The default of [`ScanConfig::max_lifetime`]: a day.
pub const DEFAULT_MAX_LIFETIME: f64 = 86_400.0;

/// One token occurrence with its verdict.
#[derive(Clone, Debug)]
pub struct Occurrence {
    /// The input's label.
    pub file: Arc<str>,
    /// 1-based line number.
    pub line: u64,
    /// Byte offset of the token within its line.
    pub offset: u64,
    /// How the token was found.
    pub carrier: Carrier,
    /// The distinct token's check.
    pub checked: Arc<Checked>,
    /// SHA-256 of the token text.
    pub fingerprint: [u8; 32],
    /// This occurrence's verdict.
    pub verdict: Verdict,
    /// How the time claims fared at `at`.
    pub time: TimeOutcome,
    /// The evaluation time, if the verdict depended on it.
    pub at: Option<f64>,
    /// The raw token, only with [`ScanConfig::keep_token_text`].
    pub token: Option<Box<str>>,
    /// The request time on the line, if any.
    pub request_time: Option<f64>,
    /// The HTTP status on the line, if any.
    pub status: Option<u16>,
    /// The client address on the line, if any.
    pub client: Option<Box<str>>,
    /// The user agent on the line, if any.
    pub user_agent: Option<Box<str>>,
}

/// Receives occurrences in input order.
pub trait Sink {
    /// Called once per occurrence, in file and line order.
    fn occurrence(&mut self, occurrence: &Occurrence) -> io::Result<()>;
}

/// A failure that stops the scan (input errors do not: they are reported).
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The worker pool could not start.
    #[error("cannot start {threads} worker threads: {source}")]
    Threads {
        /// Threads asked for.
        threads: usize,
        /// The cause.
        source: rayon::ThreadPoolBuildError,
    },
    /// Writing occurrences failed.
    #[error("writing occurrences: {0}")]
    Sink(#[source] io::Error),
}

/// What one worker keeps between chunks. Each worker folds into its own
/// report; the reports merge once, when the scan ends.
struct WorkerState {
    cache: TokenCache,
    /// Where tokens the cache does not keep are checked, reusing its
    /// memory.
    fresh: Checked,
    scratch: token::Scratch,
    found: Vec<Found>,
    report: Report,
    groups: Groups,
    /// Hygiene counts per breakdown group (the group names the issuer),
    /// so an occurrence adds to them by index, like the breakdowns.
    hygiene: Vec<Hygiene>,
    /// Timeline counts of the current minute, added to the report's
    /// timeline when the minute changes: logs are mostly in time order,
    /// so most occurrences skip the map lookup.
    minute: MinuteTally,
    /// Uses per token, or per `iss` + `jti`, with `--replay-ips`.
    uses: HashMap<u128, TokenUse, ahash::RandomState>,
}

/// Occurrences per verdict within one minute of request time.
#[derive(Default)]
struct MinuteTally {
    minute: Option<i64>,
    counts: VerdictCounts,
    times: Option<(f64, f64)>,
}

impl MinuteTally {
    fn add(&mut self, time: f64, verdict: Verdict, timeline: &mut Timeline) {
        let minute = (time as i64).div_euclid(60);
        if self.minute != Some(minute) {
            self.flush(timeline);
            self.minute = Some(minute);
        }
        self.counts.add(verdict);
        let (lo, hi) = self.times.get_or_insert((time, time));
        *lo = lo.min(time);
        *hi = hi.max(time);
    }

    fn flush(&mut self, timeline: &mut Timeline) {
        if let Some((lo, hi)) = self.times.take() {
            timeline.add_counts(lo, hi, &self.counts);
        }
        self.counts = VerdictCounts::default();
        self.minute = None;
    }
}

/// When occurrences are written, a mapped file is scanned in windows of
/// this size, each window's pages released when it is done; peak memory
/// holds about this much of the file (with 256 MiB a 4 GiB log peaked at
/// 273 MiB against 47 MiB for a 40 MiB log).
const MAP_WINDOW: usize = 32 << 20;

/// A mapped file scanned from the chunk queue has its pages released in
/// steps of this many bytes behind the first chunk not done...
const RELEASE_BEHIND: usize = 4 << 20;

/// ...and each worker releases the pages of its own chunk behind it in
/// steps of this many bytes, so what stays mapped does not depend on how
/// far one worker runs ahead of another (with whole 4 MiB chunks kept
/// until the first chunk not done moved on, two threads held 8 MiB more
/// of a 3.9 GiB log than of a 40 MiB one).
const RELEASE_STEP: usize = 1 << 20;

/// The page size chunk releases round to. Where pages are larger, the
/// mapping rounds a release's start down and the kernel its end up,
/// dropping part of a page another chunk may still read: it is read from
/// the file again, nothing worse.
const PAGE: usize = 4096;

/// A page fault maps the pages around it: 64 KiB (the default
/// `fault_around_bytes`), or the whole large folio of the page cache that
/// holds the page, up to 2 MiB. So a worker starting a chunk maps again
/// pages just behind the last release, and each release behind the first
/// chunk not done starts this much before the last one ended.
const FAULT_AROUND: usize = 2 << 20;

/// Chunks are made smaller than [`ScanConfig::chunk_bytes`] when an input
/// would otherwise give each worker fewer than this many: on a 10 MB log of
/// RSA tokens, three 4 MiB chunks kept one of two cores idle a third of the
/// time (1.3× scaling), and with 8 per worker the last of 16 chunks of
/// 20k ES256 tokens (70 ms each) still left two threads at 0.89 of two
/// separate scans, against 0.97 with 32.
const CHUNKS_PER_WORKER: usize = 32;

/// ...but never smaller than this, where per-chunk overhead would show.
const MIN_CHUNK: usize = 64 << 10;

/// A worker finds and checks the tokens of this many bytes of its chunk
/// (rounded up to a line end) at a time, so the lines are still in its
/// cache when their tokens and context are read.
const BLOCK_BYTES: usize = 64 << 10;

/// Releases the whole pages of `range` of a mapped file; the first and
/// last, which may hold another chunk's lines, are kept.
fn release_pages(map: &memmap2::Mmap, range: Range<usize>) {
    let from = range.start.next_multiple_of(PAGE);
    let to = range.end / PAGE * PAGE;
    if from < to {
        // SAFETY: the mapping is a read-only shared mapping of the file
        // (`Mmap::map` maps it `MAP_SHARED`) that nothing writes through,
        // so dropping pages only clears this process's page-table entries:
        // a later access (a worker still reading them) faults them back in
        // from the page cache, and no data can be lost. The advice is a
        // hint: if it fails, memory is merely not released.
        let _ = unsafe {
            map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, from, to - from)
        };
    }
}

/// A line number noted while a mapped file is scanned from the chunk
/// queue, before the lines of the chunks before it are counted: the chunk
/// and the line within it, with the top bit set. Encoded this way, line
/// numbers of one file keep their order, so the first examples by line can
/// be chosen before they are known. Working out the real number on the spot
/// made a worker count the chunk another worker was still in (on the
/// realistic log with two threads, line counting was 5.9% of the scan's
/// CPU against 1.6% now, and the pages it read stayed mapped).
struct Deferred;

impl Deferred {
    const FLAG: u64 = 1 << 63;
    const LOCAL_BITS: u32 = 32;

    /// Whether every line of these chunks can be encoded. Decided for a
    /// whole file: its real and deferred numbers would not sort together.
    fn fits(ranges: &[Range<usize>]) -> bool {
        (ranges.len() as u64) < (1 << (63 - Self::LOCAL_BITS))
            && ranges
                .iter()
                .all(|r| (r.len() as u64) < (1 << Self::LOCAL_BITS))
    }

    /// Line `local` (1-based) of chunk `k`.
    fn encode(k: usize, local: u64) -> u64 {
        Self::FLAG | (k as u64) << Self::LOCAL_BITS | local
    }

    /// The chunk and line within it, if `line` is deferred.
    fn decode(line: u64) -> Option<(usize, u64)> {
        (line & Self::FLAG != 0).then(|| {
            let k = (line & !Self::FLAG) >> Self::LOCAL_BITS;
            (k as usize, line & ((1 << Self::LOCAL_BITS) - 1))
        })
    }
}

/// An input being scanned.
struct InputRef {
    label: Arc<str>,
}

/// The chunks of one run of input and their line counts, each known once
/// its worker has scanned it, or counted by the first worker that needs
/// it sooner; both give the same count.
struct ChunkLines<'d> {
    data: &'d [u8],
    ranges: &'d [Range<usize>],
    counts: Vec<OnceLock<u64>>,
    /// Lines before `data`.
    before: u64,
    /// Releases pages of `data` (by offsets in it), when it is a mapped
    /// file scanned from the queue.
    release: Option<&'d (dyn Fn(Range<usize>) + Sync)>,
    /// Whether line numbers are [`Deferred`] until the scan is done (in
    /// the queue, where a chunk's start is not known while it is scanned).
    deferred: bool,
}

impl ChunkLines<'_> {
    fn chunk(&self, k: usize) -> &[u8] {
        &self.data[self.ranges[k].clone()]
    }

    /// Lines before chunk `k` (`k` may be the chunk count: all of them).
    fn start(&self, k: usize) -> u64 {
        let counted =
            (0..k).map(|j| *self.counts[j].get_or_init(|| chunk::count_lines(self.chunk(j))));
        self.before + counted.sum::<u64>()
    }

    /// Notes chunk `k`'s line count, as its worker found it.
    fn counted(&self, k: usize, count: u64) {
        debug_assert_eq!(count, chunk::count_lines(self.chunk(k)));
        let _ = self.counts[k].set(count);
    }
}

/// Which chunks of a mapped file are done, and how much of the file has
/// been released behind them.
struct Behind {
    done: Vec<bool>,
    /// The first chunk not done.
    frontier: usize,
    /// Bytes released so far, from the start.
    released: usize,
}

impl Behind {
    /// Notes chunk `k` done; returns a range to release (from a little
    /// before the last release's end to the first chunk not done) when
    /// that has passed [`RELEASE_BEHIND`] beyond what was released, or all
    /// are done. Releasing from the file's start each time walked the page
    /// tables of all that was released before, again and again.
    fn finished(
        &mut self,
        k: usize,
        ranges: &[Range<usize>],
        len: usize,
    ) -> Option<(usize, usize)> {
        self.done[k] = true;
        while self.frontier < ranges.len() && self.done[self.frontier] {
            self.frontier += 1;
        }
        let upto = ranges.get(self.frontier).map_or(len, |r| r.start);
        let all = self.frontier == ranges.len();
        if upto > self.released && (all || upto - self.released >= RELEASE_BEHIND) {
            let from = self.released / FAULT_AROUND * FAULT_AROUND;
            self.released = upto;
            return Some((from, upto));
        }
        None
    }
}

/// The result of one chunk.
struct ChunkResult {
    occurrences: Vec<Occurrence>,
}

/// A scan in progress.
struct Engine<'c> {
    config: &'c ScanConfig,
    finder: Finder,
    pool: rayon::ThreadPool,
    workers: Vec<Mutex<WorkerState>>,
    record: bool,
    /// Chunks per batch: enough to keep every worker busy.
    batch_chunks: usize,
    /// Identities for counting distinct tokens, shared by all workers.
    ids: TokenIds,
    /// Public-key checks shared by the workers (none with one worker).
    shared: Option<SharedChecks>,
    /// The limits token hygiene is judged by.
    hygiene_rules: HygieneRules,
}

/// Scans inputs, sending occurrences to `sink` (if any) in input order.
pub fn scan(
    inputs: &[Input],
    config: &ScanConfig,
    sink: Option<&mut dyn Sink>,
) -> Result<Report, ScanError> {
    let started = Instant::now();
    let engine = Engine::new(config, sink.is_some())?;
    let mut report = Report::new();
    let mut sink = sink;
    for input in inputs {
        let file = InputRef {
            label: input.label().into(),
        };
        engine.scan_input(input, &file, &mut report, &mut sink)?;
    }
    engine.finish(&mut report);
    report.duration_secs = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Scans bytes already in memory as one input labelled `label`.
pub fn scan_bytes(
    data: &[u8],
    label: &str,
    config: &ScanConfig,
    sink: Option<&mut dyn Sink>,
) -> Result<Report, ScanError> {
    let started = Instant::now();
    let engine = Engine::new(config, sink.is_some())?;
    let mut report = Report::new();
    let mut sink = sink;
    let file = InputRef {
        label: label.into(),
    };
    report.totals.files += 1;
    engine.scan_data(data, &file, 0, &mut report, &mut sink)?;
    engine.finish(&mut report);
    report.duration_secs = started.elapsed().as_secs_f64();
    Ok(report)
}

impl<'c> Engine<'c> {
    fn new(config: &'c ScanConfig, record: bool) -> Result<Engine<'c>, ScanError> {
        let threads = match config.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("jwtsweep-{i}"))
            .build()
            .map_err(|source| ScanError::Threads { threads, source })?;
        // With several workers a quarter of the budget holds the
        // public-key checks they share; each worker's own cache has an
        // equal part of the rest.
        let (per_worker, shared) = match threads {
            1 => (config.cache_bytes, None),
            n => {
                let shared =
                    (config.cache_bytes > 0).then(|| SharedChecks::new(config.cache_bytes / 4));
                (config.cache_bytes / 4 * 3 / n, shared)
            }
        };
        let workers = (0..threads)
            .map(|_| {
                Mutex::new(WorkerState {
                    cache: TokenCache::new(per_worker),
                    fresh: Checked::default(),
                    scratch: token::Scratch::new(),
                    found: Vec::new(),
                    report: Report::new(),
                    groups: Groups::default(),
                    hygiene: Vec::new(),
                    minute: MinuteTally::default(),
                    uses: HashMap::default(),
                })
            })
            .collect();
        log::debug!(
            "threads: {threads}; cache: {} MiB per worker",
            per_worker >> 20
        );
        log::debug!(
            "chunks: {} KiB; mmap: {:?}",
            config.chunk_bytes >> 10,
            config.mmap
        );
        // Occurrences wait in memory until their batch is written in order,
        // so batches are small when they are recorded; otherwise a batch is
        // a whole mapped input and workers never wait for each other.
        let batch_chunks = if record { threads * 4 } else { usize::MAX };
        let ids = TokenIds::new();
        Ok(Engine {
            config,
            shared,
            finder: Finder::new(),
            pool,
            workers,
            record,
            batch_chunks,
            ids,
            hygiene_rules: HygieneRules {
                leeway: config.policy.leeway,
                max_lifetime: config.max_lifetime,
            },
        })
    }

    fn scan_input(
        &self,
        input: &Input,
        file: &InputRef,
        report: &mut Report,
        sink: &mut Option<&mut dyn Sink>,
    ) -> Result<(), ScanError> {
        let opened = match source::open(input, self.config.mmap) {
            Ok(opened) => opened,
            Err(e) => {
                let (file, message) = (file.label.to_string(), e.to_string());
                report.errors.push(InputError { file, message });
                return Ok(());
            }
        };
        report.totals.files += 1;
        match opened {
            Opened::Mapped(map) => self.scan_mapped(&map, file, report, sink),
            Opened::Stream(mut reader) => self.scan_stream(&mut *reader, file, report, sink),
        }
    }

    /// Scans a mapped file, releasing its pages behind the scan, so peak
    /// memory does not grow with the file's size.
    ///
    /// Without occurrences to write in order, workers take the file's
    /// chunks from one queue, in file order, until none is left; each
    /// releases its chunk's pages behind it every [`RELEASE_STEP`] bytes,
    /// and the pages before the first chunk not yet done are released
    /// every [`RELEASE_BEHIND`] bytes. Scanning the file window by window instead,
    /// each window a parallel batch, left a core idle at every window's
    /// end while the other finished its last chunk: two threads did 82% of
    /// what two separate one-thread scans do together, against 90-100% now
    /// (BENCHMARKS.md).
    fn scan_mapped(
        &self,
        map: &memmap2::Mmap,
        file: &InputRef,
        report: &mut Report,
        sink: &mut Option<&mut dyn Sink>,
    ) -> Result<(), ScanError> {
        if self.record {
            return self.scan_mapped_in_windows(map, file, report, sink);
        }
        let data: &[u8] = map;
        report.totals.bytes += data.len() as u64;
        // The chunks, each released as soon as its end is found: finding
        // a line end faults a page in, and the kernel maps at least 64 KiB
        // around it, up to the whole large folio holding it (2 MiB), so
        // finding them all first held 64 MiB of a 4 GiB log, and releasing
        // once per 32 MiB window still peaked at 16 MiB more than a 40 MiB
        // log once the file was in the page cache in large folios.
        let size = self.chunk_size(data.len());
        let mut ranges = Vec::with_capacity((data.len() / size.max(1) + 1).min(1 << 16));
        let mut start = 0;
        while start < data.len() {
            let end = chunk::next_boundary(data, start + size);
            ranges.push(start..end);
            // SAFETY: as in `release_pages`; nothing is being read yet, so
            // the pages at either end go too.
            let _ = unsafe {
                map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start, end - start)
            };
            start = end;
        }
        let release = |range: Range<usize>| release_pages(map, range);
        let lines = ChunkLines {
            data,
            ranges: &ranges,
            counts: (0..ranges.len()).map(|_| OnceLock::new()).collect(),
            before: 0,
            release: Some(&release),
            deferred: Deferred::fits(&ranges),
        };
        let next = AtomicUsize::new(0);
        let behind = Mutex::new(Behind {
            done: vec![false; ranges.len()],
            frontier: 0,
            released: 0,
        });
        self.pool.broadcast(|_| loop {
            let k = next.fetch_add(1, Ordering::Relaxed);
            if k >= ranges.len() {
                break;
            }
            self.scan_chunk(k, &lines, file);
            let mut behind = behind.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((from, to)) = behind.finished(k, &ranges, data.len()) {
                release_pages(map, from..to);
            }
        });
        self.resolve_lines(&lines);
        let total = lines.start(ranges.len());
        report.totals.lines += total;
        Ok(())
    }

    /// Replaces the [`Deferred`] line numbers of `file` in every worker's
    /// report with the lines they stand for, now that every chunk's line
    /// count is known.
    fn resolve_lines(&self, lines: &ChunkLines<'_>) {
        let mut starts = Vec::with_capacity(lines.ranges.len());
        let mut before = lines.before;
        for k in 0..lines.ranges.len() {
            starts.push(before);
            before += *lines.counts[k].get_or_init(|| chunk::count_lines(lines.chunk(k)));
        }
        let resolve = |line: &mut u64| {
            if let Some((k, local)) = Deferred::decode(*line) {
                *line = starts[k] + local;
            }
        };
        // Every deferred line is this file's: earlier files' were resolved
        // when they were done.
        for worker in &self.workers {
            let mut state = worker.lock().unwrap_or_else(|e| e.into_inner());
            let accepted = &mut state.report.accepted.examples;
            accepted.iter_mut().for_each(|e| resolve(&mut e.line));
            accepted.sort();
            for finding in state.report.findings.values_mut() {
                finding
                    .examples
                    .iter_mut()
                    .for_each(|e| resolve(&mut e.line));
                finding.examples.sort();
            }
            for (_, line) in state.uses.values_mut().filter_map(|u| u.first_at.as_mut()) {
                resolve(line);
            }
        }
    }

    /// Scans a mapped file in windows, each a parallel batch whose
    /// occurrences are written in order, releasing each window's pages
    /// once it is scanned.
    fn scan_mapped_in_windows(
        &self,
        map: &memmap2::Mmap,
        file: &InputRef,
        report: &mut Report,
        sink: &mut Option<&mut dyn Sink>,
    ) -> Result<(), ScanError> {
        let (mut start, mut lines) = (0, 0);
        while start < map.len() {
            let end = chunk::next_boundary(map, start + MAP_WINDOW);
            lines = self.scan_data(&map[start..end], file, lines, report, sink)?;
            // SAFETY: as in `release_pages` (a read-only shared mapping:
            // dropped pages are faulted back in from the page cache), and
            // no slice of this window outlives `scan_data`.
            let _ = unsafe {
                map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start, end - start)
            };
            start = end;
        }
        Ok(())
    }

    /// The chunk size for `len` bytes of input: the configured size, made
    /// smaller when the input would otherwise give each worker fewer than
    /// [`CHUNKS_PER_WORKER`] chunks.
    fn chunk_size(&self, len: usize) -> usize {
        let balanced = (len / (self.workers.len() * CHUNKS_PER_WORKER)).max(MIN_CHUNK);
        self.config.chunk_bytes.min(balanced)
    }

    /// Reads a stream in blocks cut at the last newline. A read error ends
    /// the input: what was read is still scanned and counted, and the error
    /// is reported with the byte offset it happened at.
    fn scan_stream(
        &self,
        reader: &mut dyn Read,
        file: &InputRef,
        report: &mut Report,
        sink: &mut Option<&mut dyn Sink>,
    ) -> Result<(), ScanError> {
        let chunks_per_block = self.batch_chunks.min(self.workers.len() * 4);
        let mut block = self
            .config
            .chunk_bytes
            .max(1)
            .saturating_mul(chunks_per_block);
        let mut buf: Vec<u8> = Vec::with_capacity(block);
        let mut lines = 0;
        let mut offset = 0u64;
        loop {
            let (eof, error) = fill(reader, &mut buf, block);
            if let Some(e) = &error {
                let message = format!("read error after {} bytes: {e}", offset + buf.len() as u64);
                report.errors.push(InputError {
                    file: file.label.to_string(),
                    message,
                });
            }
            if eof || error.is_some() {
                self.scan_data(&buf, file, lines, report, sink)?;
                return Ok(());
            }
            let Some(last) = memchr::memrchr(b'\n', &buf) else {
                // One line longer than a block: read more before cutting.
                block *= 2;
                continue;
            };
            let cut = last + 1;
            lines = self.scan_data(&buf[..cut], file, lines, report, sink)?;
            offset += cut as u64;
            buf.drain(..cut);
        }
    }

    /// Scans bytes that start at a line boundary, whose first line is line
    /// `lines_before + 1`. Returns the line count after them.
    fn scan_data(
        &self,
        data: &[u8],
        file: &InputRef,
        lines_before: u64,
        report: &mut Report,
        sink: &mut Option<&mut dyn Sink>,
    ) -> Result<u64, ScanError> {
        let ranges = chunk::line_aligned(data, self.chunk_size(data.len()));
        report.totals.bytes += data.len() as u64;

        // Line numbers are worked out only where something needs one (an
        // occurrence recorded, a finding's or an accepted token's line, a
        // replayed token's first use): a chunk's worker counts its lines
        // as it scans, and a worker that needs where a chunk starts counts
        // the chunks before it that are not counted yet. A counting pass
        // over every chunk before the scan read the input twice (5-7% of
        // a scan of HS256 tokens, and half the reading floor).
        let lines = ChunkLines {
            data,
            ranges: &ranges,
            counts: (0..ranges.len()).map(|_| OnceLock::new()).collect(),
            before: lines_before,
            release: None,
            deferred: false,
        };
        let indexes: Vec<usize> = (0..ranges.len()).collect();
        for batch in indexes.chunks(self.batch_chunks) {
            let results: Vec<ChunkResult> = self.pool.install(|| {
                batch
                    .par_iter()
                    .map(|&k| self.scan_chunk(k, &lines, file))
                    .collect()
            });
            if let Some(sink) = sink.as_mut() {
                for occurrence in results.iter().flat_map(|r| &r.occurrences) {
                    sink.occurrence(occurrence).map_err(ScanError::Sink)?;
                }
            }
        }
        let total = lines.start(ranges.len());
        report.totals.lines += total - lines_before;
        Ok(total)
    }

    /// Finds, checks and judges every token in one chunk. Where `lines`
    /// can release pages, the chunk's are released every [`RELEASE_STEP`]
    /// bytes once they are scanned, and are not read again.
    fn scan_chunk(&self, k: usize, lines: &ChunkLines<'_>, file: &InputRef) -> ChunkResult {
        let chunk = lines.chunk(k);
        let start_line = OnceCell::new();
        let lines_before = || *start_line.get_or_init(|| lines.start(k));
        let deferred = lines.deferred;
        let index = rayon::current_thread_index().unwrap_or(0) % self.workers.len();
        // A worker's state is only ever used by its own thread, so the lock
        // is uncontended; it is poisoned only if a check panicked, which
        // would be a bug, so carry on with the state as it is.
        let mut guard = self.workers[index]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let state = &mut *guard;
        let mut result = ChunkResult {
            occurrences: Vec::new(),
        };
        let mut cursor = LineCursor::default();
        let config = self.config;
        let mut tokens = 0;

        // The chunk is taken a few lines at a time, each block's tokens
        // found and then checked while its bytes are still in the core's
        // cache: finding a 4 MiB chunk's tokens first read every line
        // back from memory for its context and tokens. A block starts at
        // a line, so finding in it is finding in the chunk.
        let mut block_start = 0;
        // where the chunk's last release ended, in the file
        let chunk_start = lines.ranges[k].start;
        let mut released = chunk_start;
        while block_start < chunk.len() {
            let due = chunk_start + block_start - released >= RELEASE_STEP;
            if let Some(release) = lines.release.filter(|_| due) {
                // The lines behind are counted now, while they are mapped,
                // so the chunk's count at its end does not read them back.
                cursor.advance_to(chunk, block_start);
                let upto = chunk_start + cursor.line_start;
                release(released..upto);
                // the page holding `upto` is released next time
                released = released.max(upto / PAGE * PAGE);
            }
            let block_end = chunk::next_boundary(chunk, block_start + BLOCK_BYTES);
            state.found.clear();
            self.finder
                .find_all(&chunk[block_start..block_end], &mut state.found);
            for found in &mut state.found {
                found.start += block_start;
                found.end += block_start;
            }
            tokens += state.found.len();
            block_start = block_end;
            for found in &state.found {
                cursor.advance_to(chunk, found.start);
                let text = &chunk[found.start..found.end];
                let report = &mut state.report;
                let hash = self.ids.hash(text);
                let groups = &mut state.groups;
                let scratch = &mut state.scratch;
                let fresh = &mut state.fresh;
                let shared = self.shared.as_ref().filter(|s| !s.is_empty());
                let check = |t: &[u8], out: &mut Checked| {
                    let filled = match shared.and_then(|s| s.get(t, hash)) {
                        // another worker's check, filed under this one's
                        // breakdowns below
                        Some(theirs) => {
                            *out = (*theirs).clone();
                            out.verdicts_seen = Default::default();
                            Filled::Shared
                        }
                        None => {
                            let stable = stable_hash(t);
                            report.distinct_sketch.add_hash(stable);
                            verify::check_in_place(
                                t,
                                &config.keyring,
                                &config.policy,
                                scratch,
                                out,
                            );
                            out.id = self.ids.id_from(hash, stable);
                            Filled::Checked
                        }
                    };
                    (out.group, out.subject) = groups.intern(out);
                    filled
                };
                // what this worker checks is shared from its cache's entry
                let checked = match state.cache.recent(text, hash) {
                    Some(held) => Looked::Held(held),
                    None => state.cache.get_or_check_older(
                        text,
                        hash,
                        fresh,
                        check,
                        self.shared.as_ref(),
                    ),
                };

                // the line's request context, read once per line
                let replay = config.replay_threshold.is_some();
                let line = cursor.context(chunk, self.record || replay);

                // the evaluation time, only when the verdict depends on it
                let at = checked.before_time.is_none().then(|| {
                    let (at, from_line) = cursor.evaluation_time(config.time_rule);
                    match from_line {
                        true => report.time_sources.request_time += 1,
                        false => report.time_sources.fallback += 1,
                    }
                    at
                });
                let (verdict, time) = match at {
                    Some(at) => config.policy.judge(&checked, at),
                    None => (
                        config.policy.verdict(&checked, f64::NAN),
                        TimeOutcome::Holds,
                    ),
                };
                report.count(verdict, found.carrier);
                state.groups.counts[checked.group as usize].add(verdict);
                state.groups.subjects[checked.subject as usize].add(verdict);
                // a check's first occurrence with each verdict notes it, so
                // every checked token is noted at least once
                if checked.verdicts_seen.first(verdict) {
                    report.add_distinct_verdict(checked.id, verdict);
                }

                // the audit: status, timeline, hygiene of verified tokens
                report.by_status.of_mut(line.status).add(verdict);
                match line.time {
                    Some(t) => state.minute.add(t, verdict, &mut report.timeline),
                    None => report.timeline.undated += 1,
                }
                if checked.before_time.is_none() {
                    let group = checked.group as usize;
                    if state.hygiene.len() <= group {
                        state.hygiene.resize(group + 1, Hygiene::default());
                    }
                    state.hygiene[group].add(&checked.claims, line.time, &self.hygiene_rules);
                }
                let line_number = || match deferred {
                    true => Deferred::encode(k, cursor.line + 1),
                    false => lines_before() + cursor.line + 1,
                };
                if replay {
                    let at = (&*file.label, line_number());
                    self.note_use(&mut state.uses, &checked, text, chunk, &line, at);
                }
                let report = &mut state.report;
                if verdict != Verdict::Valid && context::is_success(line.status) {
                    let label: &str = &file.label;
                    let line_number = line_number();
                    report
                        .accepted
                        .add(verdict, (label, line_number), || AcceptedExample {
                            file: label.to_string(),
                            line: line_number,
                            status: line.status.unwrap_or_default(),
                            verdict: verdict.name().to_string(),
                            token_sha256: crate::verify::hex(&checked.fingerprint_of(text)),
                        });
                }
                if !checked.findings.is_empty() {
                    let id = checked.id;
                    let example = Example {
                        file: file.label.to_string(),
                        line: line_number(),
                        token_sha256: crate::verify::hex(&checked.fingerprint_of(text)),
                    };
                    for finding in checked.findings.iter() {
                        state.report.add_finding(finding, id, example.clone());
                    }
                }

                if self.record {
                    result.occurrences.push(Occurrence {
                        file: Arc::clone(&file.label),
                        line: line_number(),
                        offset: (found.start - cursor.line_start) as u64,
                        carrier: found.carrier,
                        fingerprint: checked.fingerprint_of(text),
                        checked: checked.shared(),
                        verdict,
                        time,
                        at,
                        token: config
                            .keep_token_text
                            .then(|| String::from_utf8_lossy(text).into_owned().into_boxed_str()),
                        request_time: line.time,
                        status: line.status,
                        client: cursor.text(chunk, line.client),
                        user_agent: cursor.text(chunk, line.user_agent),
                    });
                }
            }
        }
        lines.counted(k, cursor.lines_in(chunk));
        if let Some(progress) = &config.progress {
            progress
                .bytes
                .fetch_add(chunk.len() as u64, Ordering::Relaxed);
            progress.tokens.fetch_add(tokens as u64, Ordering::Relaxed);
        }
        result
    }

    /// Counts a use of a token (or of its `iss` + `jti`) for replay.
    fn note_use(
        &self,
        uses: &mut HashMap<u128, TokenUse, ahash::RandomState>,
        checked: &Checked,
        text: &[u8],
        chunk: &[u8],
        line: &LineFacts,
        (file, line_number): (&str, u64),
    ) {
        let key = use_key(&self.ids, checked);
        let entry = uses.entry(key).or_insert_with(|| TokenUse {
            name: match checked.claims.jti() {
                Some(jti) => format!("jti {}/{jti}", checked.claims.iss().unwrap_or("")),
                None => format!(
                    "token_sha256 {}",
                    crate::verify::hex(&checked.fingerprint_of(text))
                ),
            },
            ..TokenUse::default()
        });
        let field = |range: Option<(usize, usize)>| {
            range
                .and_then(|(a, b)| chunk.get(a..b))
                .map(|f| self.ids.hash(f))
        };
        entry.add(field(line.client), field(line.user_agent), line.time);
        entry.place(file, line_number);
    }

    /// Merges the workers' reports and cache counters, and adds the run's
    /// settings.
    fn finish(&self, report: &mut Report) {
        let started = Instant::now();
        // Each worker turns its state into a report, all at once; then the
        // reports merge pairwise, in parallel where there are more than
        // two. Merging one after another on this thread made 11% of a
        // 2-thread scan of 300k distinct tokens serial.
        let reports: Vec<Report> = self.pool.install(|| {
            self.workers
                .par_iter()
                .map(|worker| {
                    let mut state = worker.lock().unwrap_or_else(|e| e.into_inner());
                    let mut worker_report = std::mem::take(&mut state.report);
                    state.minute.flush(&mut worker_report.timeline);
                    for (group, hygiene) in state.hygiene.iter().enumerate() {
                        worker_report.add_hygiene(state.groups.issuer(group), hygiene);
                    }
                    state.hygiene.clear();
                    state.groups.drain_into(&mut worker_report);
                    worker_report.cache.hits += state.cache.stats.hits;
                    worker_report.cache.misses += state.cache.stats.misses;
                    worker_report.cache.evictions += state.cache.stats.evictions;
                    worker_report.cache.entries += state.cache.len() as u64;
                    worker_report.cache.bytes += state.cache.charged_bytes() as u64;
                    // sorted here, on every worker at once, so the merge
                    // below only interleaves
                    worker_report.settle_distinct();
                    if !self.config.free_caches {
                        std::mem::forget(std::mem::replace(&mut state.cache, TokenCache::new(0)));
                    }
                    worker_report
                })
                .collect()
        });
        let merged = self.pool.install(|| {
            reports.into_par_iter().reduce_with(|mut a, b| {
                a.merge(b);
                a
            })
        });
        if let Some(merged) = merged {
            report.merge(merged);
        }
        if let Some(shared) = &self.shared {
            let (entries, bytes) = shared.held();
            report.cache.entries += entries as u64;
            report.cache.bytes += bytes as u64;
        }
        report.settle_distinct();
        let mut uses: HashMap<u128, TokenUse, ahash::RandomState> = HashMap::default();
        for worker in &self.workers {
            let mut state = worker.lock().unwrap_or_else(|e| e.into_inner());
            for (key, usage) in state.uses.drain() {
                match uses.get_mut(&key) {
                    Some(mine) => mine.merge(usage),
                    None => {
                        uses.insert(key, usage);
                    }
                }
            }
        }
        report.settings = settings(self.config);
        if let Some(threshold) = self.config.replay_threshold {
            let threshold = threshold.min(MAX_TRACKED as u64 - 1);
            report.replay = Some(Replay::from_uses(threshold, uses.into_values()));
        }
        report.finish_audit(self.config.bucket.as_deref());
        log::debug!(
            "merged {} worker reports in {:.1} ms",
            self.workers.len(),
            started.elapsed().as_secs_f64() * 1e3
        );
    }
}

/// The replay key of an occurrence: its `iss` + `jti` when it has a
/// `jti` (re-signed copies of one token count together), else the token.
fn use_key(ids: &TokenIds, checked: &Checked) -> u128 {
    match checked.claims.jti() {
        Some(jti) => {
            let iss = checked.claims.iss().unwrap_or("");
            // a constant keeps these apart from token identities
            ids.id(iss.as_bytes()) ^ ids.id(jti.as_bytes()).rotate_left(7) ^ 0x006a_7469
        }
        None => checked.id,
    }
}

/// Reads until `buf` holds `block` bytes or the stream ends. Returns
/// whether it ended, and the error that stopped it, if any; bytes read
/// before an error stay in `buf`. `read_to_end` appends without zeroing the
/// buffer first, which matters for small inputs and a large block.
fn fill(reader: &mut dyn Read, buf: &mut Vec<u8>, block: usize) -> (bool, Option<io::Error>) {
    let want = block.saturating_sub(buf.len()) as u64;
    match reader.take(want).read_to_end(buf) {
        Ok(n) => ((n as u64) < want, None),
        Err(e) => (false, Some(e)),
    }
}

/// Tracks the line of the current token within a chunk, and that line's
/// request context, read at most once per line.
#[derive(Default)]
struct LineCursor {
    /// 0-based line index within the chunk.
    line: u64,
    /// Offset of that line's first byte.
    line_start: usize,
    /// Offset of the newline that ends that line (or the chunk's end),
    /// once looked for.
    line_end: Option<usize>,
    /// The context of `line`, once read.
    context: Option<LineFacts>,
    /// The last common log time read.
    times: time::ClfMemo,
    /// Whether the cursor has been moved to a token.
    moved: bool,
}

/// A line's context, with its text fields as ranges of the chunk.
#[derive(Clone, Copy, Default)]
struct LineFacts {
    time: Option<f64>,
    status: Option<u16>,
    client: Option<(usize, usize)>,
    user_agent: Option<(usize, usize)>,
}

impl LineCursor {
    /// Moves to the line holding offset `at` (never backwards).
    ///
    /// Each line's end is looked for once, and the context reads the line
    /// up to it anyway; only the bytes between that end and `at` are
    /// counted. Counting every gap between tokens, finding the last line
    /// start in it backwards, then the line's end for its context read
    /// most lines three times (7% of a scan with a token per line).
    fn advance_to(&mut self, chunk: &[u8], at: usize) {
        self.moved = true;
        let end = self.line_end(chunk);
        if at <= end {
            return;
        }
        let skipped = &chunk[end + 1..at];
        let newlines = bytecount::count(skipped, b'\n');
        self.line += 1 + newlines as u64;
        self.line_start = match newlines {
            0 => end + 1,
            // There is a newline in `skipped`, so memrchr finds one.
            _ => end + 1 + memchr::memrchr(b'\n', skipped).map_or(0, |i| i + 1),
        };
        self.line_end = None;
        self.context = None;
    }

    /// The lines in the whole chunk: those the cursor has passed, its
    /// own, and the rest counted.
    fn lines_in(&mut self, chunk: &[u8]) -> u64 {
        if !self.moved {
            return chunk::count_lines(chunk);
        }
        let end = self.line_end(chunk);
        let rest = chunk.get(end + 1..).map_or(0, chunk::count_lines);
        self.line + 1 + rest
    }

    /// The offset of the newline ending the current line, or the chunk's
    /// length.
    fn line_end(&mut self, chunk: &[u8]) -> usize {
        let start = self.line_start;
        *self.line_end.get_or_insert_with(|| {
            memchr::memchr(b'\n', &chunk[start..]).map_or(chunk.len(), |i| start + i)
        })
    }

    /// The current line's context, read on first need.
    fn context(&mut self, chunk: &[u8], text: bool) -> LineFacts {
        let start = self.line_start;
        let end = self.line_end(chunk);
        let times = &mut self.times;
        *self.context.get_or_insert_with(|| {
            let line = &chunk[start..end];
            let c = context::parse_with(line, text, times);
            // a field borrowed from `line` as a range of the chunk
            let range = |field: Option<&[u8]>| {
                field.map(|f| {
                    let from = start + (f.as_ptr() as usize - line.as_ptr() as usize);
                    (from, from + f.len())
                })
            };
            LineFacts {
                time: c.time,
                status: c.status,
                client: range(c.client),
                user_agent: range(c.user_agent),
            }
        })
    }

    /// A context field as text, for recorded occurrences.
    fn text(&self, chunk: &[u8], range: Option<(usize, usize)>) -> Option<Box<str>> {
        let (from, to) = range?;
        let bytes = chunk.get(from..to)?;
        Some(String::from_utf8_lossy(bytes).into_owned().into_boxed_str())
    }

    /// The evaluation time for the current line, and whether it came from
    /// the line itself; [`LineCursor::context`] must have read the line.
    fn evaluation_time(&mut self, rule: TimeRule) -> (f64, bool) {
        let fallback = match rule {
            TimeRule::Fixed(t) => return (t, false),
            TimeRule::RequestTimeElse(t) => t,
        };
        match self.context.and_then(|c| c.time) {
            Some(t) => (t, true),
            None => (fallback, false),
        }
    }
}

fn settings(config: &ScanConfig) -> Settings {
    let (rule, at) = config.time_rule.describe();
    let policy = &config.policy;
    Settings {
        time_rule: rule.to_string(),
        at: time::format_rfc3339(at),
        leeway_secs: policy.leeway,
        issuers: policy.issuers.clone(),
        audiences: policy.audiences.clone(),
        algs: policy.algs.iter().map(|a| a.name().to_string()).collect(),
        max_lifetime_secs: config.max_lifetime,
        keys: config
            .keyring
            .keys()
            .iter()
            .map(|k| {
                let algs: Vec<&str> = k.algs.iter().map(|a| a.name()).collect();
                let id = k.id.as_deref().unwrap_or("(no kid)");
                format!(
                    "{id} ({}: {}) from {}",
                    k.family.name(),
                    algs.join(","),
                    k.origin
                )
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Collect(Vec<(u64, u64, Verdict)>);

    impl Sink for Collect {
        fn occurrence(&mut self, o: &Occurrence) -> io::Result<()> {
            self.0.push((o.line, o.offset, o.verdict));
            Ok(())
        }
    }

    fn config(chunk_bytes: usize, threads: usize) -> ScanConfig {
        let mut c = ScanConfig::new(Keyring::new(), Policy::default(), TimeRule::Fixed(0.0));
        c.chunk_bytes = chunk_bytes;
        c.threads = threads;
        c
    }

    const NONE: &str = "eyJhbGciOiJub25lIn0.e30.";

    #[test]
    fn line_numbers_and_offsets_survive_chunking() {
        let log = format!("a\r\n{NONE}\n\nx {NONE} y {NONE}\r\nlast {NONE}");
        let mut want = None;
        for chunk_bytes in [1, 2, 5, 64, 1 << 20] {
            for threads in [1, 2] {
                let mut sink = Collect(Vec::new());
                let report = scan_bytes(
                    log.as_bytes(),
                    "t",
                    &config(chunk_bytes, threads),
                    Some(&mut sink),
                )
                .unwrap();
                assert_eq!(report.totals.lines, 5);
                assert_eq!(report.totals.tokens, 4);
                assert_eq!(report.totals.distinct_tokens, 1);
                let expected = vec![
                    (2, 0, Verdict::AlgNone),
                    (4, 2, Verdict::AlgNone),
                    (4, 2 + NONE.len() as u64 + 3, Verdict::AlgNone),
                    (5, 5, Verdict::AlgNone),
                ];
                assert_eq!(sink.0, expected);
                let got = (report.verdicts, report.totals);
                assert_eq!(*want.get_or_insert(got), got);
            }
        }
    }

    #[test]
    fn pages_are_released_behind_the_first_chunk_not_done() {
        // chunks of about 1 MiB finishing out of order: every release
        // starts at most FAULT_AROUND before the last one ended (aligned to
        // it), never passes the first chunk not done, comes every
        // RELEASE_BEHIND bytes, and together they cover the file
        let size = (1 << 20) + 4099;
        let ranges: Vec<Range<usize>> = (0..200).map(|i| i * size..(i + 1) * size).collect();
        let len = 200 * size;
        let mut behind = Behind {
            done: vec![false; ranges.len()],
            frontier: 0,
            released: 0,
        };
        let mut order: Vec<usize> = (0..ranges.len()).collect();
        // a fixed shuffle: pairs swapped, and every seventh moved late
        for pair in order.chunks_mut(2) {
            pair.reverse();
        }
        let late: Vec<usize> = order.iter().copied().filter(|k| k % 7 == 3).collect();
        order.retain(|k| k % 7 != 3);
        order.extend(late);
        let mut end = 0;
        for (n, &k) in order.iter().enumerate() {
            if let Some((from, to)) = behind.finished(k, &ranges, len) {
                assert_eq!(from, end / FAULT_AROUND * FAULT_AROUND);
                let first_not_done = (0..ranges.len()).find(|&j| !behind.done[j]);
                assert!(first_not_done.is_none_or(|j| to <= ranges[j].start));
                assert!(to - end >= RELEASE_BEHIND || n == order.len() - 1);
                end = to;
            }
        }
        assert_eq!(end, len);
    }

    #[test]
    fn mapped_chunks_released_as_they_go_keep_line_numbers() {
        // A 40 MiB log scanned from the chunk queue: with one thread in
        // chunks of more than a MiB (32 per worker), so each chunk is
        // released a MiB at a time; with two, line numbers are deferred
        // across workers until the end. The accepted examples' lines, the
        // line count and the verdicts must be those of reading the file in
        // one piece.
        let planted = [3usize, 15_000, 45_001, 99_999, 138_123];
        // a second token, first used in a later chunk, for the replay check
        let other = "eyJhbGciOiJub25lIn0.eyJhIjoxfQ.";
        let mut log = String::new();
        let mut line = 0;
        while log.len() < 40 << 20 {
            line += 1;
            match planted.contains(&line) {
                true => log.push_str(&format!(
                    "10.0.0.{} - - [03/Dec/2026:10:00:00 +0000] \"GET /?t={} HTTP/1.1\" 200 5\n",
                    line % 250,
                    if line < 40_000 { NONE } else { other }
                )),
                false => log.push_str(&format!(
                    "10.0.0.{} - - [03/Dec/2026:10:00:00 +0000] \"GET /plain/{line} HTTP/1.1\" \
                     404 5 \"-\" \"agent/1.0\"\n",
                    line % 250
                )),
            }
        }
        assert!(line > 138_123);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("access.log");
        std::fs::write(&path, &log).unwrap();
        let lines_of =
            |r: &Report| -> Vec<u64> { r.accepted.examples.iter().map(|e| e.line).collect() };
        let first_at = |r: &Report| -> Vec<String> {
            let replay = r.replay.as_ref().unwrap();
            let mut at: Vec<String> = replay.shared.iter().map(|t| t.first_at.clone()).collect();
            at.sort();
            at
        };
        let mut c = config(2 << 20, 1);
        c.replay_threshold = Some(1);
        let whole = scan_bytes(log.as_bytes(), "t", &c, None).unwrap();
        assert_eq!(lines_of(&whole), planted.map(|l| l as u64));
        assert_eq!(first_at(&whole), ["t:3", "t:45001"]);
        for threads in [1, 2] {
            let mut c = config(2 << 20, threads);
            c.replay_threshold = Some(1);
            let size = Engine::new(&c, false).unwrap().chunk_size(log.len());
            assert!(threads > 1 || size > RELEASE_STEP);
            c.mmap = MmapChoice::Always;
            let report = scan(&[Input::File(path.clone())], &c, None).unwrap();
            assert!(report.errors.is_empty(), "{:?}", report.errors);
            assert_eq!(report.totals.lines, line as u64, "{threads} threads");
            assert_eq!(report.totals.tokens, planted.len() as u64);
            assert_eq!(report.verdicts, whole.verdicts);
            assert_eq!(lines_of(&report), lines_of(&whole), "{threads} threads");
            let label = path.display().to_string();
            let want: Vec<String> = ["3", "45001"].map(|l| format!("{label}:{l}")).into();
            assert_eq!(first_at(&report), want, "{threads} threads");
        }
    }

    #[test]
    fn deferred_lines_keep_their_order_and_decode() {
        let places = [
            (0, 1),
            (0, 2),
            (0, u32::MAX as u64),
            (1, 1),
            (7, 40),
            (1 << 30, 3),
        ];
        let encoded: Vec<u64> = places
            .iter()
            .map(|&(k, l)| Deferred::encode(k, l))
            .collect();
        assert!(encoded.windows(2).all(|w| w[0] < w[1]));
        for (&(k, l), &e) in places.iter().zip(&encoded) {
            assert_eq!(Deferred::decode(e), Some((k, l)));
        }
        assert_eq!(Deferred::decode(12), None);
        assert!(Deferred::fits(&[0..4 << 20, 4 << 20..8 << 20]));
        assert!(!Deferred::fits(&[
            0..4 << 20,
            4 << 20..(4 << 20) + (1 << 32)
        ]));
    }

    #[test]
    fn streams_match_whole_data() {
        let mut log = String::new();
        for i in 0..500 {
            log.push_str(&format!(
                "line {i} {}\n",
                if i % 3 == 0 { NONE } else { "none" }
            ));
        }
        let c = config(100, 2);
        let engine = Engine::new(&c, true).unwrap();
        let mut report = Report::new();
        let mut collect = Collect(Vec::new());
        {
            let mut sink: Option<&mut dyn Sink> = Some(&mut collect);
            let mut reader = io::Cursor::new(log.as_bytes());
            engine
                .scan_stream(
                    &mut reader,
                    &InputRef {
                        label: Arc::from("t"),
                    },
                    &mut report,
                    &mut sink,
                )
                .unwrap();
        }
        engine.finish(&mut report);
        let mut whole = Collect(Vec::new());
        let expected = scan_bytes(log.as_bytes(), "t", &c, Some(&mut whole)).unwrap();
        assert_eq!(collect.0, whole.0);
        assert_eq!(report.totals.lines, expected.totals.lines);
        assert_eq!(report.totals.bytes, expected.totals.bytes);
        assert_eq!(report.verdicts, expected.verdicts);
    }

    #[test]
    fn request_time_per_line_and_fallback() {
        let hs = "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjE3OTYyOTIwMDB9.AAAA";
        let log = format!(
            "[03/Dec/2026:09:00:00 +0000] {hs}\n[03/Dec/2026:11:00:00 +0000] {hs}\nno time {hs}\n"
        );
        let mut keyring = Keyring::new();
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("s");
        std::fs::write(&secret, "k").unwrap();
        keyring.load_secret(None, &secret).unwrap();
        let c = ScanConfig::new(keyring, Policy::default(), TimeRule::RequestTimeElse(0.0));
        let report = scan_bytes(log.as_bytes(), "t", &c, None).unwrap();
        // The signature is wrong, so no time judgement is made.
        assert_eq!(report.verdicts.of(Verdict::BadSignature), 3);
        assert_eq!(
            report.time_sources.request_time + report.time_sources.fallback,
            0
        );
    }
}
