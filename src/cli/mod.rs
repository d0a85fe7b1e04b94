//! The command line: raw clap arguments, validated into an immutable
//! configuration, then a call into the library.
//!
//! Errors here are for the operator and name the flag or file to fix.

mod crack;
mod generate;
mod merge;
mod scan;

use clap::{Parser, Subcommand};

pub use generate::GenerateArgs;
pub use scan::ScanArgs;

/// Exit status: every token valid, or none found.
pub const EXIT_VALID: i32 = 0;
/// Exit status: some token not valid.
pub const EXIT_INVALID: i32 = 1;
/// Exit status: an operational error (bad flag, unreadable input or key).
pub const EXIT_ERROR: i32 = 2;

/// Find and verify every JSON Web Token in access logs.
#[derive(Debug, Parser)]
#[command(name = "jwtsweep", version, about, max_term_width = 100)]
pub struct Cli {
    /// Log the decisions made once per run (threads, mmap, keys) to stderr.
    #[arg(long, global = true)]
    pub debug: bool,

    /// Also log per-file decisions.
    #[arg(long, global = true)]
    pub trace: bool,

    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Find every token in log files and verify it.
    Scan(Box<ScanArgs>),
    /// Mint signed tokens, keys and a synthetic access log.
    Generate(Box<GenerateArgs>),
    /// Test HMAC tokens against wordlists of known secrets.
    Crack(Box<crack::CrackArgs>),
    /// Combine JSON reports from separate scans into one.
    Merge(Box<merge::MergeArgs>),
}

/// Runs a parsed command line; returns the exit status.
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Scan(args) => scan::run(*args),
        Command::Generate(args) => generate::run(*args),
        Command::Crack(args) => crack::run(*args),
        Command::Merge(args) => merge::run(*args),
    }
}
