//! Splitting a compact JWS or JWE and reading its header and claims.
//!
//! Nothing here checks a signature: [`parse`] only decodes (strict
//! base64url, RFC 7515 §2: no padding, unused bits zero) and reads the
//! header and claims with the strict [`crate::json`] reader. Decoded bytes
//! land in a per-worker [`Scratch`], so a warmed-up worker does not allocate
//! to parse a token.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use base64_simd::URL_SAFE_NO_PAD;

use crate::alg::Alg;
use crate::json::{JsonError, Kind, Reader, Value};

/// The dot-separated parts of a compact token.
#[derive(Clone, Copy, Debug)]
pub struct Segments<'a> {
    /// The base64url header segment.
    pub header: &'a [u8],
    /// The base64url payload segment (for a JWE, the encrypted key).
    pub payload: &'a [u8],
    /// The base64url signature segment (for a JWE, the last segment).
    pub signature: &'a [u8],
    /// `header.payload`, the bytes a JWS signature covers.
    pub signing_input: &'a [u8],
    /// 3 for a JWS, 5 for a JWE.
    pub count: usize,
}

/// Splits a token at its dots. `None` unless it has 3 or 5 segments.
pub fn split(token: &[u8]) -> Option<Segments<'_>> {
    let mut dots = [0usize; 4];
    let mut count = 0;
    for at in memchr::memchr_iter(b'.', token) {
        if count == 4 {
            return None;
        }
        dots[count] = at;
        count += 1;
    }
    if count != 2 && count != 4 {
        return None;
    }
    let last = dots[count - 1];
    Some(Segments {
        header: &token[..dots[0]],
        payload: &token[dots[0] + 1..dots[1]],
        signature: &token[last + 1..],
        signing_input: &token[..dots[1]],
        count: count + 1,
    })
}

/// The header `alg`, as far as it matters for the verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlgValue {
    /// A supported algorithm.
    Known(Alg),
    /// `none` in any casing.
    None,
    /// Any other string.
    Other,
}

/// Why a token is malformed. Kept small and copyable: it travels in the
/// cache beside every distinct token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Malformed {
    /// A segment is not strict base64url.
    Base64(Part),
    /// A part is not acceptable JSON.
    Json(Part, JsonError),
    /// The header has no `alg`, or it is not a string.
    Alg,
    /// A header member of the wrong type (`kid`, `crit`, `b64`, ...).
    HeaderMember(&'static str),
    /// A registered claim of the wrong JSON type.
    Claim(&'static str),
}

/// Which part of a token a problem is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The JOSE header.
    Header,
    /// The claims (payload).
    Claims,
    /// The signature.
    Signature,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Part::Header => "header",
            Part::Claims => "claims",
            Part::Signature => "signature",
        })
    }
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Malformed::Base64(part) => write!(f, "{part}: not strict base64url"),
            Malformed::Json(part, e) => write!(f, "{part}: {e}"),
            Malformed::Alg => f.write_str("header: alg missing or not a string"),
            Malformed::HeaderMember(name) => write!(f, "header: {name} has the wrong type"),
            Malformed::Claim(name) => write!(f, "claims: {name} has the wrong type"),
        }
    }
}

/// What the verdict needs from a JOSE header.
#[derive(Clone, Debug, Default)]
pub struct Header {
    /// The `alg` member.
    pub alg: Option<AlgValue>,
    /// The `alg` text, kept only when it names no supported algorithm.
    pub alg_text: Option<String>,
    /// The `kid` member, shared: an issuer's tokens repeat one header,
    /// which is read once and copied for each token.
    pub kid: Option<Arc<str>>,
    /// Whether a `crit` member is present.
    pub crit: bool,
    /// Whether a `jwk` member is present (a key carried in the token).
    pub jwk: bool,
    /// Whether a `jku` member is present (a URL to fetch keys from).
    pub jku: bool,
    /// Whether an `x5u` member is present (a URL to fetch a certificate).
    pub x5u: bool,
    /// Whether an `x5c` member is present (a certificate chain).
    pub x5c: bool,
    /// Whether `b64` is `false` (RFC 7797).
    pub b64_false: bool,
    /// Whether a `zip` member is present.
    pub zip: bool,
}

impl Header {
    /// Whether `alg` is `none` in some casing.
    pub fn alg_is_none(&self) -> bool {
        self.alg == Some(AlgValue::None)
    }
}

