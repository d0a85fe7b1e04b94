//! Candidate secrets: wordlists, the embedded list of known JWT secrets,
//! and the public-key forms an RS→HS forger would use as an HMAC secret.
//!
//! Every candidate remembers where it came from (a source and a line, or
//! a key form) so a cracked token can be reported without its secret.
//! Candidates are distinct: a secret met again in a later line or source
//! is skipped, and the first place it was seen is the one reported.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use crate::alg::Family;
use crate::keys::PreparedKey;

/// The list of known JWT secrets from wallarm/jwt-secrets (MIT), embedded
/// in the binary; `fixtures/secrets/README.md` says where it came from.
pub const DEFAULT_WORDLIST: &[u8] = include_bytes!("../../../fixtures/secrets/jwt.secrets.list");

/// The name the embedded list is reported under.
pub const DEFAULT_WORDLIST_NAME: &str = "jwt.secrets.list (embedded)";

/// A wordlist file that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct WordlistError {
    /// The file at fault.
    pub path: std::path::PathBuf,
    /// The cause.
    pub source: std::io::Error,
}

/// What kind of place a candidate came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceKind {
    /// A wordlist: one secret per line.
    Wordlist,
    /// A configured public key, tried in its usual textual and binary
    /// forms: a match proves RS→HS key confusion.
    PublicKey,
}

/// One place candidates came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// A wordlist's path (or [`DEFAULT_WORDLIST_NAME`]), or a key's origin.
    pub name: String,
    /// Wordlist or public key.
    pub kind: SourceKind,
    /// Candidates it added (after skipping duplicates).
    pub added: u64,
    /// Its entries skipped because an earlier line or source held them.
    pub duplicates: u64,
}

/// How a public key was written when used as a secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyForm {
    /// PEM text with LF line ends, final newline included.
    Pem,
    /// PEM text with LF line ends, without the final newline.
    PemTrimmed,
    /// PEM text with CRLF line ends, final CRLF included.
    PemCrlf,
    /// PEM text with CRLF line ends, without the final CRLF.
    PemCrlfTrimmed,
    /// The key file's bytes exactly as read.
    File,
    /// The key file's bytes without their final line end.
    FileTrimmed,
    /// The DER inside the PEM block.
    Der,
    /// The JWK as compact JSON.
    Jwk,
}

impl KeyForm {
    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            KeyForm::Pem => "pem",
            KeyForm::PemTrimmed => "pem_without_final_newline",
            KeyForm::PemCrlf => "pem_crlf",
            KeyForm::PemCrlfTrimmed => "pem_crlf_without_final_newline",
            KeyForm::File => "file",
            KeyForm::FileTrimmed => "file_without_final_newline",
            KeyForm::Der => "der",
            KeyForm::Jwk => "jwk_json",
        }
    }
}

/// Where one candidate came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Origin {
    /// Index into [`Candidates::sources`].
    pub source: usize,
    /// The 1-based line in a wordlist.
    pub line: Option<u64>,
    /// The form of a public key.
    pub form: Option<KeyForm>,
}

/// Distinct candidate secrets, each with its origin.
#[derive(Default)]
pub struct Candidates {
    secrets: Vec<Arc<[u8]>>,
    origins: Vec<Origin>,
    sources: Vec<Source>,
    seen: HashSet<Arc<[u8]>>,
}

impl std::fmt::Debug for Candidates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secrets themselves.
        f.debug_struct("Candidates")
            .field("len", &self.secrets.len())
            .field("sources", &self.sources)
            .finish_non_exhaustive()
    }
}

impl Candidates {
    /// No candidates.
    pub fn new() -> Candidates {
        Candidates::default()
    }

