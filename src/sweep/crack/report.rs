//! The report of a crack run: each cracked token by fingerprint with
//! where its secret came from, the counts, and the speed; as text for a
//! terminal or as JSON.
//!
//! Secrets appear only when the report was built with `show_secrets`;
//! tokens never do.

use std::io::{self, Write};

use serde::Serialize;

use super::tokens::{Found, TokenSet};
use super::wordlist::{Candidates, SourceKind};
use super::CrackResult;
use crate::report::InputError;
use crate::verify::hex;

/// The version of the JSON form; bumped when a field changes meaning.
pub const SCHEMA_VERSION: u32 = 1;

/// A token whose secret was found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CrackedToken {
    /// Hex SHA-256 of the token text, as in `scan --tokens`.
    pub token_sha256: String,
    /// `HS256`, `HS384` or `HS512`.
    pub alg: &'static str,
    /// The header `kid`.
    pub kid: Option<String>,
    /// The `iss` claim.
    pub iss: Option<String>,
    /// How many times the token was seen.
    pub occurrences: u64,
    /// Where it was first seen: `file:line`, `--token #N` or `FILE:line`.
    pub first_seen: String,
    /// `wordlist`, or `public_key` for RS→HS key confusion.
    pub kind: &'static str,
    /// The wordlist or the key the secret came from.
    pub source: String,
    /// The secret's 1-based line in a wordlist.
    pub source_line: Option<u64>,
    /// How a public key was written to serve as the secret.
    pub key_form: Option<&'static str>,
    /// The secret, only with `--show-secrets`: as text if it is UTF-8,
    /// else with bytes escaped (`\xNN`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// The secret's bytes in hex, only with `--show-secrets`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_hex: Option<String>,
}

/// Where candidates came from, and how many.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SourceSummary {
    /// A wordlist path, the embedded list's name, or a key's origin.
    pub name: String,
    /// `wordlist` or `public_key`.
    pub kind: &'static str,
    /// Distinct candidates it added.
    pub candidates: u64,
    /// Entries skipped as already held by an earlier line or source.
    pub duplicates: u64,
}

/// The result of a sweep.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CrackReport {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The cracked tokens, in the order first seen.
    pub cracked: Vec<CrackedToken>,
    /// Token occurrences read, of every kind.
    pub occurrences: u64,
    /// Distinct tokens read, of every kind.
    pub tokens_found: u64,
    /// Distinct HMAC tokens tested.
    pub tokens_tested: u64,
    /// Distinct tokens skipped: other algorithms, `none`, JWE.
    pub skipped_not_hmac: u64,
    /// Distinct tokens skipped as unreadable, or HMAC tokens whose
    /// signature is not a MAC of the right length.
    pub skipped_malformed: u64,
    /// Distinct candidate secrets.
    pub candidates: u64,
    /// Candidate entries skipped as duplicates.
    pub duplicate_candidates: u64,
    /// Where candidates came from.
    pub sources: Vec<SourceSummary>,
    /// Candidate × token HMACs computed.
    pub hmacs: u64,
    /// Seconds spent cracking.
    pub duration_secs: f64,
    /// Candidate × token HMACs per second, over all threads.
    pub candidates_per_second: f64,
    /// The same, per thread.
    pub candidates_per_second_per_thread: f64,
    /// Worker threads.
    pub threads: usize,
    /// The HMAC engines used per algorithm.
    pub engine: String,
    /// Seconds spent finding tokens in the inputs.
    pub scan_duration_secs: f64,
    /// Whether secrets are in this report.
    pub secrets_shown: bool,
    /// Inputs that could not be read fully.
    pub errors: Vec<InputError>,
    /// Positions in [`TokenSet::found`] of the tested tokens left
    /// uncracked, for `--export-hashcat`.
    #[serde(skip)]
    pub uncracked: Vec<usize>,
}

