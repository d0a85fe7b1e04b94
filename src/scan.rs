//! The scan: inputs in, one verdict per occurrence and a report out.
//!
//! Each input is cut into line-aligned chunks ([`crate::chunk`]); a batch
//! of chunks runs on the rayon pool, each worker finding tokens, checking
//! each distinct token once through its own [`TokenCache`], judging every
//! occurrence at its own evaluation time and folding it into a per-chunk
//! [`Report`]. Batch results are then taken in input order: line numbers
//! are made absolute, occurrences go to the [`Sink`] in file order, and the
//! chunk reports merge into the run's report.
//!
//! Mapped files and streams share this path; streams are read in blocks
//! the size of a batch, cut at the last newline, so memory stays bounded
//! whatever the input's size.

use std::io::{self, Read};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use hashbrown::HashTable;
use rayon::prelude::*;

use crate::cache::TokenCache;
use crate::chunk;
use crate::find::{Carrier, Finder, Found};
use crate::judge::{Policy, TimeOutcome};
use crate::keys::Keyring;
use crate::report::{Example, InputError, Report, Settings, TokenIds, VerdictCounts};
use crate::source::{self, Input, MmapChoice, Opened};
use crate::time;
use crate::token;
use crate::verdict::Verdict;
use crate::verify::{self, Checked};

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
        }
    }
}

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
    scratch: token::Scratch,
    found: Vec<Found>,
    report: Report,
    groups: Groups,
}

/// The breakdown keys (alg, kid, issuer) a worker has seen, each with its
/// verdict counts. A check is given its group's index when it is made, so
/// an occurrence adds to its breakdowns by indexing a vector: string-keyed
/// map lookups per occurrence, or a per-chunk tally of checks, cost 7% of
/// a no-reuse scan. The maps are built from the groups once, at the end.
#[derive(Default)]
struct Groups {
    index: HashTable<u32>,
    hasher: ahash::RandomState,
    keys: Vec<[Option<String>; 3]>,
    counts: Vec<VerdictCounts>,
}

impl Groups {
    /// The group of a check's alg, kid and issuer, created if new.
    fn intern(&mut self, checked: &Checked) -> u32 {
        let key = [checked.alg(), checked.kid.as_deref(), checked.claims.iss()];
        let hash = self.hasher.hash_one(key);
        let keys = &self.keys;
        let same = |&i: &u32| {
            let k = &keys[i as usize];
            [k[0].as_deref(), k[1].as_deref(), k[2].as_deref()] == key
        };
        if let Some(&i) = self.index.find(hash, same) {
            return i;
        }
        let i = self.keys.len() as u32;
        self.keys.push(key.map(|s| s.map(str::to_string)));
        self.counts.push(VerdictCounts::default());
        let (hasher, keys) = (&self.hasher, &self.keys);
        self.index.insert_unique(hash, i, |&j| {
            let k = &keys[j as usize];
            hasher.hash_one([k[0].as_deref(), k[1].as_deref(), k[2].as_deref()])
        });
        i
    }

    /// Adds every group's counts to the report's breakdowns, and empties.
    fn drain_into(&mut self, report: &mut Report) {
        for (key, counts) in self.keys.iter().zip(&self.counts) {
            let [alg, kid, iss] = key;
            report.add_breakdowns_for(alg.as_deref(), kid.as_deref(), iss.as_deref(), counts);
            report.add_family(alg.as_deref(), kid.as_deref(), iss.as_deref());
        }
        *self = Groups::default();
    }
}

/// Mapped files are scanned this many bytes at a time (rounded up to a
/// line end), each window's pages released when it is done.
const MAP_WINDOW: usize = 256 << 20;

