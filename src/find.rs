//! Finding tokens in log text.
//!
//! A SIMD scan jumps between the places a token can start: the base64url
//! of a JSON object opening (`ey`, `ew`: `{"`, `{ `, `{\n`, `{\r`, `{\t`),
//! and the carriers a token travels in: `Bearer ` (any case, RFC 7235), the
//! parameters `access_token=`, `id_token=`, `jwt=`, `token=`, and JSON
//! members of those names or `authorization`. Bytes between those places
//! are never looked at one by one.
//!
//! The scan tests 32 bytes at a time (16 without AVX2) for `e` then `y` or
//! `w`, or the first three letters of a carrier word in any case (`bea`,
//! `tok`, `jwt`, `aut`), and each place it stops at is then read in full.
//! It replaced aho-corasick's Teddy searcher over the same 52 three-byte
//! patterns, which found the same places (a test below compares the two)
//! but cost 170 ns per line of a log with a token on every line (the
//! bench corpus `hs256`), against 104 ns now (one core, 2026-12-04): most
//! of that went to setting up each search and verifying its candidates.
//!
//! A token is a run of base64url characters and dots with 3 segments (JWS)
//! or 5 (JWE). A bare run must also open with a header that decodes to a
//! JSON object start; in a carrier position any run of the right shape is a
//! token, and a header that is not JSON makes it `malformed` later. The
//! token is exactly the run: never a quote, `\r`, `&` or `;` beside it.

use base64_simd::URL_SAFE_NO_PAD;

/// Where a token was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Carrier {
    /// After an HTTP `Bearer` scheme.
    Bearer,
    /// A query or cookie parameter (`token=`, `access_token=`, ...).
    Parameter,
    /// A JSON string member (`"token": "..."`, `"authorization": "..."`).
    JsonMember,
    /// Anywhere else, recognised by its JSON header.
    Bare,
}

impl Carrier {
    /// A short lowercase name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Carrier::Bearer => "bearer",
            Carrier::Parameter => "parameter",
            Carrier::JsonMember => "json_member",
            Carrier::Bare => "bare",
        }
    }
}

/// One token found in a haystack: `hay[start..end]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Found {
    /// Offset of the first byte.
    pub start: usize,
    /// Offset one past the last byte.
    pub end: usize,
    /// How it was recognised.
    pub carrier: Carrier,
}

/// The third base64url character after `ey`/`ew` for each way a JSON
/// object can open: `{"` then a name byte below 0x40, 0x40 to 0x7F, or
/// above (`eyI`…`eyL`); `{ ` (`eyA`…`eyD`); `{\t` (`ewk`…`ewn`); `{\n`
/// (`ewo`…`ewr`); `{\r` (`ew0`…`ew3`).
const EY_THIRD: &[u8] = b"ABCDIJKL";
const EW_THIRD: &[u8] = b"klmnopqr0123";

/// Parameter and member names that carry a token.
const CARRIER_NAMES: [&[u8]; 4] = [b"token", b"access_token", b"id_token", b"jwt"];

/// The length of the longest of [`CARRIER_NAMES`].
const LONGEST_NAME: usize = 12;

/// The token finder; build once and share between workers.
#[derive(Clone, Debug)]
pub struct Finder {
    /// Whether the CPU has AVX2, looked up once.
    avx2: bool,
}

impl Default for Finder {
    fn default() -> Finder {
        Finder::new()
    }
}

/// Byte classes: bit 0 for the base64url alphabet, bit 1 for the dot.
/// A table lookup per byte is what the run scan costs; three comparisons
/// per byte cost 6% of a scan.
const CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if c.is_ascii_alphanumeric() || c == b'-' || c == b'_' {
            table[b] = 1;
        } else if c == b'.' {
            table[b] = 2;
        }
        b += 1;
    }
    table
};

/// Bytes per block in [`run_end`]'s vectorised pass.
const RUN_BLOCK: usize = 32;

/// [`is_run`] by range tests, which vectorise where a table lookup does
/// not.
fn in_run(b: u8) -> bool {
    let letter = (b | 0x20).wrapping_sub(b'a') < 26;
    let digit = b.wrapping_sub(b'0') < 10;
    letter | digit | (b == b'-') | (b == b'_') | (b == b'.')
}

/// Base64url alphabet: what a segment is made of.
fn is_b64(b: u8) -> bool {
    CLASS[b as usize] == 1
}

