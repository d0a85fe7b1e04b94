//! The human-readable summary for a terminal.

use std::collections::BTreeMap;
use std::io::{self, Write};

use super::{Report, VerdictCounts};
use crate::verdict::Verdict;

/// Breakdown tables show this many rows, largest first.
const TOP: usize = 10;

/// Writes the summary.
pub fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let t = &report.totals;
    writeln!(out, "jwtsweep scan report")?;
    writeln!(
        out,
        "read {} files, {} lines, {} bytes in {:.2}s",
        t.files, t.lines, t.bytes, report.duration_secs
    )?;
    writeln!(
        out,
        "found {} token occurrences, {} distinct",
        t.tokens, t.distinct_tokens
    )?;
    let s = &report.settings;
    writeln!(
        out,
        "judged at: {} ({}), leeway {}s",
        s.at, s.time_rule, s.leeway_secs
    )?;
    let ts = &report.time_sources;
    if ts.request_time + ts.fallback > 0 {
        writeln!(
            out,
            "  {} occurrences judged at their request time, {} at the fallback time",
            ts.request_time, ts.fallback
        )?;
    }
    if !s.issuers.is_empty() {
        writeln!(out, "issuers: {}", s.issuers.join(", "))?;
    }
    if !s.audiences.is_empty() {
        writeln!(out, "audiences: {}", s.audiences.join(", "))?;
    }
    if s.keys.is_empty() {
        writeln!(out, "keys: none (every signed token is unknown_key)")?;
    } else {
        writeln!(out, "keys:")?;
        for key in &s.keys {
            writeln!(out, "  {key}")?;
        }
    }

    findings(report, out)?;

    // verdicts
    writeln!(out)?;
    writeln!(
        out,
        "{:<18} {:>12} {:>7}",
        "verdict", "occurrences", "share"
    )?;
    let total = report.verdicts.total().max(1) as f64;
    for verdict in Verdict::ALL {
        let n = report.verdicts.of(verdict);
        if n > 0 {
            let share = 100.0 * n as f64 / total;
            writeln!(out, "{:<18} {:>12} {:>6.1}%", verdict.name(), n, share)?;
        }
    }

    // breakdowns
    for (title, map) in [
        ("alg", &report.by_alg),
        ("kid", &report.by_kid),
        ("issuer", &report.by_issuer),
    ] {
        breakdown(out, title, map)?;
    }

    if !report.errors.is_empty() {
        writeln!(out)?;
        writeln!(out, "inputs not read completely:")?;
        for e in &report.errors {
            writeln!(out, "  {}: {}", e.file, e.message)?;
        }
    }
    Ok(())
}

/// Findings, most severe first, each with its counts and first places.
fn findings(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    if report.findings.is_empty() {
        return Ok(());
    }
    let mut rows: Vec<_> = report.findings.iter().collect();
    let rank = |s: &str| {
        ["critical", "high", "medium", "low"]
            .iter()
            .position(|x| *x == s)
    };
    rows.sort_by(|a, b| {
        rank(&a.1.severity)
            .cmp(&rank(&b.1.severity))
            .then(b.1.occurrences.cmp(&a.1.occurrences))
    });
    writeln!(out)?;
    writeln!(out, "findings")?;
    for (name, f) in rows {
        writeln!(
            out,
            "  [{}] {name}: {} occurrences, {} distinct tokens",
            f.severity, f.occurrences, f.distinct_tokens
        )?;
        writeln!(out, "      {}", f.explanation)?;
        for subject in &f.subjects {
            writeln!(out, "      {subject}")?;
        }
        for e in &f.examples {
            let short = &e.token_sha256[..e.token_sha256.len().min(16)];
            writeln!(out, "      at {}:{} (token {short}…)", e.file, e.line)?;
        }
    }
    Ok(())
}

/// A table of the largest keys with their valid and not-valid counts and
/// the most common non-valid verdict.
fn breakdown(
    out: &mut dyn Write,
    title: &str,
    map: &BTreeMap<String, VerdictCounts>,
) -> io::Result<()> {
    if map.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    let width = map
        .keys()
        .take(TOP)
        .map(|k| k.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(6, 48);
    writeln!(
        out,
        "{:<width$} {:>12} {:>10}  most common problem",
        format!("by {title}"),
        "occurrences",
        "valid"
    )?;
    let mut rows: Vec<_> = map.iter().collect();
    rows.sort_by(|a, b| b.1.total().cmp(&a.1.total()).then(a.0.cmp(b.0)));
    for (key, counts) in rows.iter().take(TOP) {
        let worst = Verdict::ALL
            .into_iter()
            .filter(|v| *v != Verdict::Valid && counts.of(*v) > 0)
            .max_by_key(|v| counts.of(*v))
            .map_or(String::new(), |v| {
                format!("{} ({})", v.name(), counts.of(v))
            });
        let key: String = key.chars().take(width).collect();
        writeln!(
            out,
            "{:<width$} {:>12} {:>10}  {}",
            key,
            counts.total(),
            counts.of(Verdict::Valid),
            worst
        )?;
    }
    if rows.len() > TOP {
        writeln!(out, "… and {} more", rows.len() - TOP)?;
    }
    Ok(())
}
