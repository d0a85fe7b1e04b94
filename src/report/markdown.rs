//! `--format md`: the report as Markdown, to paste into a ticket. Values
//! from the logs are escaped so they cannot break a table or inject
//! links.

use std::io::{self, Write};

use super::text::{
    duration, estimated_note, hygiene_lines, ordered_findings, short_fingerprint, RenderOptions,
};
use super::{Report, VerdictCounts, AUDIT_FINDINGS};
use crate::verdict::Verdict;

/// Writes the report as Markdown.
pub fn render(report: &Report, options: &RenderOptions, out: &mut dyn Write) -> io::Result<()> {
    let t = &report.totals;
    let s = &report.settings;
    writeln!(out, "# jwtsweep report\n")?;
    writeln!(
        out,
        "Read {} files, {} lines; found {} token occurrences, {} distinct{}. \
         Judged at {} ({}), leeway {}s.\n",
        t.files,
        t.lines,
        t.tokens,
        t.distinct_tokens,
        estimated_note(report),
        s.at,
        s.time_rule,
        s.leeway_secs
    )?;

    // findings
    let findings = ordered_findings(report);
    if !findings.is_empty() {
        writeln!(out, "## Findings\n")?;
        writeln!(out, "| severity | finding | occurrences | what to do |")?;
        writeln!(out, "|---|---|---:|---|")?;
        for (name, f) in &findings {
            writeln!(
                out,
                "| {} | `{}` | {} | {} |",
                f.severity,
                name,
                f.subjects_only()
                    .unwrap_or_else(|| f.occurrences.to_string()),
                escape(&f.explanation)
            )?;
        }
        writeln!(out)?;
        for (name, f) in findings {
            if f.subjects.is_empty() && f.examples.is_empty() {
                continue;
            }
            let distinct = match AUDIT_FINDINGS.contains(&name.as_str()) {
                true => String::new(),
                false => format!(", {} distinct tokens", f.distinct_tokens),
            };
            let size = f
                .subjects_only()
                .unwrap_or_else(|| format!("{} occurrences{distinct}", f.occurrences));
            writeln!(out, "**`{name}`** ({size})\n")?;
            for subject in &f.subjects {
                writeln!(out, "- {}", escape(subject))?;
            }
            for e in &f.examples {
                writeln!(
                    out,
                    "- at `{}:{}`, token `{}`",
                    code(&e.file),
                    e.line,
                    code(&short_fingerprint(&e.token_sha256))
                )?;
            }
            writeln!(out)?;
        }
    }

    // verdicts and status
    writeln!(out, "## Verdicts\n")?;
    writeln!(out, "| verdict | occurrences | distinct tokens |")?;
    writeln!(out, "|---|---:|---:|")?;
    for verdict in Verdict::ALL {
        let n = report.verdicts.of(verdict);
        if n > 0 {
            let distinct = report.distinct_per_verdict.of(verdict);
            writeln!(out, "| {} | {n} | {distinct} |", verdict.name())?;
        }
    }
    writeln!(out)?;
    let statuses = report.by_status.rows();
    if statuses.iter().any(|(_, c)| c.total() > 0) {
        writeln!(out, "## By HTTP status\n")?;
        writeln!(out, "| status | occurrences | valid | not valid |")?;
        writeln!(out, "|---|---:|---:|---:|")?;
        for (class, c) in statuses.iter().filter(|(_, c)| c.total() > 0) {
            let valid = c.of(Verdict::Valid);
            writeln!(
                out,
                "| {} | {} | {valid} | {} |",
                escape(class),
                c.total(),
                c.total() - valid
            )?;
        }
        writeln!(out)?;
    }

    // breakdowns
    for (title, map) in report.breakdowns() {
        if map.is_empty() {
            continue;
        }
        writeln!(out, "## By {title} (top {})\n", options.top)?;
        writeln!(out, "| {title} | occurrences | valid | not valid |")?;
        writeln!(out, "|---|---:|---:|---:|")?;
        for (key, c) in top_rows(map, options.top) {
            let valid = c.of(Verdict::Valid);
            writeln!(
                out,
                "| {} | {} | {valid} | {} |",
                escape(key),
                c.total(),
                c.total() - valid
            )?;
        }
        writeln!(out)?;
    }

    // timeline
    let tl = &report.timeline;
    if !tl.buckets.is_empty() {
        writeln!(out, "## Timeline (per {})\n", tl.bucket)?;
        writeln!(out, "| start | valid | not valid |")?;
        writeln!(out, "|---|---:|---:|")?;
        for (start, c) in &tl.buckets {
            let valid = c.of(Verdict::Valid);
            let start = crate::time::format_rfc3339(*start as f64);
            writeln!(out, "| {start} | {valid} | {} |", c.total() - valid)?;
        }
        writeln!(out)?;
    }

    // hygiene
    if !report.hygiene.is_empty() {
        writeln!(
            out,
            "## Hygiene of verified tokens (max lifetime {})\n",
            duration(s.max_lifetime_secs)
        )?;
        for (issuer, h) in &report.hygiene {
            writeln!(
                out,
                "**issuer {}**: {} occurrences\n",
                escape(issuer),
                h.occurrences
            )?;
            for line in hygiene_lines(h, s.max_lifetime_secs) {
                writeln!(out, "- {}", escape(&line))?;
            }
            writeln!(out)?;
        }
    }

    if !report.errors.is_empty() {
        writeln!(out, "## Inputs not read completely\n")?;
        for e in &report.errors {
            writeln!(out, "- `{}`: {}", code(&e.file), escape(&e.message))?;
        }
    }
    Ok(())
}

/// The largest rows of a breakdown, ties by key.
pub(crate) fn top_rows(
    map: &std::collections::BTreeMap<String, VerdictCounts>,
    top: usize,
) -> Vec<(&String, &VerdictCounts)> {
    let mut rows: Vec<_> = map.iter().collect();
    rows.sort_by(|a, b| b.1.total().cmp(&a.1.total()).then(a.0.cmp(b.0)));
    rows.truncate(top);
    rows
}

/// Escapes Markdown punctuation and table pipes; newlines become spaces.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Text for inside a code span: backticks and newlines removed.
fn code(text: &str) -> String {
    text.replace(['`', '\n', '\r'], "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_table_breakers() {
        assert_eq!(escape("a|b"), "a\\|b");
        assert_eq!(escape("[x](http://e)"), "\\[x\\](http://e)");
        assert_eq!(escape("l1\nl2"), "l1 l2");
        assert_eq!(code("a`b"), "ab");
    }
}