/// A token's run: base64url and dots.
fn is_run(b: u8) -> bool {
    CLASS[b as usize] != 0
}

impl Finder {
    /// A finder for this CPU.
    pub fn new() -> Finder {
        #[cfg(target_arch = "x86_64")]
        let avx2 = std::is_x86_feature_detected!("avx2");
        #[cfg(not(target_arch = "x86_64"))]
        let avx2 = false;
        Finder { avx2 }
    }

    /// Appends every token in `hay` to `out`, in order.
    pub fn find_all(&self, hay: &[u8], out: &mut Vec<Found>) {
        let mut pos = 0;
        while let Some(start) = self.next_candidate(hay, pos) {
            pos = match examine(hay, start) {
                Token(found) => {
                    out.push(found);
                    found.end
                }
                Skip(next) => next.max(start + 1),
            };
        }
    }

    /// The first place at or after `from` that [`is_candidate`].
    fn next_candidate(&self, hay: &[u8], from: usize) -> Option<usize> {
        #[cfg(target_arch = "x86_64")]
        {
            let (found, scanned) = match self.avx2 {
                // SAFETY: AVX2 was detected on this CPU at construction.
                true => unsafe { simd::candidate_avx2(hay, from) },
                // SAFETY: SSE2 is part of every x86_64 target.
                false => unsafe { simd::candidate_sse2(hay, from) },
            };
            if found.is_some() {
                return found;
            }
            (scanned..hay.len()).find(|&i| is_candidate(hay, i))
        }
        #[cfg(not(target_arch = "x86_64"))]
        (from..hay.len()).find(|&i| is_candidate(hay, i))
    }
}

/// Whether a token or a carrier word may start at `at`: `e` then `y` or
/// `w`, or `bea`, `tok`, `jwt` or `aut` in any case.
fn is_candidate(hay: &[u8], at: usize) -> bool {
    let byte = |k: usize| hay.get(at + k).copied().unwrap_or(0);
    if byte(0) == b'e' && matches!(byte(1), b'y' | b'w') {
        return true;
    }
    let word = [byte(0) | 0x20, byte(1) | 0x20, byte(2) | 0x20];
    matches!(&word, b"bea" | b"tok" | b"jwt" | b"aut")
}

/// Reads what starts at a candidate place.
fn examine(hay: &[u8], start: usize) -> Outcome {
    let byte = |k: usize| hay.get(start + k).copied().unwrap_or(0);
    let word = |len: usize, text: &[u8]| {
        let word = hay.get(start..start + len)?;
        word.eq_ignore_ascii_case(text)
            .then_some((start, start + len))
    };
    match [byte(0), byte(1)] {
        [b'e', b'y'] if EY_THIRD.contains(&byte(2)) => return bare(hay, start),
        [b'e', b'w'] if EW_THIRD.contains(&byte(2)) => return bare(hay, start),
        [b'e', b'y' | b'w'] => return Skip(start + 1),
        _ => {}
    }
    match [byte(0) | 0x20, byte(1) | 0x20, byte(2) | 0x20] {
        [b'b', b'e', b'a'] => match word(6, b"bearer") {
            Some((from, to)) => bearer(hay, from, to),
            None => Skip(start + 1),
        },
        [b't', b'o', b'k'] => match word(5, b"token") {
            Some((from, to)) => named(hay, from, to),
            None => Skip(start + 1),
        },
        [b'j', b'w', b't'] => named(hay, start, start + 3),
        [b'a', b'u', b't'] => match word(13, b"authorization") {
            Some((from, to)) => authorization(hay, from, to),
            None => Skip(start + 1),
        },
        _ => Skip(start + 1),
    }
}

/// The vector scans for [`is_candidate`] places. Each returns the first
/// place found, or `None` and the offset from which the caller must look
/// byte by byte (the last few bytes, where a whole vector does not fit).
#[cfg(target_arch = "x86_64")]
mod simd {
    use std::arch::x86_64::*;

    /// Bytes each vector pass reads past its lanes: two, for the third
    /// letter of a word.
    const LOOKAHEAD: usize = 2;

