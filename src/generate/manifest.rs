//! `manifest.json`: what a generated directory holds and how to scan it.
//!
//! Only relative paths and the options that shape the bytes are recorded
//! (not `out_dir` or `keys_from`), so two runs with the same options have
//! identical manifests wherever they were written.

use std::fs;
use std::path::Path;

use serde_json::{json, Map, Value};

use super::{
    format_mix, GenerateError, GenerateOptions, GenerateSummary, ACCESS_LOG, EXPECTED, KEYS_DIR,
};

/// The leeway, in seconds, the intended time verdicts allow for.
const ASSUMED_LEEWAY_SECS: i64 = 60;

/// The scan flags under which the intended verdicts hold, with paths
/// relative to the output directory.
pub(crate) fn scan_flags(opts: &GenerateOptions) -> Vec<String> {
    let jwks = format!("{KEYS_DIR}/{}", super::keys::JWKS_FILE);
    [
        "--jwks",
        &jwks,
        "--issuer",
        &opts.issuer,
        "--audience",
        &opts.audience,
    ]
    .map(str::to_owned)
    .to_vec()
}

/// Writes the manifest of a run to `path`.
pub(crate) fn write(
    path: &Path,
    opts: &GenerateOptions,
    summary: &GenerateSummary,
) -> Result<(), GenerateError> {
    let manifest = json!({
        "generator": format!("jwtsweep {}", env!("CARGO_PKG_VERSION")),
        "options": options(opts),
        "files": {
            "access_log": ACCESS_LOG,
            "expected": EXPECTED,
            "keys": KEYS_DIR,
        },
        "counts": counts(opts, summary),
        "scan_flags": scan_flags(opts),
        "assumes": {
            "leeway_secs": ASSUMED_LEEWAY_SECS,
            "evaluation_time": "the request time of each line",
        },
    });
    let mut text = serde_json::to_string_pretty(&manifest).unwrap_or_default();
    text.push('\n');
    fs::write(path, text).map_err(|e| GenerateError::io(path, e))
}

fn options(opts: &GenerateOptions) -> Value {
    let algs: Vec<&str> = opts.algs.iter().map(|a| a.name()).collect();
    json!({
        "seed": opts.seed,
        "lines": opts.lines,
        "distinct": opts.distinct,
        "algs": algs,
        "mix": format_mix(&opts.mix),
        "format": opts.format.name(),
        "start": opts.start,
        "span_secs": opts.span_secs,
        "noise": opts.noise,
        "issuer": opts.issuer,
        "audience": opts.audience,
    })
}

fn counts(opts: &GenerateOptions, summary: &GenerateSummary) -> Value {
    let by_verdict = |counts: &[usize]| -> Value {
        let mut map = Map::new();
        for &(verdict, _) in &opts.mix {
            map.insert(verdict.name().to_owned(), counts[verdict.index()].into());
        }
        Value::Object(map)
    };
    json!({
        "lines": summary.lines,
        "token_lines": summary.token_lines,
        "noise_lines": summary.lines - summary.token_lines,
        "tokens": summary.tokens,
        "lines_by_verdict": by_verdict(&summary.lines_by_verdict),
        "tokens_by_verdict": by_verdict(&summary.tokens_by_verdict),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_name_the_jwks_and_expected_claims() {
        let mut opts = GenerateOptions::new("x");
        opts.issuer = "https://id.example".into();
        assert_eq!(
            scan_flags(&opts),
            [
                "--jwks",
                "keys/jwks.json",
                "--issuer",
                "https://id.example",
                "--audience",
                "api"
            ]
        );
    }
}
