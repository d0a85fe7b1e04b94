//! `--tokens FILE`: one JSON object per occurrence, in file order (JSON
//! Lines). Tokens appear by fingerprint; the raw text only when the scan
//! kept it (`--show-tokens`).

use std::io::{self, Write};

use serde::Serialize;

use crate::judge::TimeOutcome;
use crate::scan::{Occurrence, Sink};
use crate::verdict::Verdict;

/// One line of the occurrences file.
#[derive(Serialize)]
struct Line<'a> {
    file: &'a str,
    line: u64,
    offset: u64,
    token_sha256: String,
    alg: Option<&'a str>,
    kid: Option<&'a str>,
    iss: Option<&'a str>,
    sub: Option<&'a str>,
    verdict: &'static str,
    reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<&'a str>,
}

/// Why an occurrence got its verdict, in a few words; `None` when valid.
pub fn reason(occurrence: &Occurrence) -> Option<String> {
    let checked = &occurrence.checked;
    if let Some((_, reason)) = checked.before_time {
        return Some(reason.to_string());
    }
    let at = occurrence
        .at
        .map(crate::time::format_rfc3339)
        .unwrap_or_default();
    match occurrence.time {
        TimeOutcome::Expired(by) => Some(format!("expired {by:.0}s before {at}")),
        TimeOutcome::NotYetValid(by) => Some(format!("not valid until {by:.0}s after {at}")),
        TimeOutcome::Holds if occurrence.verdict == Verdict::Valid => None,
        TimeOutcome::Holds => checked.after_time.map(|(_, reason)| reason.to_string()),
    }
}

/// Writes occurrences as JSON Lines.
pub struct JsonLines<W: Write> {
    out: W,
}

impl<W: Write> JsonLines<W> {
    /// Writes to `out`; wrap a file in a `BufWriter`.
    pub fn new(out: W) -> JsonLines<W> {
        JsonLines { out }
    }

    /// Flushes and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: Write> Sink for JsonLines<W> {
    fn occurrence(&mut self, o: &Occurrence) -> io::Result<()> {
        let c = &o.checked;
        let line = Line {
            file: &o.file,
            line: o.line,
            offset: o.offset,
            token_sha256: crate::verify::hex(&o.fingerprint),
            alg: c.alg(),
            kid: c.kid.as_deref(),
            iss: c.claims.iss(),
            sub: c.claims.sub(),
            verdict: o.verdict.name(),
            reason: reason(o),
            token: o.token.as_deref(),
        };
        serde_json::to_writer(&mut self.out, &line)?;
        self.out.write_all(b"\n")
    }
}