    /// How far ahead of its loads each vector pass asks for the input to
    /// be fetched into the cache (`prefetcht0`, one per 32 bytes). The
    /// hardware prefetcher stops at every 4 KiB page, and on this
    /// project's Intel Xeon machines (KVM) the first load of each line of
    /// a page it had not fetched stalled the scan: 67% of a scan of a log
    /// without tokens sat on it. Measured, one thread, interleaved runs
    /// (2026-12-04): without tokens 1.9 -> 4.6 GB/s; the realistic log
    /// 1.95M -> 2.24M tok/s; distinct HS256 tokens 966k -> 999k tok/s
    /// (medians). 512 bytes ahead gave 3.0 GB/s, 1 KiB 4.3, 4 and 8 KiB
    /// 4.6-4.7, 16 KiB 4.0-4.6. A prefetch past the input's end or into a
    /// page not mapped yet is dropped, never a fault.
    const AHEAD: usize = 4096;

    /// 32 places at a time.
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn candidate_avx2(hay: &[u8], from: usize) -> (Option<usize>, usize) {
        let splat = |b: u8| _mm256_set1_epi8(b as i8);
        let eq = _mm256_cmpeq_epi8;
        let (and, or) = (_mm256_and_si256, _mm256_or_si256);
        let (e, y, w, case) = (splat(b'e'), splat(b'y'), splat(b'w'), splat(0x20));
        let (a, b, j, k) = (splat(b'a'), splat(b'b'), splat(b'j'), splat(b'k'));
        let (o, t, u) = (splat(b'o'), splat(b't'), splat(b'u'));
        let mut at = from;
        while at + 32 + LOOKAHEAD <= hay.len() {
            // SAFETY: `at + 34 <= hay.len()`, so all three loads are in
            // bounds; unaligned loads need no alignment.
            let (v0, v1, v2) = unsafe {
                let p = hay.as_ptr().add(at);
                (
                    _mm256_loadu_si256(p.cast()),
                    _mm256_loadu_si256(p.add(1).cast()),
                    _mm256_loadu_si256(p.add(2).cast()),
                )
            };
            _mm_prefetch::<_MM_HINT_T0>(hay.as_ptr().wrapping_add(at + AHEAD).cast());
            let (l0, l1, l2) = (or(v0, case), or(v1, case), or(v2, case));
            let bare = and(eq(v0, e), or(eq(v1, y), eq(v1, w)));
            let bea = and(eq(l0, b), and(eq(l1, e), eq(l2, a)));
            let tok = and(eq(l0, t), and(eq(l1, o), eq(l2, k)));
            let jwt = and(eq(l0, j), and(eq(l1, w), eq(l2, t)));
            let aut = and(eq(l0, a), and(eq(l1, u), eq(l2, t)));
            let any = or(bare, or(or(bea, tok), or(jwt, aut)));
            let mask = _mm256_movemask_epi8(any) as u32;
            if mask != 0 {
                return (Some(at + mask.trailing_zeros() as usize), at);
            }
            at += 32;
        }
        (None, at)
    }

    /// Scans the run at `start` 32 bytes at a time while whole blocks are
    /// run bytes (base64url and dots, [`super::in_run`]); returns where the
    /// first block with another byte starts, or the last block that fits
    /// ends, and the dots before it.
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn run_avx2(hay: &[u8], start: usize) -> (usize, usize) {
        let splat = |b: u8| _mm256_set1_epi8(b as i8);
        let (gt, eq) = (_mm256_cmpgt_epi8, _mm256_cmpeq_epi8);
        let (and, or) = (_mm256_and_si256, _mm256_or_si256);
        let case = splat(0x20);
        let (before_a, after_z) = (splat(b'a' - 1), splat(b'z' + 1));
        let (before_0, after_9) = (splat(b'0' - 1), splat(b'9' + 1));
        let (dash, underscore, dot) = (splat(b'-'), splat(b'_'), splat(b'.'));
        let mut at = start;
        let mut dots = 0;
        while at + 32 <= hay.len() {
            // SAFETY: the 32 bytes at `at` are in bounds.
            let v = unsafe { _mm256_loadu_si256(hay.as_ptr().add(at).cast()) };
            _mm_prefetch::<_MM_HINT_T0>(hay.as_ptr().wrapping_add(at + AHEAD).cast());
            // signed compares: bytes from 0x80 are negative, in no range
            let lower = or(v, case);
            let letter = and(gt(lower, before_a), gt(after_z, lower));
            let digit = and(gt(v, before_0), gt(after_9, v));
            let dots_here = eq(v, dot);
            let other = or(or(eq(v, dash), eq(v, underscore)), dots_here);
            let run = _mm256_movemask_epi8(or(or(letter, digit), other)) as u32;
            if run != u32::MAX {
                break;
            }
            dots += (_mm256_movemask_epi8(dots_here) as u32).count_ones() as usize;
            at += 32;
        }
        (at, dots)
    }