/// The registered claims the judge reads (RFC 7519 §4.1).
///
/// The string claims live back to back in one buffer: a distinct token
/// then costs one allocation for its claims instead of one per string
/// (allocation and freeing took a tenth of a no-reuse scan).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Claims {
    /// Whether `aud` was present at all.
    pub has_aud: bool,
    /// `exp` as a NumericDate.
    pub exp: Option<f64>,
    /// `nbf` as a NumericDate.
    pub nbf: Option<f64>,
    /// `iat` as a NumericDate.
    pub iat: Option<f64>,
    text: String,
    iss: Option<Span>,
    sub: Option<Span>,
    jti: Option<Span>,
    aud_first: Option<Span>,
    aud_more: Vec<Span>,
}

/// Where a string claim is in [`Claims`]' buffer.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Span {
    start: u32,
    end: u32,
}

impl Claims {
    /// Empties the claims, keeping the buffers' memory for the next.
    pub fn clear(&mut self) {
        // field by field: building a fresh value and moving it in was a
        // copy of the whole struct per token
        self.has_aud = false;
        (self.exp, self.nbf, self.iat) = (None, None, None);
        self.text.clear();
        (self.iss, self.sub, self.jti, self.aud_first) = (None, None, None, None);
        self.aud_more.clear();
    }

    fn get(&self, span: Option<Span>) -> Option<&str> {
        span.map(|s| &self.text[s.start as usize..s.end as usize])
    }

    fn push(&mut self, value: &str) -> Span {
        let start = self.text.len() as u32;
        self.text.push_str(value);
        Span {
            start,
            end: self.text.len() as u32,
        }
    }

    /// `iss`
    pub fn iss(&self) -> Option<&str> {
        self.get(self.iss)
    }

    /// `sub`
    pub fn sub(&self) -> Option<&str> {
        self.get(self.sub)
    }

    /// `jti`
    pub fn jti(&self) -> Option<&str> {
        self.get(self.jti)
    }

    /// `aud`, a string or an array of strings, as a list.
    pub fn aud(&self) -> impl Iterator<Item = &str> {
        self.aud_first
            .iter()
            .chain(&self.aud_more)
            .map(|s| &self.text[s.start as usize..s.end as usize])
    }

    /// Sets `iss`.
    pub fn set_iss(&mut self, value: &str) {
        self.iss = Some(self.push(value));
    }

    /// Sets `sub`.
    pub fn set_sub(&mut self, value: &str) {
        self.sub = Some(self.push(value));
    }

    /// Sets `jti`.
    pub fn set_jti(&mut self, value: &str) {
        self.jti = Some(self.push(value));
    }

    /// Adds an audience (and marks `aud` present).
    pub fn push_aud(&mut self, value: &str) {
        self.has_aud = true;
        let span = self.push(value);
        match self.aud_first {
            None => self.aud_first = Some(span),
            Some(_) => self.aud_more.push(span),
        }
    }
}

/// A parsed token: header, claims (JWS only) and decoded signature.
#[derive(Debug, Default)]
pub struct Parsed {
    /// The header.
    pub header: Header,
    /// The claims; empty for a JWE.
    pub claims: Claims,
    /// Whether this is a five-segment JWE.
    pub encrypted: bool,
    /// Whether the header was read (it may be, though the token is
    /// malformed further on).
    pub header_read: bool,
}

/// Per-worker buffers for decoded segments.
#[derive(Default)]
pub struct Scratch {
    header: Vec<u8>,
    claims: Vec<u8>,
    /// The decoded signature of the last parsed token.
    pub signature: Vec<u8>,
    reader: Reader,
    /// The last header segment read without fault, as it stood in the
    /// token, and what it said. An issuer signs every token with the same
    /// header, so most tokens skip decoding and reading theirs: about 15%
    /// of parsing a distinct HS256 token. Keyed by the exact segment bytes,
    /// so the result is the one reading it would give.
    last_header: Option<(Vec<u8>, Header)>,
}

impl Scratch {
    /// Empty buffers; they grow to the largest token seen.
    pub fn new() -> Scratch {
        Scratch::default()
    }
}

/// Decodes strict base64url into `out`, replacing its contents.
pub fn decode_into(segment: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    out.reserve(segment.len() / 4 * 3 + 3);
    // Decoding into the spare capacity skips zero-filling the buffer
    // first (2.5% of a no-reuse scan).
    match URL_SAFE_NO_PAD.decode(
        segment,
        base64_simd::Out::from_uninit_slice(out.spare_capacity_mut()),
    ) {
        Ok(decoded) => {
            let n = decoded.len();
            // SAFETY: the decoder wrote the `n` bytes of the slice it
            // returned, which starts at the start of the spare capacity,
            // so the vector's first `n` bytes are initialised.
            unsafe { out.set_len(n) };
            true
        }
        Err(_) => false,
    }
}

