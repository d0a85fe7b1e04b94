//! `--format html`: one self-contained page (CSS and SVG charts inline,
//! no script, nothing fetched) with the findings, the verdicts, the
//! status classes and the timeline as charts, and the breakdowns and
//! hygiene as tables. Every value from the logs is escaped.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::markdown::top_rows;
use super::text::{
    estimated_note, hygiene_lines, ordered_findings, short_fingerprint, RenderOptions,
};
use super::{Report, VerdictCounts, AUDIT_FINDINGS};
use crate::verdict::Verdict;

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:2em auto;max-width:70em;\
color:#222;background:#fff}h1{font-size:1.6em}h2{margin-top:1.6em;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;margin:.5em 0}td,th{padding:.2em .7em;border-bottom:1px solid #eee;\
text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}\
.critical{color:#fff;background:#b00020}.high{color:#fff;background:#d9480f}\
.medium{background:#ffd43b}.low{background:#a5d8ff}.sev{padding:0 .4em;border-radius:3px}\
code{font-size:.9em}svg{display:block;margin:.5em 0}svg text{font:11px sans-serif}";

/// Colour of valid bars.
const VALID: &str = "#2f9e44";
/// Colour of not-valid bars.
const INVALID: &str = "#e03131";

/// Writes the page.
pub fn render(report: &Report, options: &RenderOptions, out: &mut dyn Write) -> io::Result<()> {
    let mut page = String::new();
    // Writing to a String cannot fail.
    let _ = page_into(report, options, &mut page);
    out.write_all(page.as_bytes())
}

fn page_into(report: &Report, options: &RenderOptions, p: &mut String) -> std::fmt::Result {
    let t = &report.totals;
    let s = &report.settings;
    write!(
        p,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>jwtsweep report</title><style>{STYLE}</style></head><body>\n"
    )?;
    writeln!(p, "<h1>jwtsweep report</h1>")?;
    writeln!(
        p,
        "<p>Read {} files, {} lines; found {} token occurrences, {} distinct{}. \
         Judged at {} ({}), leeway {}s.</p>",
        t.files,
        t.lines,
        t.tokens,
        t.distinct_tokens,
        esc(&estimated_note(report)),
        esc(&s.at),
        esc(&s.time_rule),
        s.leeway_secs
    )?;

    // findings
    let findings = ordered_findings(report);
    if !findings.is_empty() {
        writeln!(p, "<h2>Findings</h2>")?;
        writeln!(
            p,
            "<table><tr><th>severity</th><th>finding</th><th>occurrences</th>\
             <th>what it means</th><th>where</th></tr>"
        )?;
        for (name, f) in findings {
            let mut places = String::new();
            for subject in &f.subjects {
                let _ = write!(places, "{}<br>", esc(subject));
            }
            for e in &f.examples {
                let short = short_fingerprint(&e.token_sha256);
                let _ = write!(
                    places,
                    "<code>{}:{}</code> token <code>{}</code><br>",
                    esc(&e.file),
                    e.line,
                    esc(&short)
                );
            }
            let distinct = match AUDIT_FINDINGS.contains(&name.as_str()) {
                true => String::new(),
                false => format!(" ({} distinct)", f.distinct_tokens),
            };
            let size = f
                .subjects_only()
                .unwrap_or_else(|| format!("{}{distinct}", f.occurrences));
            writeln!(
                p,
                "<tr><td><span class=\"sev {sev}\">{sev}</span></td><td><code>{}</code></td>\
                 <td class=\"n\">{size}</td><td>{}</td><td>{places}</td></tr>",
                esc(name),
                esc(&f.explanation),
                sev = esc(&f.severity),
            )?;
        }
        writeln!(p, "</table>")?;
    }

    // verdicts
    writeln!(p, "<h2>Verdicts</h2>")?;
    let rows: Vec<(String, u64, &str)> = Verdict::ALL
        .into_iter()
        .filter(|&v| report.verdicts.of(v) > 0)
        .map(|v| {
            let colour = if v == Verdict::Valid { VALID } else { INVALID };
            (v.name().to_string(), report.verdicts.of(v), colour)
        })
        .collect();
    bars(p, &rows)?;

    // status classes
    let statuses: Vec<(&str, &VerdictCounts)> = report
        .by_status
        .rows()
        .into_iter()
        .filter(|(_, c)| c.total() > 0)
        .collect();
    if !statuses.is_empty() {
        writeln!(p, "<h2>By HTTP status (valid / not valid)</h2>")?;
        let labelled: Vec<(String, &VerdictCounts)> =
            statuses.iter().map(|(k, c)| (k.to_string(), *c)).collect();
        split_bars(p, &labelled)?;
    }

    timeline(report, p)?;

    // breakdowns
    for (title, map) in report.breakdowns() {
        if map.is_empty() {
            continue;
        }
        writeln!(
            p,
            "<h2>By {title} (top {}, valid / not valid)</h2>",
            options.top
        )?;
        let rows: Vec<(String, &VerdictCounts)> = top_rows(map, options.top)
            .into_iter()
            .map(|(k, c)| (k.clone(), c))
            .collect();
        split_bars(p, &rows)?;
    }

    // hygiene
    if !report.hygiene.is_empty() {
        writeln!(p, "<h2>Hygiene of verified tokens</h2>")?;
        for (issuer, h) in &report.hygiene {
            writeln!(
                p,
                "<h3>issuer {}: {} occurrences</h3><ul>",
                esc(issuer),
                h.occurrences
            )?;
            for line in hygiene_lines(h, s.max_lifetime_secs) {
                writeln!(p, "<li>{}</li>", esc(&line))?;
            }
            writeln!(p, "</ul>")?;
        }
    }

    if !report.errors.is_empty() {
        writeln!(p, "<h2>Inputs not read completely</h2><ul>")?;
        for e in &report.errors {
            writeln!(
                p,
                "<li><code>{}</code>: {}</li>",
                esc(&e.file),
                esc(&e.message)
            )?;
        }
        writeln!(p, "</ul>")?;
    }
    writeln!(p, "</body></html>")
}

/// Horizontal bars, one per row, scaled to the largest.
fn bars(p: &mut String, rows: &[(String, u64, &str)]) -> std::fmt::Result {
    let most = rows.iter().map(|r| r.1).max().unwrap_or(1).max(1) as f64;
    let height = rows.len() * 22 + 4;
    writeln!(p, "<svg width=\"720\" height=\"{height}\" role=\"img\">")?;
    for (i, (label, n, colour)) in rows.iter().enumerate() {
        let y = i * 22 + 2;
        let w = (*n as f64 / most * 460.0).max(1.0);
        writeln!(
            p,
            "<text x=\"0\" y=\"{}\">{}</text><rect x=\"180\" y=\"{y}\" width=\"{w:.1}\" \
             height=\"18\" fill=\"{colour}\"/><text x=\"{:.1}\" y=\"{}\">{n}</text>",
            y + 13,
            esc(label),
            185.0 + w,
            y + 13
        )?;
    }
    writeln!(p, "</svg>")
}

/// Horizontal bars split into valid and not valid.
fn split_bars(p: &mut String, rows: &[(String, &VerdictCounts)]) -> std::fmt::Result {
    let most = rows.iter().map(|r| r.1.total()).max().unwrap_or(1).max(1) as f64;
    let height = rows.len() * 22 + 4;
    writeln!(p, "<svg width=\"720\" height=\"{height}\" role=\"img\">")?;
    for (i, (label, counts)) in rows.iter().enumerate() {
        let y = i * 22 + 2;
        let valid = counts.of(Verdict::Valid);
        let invalid = counts.total() - valid;
        let wv = valid as f64 / most * 400.0;
        let wi = invalid as f64 / most * 400.0;
        let label: String = label.chars().take(28).collect();
        writeln!(
            p,
            "<text x=\"0\" y=\"{ty}\">{}</text><rect x=\"200\" y=\"{y}\" width=\"{wv:.1}\" \
             height=\"18\" fill=\"{VALID}\"/><rect x=\"{:.1}\" y=\"{y}\" width=\"{wi:.1}\" \
             height=\"18\" fill=\"{INVALID}\"/>\
             <text x=\"{:.1}\" y=\"{ty}\">{valid} / {invalid}</text>",
            esc(&label),
            200.0 + wv,
            205.0 + wv + wi,
            ty = y + 13
        )?;
    }
    writeln!(p, "</svg>")
}

/// Stacked columns per bucket: valid below, not valid above.
fn timeline(report: &Report, p: &mut String) -> std::fmt::Result {
    let tl = &report.timeline;
    if tl.buckets.is_empty() {
        return Ok(());
    }
    writeln!(
        p,
        "<h2>Timeline per {} (valid / not valid), {} to {}</h2>",
        esc(&tl.bucket),
        esc(tl.first.as_deref().unwrap_or("?")),
        esc(tl.last.as_deref().unwrap_or("?"))
    )?;
    let most = tl.busiest() as f64;
    let step = (tl.bucket_secs() as i64).max(1);
    let (Some(first), Some(last)) = (tl.buckets.keys().next(), tl.buckets.keys().last()) else {
        return Ok(());
    };
    // saturating: a merged report's keys are whatever its JSON said
    let slots = (last.saturating_sub(*first) / step)
        .saturating_add(1)
        .clamp(1, 2000) as f64;
    let width = 700.0 / slots;
    writeln!(p, "<svg width=\"720\" height=\"200\" role=\"img\">")?;
    for (start, counts) in &tl.buckets {
        let x = 10.0 + (start.saturating_sub(*first) / step) as f64 * width;
        let valid = counts.of(Verdict::Valid) as f64 / most * 170.0;
        let invalid = (counts.total() - counts.of(Verdict::Valid)) as f64 / most * 170.0;
        let w = (width * 0.9).max(0.5);
        writeln!(
            p,
            "<rect x=\"{x:.2}\" y=\"{:.1}\" width=\"{w:.2}\" \
             height=\"{valid:.1}\" fill=\"{VALID}\">\
             <title>{}: {} valid</title></rect>\
             <rect x=\"{x:.2}\" y=\"{:.1}\" width=\"{w:.2}\" \
             height=\"{invalid:.1}\" fill=\"{INVALID}\">\
             <title>{}: {} not valid</title></rect>",
            180.0 - valid,
            crate::time::format_rfc3339(*start as f64),
            counts.of(Verdict::Valid),
            180.0 - valid - invalid,
            crate::time::format_rfc3339(*start as f64),
            counts.total() - counts.of(Verdict::Valid),
        )?;
    }
    writeln!(
        p,
        "<line x1=\"10\" y1=\"180\" x2=\"710\" y2=\"180\" stroke=\"#888\"/>\
         <text x=\"10\" y=\"195\">{}</text><text x=\"710\" y=\"195\" text-anchor=\"end\">{}</text>",
        crate::time::format_rfc3339(*first as f64),
        crate::time::format_rfc3339(*last as f64)
    )?;
    writeln!(p, "</svg>")
}

/// Escapes text for HTML content and attributes.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(esc("<script>\"&'"), "&lt;script&gt;&quot;&amp;&#39;");
    }
}