    /// 16 places at a time.
    ///
    /// # Safety
    /// The CPU must have SSE2 (every x86_64 CPU does).
    #[target_feature(enable = "sse2")]
    pub(super) unsafe fn candidate_sse2(hay: &[u8], from: usize) -> (Option<usize>, usize) {
        let splat = |b: u8| _mm_set1_epi8(b as i8);
        let eq = _mm_cmpeq_epi8;
        let (and, or) = (_mm_and_si128, _mm_or_si128);
        let (e, y, w, case) = (splat(b'e'), splat(b'y'), splat(b'w'), splat(0x20));
        let (a, b, j, k) = (splat(b'a'), splat(b'b'), splat(b'j'), splat(b'k'));
        let (o, t, u) = (splat(b'o'), splat(b't'), splat(b'u'));
        let mut at = from;
        while at + 16 + LOOKAHEAD <= hay.len() {
            // SAFETY: `at + 18 <= hay.len()`, so all three loads are in
            // bounds.
            let (v0, v1, v2) = unsafe {
                let p = hay.as_ptr().add(at);
                (
                    _mm_loadu_si128(p.cast()),
                    _mm_loadu_si128(p.add(1).cast()),
                    _mm_loadu_si128(p.add(2).cast()),
                )
            };
            _mm_prefetch::<_MM_HINT_T0>(hay.as_ptr().wrapping_add(at + AHEAD).cast());
            let (l0, l1, l2) = (or(v0, case), or(v1, case), or(v2, case));
            let bare = and(eq(v0, e), or(eq(v1, y), eq(v1, w)));
            let bea = and(eq(l0, b), and(eq(l1, e), eq(l2, a)));
            let tok = and(eq(l0, t), and(eq(l1, o), eq(l2, k)));
            let jwt = and(eq(l0, j), and(eq(l1, w), eq(l2, t)));
            let aut = and(eq(l0, a), and(eq(l1, u), eq(l2, t)));
            let any = or(bare, or(or(bea, tok), or(jwt, aut)));
            let mask = _mm_movemask_epi8(any) as u32;
            if mask != 0 {
                return (Some(at + mask.trailing_zeros() as usize), at);
            }
            at += 16;
        }
        (None, at)
    }
}

/// What one match led to.
#[derive(Debug)]
enum Outcome {
    /// A token; search on after it.
    Token(Found),
    /// No token; search on from here.
    Skip(usize),
}
use Outcome::{Skip, Token};

/// The end of the run at `start` if it has the shape of a token: 3 or 5
/// segments and a non-empty header. A final dot that breaks the shape
/// (a sentence's full stop) is left out.
fn run_end(hay: &[u8], start: usize) -> Result<usize, usize> {
    let mut end = start;
    let mut dots = 0;

    // Whole blocks first, with AVX2 where the CPU has it (the portable
    // loop below was 11% of a scan of long RS256 tokens, this a third of
    // that); `is_x86_feature_detected` reads a cached answer.
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 is on this CPU.
        let (scanned, counted) = unsafe { simd::run_avx2(hay, start) };
        (end, dots) = (scanned, counted);
    }

    // Without an early exit inside a block, the compiler turns the range
    // tests and the dot count into vector code (the byte-at-a-time table
    // loop was 6% of a scan).
    while let Some(block) = hay.get(end..end + RUN_BLOCK) {
        if !block.iter().fold(true, |all, &b| all & in_run(b)) {
            break;
        }
        dots += block.iter().filter(|&&b| b == b'.').count();
        end += RUN_BLOCK;
    }
    for &b in &hay[end..] {
        let class = CLASS[b as usize];
        if class == 0 {
            break;
        }
        dots += (class >> 1) as usize;
        end += 1;
    }
    if dots != 2 && dots != 4 && end > start && hay[end - 1] == b'.' {
        dots -= 1;
        end -= 1;
    }
    let header_empty = hay.get(start) == Some(&b'.');
    match (dots, header_empty) {
        (2 | 4, false) => Ok(end),
        _ => Err(end),
    }
}