/// Decodes and reads a token's header and, for a JWS, its claims and
/// signature (left in `scratch.signature`).
pub fn parse(segments: &Segments<'_>, scratch: &mut Scratch) -> Result<Parsed, Malformed> {
    let mut parsed = Parsed::default();
    let mut claims = Claims::default();
    parse_into(segments, scratch, &mut parsed, &mut claims)?;
    parsed.claims = claims;
    Ok(parsed)
}

/// Like [`parse`], but keeps what was read before a problem: the header
/// whenever [`Parsed::header_read`] is set, and in `scratch.signature` the
/// signature if it decoded (it is cleared first). The claims go to
/// `claims` (not `parsed.claims`), reusing its memory; they are left
/// empty when the token is malformed.
pub fn parse_into(
    segments: &Segments<'_>,
    scratch: &mut Scratch,
    parsed: &mut Parsed,
    claims_out: &mut Claims,
) -> Result<(), Malformed> {
    parsed.encrypted = segments.count == 5;
    scratch.signature.clear();

    // header
    match &scratch.last_header {
        Some((segment, header)) if crate::bytes::same(segment, segments.header) => {
            parsed.header = header.clone();
        }
        _ => {
            if !decode_into(segments.header, &mut scratch.header) {
                return Err(Malformed::Base64(Part::Header));
            }
            parsed.header = read_header(&scratch.header, &mut scratch.reader)?;
            let (segment, header) = scratch
                .last_header
                .get_or_insert_with(|| (Vec::new(), Header::default()));
            segment.clear();
            segment.extend_from_slice(segments.header);
            header.clone_from(&parsed.header);
        }
    }
    parsed.header_read = true;
    if parsed.encrypted {
        return Ok(());
    }

    // claims, read into `claims_out`'s buffers (left empty when bad)
    if !decode_into(segments.payload, &mut scratch.claims) {
        claims_out.clear();
        return Err(Malformed::Base64(Part::Claims));
    }
    let claims = read_claims(&scratch.claims, &mut scratch.reader, claims_out);
    if claims.is_err() {
        claims_out.clear();
    }

    // signature, decoded even when the claims are bad, for the sweep
    if !decode_into(segments.signature, &mut scratch.signature) {
        scratch.signature.clear();
        claims?;
        claims_out.clear();
        return Err(Malformed::Base64(Part::Signature));
    }
    claims
}

fn read_header(text: &[u8], reader: &mut Reader) -> Result<Header, Malformed> {
    let mut header = Header::default();
    let mut bad: Option<Malformed> = None;
    let result = reader.read_object(text, |name, value| {
        let problem = match name {
            b"alg" => read_alg(&mut header, value),
            b"kid" => value
                .as_str()
                .map(|s| header.kid = Some(Arc::from(s)))
                .ok_or(Malformed::HeaderMember("kid")),
            b"crit" => {
                header.crit = true;
                check_crit(value)
            }
            b"b64" if value.kind != Kind::Bool => Err(Malformed::HeaderMember("b64")),
            b"typ" | b"cty" | b"jku" | b"x5u" | b"x5t" | b"x5t#S256" | b"zip"
                if value.kind != Kind::String =>
            {
                Err(Malformed::HeaderMember(static_name(name)))
            }
            _ => {
                note_member(&mut header, name, value);
                Ok(())
            }
        };
        if let Err(e) = problem {
            bad.get_or_insert(e);
        }
    });
    result.map_err(|e| Malformed::Json(Part::Header, e))?;
    if let Some(problem) = bad {
        return Err(problem);
    }
    if header.alg.is_none() {
        return Err(Malformed::Alg);
    }
    Ok(header)
}

/// Notes the header members the attack sweep looks for.
fn note_member(header: &mut Header, name: &[u8], value: Value<'_>) {
    match name {
        b"jwk" => header.jwk = true,
        b"jku" => header.jku = true,
        b"x5u" => header.x5u = true,
        b"x5c" => header.x5c = true,
        b"zip" => header.zip = true,
        b"b64" => header.b64_false = value.raw() == b"false",
        _ => {}
    }
}

fn read_alg(header: &mut Header, value: Value<'_>) -> Result<(), Malformed> {
    let text = value.as_str().ok_or(Malformed::Alg)?;
    let alg = match Alg::from_name(text.as_bytes()) {
        Some(alg) => AlgValue::Known(alg),
        None if text.eq_ignore_ascii_case("none") => AlgValue::None,
        None => AlgValue::Other,
    };
    // A supported alg's name is static; only other text is kept.
    if !matches!(alg, AlgValue::Known(_)) {
        header.alg_text = Some(text.into_owned());
    }
    header.alg = Some(alg);
    Ok(())
}