impl CrackReport {
    /// The report of `result`, whose targets were the tokens at positions
    /// `tested` of `tokens.found()`.
    pub(super) fn new(
        tokens: &TokenSet,
        candidates: &Candidates,
        tested: &[usize],
        result: &CrackResult,
        malformed_hmac: u64,
        show_secrets: bool,
    ) -> CrackReport {
        let mut cracked = Vec::new();
        let mut uncracked = Vec::new();
        for (&i, winner) in tested.iter().zip(&result.cracked) {
            match winner {
                Some(c) => cracked.push(entry(&tokens.found()[i], candidates, *c, show_secrets)),
                None => uncracked.push(i),
            }
        }
        let per_second = result.per_second();
        CrackReport {
            schema_version: SCHEMA_VERSION,
            cracked,
            occurrences: tokens.occurrences(),
            tokens_found: tokens.distinct(),
            tokens_tested: tested.len() as u64,
            skipped_not_hmac: tokens.not_hmac(),
            skipped_malformed: tokens.malformed() + malformed_hmac,
            candidates: candidates.len() as u64,
            duplicate_candidates: candidates.duplicates(),
            sources: candidates
                .sources()
                .iter()
                .map(|s| SourceSummary {
                    name: s.name.clone(),
                    kind: kind_name(s.kind),
                    candidates: s.added,
                    duplicates: s.duplicates,
                })
                .collect(),
            hmacs: result.hmacs,
            duration_secs: result.duration_secs,
            candidates_per_second: per_second,
            candidates_per_second_per_thread: per_second / result.threads.max(1) as f64,
            threads: result.threads,
            engine: result.engine.clone(),
            scan_duration_secs: 0.0,
            secrets_shown: show_secrets,
            errors: Vec::new(),
            uncracked,
        }
    }

    /// Writes the text summary.
    pub fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "jwtsweep crack report")?;
        writeln!(
            out,
            "tokens: {} occurrences, {} distinct; {} HMAC tokens tested, {} not HMAC, {} malformed",
            self.occurrences,
            self.tokens_found,
            self.tokens_tested,
            self.skipped_not_hmac,
            self.skipped_malformed
        )?;
        writeln!(
            out,
            "candidates: {} distinct secrets ({} duplicates skipped)",
            self.candidates, self.duplicate_candidates
        )?;
        for s in &self.sources {
            writeln!(out, "  {:>7}  {} ({})", s.candidates, s.name, s.kind)?;
        }
        writeln!(
            out,
            "tested {} candidate x token pairs in {:.2}s: {}/s, {}/s per thread ({} threads; {})",
            self.hmacs,
            self.duration_secs,
            si(self.candidates_per_second),
            si(self.candidates_per_second_per_thread),
            self.threads,
            if self.engine.is_empty() {
                "no HMAC tokens"
            } else {
                &self.engine
            },
        )?;

        writeln!(out)?;
        if self.cracked.is_empty() {
            writeln!(
                out,
                "no secret found for any of {} tokens",
                self.tokens_tested
            )?;
            return Ok(());
        }
        writeln!(
            out,
            "CRACKED {} of {} tokens: their secrets are known, so anyone can forge such tokens",
            self.cracked.len(),
            self.tokens_tested
        )?;
        for c in &self.cracked {
            render_cracked(c, out)?;
        }
        if !self.secrets_shown {
            writeln!(out)?;
            writeln!(out, "(secrets hidden; --show-secrets prints them)")?;
        }
        Ok(())
    }
}

fn render_cracked(c: &CrackedToken, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out)?;
    writeln!(out, "  {} {}", c.alg, c.token_sha256)?;
    writeln!(
        out,
        "    kid {}, iss {}",
        c.kid.as_deref().unwrap_or("(none)"),
        c.iss.as_deref().unwrap_or("(none)")
    )?;
    let times = if c.occurrences == 1 { "time" } else { "times" };
    writeln!(
        out,
        "    seen {} {times}, first at {}",
        c.occurrences, c.first_seen
    )?;
    match (c.source_line, c.key_form) {
        (Some(line), _) => writeln!(out, "    secret: line {line} of {}", c.source)?,
        (None, Some(form)) => writeln!(
            out,
            "    secret: the public key {} as {form}: RS->HS key confusion",
            c.source
        )?,
        (None, None) => writeln!(out, "    secret: from {}", c.source)?,
    }
    if let Some(secret) = &c.secret {
        writeln!(out, "    secret value: {secret:?}")?;
    }
    Ok(())
}

