//! `--format csv`: one row per token occurrence, in input order (RFC 4180
//! quoting). Tokens appear by fingerprint only. A cell that a spreadsheet
//! would run as a formula (starting with `=`, `+`, `-`, `@`) is prefixed
//! with `'`, since log fields are attacker-controlled.

use std::io::{self, Write};

use std::collections::HashMap;
use std::sync::Arc;

use super::occurrences::reason;
use super::VerdictCounts;
use crate::scan::{Occurrence, Sink};
use crate::verdict::Verdict;
use crate::verify::Checked;

/// The header row.
pub const HEADER: &str = "file,line,offset,token_sha256,verdict,reason,alg,kid,iss,sub,\
request_time,status,client,user_agent";

/// Writes occurrences as CSV rows.
pub struct CsvOccurrences<W: Write> {
    out: W,
}

impl<W: Write> CsvOccurrences<W> {
    /// Writes the header to `out`; wrap a file in a `BufWriter`.
    pub fn new(mut out: W) -> io::Result<CsvOccurrences<W>> {
        writeln!(out, "{HEADER}")?;
        Ok(CsvOccurrences { out })
    }

    /// Flushes and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: Write> Sink for CsvOccurrences<W> {
    fn occurrence(&mut self, o: &Occurrence) -> io::Result<()> {
        let c = &o.checked;
        let text = |s: Option<&str>| s.unwrap_or_default().to_string();
        let cells = [
            o.file.to_string(),
            o.line.to_string(),
            o.offset.to_string(),
            crate::verify::hex(&o.fingerprint),
            o.verdict.name().to_string(),
            reason(o).unwrap_or_default(),
            text(c.alg()),
            text(c.kid.as_deref()),
            text(c.claims.iss()),
            text(c.claims.sub()),
            o.request_time
                .map(crate::time::format_rfc3339)
                .unwrap_or_default(),
            o.status.map(|s| s.to_string()).unwrap_or_default(),
            text(o.client.as_deref()),
            text(o.user_agent.as_deref()),
        ];
        let row: Vec<String> = cells.iter().map(|c| cell(c)).collect();
        writeln!(self.out, "{}", row.join(","))
    }
}

/// The header row of the per-token CSV; the verdict names follow.
pub const TOKEN_HEADER: &str = "token_sha256,alg,kid,iss,sub,occurrences,first_seen,\
first_request_time,last_seen,last_request_time";

/// One distinct token's row.
struct TokenRow {
    fingerprint: [u8; 32],
    checked: Arc<Checked>,
    occurrences: u64,
    verdicts: VerdictCounts,
    first_seen: String,
    last_seen: String,
    first_time: Option<f64>,
    last_time: Option<f64>,
}

/// Gathers one row per distinct token, in order of first appearance, and
/// writes them when the scan is done: first and last seen (by place and
/// by request time), occurrences, and occurrences per verdict.
#[derive(Default)]
pub struct CsvTokens {
    index: HashMap<[u8; 32], usize>,
    rows: Vec<TokenRow>,
}

impl CsvTokens {
    /// An empty table.
    pub fn new() -> CsvTokens {
        CsvTokens::default()
    }

    /// Writes the header and every row.
    pub fn write(self, out: &mut dyn Write) -> io::Result<()> {
        let names: Vec<&str> = Verdict::ALL.iter().map(|v| v.name()).collect();
        writeln!(out, "{TOKEN_HEADER},{}", names.join(","))?;
        let time = |t: Option<f64>| t.map(crate::time::format_rfc3339).unwrap_or_default();
        for row in &self.rows {
            let c = &row.checked;
            let text = |s: Option<&str>| s.unwrap_or_default().to_string();
            let mut cells = vec![
                crate::verify::hex(&row.fingerprint),
                text(c.alg()),
                text(c.kid.as_deref()),
                text(c.claims.iss()),
                text(c.claims.sub()),
                row.occurrences.to_string(),
                row.first_seen.clone(),
                time(row.first_time),
                row.last_seen.clone(),
                time(row.last_time),
            ];
            cells.extend(Verdict::ALL.iter().map(|&v| row.verdicts.of(v).to_string()));
            let line: Vec<String> = cells.iter().map(|c| cell(c)).collect();
            writeln!(out, "{}", line.join(","))?;
        }
        out.flush()
    }
}

impl Sink for CsvTokens {
    fn occurrence(&mut self, o: &Occurrence) -> io::Result<()> {
        let place = format!("{}:{}", o.file, o.line);
        let i = *self.index.entry(o.fingerprint).or_insert_with(|| {
            self.rows.push(TokenRow {
                fingerprint: o.fingerprint,
                checked: Arc::clone(&o.checked),
                occurrences: 0,
                verdicts: VerdictCounts::default(),
                first_seen: place.clone(),
                last_seen: String::new(),
                first_time: None,
                last_time: None,
            });
            self.rows.len() - 1
        });
        let row = &mut self.rows[i];
        row.occurrences += 1;
        row.verdicts.add(o.verdict);
        row.last_seen = place;
        if let Some(t) = o.request_time {
            row.first_time = Some(row.first_time.map_or(t, |f| f.min(t)));
            row.last_time = Some(row.last_time.map_or(t, |l| l.max(t)));
        }
        Ok(())
    }
}

/// One cell, quoted when needed and defused against formulas.
pub fn cell(text: &str) -> String {
    let defused = match text.starts_with(['=', '+', '-', '@']) && text != "-" {
        true => format!("'{text}"),
        false => text.to_string(),
    };
    if defused.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_rows_gather_first_and_last_seen() {
        use crate::find::Carrier;
        use crate::judge::{Policy, TimeOutcome};
        let checked = Arc::new(crate::verify::check(
            b"eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1MSJ9.",
            &crate::keys::Keyring::new(),
            &Policy::default(),
            &mut crate::token::Scratch::new(),
        ));
        let occurrence = |line: u64, time: f64| Occurrence {
            file: Arc::from("a.log"),
            line,
            offset: 0,
            carrier: Carrier::Bare,
            checked: Arc::clone(&checked),
            fingerprint: [7; 32],
            verdict: Verdict::AlgNone,
            time: TimeOutcome::Holds,
            at: None,
            token: None,
            request_time: Some(time),
            status: None,
            client: None,
            user_agent: None,
        };
        let mut table = CsvTokens::new();
        for (line, time) in [(3, 200.0), (9, 100.0), (12, 300.0)] {
            table.occurrence(&occurrence(line, time)).unwrap();
        }
        let mut out = Vec::new();
        table.write(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let rows: Vec<&str> = text.lines().collect();
        assert_eq!(rows.len(), 2);
        assert!(rows[0].starts_with("token_sha256,") && rows[0].ends_with(",valid"));
        let cells: Vec<&str> = rows[1].split(',').collect();
        assert_eq!(
            &cells[1..10],
            [
                "none",
                "",
                "",
                "u1",
                "3",
                "a.log:3",
                "1970-01-01T00:01:40Z",
                "a.log:12",
                "1970-01-01T00:05:00Z"
            ]
        );
        assert_eq!(cells[10 + Verdict::AlgNone.index()], "3");
    }

    #[test]
    fn cells_are_quoted_and_defused() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("=cmd()"), "'=cmd()");
        assert_eq!(cell("-"), "-");
        assert_eq!(cell("@x,y"), "\"'@x,y\"");
    }
}