/// RFC 7515 §4.1.11: `crit` is a non-empty array of strings.
fn check_crit(value: Value<'_>) -> Result<(), Malformed> {
    let mut count = 0;
    for item in value.elements() {
        if item.kind != Kind::String {
            return Err(Malformed::HeaderMember("crit"));
        }
        count += 1;
    }
    if value.kind != Kind::Array || count == 0 {
        return Err(Malformed::HeaderMember("crit"));
    }
    Ok(())
}

fn static_name(name: &[u8]) -> &'static str {
    match name {
        b"typ" => "typ",
        b"cty" => "cty",
        b"jku" => "jku",
        b"x5u" => "x5u",
        b"x5t" => "x5t",
        b"x5t#S256" => "x5t#S256",
        _ => "zip",
    }
}

/// Reads the claims into `claims`, replacing what it held and reusing its
/// memory.
fn read_claims(text: &[u8], reader: &mut Reader, claims: &mut Claims) -> Result<(), Malformed> {
    claims.clear();
    // The string claims are most of a typical claim set: one allocation
    // (when the buffer is new) instead of growing it three or four times.
    claims.text.reserve(text.len() / 2 + 16);
    let mut bad: Option<Malformed> = None;
    let result = reader.read_object(text, |name, value| {
        let problem = match name {
            b"exp" => number(value, "exp").map(|n| claims.exp = Some(n)),
            b"nbf" => number(value, "nbf").map(|n| claims.nbf = Some(n)),
            b"iat" => number(value, "iat").map(|n| claims.iat = Some(n)),
            b"iss" => string(value, "iss").map(|s| claims.set_iss(&s)),
            b"sub" => string(value, "sub").map(|s| claims.set_sub(&s)),
            b"jti" => string(value, "jti").map(|s| claims.set_jti(&s)),
            b"aud" => {
                claims.has_aud = true;
                audience(value, claims)
            }
            _ => Ok(()),
        };
        if let Err(e) = problem {
            bad.get_or_insert(e);
        }
    });
    result.map_err(|e| Malformed::Json(Part::Claims, e))?;
    match bad {
        Some(problem) => Err(problem),
        None => Ok(()),
    }
}

fn number(value: Value<'_>, name: &'static str) -> Result<f64, Malformed> {
    value.as_f64().ok_or(Malformed::Claim(name))
}

/// A string value, borrowed unless it had escapes.
fn string<'a>(value: Value<'a>, name: &'static str) -> Result<Cow<'a, str>, Malformed> {
    value.as_str().ok_or(Malformed::Claim(name))
}

