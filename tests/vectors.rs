//! Conformance vectors, run through the verification layer.
//!
//! The vectors are public, copied into `fixtures/vectors/` with their
//! licenses (`fixtures/vectors/README.md` says where each file came from):
//!
//! - Project Wycheproof: HMAC, ECDSA (IEEE P1363 form), RSA PKCS#1 v1.5
//!   and PSS, and Ed25519 vectors checked one by one with
//!   [`jwtsweep::verify::verify_signature`] ([`primitives`]), and the
//!   JOSE-specific JWS and JWK vectors checked end to end with
//!   [`jwtsweep::verify::check`] ([`jose`]);
//! - RFC 7515 Appendix A, typed in from the RFC, and the RFC 7520 §4 and
//!   RFC 8037 examples from the JOSE cookbook ([`rfc`]).
//!
//! Every test collects its mismatches in a [`Tally`] and fails once at the
//! end, listing them all, so one run shows every problem. Each also asserts
//! how many vectors it checked, so an empty or truncated fixture cannot
//! pass.

#[path = "vectors/jose.rs"]
mod jose;
#[path = "vectors/primitives.rs"]
mod primitives;
#[path = "vectors/rfc.rs"]
mod rfc;

use std::path::PathBuf;

use base64_simd::URL_SAFE_NO_PAD;
use serde_json::Value as Json;

/// Reads and parses a JSON file under `fixtures/vectors/`.
fn fixture(relative: &str) -> Json {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "fixtures", "vectors", relative]
        .iter()
        .collect();
    let text = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Decodes lowercase or uppercase hex; the fixtures are trusted, so bad hex
/// is a broken fixture and panics.
fn hex(text: &str) -> Vec<u8> {
    fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => panic!("bad hex digit {:?}", c as char),
        }
    }
    assert!(text.len() % 2 == 0, "odd-length hex");
    text.as_bytes()
        .chunks(2)
        .map(|pair| nibble(pair[0]) << 4 | nibble(pair[1]))
        .collect()
}

/// Decodes unpadded base64url from a trusted fixture.
fn b64url(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode_to_vec(text)
        .unwrap_or_else(|_| panic!("bad base64url {text:?}"))
}

/// A string member of a fixture object; a missing one is a broken fixture.
fn text<'a>(object: &'a Json, name: &str) -> &'a str {
    object[name]
        .as_str()
        .unwrap_or_else(|| panic!("fixture lacks string member {name:?}"))
}

/// What a Wycheproof vector's `result` says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// Must verify.
    Valid,
    /// Must not verify.
    Invalid,
    /// Either outcome is allowed; we record ours.
    Acceptable,
}

impl Expect {
    fn of(test: &Json) -> Expect {
        match text(test, "result") {
            "valid" => Expect::Valid,
            "invalid" => Expect::Invalid,
            "acceptable" => Expect::Acceptable,
            other => panic!("unknown result {other:?}"),
        }
    }
}

/// Loads `fixtures/vectors/wycheproof/<file>` and a tally that insists
/// every one of the file's `numberOfTests` vectors is accounted for.
fn wycheproof(file: &str) -> (Json, Tally) {
    let doc = fixture(&format!("wycheproof/{file}"));
    let mut tally = Tally::new(file);
    tally.declared = doc["numberOfTests"].as_u64().map(|n| n as usize);
    (doc, tally)
}

/// The test groups of a Wycheproof file.
fn groups(doc: &Json) -> &[Json] {
    doc["testGroups"]
        .as_array()
        .expect("testGroups is an array")
}

/// The tests of one Wycheproof group.
fn tests(group: &Json) -> &[Json] {
    group["tests"].as_array().map_or(&[], Vec::as_slice)
}

/// What one vector file's test saw: how many vectors were checked or
/// skipped, which disagreed with the file, and notes worth printing.
struct Tally {
    name: String,
    declared: Option<usize>,
    checked: usize,
    accepted: usize,
    skipped: usize,
    mismatches: Vec<String>,
    notes: Vec<String>,
}

impl Tally {
    fn new(name: &str) -> Tally {
        Tally {
            name: name.to_string(),
            declared: None,
            checked: 0,
            accepted: 0,
            skipped: 0,
            mismatches: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Counts a vector whose expectation is `expect` and whose outcome was
    /// `got` (true: accepted). An acceptable vector is only noted.
    fn check(&mut self, test: &Json, expect: Expect, got: bool, detail: &str) {
        self.checked += 1;
        self.accepted += got as usize;
        let want = match expect {
            Expect::Valid => true,
            Expect::Invalid => false,
            Expect::Acceptable => {
                let ours = if got { "accepted" } else { "rejected" };
                self.notes
                    .push(format!("{} acceptable, {ours}: {detail}", label(test)));
                return;
            }
        };
        if want != got {
            let (want, got) = (verb(want), verb(got));
            self.mismatches
                .push(format!("{}: want {want}, got {got}: {detail}", label(test)));
        }
    }

    /// Records a failure that belongs to no single vector.
    fn fail(&mut self, text: String) {
        self.mismatches.push(text);
    }

    /// Records a mismatch that is not a plain accept/reject disagreement.
    fn mismatch(&mut self, test: &Json, detail: String) {
        self.mismatches.push(format!("{}: {detail}", label(test)));
    }

    /// Adds a line to print with the summary.
    fn note(&mut self, text: String) {
        self.notes.push(text);
    }

    /// Counts a vector left out, saying why.
    fn skip(&mut self, test: &Json, why: &str) {
        self.skipped += 1;
        self.note(format!("{} skipped: {why}", label(test)));
    }

    /// Prints the notes and fails, listing every mismatch, if any vector
    /// disagreed, if fewer than `min` were checked, or if the file declared
    /// more vectors than were checked and skipped.
    fn finish(self, min: usize) {
        for note in &self.notes {
            println!("{}: {note}", self.name);
        }
        let (name, checked, skipped) = (&self.name, self.checked, self.skipped);
        println!(
            "{name}: {checked} checked ({} accepted), {skipped} skipped",
            self.accepted
        );
        assert!(
            self.mismatches.is_empty(),
            "{}: {} of {} vectors disagree:\n  {}",
            self.name,
            self.mismatches.len(),
            self.checked,
            self.mismatches.join("\n  ")
        );
        assert!(
            self.checked >= min,
            "{}: only {} vectors checked",
            self.name,
            self.checked
        );
        if let Some(declared) = self.declared {
            let seen = self.checked + self.skipped;
            assert_eq!(
                seen, declared,
                "{}: declares {declared} vectors, saw {seen}",
                self.name
            );
        }
    }
}

/// `tcId N (comment)` for a Wycheproof vector, or its `name` otherwise.
fn label(test: &Json) -> String {
    let comment = test["comment"].as_str().unwrap_or("");
    match test["tcId"].as_u64() {
        Some(id) => format!("tcId {id} ({comment})"),
        None => test["name"].as_str().unwrap_or("?").to_string(),
    }
}

fn verb(accepted: bool) -> &'static str {
    if accepted {
        "accepted"
    } else {
        "rejected"
    }
}