/// A bare `ey`/`ew` run: exact case, at a run boundary, with a header that
/// is strict base64url and opens a JSON object with a member name.
fn bare(hay: &[u8], start: usize) -> Outcome {
    if start > 0 && is_run(hay[start - 1]) {
        return Skip(start + 1);
    }
    let end = match run_end(hay, start) {
        Ok(end) => end,
        Err(end) => return Skip(end),
    };
    let header_len = memchr::memchr(b'.', &hay[start..end]).unwrap_or(0);
    let header = &hay[start..start + header_len];
    if URL_SAFE_NO_PAD.check(header).is_err() || !opens_object(header) {
        return Skip(end);
    }
    Token(Found {
        start,
        end,
        carrier: Carrier::Bare,
    })
}

/// Whether a base64url header decodes to `{`, optional JSON whitespace,
/// then `"`. Decodes only a prefix: 16 characters give 12 bytes.
fn opens_object(header: &[u8]) -> bool {
    let prefix = &header[..header.len().min(16) / 4 * 4];
    let mut buf = [0u8; 12];
    let Ok(bytes) = URL_SAFE_NO_PAD.decode(prefix, base64_simd::Out::from_slice(&mut buf)) else {
        return false;
    };
    let mut rest = bytes
        .iter()
        .skip(1)
        .skip_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
    bytes.first() == Some(&b'{') && rest.next() == Some(&b'"')
}

/// A run in a carrier position starting at `value`.
fn carried(hay: &[u8], value: usize, carrier: Carrier, fallback: usize) -> Outcome {
    if value >= hay.len() || !is_b64(hay[value]) {
        return Skip(fallback);
    }
    match run_end(hay, value) {
        Ok(end) => Token(Found {
            start: value,
            end,
            carrier,
        }),
        Err(_) => Skip(fallback),
    }
}

/// `Bearer` followed by spaces, not inside a longer word.
fn bearer(hay: &[u8], start: usize, end: usize) -> Outcome {
    if start > 0 && hay[start - 1].is_ascii_alphanumeric() {
        return Skip(end);
    }
    let value = skip_spaces(hay, end);
    if value == end {
        return Skip(end);
    }
    carried(hay, value, Carrier::Bearer, end)
}

fn skip_spaces(hay: &[u8], mut at: usize) -> usize {
    while at < hay.len() && matches!(hay[at], b' ' | b'\t') {
        at += 1;
    }
    at
}

/// After a JSON member name's closing quote: `\s*:\s*"`. Returns the
/// offset of the value's first byte.
fn json_value(hay: &[u8], after_quote: usize) -> Option<usize> {
    let colon = skip_spaces(hay, after_quote);
    if hay.get(colon) != Some(&b':') {
        return None;
    }
    let quote = skip_spaces(hay, colon + 1);
    (hay.get(quote) == Some(&b'"')).then_some(quote + 1)
}

/// `token`/`jwt` inside a parameter or member name: the whole name must be
/// one of [`CARRIER_NAMES`], followed by `=` or by `":` … `"`.
fn named(hay: &[u8], start: usize, end: usize) -> Outcome {
    // The name is the base64url run ending at `end`, but the walk back
    // stops one byte past the longest carrier name: a longer run is no
    // carrier name anyway. Walking the whole run made a crafted line
    // (`jwtjwtjwt…`, `tokentoken…`) take time quadratic in its length.
    let floor = end.saturating_sub(LONGEST_NAME + 1);
    let mut name_start = start;
    while name_start > floor && is_b64(hay[name_start - 1]) {
        name_start -= 1;
    }
    carrier_after_name(hay, name_start, end)
}

/// What the name `hay[name_start..end]` carries: nothing unless it is one
/// of [`CARRIER_NAMES`], then the run after its `=` or its `":` … `"`.
fn carrier_after_name(hay: &[u8], name_start: usize, end: usize) -> Outcome {
    let name = &hay[name_start..end];
    if !CARRIER_NAMES.iter().any(|n| n.eq_ignore_ascii_case(name)) {
        return Skip(end);
    }
    if hay.get(end) == Some(&b'=') {
        return carried(hay, end + 1, Carrier::Parameter, end);
    }
    let quoted = name_start > 0 && hay[name_start - 1] == b'"' && hay.get(end) == Some(&b'"');
    match quoted.then(|| json_value(hay, end + 1)).flatten() {
        Some(value) => carried(hay, value, Carrier::JsonMember, end),
        None => Skip(end),
    }
}

