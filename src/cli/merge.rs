//! `jwtsweep merge`: combines JSON reports from separate runs into the
//! report one run over all their inputs would have given (see
//! [`crate::report::Report::merge`]).

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;

use super::scan::{exit_status, finish_output, open_output, write_report, ReportFormat, ViewArgs};
use crate::report::{Report, SCHEMA_VERSION};

/// Flags of `jwtsweep merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// JSON reports written by `jwtsweep scan --format json`.
    #[arg(required = true, value_name = "REPORT")]
    pub reports: Vec<PathBuf>,

    /// Report format: text, json, md or html.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,

    /// Write the report to FILE instead of stdout.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// How the report is shown.
    #[command(flatten)]
    pub view: ViewArgs,
}

pub(super) fn run(args: MergeArgs) -> anyhow::Result<i32> {
    if matches!(args.format, ReportFormat::Csv | ReportFormat::CsvTokens) {
        bail!(
            "--format csv lists token occurrences, which reports do not keep: \
             use json, text, md or html"
        );
    }
    let mut merged: Option<Report> = None;
    for path in &args.reports {
        let report = read(path)?;
        match merged.as_mut() {
            Some(merged) => merged.merge(report),
            None => merged = Some(report),
        }
    }
    let Some(report) = merged else {
        bail!("no reports to merge");
    };

    let mut output = open_output(args.output.as_deref())?;
    let options = args.view.options(args.output.is_none());
    let result = write_report(&report, args.format, &options, &mut output);
    finish_output(result, args.output.as_deref())?;
    Ok(exit_status(&report))
}

/// Reads one JSON report, refusing other schema versions.
fn read(path: &PathBuf) -> anyhow::Result<Report> {
    let text = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let value: serde_json::Value = serde_json::from_slice(&text)
        .with_context(|| format!("{}: not a JSON report", path.display()))?;
    let version = value.get("schema_version").and_then(|v| v.as_u64());
    if version != Some(u64::from(SCHEMA_VERSION)) {
        bail!(
            "{}: schema_version {}, this jwtsweep merges version {SCHEMA_VERSION}: scan again \
             with this version",
            path.display(),
            version.map_or("missing".to_string(), |v| v.to_string())
        );
    }
    serde_json::from_value(value).with_context(|| format!("{}: not a JSON report", path.display()))
}