/// An input being scanned.
struct InputRef {
    label: Arc<str>,
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
        let per_worker = config.cache_bytes / threads;
        let workers = (0..threads)
            .map(|_| {
                Mutex::new(WorkerState {
                    cache: TokenCache::new(per_worker),
                    scratch: token::Scratch::new(),
                    found: Vec::new(),
                    report: Report::new(),
                    groups: Groups::default(),
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
            finder: Finder::new(),
            pool,
            workers,
            record,
            batch_chunks,
            ids,
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

    /// Scans a mapped file in windows, releasing each window's pages once
    /// it is scanned, so peak memory does not grow with the file's size.
    fn scan_mapped(
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
            // SAFETY: the mapping is private and read-only and no slice of
            // this window outlives `scan_data`; dropping its pages only
            // makes a later access read them from the file again. The
            // advice is a hint: if it fails, memory is merely not released.
            let _ = unsafe {
                map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start, end - start)
            };
            start = end;
        }
        Ok(())
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
        let ranges = chunk::line_aligned(data, self.config.chunk_bytes);
        report.totals.bytes += data.len() as u64;

        // Each chunk's first line number, from a counting pass at memory
        // speed, so workers give occurrences and findings their final line
        // numbers and nothing is fixed up afterwards.
        let counts: Vec<u64> = self.pool.install(|| {
            ranges
                .par_iter()
                .map(|r| chunk::count_lines(&data[r.clone()]))
                .collect()
        });
        let mut starts = Vec::with_capacity(ranges.len());
        let mut lines = lines_before;
        for count in counts {
            starts.push(lines);
            lines += count;
        }

        for (batch, starts) in ranges
            .chunks(self.batch_chunks)
            .zip(starts.chunks(self.batch_chunks))
        {
            let results: Vec<ChunkResult> = self.pool.install(|| {
                batch
                    .par_iter()
                    .zip(starts)
                    .map(|(range, &start)| self.scan_chunk(&data[range.clone()], file, start))
                    .collect()
            });
            if let Some(sink) = sink.as_mut() {
                for occurrence in results.iter().flat_map(|r| &r.occurrences) {
                    sink.occurrence(occurrence).map_err(ScanError::Sink)?;
                }
            }
        }
        report.totals.lines += lines - lines_before;
        Ok(lines)
    }

    /// Finds, checks and judges every token in one chunk.
    fn scan_chunk(&self, chunk: &[u8], file: &InputRef, lines_before: u64) -> ChunkResult {
        let index = rayon::current_thread_index().unwrap_or(0) % self.workers.len();
        // A worker's state is only ever used by its own thread, so the lock
        // is uncontended; it is poisoned only if a check panicked, which
        // would be a bug, so carry on with the state as it is.
        let mut guard = self.workers[index]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let state = &mut *guard;
        state.found.clear();
        self.finder.find_all(chunk, &mut state.found);

        let mut result = ChunkResult {
            occurrences: Vec::new(),
        };
        let mut cursor = LineCursor::default();
        let config = self.config;
        for found in &state.found {
            cursor.advance_to(chunk, found.start);
            let text = &chunk[found.start..found.end];
            let report = &mut state.report;
            let hash = self.ids.hash(text);
            let groups = &mut state.groups;
            let checked = state.cache.get_or_check(text, hash, |t| {
                report.add_distinct(self.ids.id_with(hash, t));
                let mut checked =
                    verify::check(t, &config.keyring, &config.policy, &mut state.scratch);
                checked.group = groups.intern(&checked);
                checked
            });

            // the evaluation time, only when the verdict depends on it
            let at = checked.before_time.is_none().then(|| {
                let (at, from_line) = cursor.evaluation_time(chunk, config.time_rule);
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
            if !checked.findings.is_empty() {
                let id = self.ids.id_with(hash, text);
                let example = Example {
                    file: file.label.to_string(),
                    line: lines_before + cursor.line + 1,
                    token_sha256: crate::verify::hex(&checked.fingerprint_of(text)),
                };
                for finding in checked.findings.iter() {
                    state.report.add_finding(finding, id, example.clone());
                }
            }

            if self.record {
                result.occurrences.push(Occurrence {
                    file: Arc::clone(&file.label),
                    line: lines_before + cursor.line + 1,
                    offset: (found.start - cursor.line_start) as u64,
                    carrier: found.carrier,
                    fingerprint: checked.fingerprint_of(text),
                    checked,
                    verdict,
                    time,
                    at,
                    token: config
                        .keep_token_text
                        .then(|| String::from_utf8_lossy(text).into_owned().into_boxed_str()),
                });
            }
        }
        result
    }

    /// Merges the workers' reports and cache counters, and adds the run's
    /// settings.
    fn finish(&self, report: &mut Report) {
        for worker in &self.workers {
            let mut state = worker.lock().unwrap_or_else(|e| e.into_inner());
            let mut worker_report = std::mem::take(&mut state.report);
            state.groups.drain_into(&mut worker_report);
            report.merge(worker_report);
            report.cache.hits += state.cache.stats.hits;
            report.cache.misses += state.cache.stats.misses;
            report.cache.evictions += state.cache.stats.evictions;
            if !self.config.free_caches {
                std::mem::forget(std::mem::replace(&mut state.cache, TokenCache::new(0)));
            }
        }
        report.settings = settings(self.config);
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
/// request time, computed at most once per line.
#[derive(Default)]
struct LineCursor {
    /// 0-based line index within the chunk.
    line: u64,
    /// Offset of that line's first byte.
    line_start: usize,
    /// Offset up to which newlines have been counted.
    counted_to: usize,
    /// The request time of `line`, once looked up.
    time: Option<Option<f64>>,
}

impl LineCursor {
    fn advance_to(&mut self, chunk: &[u8], at: usize) {
        let skipped = &chunk[self.counted_to..at];
        let newlines = bytecount::count(skipped, b'\n') as u64;
        if newlines > 0 {
            self.line += newlines;
            // There is a newline in `skipped`, so memrchr finds one.
            self.line_start =
                self.counted_to + memchr::memrchr(b'\n', skipped).map_or(0, |i| i + 1);
            self.time = None;
        }
        self.counted_to = at;
    }

    /// The evaluation time for the current line, and whether it came from
    /// the line itself.
    fn evaluation_time(&mut self, chunk: &[u8], rule: TimeRule) -> (f64, bool) {
        let fallback = match rule {
            TimeRule::Fixed(t) => return (t, false),
            TimeRule::RequestTimeElse(t) => t,
        };
        let line_start = self.line_start;
        let found = *self.time.get_or_insert_with(|| {
            let end =
                memchr::memchr(b'\n', &chunk[line_start..]).map_or(chunk.len(), |i| line_start + i);
            time::request_time(&chunk[line_start..end])
        });
        match found {
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