    /// How many distinct candidates there are.
    pub fn len(&self) -> usize {
        self.secrets.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// The secret of candidate `index`.
    pub fn secret(&self, index: usize) -> &[u8] {
        &self.secrets[index]
    }

    /// Where candidate `index` came from.
    pub fn origin(&self, index: usize) -> Origin {
        self.origins[index]
    }

    /// Every source, in the order added.
    pub fn sources(&self) -> &[Source] {
        &self.sources
    }

    /// Candidates skipped as duplicates, over all sources.
    pub fn duplicates(&self) -> u64 {
        self.sources.iter().map(|s| s.duplicates).sum()
    }

    /// Adds the embedded list of known JWT secrets.
    pub fn add_default_wordlist(&mut self) -> &Source {
        self.add_wordlist(DEFAULT_WORDLIST_NAME, DEFAULT_WORDLIST)
    }

    /// Reads a wordlist file and adds its lines.
    pub fn add_wordlist_file(&mut self, path: &Path) -> Result<&Source, WordlistError> {
        let bytes = std::fs::read(path).map_err(|source| WordlistError {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(self.add_wordlist(&path.display().to_string(), &bytes))
    }

    /// Adds a wordlist's lines: one secret per line, raw bytes; one
    /// trailing `\r` is stripped and empty lines are skipped (they still
    /// count for line numbers).
    pub fn add_wordlist(&mut self, name: &str, bytes: &[u8]) -> &Source {
        let source = self.open_source(name, SourceKind::Wordlist);
        let mut start = 0;
        let mut line = 0u64;
        while start < bytes.len() {
            let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |i| start + i);
            line += 1;
            let text = &bytes[start..end];
            let text = text.strip_suffix(b"\r").unwrap_or(text);
            if !text.is_empty() {
                let origin = Origin {
                    source,
                    line: Some(line),
                    form: None,
                };
                self.push(text, origin);
            }
            start = end + 1;
        }
        &self.sources[source]
    }

    /// Adds a public key's forms as secrets: the PEM text in LF and CRLF
    /// form, each with and without its final line end, the DER, and the
    /// JWK JSON, as the key was loaded. An HMAC key has no public form:
    /// `None`, and nothing is added.
    pub fn add_public_key(&mut self, key: &PreparedKey) -> Option<&Source> {
        if key.family == Family::Hmac {
            return None;
        }
        let source = self.open_source(&key.origin, SourceKind::PublicKey);
        for form in &key.public_forms {
            self.push_key_forms(source, form);
        }
        Some(&self.sources[source])
    }

    /// Adds a key file's own bytes, with and without the final line end:
    /// what a forger who downloaded the file would use as it is.
    pub fn add_key_file(&mut self, name: &str, bytes: &[u8]) -> &Source {
        let source = self.open_source(name, SourceKind::PublicKey);
        self.push_form(source, bytes, KeyForm::File);
        let trimmed = trim_line_end(bytes);
        if trimmed.len() != bytes.len() {
            self.push_form(source, trimmed, KeyForm::FileTrimmed);
        }
        &self.sources[source]
    }

    /// Sorts one public form into its kind and adds its variants.
    fn push_key_forms(&mut self, source: usize, form: &[u8]) {
        if form.starts_with(b"-----BEGIN") {
            // PEM text: both line-end conventions, with and without the
            // final one, whichever of them the key loader wrote.
            let lf = to_lf(form);
            let body = trim_line_end(&lf);
            let crlf = to_crlf(body);
            self.push_form(source, &[body, b"\n"].concat(), KeyForm::Pem);
            self.push_form(source, body, KeyForm::PemTrimmed);
            self.push_form(source, &[&crlf[..], b"\r\n"].concat(), KeyForm::PemCrlf);
            self.push_form(source, &crlf, KeyForm::PemCrlfTrimmed);
        } else if form.starts_with(b"{") {
            self.push_form(source, form, KeyForm::Jwk);
        } else {
            self.push_form(source, form, KeyForm::Der);
        }
    }

    fn push_form(&mut self, source: usize, secret: &[u8], form: KeyForm) {
        if secret.is_empty() {
            return;
        }
        let origin = Origin {
            source,
            line: None,
            form: Some(form),
        };
        self.push(secret, origin);
    }

    /// The source of this name and kind, opened if new.
    fn open_source(&mut self, name: &str, kind: SourceKind) -> usize {
        let known = self
            .sources
            .iter()
            .position(|s| s.name == name && s.kind == kind);
        if let Some(index) = known {
            return index;
        }
        self.sources.push(Source {
            name: name.to_string(),
            kind,
            added: 0,
            duplicates: 0,
        });
        self.sources.len() - 1
    }

    fn push(&mut self, secret: &[u8], origin: Origin) {
        let source = &mut self.sources[origin.source];
        if self.seen.contains(secret) {
            source.duplicates += 1;
            return;
        }
        source.added += 1;
        let secret: Arc<[u8]> = secret.into();
        self.seen.insert(Arc::clone(&secret));
        self.secrets.push(secret);
        self.origins.push(origin);
    }
}

/// The text without one final `\n` or `\r\n`.
fn trim_line_end(text: &[u8]) -> &[u8] {
    text.strip_suffix(b"\r\n")
        .or_else(|| text.strip_suffix(b"\n"))
        .unwrap_or(text)
}

/// Line ends rewritten as LF.
fn to_lf(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = memchr::memchr(b'\n', rest) {
        let line = &rest[..i];
        out.extend_from_slice(line.strip_suffix(b"\r").unwrap_or(line));
        out.push(b'\n');
        rest = &rest[i + 1..];
    }
    out.extend_from_slice(rest);
    out
}

/// LF line ends rewritten as CRLF.
fn to_crlf(lf: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(lf.len() + lf.len() / 32);
    for &b in lf {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_crlf_empty_and_duplicates() {
        let mut c = Candidates::new();
        let source = c
            .add_wordlist("w", b"alpha\r\n\r\nbeta\n\nalpha\r\r\ngamma\nbeta")
            .clone();
        assert_eq!(source.added, 4);
        assert_eq!(source.duplicates, 1);
        let secrets: Vec<&[u8]> = (0..c.len()).map(|i| c.secret(i)).collect();
        assert_eq!(secrets, [&b"alpha"[..], b"beta", b"alpha\r", b"gamma"]);
        let lines: Vec<_> = (0..c.len()).map(|i| c.origin(i).line.unwrap()).collect();
        assert_eq!(lines, [1, 3, 5, 6]);
    }

    #[test]
    fn later_sources_skip_what_earlier_ones_hold() {
        let mut c = Candidates::new();
        c.add_wordlist("first", b"x\ny\n");
        let second = c.add_wordlist("second", b"y\nz\n").clone();
        assert_eq!((second.added, second.duplicates), (1, 1));
        assert_eq!(c.origin(2).source, 1);
        assert_eq!(c.origin(2).line, Some(2));
        assert_eq!(c.duplicates(), 1);
    }

    #[test]
    fn the_embedded_list_is_whole() {
        let mut c = Candidates::new();
        let source = c.add_default_wordlist().clone();
        let lines = DEFAULT_WORDLIST.iter().filter(|&&b| b == b'\n').count() as u64;
        assert_eq!(lines, 103_979);
        // one empty line; the rest are distinct or duplicates
        assert_eq!(source.added + source.duplicates, lines - 1);
        assert_eq!(c.secret(0), b"!)&@%&*$E^$");
        assert_eq!(c.origin(0).line, Some(2));
    }

    #[test]
    fn pem_forms_in_both_line_end_conventions() {
        let mut c = Candidates::new();
        let source = c.open_source("k", SourceKind::PublicKey);
        c.push_key_forms(
            source,
            b"-----BEGIN PUBLIC KEY-----\r\nAA==\r\n-----END PUBLIC KEY-----\r\n",
        );
        c.push_key_forms(source, b"\x30\x03");
        // a form without its final line end labels every variant the same
        let mut d = Candidates::new();
        let other = d.open_source("k", SourceKind::PublicKey);
        d.push_key_forms(
            other,
            b"-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----",
        );
        for i in 0..4 {
            assert_eq!(
                (d.secret(i), d.origin(i).form),
                (c.secret(i), c.origin(i).form)
            );
        }
        let forms: Vec<_> = (0..c.len()).map(|i| c.origin(i).form.unwrap()).collect();
        assert_eq!(
            forms,
            [
                KeyForm::Pem,
                KeyForm::PemTrimmed,
                KeyForm::PemCrlf,
                KeyForm::PemCrlfTrimmed,
                KeyForm::Der
            ]
        );
        assert_eq!(
            c.secret(1),
            b"-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----"
        );
    }

    #[test]
    fn debug_hides_secrets() {
        let mut c = Candidates::new();
        c.add_wordlist("w", b"hunter2\n");
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