/// RFC 7519 §4.1.3: a string, or an array of strings.
fn audience(value: Value<'_>, claims: &mut Claims) -> Result<(), Malformed> {
    match value.kind {
        Kind::String => claims.push_aud(&string(value, "aud")?),
        Kind::Array => {
            for item in value.elements() {
                claims.push_aud(&string(item, "aud")?);
            }
        }
        _ => return Err(Malformed::Claim("aud")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(text: &str) -> String {
        URL_SAFE_NO_PAD.encode_to_string(text)
    }

    fn token(header: &str, claims: &str, sig: &str) -> String {
        format!("{}.{}.{}", b64(header), b64(claims), sig)
    }

    fn parse_str(t: &str) -> Result<Parsed, Malformed> {
        let segments = split(t.as_bytes()).expect("three or five segments");
        parse(&segments, &mut Scratch::new())
    }

    #[test]
    fn splits_three_and_five_segments_only() {
        let s = split(b"a.b.c").unwrap();
        assert_eq!(
            (s.header, s.payload, s.signature, s.count),
            (&b"a"[..], &b"b"[..], &b"c"[..], 3)
        );
        assert_eq!(s.signing_input, b"a.b");
        assert_eq!(split(b"a.b.c.d.e").unwrap().count, 5);
        assert_eq!(split(b"a.b.c.d.e").unwrap().signature, b"e");
        assert!(split(b"a.b").is_none());
        assert!(split(b"a.b.c.d").is_none());
        assert!(split(b"a.b.c.d.e.f").is_none());
    }

    #[test]
    fn reads_header_and_claims() {
        let t = token(
            r#"{"alg":"RS256","kid":"k1","typ":"JWT"}"#,
            r#"{"iss":"me","sub":"u1","aud":["a","b"],"exp":1.5e9,"nbf":-1,"iat":10,"jti":"j"}"#,
            "AAAA",
        );
        let p = parse_str(&t).unwrap();
        assert_eq!(p.header.alg, Some(AlgValue::Known(Alg::Rs256)));
        assert_eq!(p.header.kid.as_deref(), Some("k1"));
        assert_eq!(p.claims.iss(), Some("me"));
        assert_eq!(p.claims.aud().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!((p.claims.sub(), p.claims.jti()), (Some("u1"), Some("j")));
        assert_eq!(p.claims.exp, Some(1.5e9));
        assert_eq!(p.claims.nbf, Some(-1.0));
    }

    #[test]
    fn none_in_any_casing() {
        for alg in ["none", "None", "NONE", "nOnE"] {
            let t = token(&format!(r#"{{"alg":"{alg}"}}"#), "{}", "");
            assert_eq!(parse_str(&t).unwrap().header.alg, Some(AlgValue::None));
        }
        let t = token(r#"{"alg":"HS1"}"#, "{}", "");
        assert_eq!(parse_str(&t).unwrap().header.alg, Some(AlgValue::Other));
    }

    #[test]
    fn wrong_types_are_malformed() {
        let cases = [
            (r#"{"alg":1}"#, "{}", Malformed::Alg),
            (r#"{"typ":"JWT"}"#, "{}", Malformed::Alg),
            (
                r#"{"alg":"HS256","kid":7}"#,
                "{}",
                Malformed::HeaderMember("kid"),
            ),
            (
                r#"{"alg":"HS256","crit":[]}"#,
                "{}",
                Malformed::HeaderMember("crit"),
            ),
            (
                r#"{"alg":"HS256","crit":"exp"}"#,
                "{}",
                Malformed::HeaderMember("crit"),
            ),
            (
                r#"{"alg":"HS256","b64":"false"}"#,
                "{}",
                Malformed::HeaderMember("b64"),
            ),
            (
                r#"{"alg":"HS256"}"#,
                r#"{"exp":"1"}"#,
                Malformed::Claim("exp"),
            ),
            (
                r#"{"alg":"HS256"}"#,
                r#"{"nbf":null}"#,
                Malformed::Claim("nbf"),
            ),
            (
                r#"{"alg":"HS256"}"#,
                r#"{"iat":true}"#,
                Malformed::Claim("iat"),
            ),
            (
                r#"{"alg":"HS256"}"#,
                r#"{"iss":1}"#,
                Malformed::Claim("iss"),
            ),
            (
                r#"{"alg":"HS256"}"#,
                r#"{"aud":[1]}"#,
                Malformed::Claim("aud"),
            ),
            (
                r#"{"alg":"HS256"}"#,
                r#"{"aud":{}}"#,
                Malformed::Claim("aud"),
            ),
        ];
        for (h, c, want) in cases {
            assert_eq!(parse_str(&token(h, c, "")).unwrap_err(), want, "{h} {c}");
        }
    }

    #[test]
    fn strict_base64_and_json() {
        let good_header = b64(r#"{"alg":"HS256"}"#);
        // Padding is not allowed.
        let padded = format!("{good_header}=.{}.", b64("{}"));
        assert_eq!(
            parse_str(&padded).unwrap_err(),
            Malformed::Base64(Part::Header)
        );
        // Non-zero unused bits: "e30" is "{}", "e31" decodes to the same
        // bytes with a stray bit set.
        let loose = format!("{good_header}.e31.");
        assert_eq!(
            parse_str(&loose).unwrap_err(),
            Malformed::Base64(Part::Claims)
        );
        let not_json = token(r#"{"alg":"HS256"}"#, "hello", "");
        assert!(matches!(
            parse_str(&not_json),
            Err(Malformed::Json(Part::Claims, _))
        ));
        let dup = token(r#"{"alg":"HS256","alg":"none"}"#, "{}", "");
        assert_eq!(
            parse_str(&dup).unwrap_err(),
            Malformed::Json(Part::Header, JsonError::DuplicateMember)
        );
        let bad_sig = token(r#"{"alg":"HS256"}"#, "{}", "a+b/");
        assert_eq!(
            parse_str(&bad_sig).unwrap_err(),
            Malformed::Base64(Part::Signature)
        );
    }

    #[test]
    fn jwe_reads_header_only() {
        let t = format!("{}.a.b.c.d", b64(r#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#));
        let p = parse_str(&t).unwrap();
        assert!(p.encrypted);
        assert_eq!(p.header.alg, Some(AlgValue::Other));
    }
}
