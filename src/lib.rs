//! jwtsweep finds every JSON Web Token in access logs and verifies it.
//!
//! The library is the engine; the binary only parses flags and calls it.
//! Data flows through one module per stage:
//!
//! ```text
//! source ─► chunk ─► find ─► token ─► verify ─► judge ─► report
//! ```
//!
//! - [`source`] opens inputs (memory-mapped or read) and [`chunk`] splits
//!   them into line-aligned byte ranges for rayon workers;
//! - [`find`] locates tokens in a chunk by their carriers and prefixes;
//! - [`token`] splits and decodes a compact JWS, reading header and claims
//!   with the strict [`json`] reader;
//! - [`keys`] loads and prepares keys once; [`verify`] checks a distinct
//!   token's signature against the [`keys::Keyring`], and [`cache`] makes
//!   sure each distinct token is checked once;
//! - [`judge`] turns a checked token and an evaluation time into a
//!   [`Verdict`];
//! - [`context`] reads each token line's request time, status, client
//!   and user agent, for the audit parts of the report;
//! - [`report`] folds occurrences into a mergeable [`report::Report`].
//!
//! [`scan::scan`] drives the whole pipeline.
#![deny(missing_docs)]

pub mod alg;
pub mod bytes;
pub mod cache;
pub mod chunk;
pub mod cli;
pub mod context;
pub mod find;
pub mod generate;
pub mod hmac;
pub mod json;
pub mod judge;
pub mod keys;
pub mod report;
pub mod scan;
pub mod source;
pub mod sweep;
pub mod time;
pub mod token;
pub mod verdict;
pub mod verify;

pub use alg::{Alg, AlgSet, Family};
pub use verdict::Verdict;
