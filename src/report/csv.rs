//! `--format csv`: one row per token occurrence, in input order (RFC 4180
//! quoting). Tokens appear by fingerprint only. A cell that a spreadsheet
//! would run as a formula (starting with `=`, `+`, `-`, `@`) is prefixed
//! with `'`, since log fields are attacker-controlled.

use std::io::{self, Write};

use super::occurrences::reason;
use crate::scan::{Occurrence, Sink};

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
    fn cells_are_quoted_and_defused() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("=cmd()"), "'=cmd()");
        assert_eq!(cell("-"), "-");
        assert_eq!(cell("@x,y"), "\"'@x,y\"");
    }
}
