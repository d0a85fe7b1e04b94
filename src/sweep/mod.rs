//! Sweeps for what an attacker could do with the tokens in the logs.
//!
//! - [`crack`] tests every distinct HMAC token against wordlists of known
//!   secrets and against the configured public keys: a token whose secret
//!   is found can be forged by anyone who has the list, and one whose
//!   secret is a public key proves RS→HS key confusion.
//! - [`findings`] reads how each token was made: `alg: none`, key
//!   confusion, zero or DER ECDSA signatures, embedded keys and key URLs,
//!   injected `kid`s, and encodings built for parser differentials.

pub mod crack;
pub mod findings;