fn entry(found: &Found, candidates: &Candidates, index: usize, show: bool) -> CrackedToken {
    let origin = candidates.origin(index);
    let source = &candidates.sources()[origin.source];
    let secret = candidates.secret(index);
    CrackedToken {
        token_sha256: hex(&found.fingerprint),
        alg: found.alg.name(),
        kid: found.kid.clone(),
        iss: found.iss.clone(),
        occurrences: found.occurrences,
        first_seen: found.first_seen.clone(),
        kind: kind_name(source.kind),
        source: source.name.clone(),
        source_line: origin.line,
        key_form: origin.form.map(|f| f.name()),
        secret: show.then(|| match std::str::from_utf8(secret) {
            Ok(text) => text.to_string(),
            Err(_) => secret.escape_ascii().to_string(),
        }),
        secret_hex: show.then(|| hex(secret)),
    }
}

fn kind_name(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Wordlist => "wordlist",
        SourceKind::PublicKey => "public_key",
    }
}

/// A rate with an SI suffix: `12.3M`.
fn si(rate: f64) -> String {
    match rate {
        r if r >= 1e9 => format!("{:.2}G", r / 1e9),
        r if r >= 1e6 => format!("{:.2}M", r / 1e6),
        r if r >= 1e3 => format!("{:.1}k", r / 1e3),
        r => format!("{r:.0}"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{sweep, SweepOptions};
    use super::*;

    fn report(show: bool) -> CrackReport {
        let header = crate::generate::b64url(br#"{"alg":"HS256","kid":"k1"}"#);
        let claims = crate::generate::b64url(br#"{"iss":"https://i.example"}"#);
        let input = format!("{header}.{claims}");
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"hunter2");
        let tag = ring::hmac::sign(&key, input.as_bytes());
        let token = format!("{input}.{}", crate::generate::b64url(tag.as_ref()));
        let mut tokens = TokenSet::new();
        tokens.add_token(&token, || "log:7".into());
        tokens.add_token(&token, || "log:9".into());
        let mut candidates = Candidates::new();
        candidates.add_wordlist("list", b"a\nhunter2\n");
        let options = SweepOptions {
            show_secrets: show,
            ..SweepOptions::default()
        };
        sweep(&tokens, &candidates, &options).unwrap()
    }

    #[test]
    fn text_names_the_line_and_hides_the_secret() {
        let mut out = Vec::new();
        report(false).render_text(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("CRACKED 1 of 1 tokens"), "{text}");
        assert!(text.contains("secret: line 2 of list"), "{text}");
        assert!(text.contains("seen 2 times, first at log:7"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!text.contains("eyJ"), "{text}");

        let mut out = Vec::new();
        report(true).render_text(&mut out).unwrap();
        assert!(String::from_utf8(out).unwrap().contains("\"hunter2\""));
    }

    #[test]
    fn json_has_the_secret_only_when_shown() {
        let hidden = serde_json::to_value(report(false)).unwrap();
        let entry = &hidden["cracked"][0];
        assert_eq!(entry["kid"], "k1");
        assert_eq!(entry["iss"], "https://i.example");
        assert_eq!(entry["source_line"], 2);
        assert!(entry.get("secret").is_none());
        assert!(entry.get("secret_hex").is_none());
        let shown = serde_json::to_value(report(true)).unwrap();
        assert_eq!(shown["cracked"][0]["secret"], "hunter2");
        assert_eq!(shown["cracked"][0]["secret_hex"], hex(b"hunter2"));
    }
}
