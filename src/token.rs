//! Splitting a compact JWS or JWE and reading its header and claims.
//!
//! Nothing here checks a signature: [`parse`] only decodes (strict
//! base64url, RFC 7515 §2: no padding, unused bits zero) and reads the
//! header and claims with the strict [`crate::json`] reader. Decoded bytes
//! land in a per-worker [`Scratch`], so a warmed-up worker does not allocate
//! to parse a token.

use std::fmt;

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
    /// The `alg` text, as written (for reports).
    pub alg_text: String,
    /// The `kid` member.
    pub kid: Option<String>,
    /// Whether a `crit` member is present.
    pub crit: bool,
}

/// The registered claims the judge reads (RFC 7519 §4.1).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Claims {
    /// `iss`
    pub iss: Option<String>,
    /// `sub`
    pub sub: Option<String>,
    /// `aud`, a string or an array of strings, as a list.
    pub aud: Vec<String>,
    /// Whether `aud` was present at all.
    pub has_aud: bool,
    /// `exp` as a NumericDate.
    pub exp: Option<f64>,
    /// `nbf` as a NumericDate.
    pub nbf: Option<f64>,
    /// `iat` as a NumericDate.
    pub iat: Option<f64>,
    /// `jti`
    pub jti: Option<String>,
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
}

/// Per-worker buffers for decoded segments.
#[derive(Default)]
pub struct Scratch {
    header: Vec<u8>,
    claims: Vec<u8>,
    /// The decoded signature of the last parsed token.
    pub signature: Vec<u8>,
    reader: Reader,
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
    out.resize(segment.len() / 4 * 3 + 3, 0);
    match URL_SAFE_NO_PAD.decode(segment, base64_simd::Out::from_slice(out)) {
        Ok(decoded) => {
            let n = decoded.len();
            out.truncate(n);
            true
        }
        Err(_) => false,
    }
}

/// Decodes and reads a token's header and, for a JWS, its claims and
/// signature (left in `scratch.signature`).
pub fn parse(segments: &Segments<'_>, scratch: &mut Scratch) -> Result<Parsed, Malformed> {
    let mut parsed = Parsed {
        encrypted: segments.count == 5,
        ..Parsed::default()
    };

    // header
    if !decode_into(segments.header, &mut scratch.header) {
        return Err(Malformed::Base64(Part::Header));
    }
    parsed.header = read_header(&scratch.header, &mut scratch.reader)?;
    if parsed.encrypted {
        return Ok(parsed);
    }

    // claims
    if !decode_into(segments.payload, &mut scratch.claims) {
        return Err(Malformed::Base64(Part::Claims));
    }
    parsed.claims = read_claims(&scratch.claims, &mut scratch.reader)?;

    // signature
    if !decode_into(segments.signature, &mut scratch.signature) {
        return Err(Malformed::Base64(Part::Signature));
    }
    Ok(parsed)
}

fn read_header(text: &[u8], reader: &mut Reader) -> Result<Header, Malformed> {
    let mut header = Header::default();
    let mut bad: Option<Malformed> = None;
    let result = reader.read_object(text, |name, value| {
        let problem = match name {
            b"alg" => read_alg(&mut header, value),
            b"kid" => value
                .as_str()
                .map(|s| header.kid = Some(s.into_owned()))
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
            _ => Ok(()),
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

fn read_alg(header: &mut Header, value: Value<'_>) -> Result<(), Malformed> {
    let text = value.as_str().ok_or(Malformed::Alg)?;
    header.alg = Some(if text.eq_ignore_ascii_case("none") {
        AlgValue::None
    } else {
        match Alg::from_name(text.as_bytes()) {
            Some(alg) => AlgValue::Known(alg),
            None => AlgValue::Other,
        }
    });
    header.alg_text = text.into_owned();
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

fn read_claims(text: &[u8], reader: &mut Reader) -> Result<Claims, Malformed> {
    let mut claims = Claims::default();
    let mut bad: Option<Malformed> = None;
    let result = reader.read_object(text, |name, value| {
        let problem = match name {
            b"exp" => number(value, "exp").map(|n| claims.exp = Some(n)),
            b"nbf" => number(value, "nbf").map(|n| claims.nbf = Some(n)),
            b"iat" => number(value, "iat").map(|n| claims.iat = Some(n)),
            b"iss" => string(value, "iss").map(|s| claims.iss = Some(s)),
            b"sub" => string(value, "sub").map(|s| claims.sub = Some(s)),
            b"jti" => string(value, "jti").map(|s| claims.jti = Some(s)),
            b"aud" => {
                claims.has_aud = true;
                audience(value).map(|list| claims.aud = list)
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
        None => Ok(claims),
    }
}

fn number(value: Value<'_>, name: &'static str) -> Result<f64, Malformed> {
    value.as_f64().ok_or(Malformed::Claim(name))
}

fn string(value: Value<'_>, name: &'static str) -> Result<String, Malformed> {
    value
        .as_str()
        .map(|s| s.into_owned())
        .ok_or(Malformed::Claim(name))
}

/// RFC 7519 §4.1.3: a string, or an array of strings.
fn audience(value: Value<'_>) -> Result<Vec<String>, Malformed> {
    match value.kind {
        Kind::String => Ok(vec![string(value, "aud")?]),
        Kind::Array => value.elements().map(|item| string(item, "aud")).collect(),
        _ => Err(Malformed::Claim("aud")),
    }
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
        assert_eq!(p.claims.iss.as_deref(), Some("me"));
        assert_eq!(p.claims.aud, ["a", "b"]);
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