/// A JSON `"authorization": "…"` member, with or without a `Bearer` scheme.
fn authorization(hay: &[u8], start: usize, end: usize) -> Outcome {
    let quoted = start > 0 && hay[start - 1] == b'"' && hay.get(end) == Some(&b'"');
    let Some(mut value) = quoted.then(|| json_value(hay, end + 1)).flatten() else {
        return Skip(end);
    };
    let scheme = hay.get(value..value + 6);
    if scheme.is_some_and(|s| s.eq_ignore_ascii_case(b"bearer")) {
        let after = skip_spaces(hay, value + 6);
        if after == value + 6 {
            return Skip(end);
        }
        value = after;
    }
    carried(hay, value, Carrier::JsonMember, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln";

    #[test]
    fn longest_name_is_the_longest_carrier_name() {
        let longest = CARRIER_NAMES.iter().map(|n| n.len()).max();
        assert_eq!(longest, Some(LONGEST_NAME));
    }

    /// The bounded walk back in `named` finds what walking the whole run
    /// back found, on names of every length around the carrier names,
    /// with and without runs before them.
    #[test]
    fn named_matches_an_unbounded_walk_back() {
        // `named` as it was, walking back over the whole run
        fn unbounded(hay: &[u8], start: usize, end: usize) -> Outcome {
            let mut name_start = start;
            while name_start > 0 && is_b64(hay[name_start - 1]) {
                name_start -= 1;
            }
            carrier_after_name(hay, name_start, end)
        }
        let prefixes = [
            "", "x", "a_", "ab-cd", "access_", "id_", "xaccess_", "&", "?q=1&",
        ];
        let names = ["token", "jwt", "Token", "JWT", "tokens", "jwtt"];
        let tails = [
            format!("={JWT}"),
            format!("\":\"{JWT}\""),
            "=".to_string(),
            String::new(),
        ];
        let mut compared = 0;
        for pad in [0, 1, 7, 11, 12, 13, 40] {
            for prefix in prefixes {
                for name in names {
                    for tail in &tails {
                        let body = format!("{prefix}{name}{tail}");
                        for lead in ["A".repeat(pad), format!("{}\"", "A".repeat(pad))] {
                            let hay = format!("{lead}{body}");
                            let hay = hay.as_bytes();
                            let start = lead.len() + prefix.len();
                            let word = match name.to_ascii_lowercase().starts_with("jwt") {
                                true => 3,
                                false => 5,
                            };
                            let end = start + word;
                            assert_eq!(
                                format!("{:?}", named(hay, start, end)),
                                format!("{:?}", unbounded(hay, start, end)),
                                "{}",
                                String::from_utf8_lossy(hay)
                            );
                            compared += 1;
                        }
                    }
                }
            }
        }
        assert_eq!(compared, 7 * 9 * 6 * 4 * 2);
    }

    /// A line that is one long run of carrier words finds no token; each
    /// candidate in it looks back a bounded distance.
    #[test]
    fn runs_of_carrier_words_find_nothing() {
        for word in ["jwt", "token", "Jwt", "TOKEN", "access_token"] {
            let line = word.repeat(100_000);
            assert!(find(&line).is_empty(), "{word}");
        }
    }

    fn find(hay: &str) -> Vec<(String, Carrier)> {
        let mut out = Vec::new();
        Finder::new().find_all(hay.as_bytes(), &mut out);
        out.iter()
            .map(|f| (hay[f.start..f.end].to_string(), f.carrier))
            .collect()
    }

    fn tokens(hay: &str) -> Vec<String> {
        find(hay).into_iter().map(|(t, _)| t).collect()
    }

    /// The finder this module had before its own scan: aho-corasick's
    /// Teddy over every case of the same three-byte patterns, each match
    /// read as before. The two must find the same tokens.
    fn teddy_find_all(hay: &[u8]) -> Vec<Found> {
        use aho_corasick::{AhoCorasick, AhoCorasickKind, Input, MatchKind};
        #[derive(Clone, Copy)]
        enum Pattern {
            Bare,
            Bearer,
            Token,
            Jwt,
            Authorization,
        }
        static SEARCHER: std::sync::OnceLock<(AhoCorasick, Vec<Pattern>)> =
            std::sync::OnceLock::new();
        let (searcher, kinds) = SEARCHER.get_or_init(|| {
            let mut patterns = Vec::new();
            let mut kinds = Vec::new();
            for (second, thirds) in [(b'y', EY_THIRD), (b'w', EW_THIRD)] {
                for &third in thirds {
                    patterns.push(vec![b'e', second, third]);
                    kinds.push(Pattern::Bare);
                }
            }
            let pieces = [
                (b"ear", Pattern::Bearer),
                (b"tok", Pattern::Token),
                (b"jwt", Pattern::Jwt),
                (b"aut", Pattern::Authorization),
            ];
            for (piece, kind) in pieces {
                for case in 0..8u8 {
                    let cased = |(i, &b): (usize, &u8)| match case >> i & 1 {
                        1 => b.to_ascii_uppercase(),
                        _ => b,
                    };
                    patterns.push(piece.iter().enumerate().map(cased).collect::<Vec<u8>>());
                    kinds.push(kind);
                }
            }
            let searcher = AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostFirst)
                .kind(Some(AhoCorasickKind::DFA))
                .build(patterns)
                .unwrap();
            (searcher, kinds)
        });
        let mut out = Vec::new();
        let mut pos = 0;
        while pos < hay.len() {
            let Some(m) = searcher.find(Input::new(hay).span(pos..hay.len())) else {
                break;
            };
            let start = m.start();
            let word = |before: usize, len: usize, text: &[u8]| {
                let from = start.checked_sub(before)?;
                let word = hay.get(from..from + len)?;
                word.eq_ignore_ascii_case(text)
                    .then_some((from, from + len))
            };
            let outcome = match kinds[m.pattern().as_usize()] {
                Pattern::Bare => bare(hay, start),
                Pattern::Bearer => match word(1, 6, b"bearer") {
                    Some((from, to)) => bearer(hay, from, to),
                    None => Skip(start + 1),
                },
                Pattern::Token => match word(0, 5, b"token") {
                    Some((from, to)) => named(hay, from, to),
                    None => Skip(start + 1),
                },
                Pattern::Jwt => named(hay, start, start + 3),
                Pattern::Authorization => match word(0, 13, b"authorization") {
                    Some((from, to)) => authorization(hay, from, to),
                    None => Skip(start + 1),
                },
            };
            pos = match outcome {
                Token(found) => {
                    out.push(found);
                    found.end
                }
                Skip(next) => next.max(start + 1),
            };
        }
        out
    }

    #[test]
    fn finds_what_teddy_found() {
        // texts made of pieces that start, end or almost make tokens and
        // carriers, in several cases, long enough to cross the vector
        // scans' block edges at every offset
        let pieces: [&[u8]; 28] = [
            b"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",
            b"eyJhbGciOiJub25lIn0.e30.",
            b"abc.def.ghi",
            b"ewogImFsZyI6ICJIUzI1NiJ9.e30.x.y.z",
            b"eyJhbGciOiJIUzI1NiJ9",
            b".",
            b"e30",
            b"ey",
            b"ew",
            b"eyA",
            b"ewo",
            b"Bearer ",
            b"bEARER",
            b"bea",
            b"token=",
            b"TOKEN",
            b"tok",
            b"access_token=",
            b"id_token",
            b"\"token\": \"",
            b"jwt=",
            b"JwT",
            b"\"authorization\":\"Bearer ",
            b"aut",
            b" ",
            b"\n",
            b"x",
            b"\xff",
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let finder = Finder::new();
        let sse2 = Finder { avx2: false };
        let mut found = 0;
        for _ in 0..20_000 {
            let mut hay = Vec::new();
            for _ in 0..next() % 60 {
                hay.extend_from_slice(pieces[(next() % pieces.len() as u64) as usize]);
            }
            let want = teddy_find_all(&hay);
            found += want.len();
            for f in [&finder, &sse2] {
                let mut got = Vec::new();
                f.find_all(&hay, &mut got);
                assert_eq!(got, want, "{}", String::from_utf8_lossy(&hay));
            }
        }
        assert!(found > 20_000, "only {found} tokens in the texts");
    }

    #[test]
    fn range_tests_match_the_table() {
        for b in 0..=255u8 {
            assert_eq!(in_run(b), is_run(b), "{b}");
        }
        // Runs longer than a block, with dots inside and at block edges.
        let long = format!(
            "eyJ{}.{}.{}",
            "a".repeat(61),
            "b".repeat(31),
            "c".repeat(100)
        );
        assert_eq!(run_end(format!("{long} x").as_bytes(), 0), Ok(long.len()));
        let four = format!("{long}.d");
        assert!(run_end(four.as_bytes(), 0).is_err());
    }

    #[test]
    fn carriers() {
        let cases = [
            (format!("Authorization: Bearer {JWT}\r"), Carrier::Bearer),
            (format!("\"bEaReR   {JWT}\""), Carrier::Bearer),
            (format!("GET /x?access_token={JWT}&y=1"), Carrier::Parameter),
            (format!("GET /x?a=1&id_token={JWT};"), Carrier::Parameter),
            (format!("Cookie: jwt={JWT}; other=1"), Carrier::Parameter),
            (format!("/cb?token={JWT} HTTP/1.1"), Carrier::Parameter),
            (format!(r#"{{"token": "{JWT}"}}"#), Carrier::JsonMember),
            (
                format!(r#"{{"access_token":"{JWT}"}}"#),
                Carrier::JsonMember,
            ),
            (
                format!(r#"{{"Authorization" : "{JWT}"}}"#),
                Carrier::JsonMember,
            ),
            (
                format!(r#"{{"authorization":"Bearer {JWT}"}}"#),
                Carrier::JsonMember,
            ),
            (format!("plain {JWT}."), Carrier::Bare),
        ];
        for (line, carrier) in cases {
            assert_eq!(find(&line), vec![(JWT.to_string(), carrier)], "{line}");
        }
    }

    #[test]
    fn several_per_line_including_repeats() {
        let line = format!("{JWT} x {JWT} token={JWT}");
        assert_eq!(tokens(&line), vec![JWT; 3]);
    }

    #[test]
    fn pretty_printed_headers_and_none_tokens() {
        let pretty = URL_SAFE_NO_PAD.encode_to_string("{\n  \"alg\": \"HS256\"\n}");
        assert!(pretty.starts_with("ew"));
        let t = format!("{pretty}.e30.");
        assert_eq!(tokens(&format!("x {t} y")), vec![t.clone()]);
        let spaced = URL_SAFE_NO_PAD.encode_to_string("{ \"alg\":\"none\"}");
        let t = format!("{spaced}.e30.");
        assert_eq!(tokens(&format!("[{t}]")), vec![t]);
    }

    #[test]
    fn carrier_tokens_need_not_be_json() {
        assert_eq!(tokens("token=abc.def.ghi&x"), vec!["abc.def.ghi"]);
        assert_eq!(
            tokens("Bearer aaaa.bbbb.cccc.dddd.eeee"),
            vec!["aaaa.bbbb.cccc.dddd.eeee"]
        );
        // Without a carrier the same text is not a token.
        assert!(tokens("see abc.def.ghi").is_empty());
    }

    #[test]
    fn not_tokens() {
        for hay in [
            "eyes.example.com",             // header does not open an object
            "key eyJhbGciOiJIUzI1NiJ9",     // no dots
            "eyJhbGciOiJIUzI1NiJ9.e30",     // two segments
            "a.eyJhbGciOiJIUzI1NiJ9.e30.x", // inside a longer run
            "refresh_token=abc.def.ghi",    // not a carrier name
            "token=.def.ghi",               // empty header
            "xbearer abc.def.ghi",
            "eyJhbGciOiJIUzI1NiJ9.a.b.c", // four segments
        ] {
            assert!(tokens(hay).is_empty(), "{hay}");
        }
    }

    #[test]
    fn trailing_full_stop_and_lone_bytes() {
        assert_eq!(tokens(&format!("it was {JWT}.")), vec![JWT]);
        let none = "eyJhbGciOiJub25lIn0.e30.";
        assert_eq!(tokens(&format!("x {none} y")), vec![none]);
        assert_eq!(tokens(&format!("x {none}. y")), vec![none]);
        for hay in [
            "e",
            "ey",
            "Bearer",
            "Bearer ",
            "token=",
            "\"token\"",
            "\"token\":",
        ] {
            assert!(tokens(hay).is_empty());
        }
    }

    #[test]
    fn non_utf8_around_tokens() {
        let mut hay = b"\xff\xfe Bearer ".to_vec();
        hay.extend_from_slice(JWT.as_bytes());
        hay.extend_from_slice(b"\xc3\x28");
        let mut out = Vec::new();
        Finder::new().find_all(&hay, &mut out);
        assert_eq!(&hay[out[0].start..out[0].end], JWT.as_bytes());
    }
}
