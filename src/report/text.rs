//! The human-readable summary for a terminal: aligned tables, colour
//! only when asked for (the CLI asks when stdout is a terminal).

use std::collections::BTreeMap;
use std::io::{self, Write};

use super::audit::Hygiene;
use super::{FindingReport, Report, VerdictCounts, SEVERITIES};
use crate::verdict::Verdict;

/// Breakdown tables show this many rows by default, largest first.
pub const TOP: usize = 10;

/// How a summary is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RenderOptions {
    /// Rows per breakdown table (`--top`).
    pub top: usize,
    /// Whether to colour severities with ANSI escapes (`--color`).
    pub color: bool,
}

impl Default for RenderOptions {
    fn default() -> RenderOptions {
        RenderOptions {
            top: TOP,
            color: false,
        }
    }
}

/// Writes the summary with default options.
pub fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    render_with(report, &RenderOptions::default(), out)
}

/// Writes the summary.
pub fn render_with(
    report: &Report,
    options: &RenderOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    let t = &report.totals;
    writeln!(out, "jwtsweep scan report")?;
    writeln!(
        out,
        "read {} files, {} lines, {} bytes in {:.2}s",
        t.files, t.lines, t.bytes, report.duration_secs
    )?;
    writeln!(
        out,
        "found {} token occurrences, {} distinct{}",
        t.tokens,
        t.distinct_tokens,
        estimated_note(report)
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

    findings(report, options, out)?;

    // verdicts
    writeln!(out)?;
    writeln!(
        out,
        "{:<18} {:>12} {:>7} {:>9}",
        "verdict", "occurrences", "share", "distinct"
    )?;
    let total = report.verdicts.total().max(1) as f64;
    for verdict in Verdict::ALL {
        let n = report.verdicts.of(verdict);
        if n > 0 {
            let share = 100.0 * n as f64 / total;
            let distinct = report.distinct_per_verdict.of(verdict);
            writeln!(
                out,
                "{:<18} {:>12} {:>6.1}% {distinct:>9}",
                verdict.name(),
                n,
                share
            )?;
        }
    }

    status_table(report, out)?;

    // breakdowns
    for (title, map) in report.breakdowns() {
        breakdown(out, title, map, options.top)?;
    }

    timeline(report, out)?;
    hygiene(report, out)?;

    if !report.errors.is_empty() {
        writeln!(out)?;
        writeln!(out, "inputs not read completely:")?;
        for e in &report.errors {
            writeln!(out, "  {}: {}", e.file, e.message)?;
        }
    }
    Ok(())
}

/// The note after the distinct-token count when it is an estimate.
pub(crate) fn estimated_note(report: &Report) -> String {
    match report.totals.distinct_tokens_estimated {
        true => format!(
            " (estimated from merged reports, ±{:.1}%)",
            100.0 * super::audit::DistinctSketch::RELATIVE_ERROR
        ),
        false => String::new(),
    }
}

/// Findings in the order reports show them: a bad token that was
/// accepted first, then by severity, then by occurrences, then by name.
pub fn ordered_findings(report: &Report) -> Vec<(&String, &FindingReport)> {
    let mut rows: Vec<_> = report.findings.iter().collect();
    let rank = |s: &str| SEVERITIES.iter().position(|x| *x == s);
    rows.sort_by(|a, b| {
        (a.0 != "invalid_token_accepted")
            .cmp(&(b.0 != "invalid_token_accepted"))
            .then(rank(&a.1.severity).cmp(&rank(&b.1.severity)))
            .then(b.1.occurrences.cmp(&a.1.occurrences))
            .then(a.0.cmp(b.0))
    });
    rows
}

/// A severity tag, coloured if asked.
fn tag(severity: &str, color: bool) -> String {
    let code = match severity {
        "critical" => "1;31",
        "high" => "31",
        "medium" => "33",
        _ => "36",
    };
    match color {
        true => format!("\x1b[{code}m[{severity}]\x1b[0m"),
        false => format!("[{severity}]"),
    }
}

/// Findings, most severe first, each with its counts and first places.
fn findings(report: &Report, options: &RenderOptions, out: &mut dyn Write) -> io::Result<()> {
    if report.findings.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "findings")?;
    for (name, f) in ordered_findings(report) {
        let distinct = match super::AUDIT_FINDINGS.contains(&name.as_str()) {
            true => String::new(),
            false => format!(", {} distinct tokens", f.distinct_tokens),
        };
        let size = f
            .subjects_only()
            .unwrap_or_else(|| format!("{} occurrences{distinct}", f.occurrences));
        writeln!(out, "  {} {name}: {size}", tag(&f.severity, options.color))?;
        writeln!(out, "      {}", f.explanation)?;
        for subject in &f.subjects {
            writeln!(out, "      {subject}")?;
        }
        for e in &f.examples {
            let short = short_fingerprint(&e.token_sha256);
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
    top: usize,
) -> io::Result<()> {
    if map.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    let width = map
        .keys()
        .take(top)
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
    for (key, counts) in rows.iter().take(top) {
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
    if rows.len() > top {
        writeln!(out, "… and {} more", rows.len() - top)?;
    }
    Ok(())
}

/// Occurrences, valid and not, per HTTP status class.
fn status_table(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let rows = report.by_status.rows();
    if rows.iter().all(|(_, c)| c.total() == 0) {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(
        out,
        "{:<10} {:>12} {:>10} {:>10}",
        "by status", "occurrences", "valid", "not valid"
    )?;
    for (class, counts) in rows.iter().filter(|(_, c)| c.total() > 0) {
        let valid = counts.of(Verdict::Valid);
        writeln!(
            out,
            "{:<10} {:>12} {:>10} {:>10}",
            class,
            counts.total(),
            valid,
            counts.total() - valid
        )?;
    }
    Ok(())
}

/// Bar length of the busiest timeline bucket.
const BAR: usize = 40;

/// Occurrences per bucket of request time, with a bar.
fn timeline(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let tl = &report.timeline;
    if tl.buckets.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(
        out,
        "timeline by {} ({} to {}){}",
        tl.bucket,
        tl.first.as_deref().unwrap_or("?"),
        tl.last.as_deref().unwrap_or("?"),
        match tl.undated {
            0 => String::new(),
            n => format!(", {n} occurrences without a request time"),
        }
    )?;
    writeln!(
        out,
        "{:<20} {:>10} {:>10}  (# valid, x not valid)",
        "start", "valid", "not valid"
    )?;
    let most = tl.busiest();
    for (start, counts) in &tl.buckets {
        let valid = counts.of(Verdict::Valid);
        let invalid = counts.total() - valid;
        let scale = |n: u64| (n as usize * BAR).div_ceil(most as usize);
        writeln!(
            out,
            "{:<20} {:>10} {:>10}  {}{}",
            crate::time::format_rfc3339(*start as f64),
            valid,
            invalid,
            "#".repeat(scale(valid)),
            "x".repeat(scale(invalid))
        )?;
    }
    Ok(())
}

/// Token hygiene per issuer.
fn hygiene(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    if report.hygiene.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(
        out,
        "hygiene of verified tokens (occurrences; lifetime = exp - iat; skew = iat - request time)"
    )?;
    for (issuer, h) in &report.hygiene {
        writeln!(out, "  issuer {issuer}: {} occurrences", h.occurrences)?;
        for line in hygiene_lines(h, report.settings.max_lifetime_secs) {
            writeln!(out, "    {line}")?;
        }
    }
    Ok(())
}

/// The hygiene facts of one issuer, one per line.
pub(crate) fn hygiene_lines(h: &Hygiene, max_lifetime: f64) -> Vec<String> {
    let lifetimes: Vec<String> = h
        .lifetimes
        .rows()
        .iter()
        .map(|(label, n)| format!("{label}: {n}"))
        .collect();
    let after = &h.used_after_exp;
    let mut lines = vec![
        format!("without exp: {}, without iat: {}", h.no_exp, h.no_iat),
        format!(
            "lifetimes: {} (longest {})",
            lifetimes.join(", "),
            duration(h.max_lifetime_secs)
        ),
        format!(
            "beyond --max-lifetime {}: {}",
            duration(max_lifetime),
            h.beyond_max_lifetime
        ),
        format!(
            "used after exp: {} (< 1m: {}, < 1h: {}, < 1d: {}, later: {}; longest {})",
            after.total(),
            after.under_1m,
            after.under_1h,
            after.under_1d,
            after.over_1d,
            duration(after.max_secs)
        ),
        format!("used before iat (beyond leeway): {}", h.used_before_iat),
    ];
    match h.max_iat_ahead_secs {
        Some(ahead) if ahead > 0.0 => lines.push(format!(
            "clock skew: iat up to {} after the request time (the issuer's clock runs ahead)",
            duration(ahead)
        )),
        Some(ahead) => lines.push(format!(
            "clock skew: none seen (iat at least {} before each request)",
            duration(-ahead)
        )),
        None => {}
    }
    lines
}

/// The first 16 characters of a fingerprint: enough to tell tokens apart
/// and to search for the whole one. By characters, since a merged report's
/// text is whatever its JSON said.
pub fn short_fingerprint(fingerprint: &str) -> String {
    fingerprint.chars().take(16).collect()
}

/// A duration in the largest whole-ish unit: `90s`, `5m`, `1.5h`, `30d`.
pub fn duration(secs: f64) -> String {
    let units = [(86_400.0, "d"), (3600.0, "h"), (60.0, "m")];
    for (size, unit) in units {
        if secs.abs() >= size {
            let n = secs / size;
            return match n.fract() == 0.0 {
                true => format!("{n:.0}{unit}"),
                false => format!("{n:.1}{unit}"),
            };
        }
    }
    format!("{secs:.0}s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(45.0), "45s");
        assert_eq!(duration(300.0), "5m");
        assert_eq!(duration(5400.0), "1.5h");
        assert_eq!(duration(86_400.0 * 30.0), "30d");
        assert_eq!(duration(-120.0), "-2m");
    }
}
