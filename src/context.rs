//! What a log line says about its request: time, HTTP status, client
//! address and user agent.
//!
//! Two shapes are read: the common and combined log formats
//! (`host ident user [time] "request" status bytes "referer" "agent"`) and
//! JSON lines with the usual member names (`status`, `remote_addr`,
//! `user_agent`, …). Anything else yields what could be found, often
//! nothing; a line never fails. The scan reads a line's context once, and
//! only for lines that carry a token.

use std::sync::LazyLock;

use memchr::memmem::Finder;

use crate::time;

/// JSON members read as the HTTP status.
const STATUS_NAMES: [&[u8]; 3] = [b"\"status\"", b"\"status_code\"", b"\"response_code\""];

/// JSON members read as the client address.
const CLIENT_NAMES: [&[u8]; 4] = [
    b"\"remote_addr\"",
    b"\"client_ip\"",
    b"\"client_addr\"",
    b"\"ip\"",
];

/// JSON members read as the user agent.
const AGENT_NAMES: [&[u8]; 3] = [b"\"user_agent\"", b"\"http_user_agent\"", b"\"userAgent\""];

/// A searcher for each member name, built once: building one per lookup
/// was 3.6% of a scan of a log of JSON lines.
struct Searchers {
    status: Vec<Finder<'static>>,
    client: Vec<Finder<'static>>,
    agent: Vec<Finder<'static>>,
}

static SEARCHERS: LazyLock<Searchers> = LazyLock::new(|| {
    let build = |names: &[&'static [u8]]| names.iter().map(|n| Finder::new(*n)).collect();
    Searchers {
        status: build(&STATUS_NAMES),
        client: build(&CLIENT_NAMES),
        agent: build(&AGENT_NAMES),
    }
});

/// The request context of one log line. Byte fields borrow the line and
/// are as written (JSON escapes are not undone).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LineContext<'a> {
    /// The request time, seconds since the epoch.
    pub time: Option<f64>,
    /// The HTTP status, 100 to 599.
    pub status: Option<u16>,
    /// The client address.
    pub client: Option<&'a [u8]>,
    /// The user agent.
    pub user_agent: Option<&'a [u8]>,
}

/// Reads the context of one line (without its newline).
pub fn parse(line: &[u8]) -> LineContext<'_> {
    parse_some(line, true)
}

/// Reads the time and status of a line, and the client and user agent
/// only if `text` is set: a scan that records no occurrences does not
/// need them, and skipping them saves a third of the parse.
pub fn parse_some(line: &[u8], text: bool) -> LineContext<'_> {
    parse_with(line, text, &mut time::ClfMemo::default())
}

/// [`parse_some`], remembering the last common log time in `memo` (keep
/// one per run of lines).
pub fn parse_with<'a>(line: &'a [u8], text: bool, memo: &mut time::ClfMemo) -> LineContext<'a> {
    let mut context = LineContext {
        time: time::request_time_with(line, memo),
        ..LineContext::default()
    };
    let body = trim_start(line);
    if body.first() == Some(&b'{') {
        let searchers = &*SEARCHERS;
        context.status = searchers
            .status
            .iter()
            .find_map(|name| json_member(body, name))
            .and_then(status_of);
        if !text {
            return context;
        }
        context.client = searchers
            .client
            .iter()
            .find_map(|name| json_member(body, name))
            .and_then(present);
        context.user_agent = searchers
            .agent
            .iter()
            .find_map(|name| json_member(body, name))
            .and_then(present);
    } else {
        common_log(body, text, &mut context);
    }
    context
}

/// The class of a status for reports: `2xx`, `4xx`, …, or `(none)`.
pub fn status_class(status: Option<u16>) -> &'static str {
    match status.map(|s| s / 100) {
        Some(1) => "1xx",
        Some(2) => "2xx",
        Some(3) => "3xx",
        Some(4) => "4xx",
        Some(5) => "5xx",
        _ => crate::report::NONE,
    }
}

/// Whether a status means the server answered the request as granted.
pub fn is_success(status: Option<u16>) -> bool {
    matches!(status, Some(200..=399))
}

/// `host ident user [time] "request" status bytes "referer" "agent"`.
fn common_log<'a>(line: &'a [u8], text: bool, context: &mut LineContext<'a>) {
    // client: the first field, when a bracketed time follows later
    let Some(open) = memchr::memchr(b'[', line) else {
        return;
    };
    if text {
        let first = &line[..memchr::memchr(b' ', line).unwrap_or(line.len())];
        if first.len() < open {
            context.client = present(first);
        }
    }
    let Some(close) = memchr::memchr(b']', &line[open..]).map(|i| open + i) else {
        return;
    };

    // the quoted request line, then status and size
    let rest = trim_start(&line[close + 1..]);
    let Some(after_request) = rest.strip_prefix(b"\"").and_then(|r| skip_quoted(r)) else {
        return;
    };
    let mut fields = trim_start(after_request).splitn(3, |&b| b == b' ');
    context.status = fields.next().and_then(status_of);
    let _bytes = fields.next();
    if !text {
        return;
    }

    // combined format: "referer" "agent"
    let Some(tail) = fields.next().map(trim_start) else {
        return;
    };
    let Some(after_referer) = tail.strip_prefix(b"\"").and_then(|r| skip_quoted(r)) else {
        return;
    };
    let agent = trim_start(after_referer);
    if let Some(agent) = agent.strip_prefix(b"\"") {
        let end = quoted_end(agent).unwrap_or(agent.len());
        context.user_agent = present(&agent[..end]);
    }
}

/// The bytes after a quoted field whose opening quote is already
/// consumed; `None` when the closing quote is missing.
fn skip_quoted(text: &[u8]) -> Option<&[u8]> {
    quoted_end(text).map(|end| &text[end + 1..])
}

/// The index of the closing quote, skipping backslash escapes.
fn quoted_end(text: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = memchr::memchr2(b'"', b'\\', text.get(from..)?) {
        match text[from + i] {
            b'"' => return Some(from + i),
            _ => from += i + 2,
        }
    }
    None
}

/// The value of a top-level-looking JSON member `name` (with its quotes):
/// a string's contents, or a bare scalar up to `,` or `}`.
fn json_member<'a>(body: &'a [u8], name: &Finder<'_>) -> Option<&'a [u8]> {
    for at in name.find_iter(body) {
        let rest = trim_start(&body[at + name.needle().len()..]);
        let Some(value) = rest.strip_prefix(b":").map(trim_start) else {
            continue;
        };
        if let Some(string) = value.strip_prefix(b"\"") {
            let end = quoted_end(string)?;
            return Some(&string[..end]);
        }
        let end = value
            .iter()
            .position(|&b| matches!(b, b',' | b'}' | b' ' | b'\t'))
            .unwrap_or(value.len());
        return Some(&value[..end]);
    }
    None
}

/// A three-digit HTTP status, 100 to 599.
fn status_of(field: &[u8]) -> Option<u16> {
    if field.len() != 3 || !field.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = field
        .iter()
        .fold(0u16, |acc, &b| acc * 10 + u16::from(b - b'0'));
    (100..=599).contains(&n).then_some(n)
}

/// A field, unless empty or `-`.
fn present(field: &[u8]) -> Option<&[u8]> {
    (!field.is_empty() && field != b"-" && field != b"null").then_some(field)
}

fn trim_start(text: &[u8]) -> &[u8] {
    let skip = text
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(text.len());
    &text[skip..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combined_log_format() {
        let line = concat!(
            r#"192.0.2.7 - bob [03/Dec/2026:10:00:00 +0000] "GET /a?access_token=x HTTP/1.1" "#,
            r#"302 12 "https://r.example/" "curl/8.5""#
        )
        .as_bytes();
        let c = parse(line);
        assert_eq!(c.client, Some(&b"192.0.2.7"[..]));
        assert_eq!(c.status, Some(302));
        assert_eq!(c.user_agent, Some(&b"curl/8.5"[..]));
        assert_eq!(c.time, Some(1_796_292_000.0));
    }

    #[test]
    fn common_log_format_and_dashes() {
        let c = parse(br#"- - - [03/Dec/2026:10:00:00 +0000] "GET / HTTP/1.1" 401 -"#);
        assert_eq!((c.client, c.status, c.user_agent), (None, Some(401), None));
        let c = parse(br#"h - - [03/Dec/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "-""#);
        assert_eq!((c.status, c.user_agent), (Some(200), None));
    }

    #[test]
    fn awkward_common_lines() {
        // an escaped quote inside the request, a quote in the agent
        let line =
            br#"h - - [03/Dec/2026:10:00:00 +0000] "GET /\"x\" HTTP/1.1" 204 0 "-" "a \"b\" c""#;
        let c = parse(line);
        assert_eq!(c.status, Some(204));
        assert_eq!(c.user_agent, Some(&br#"a \"b\" c"#[..]));
        // an unterminated request, a status out of range, no brackets
        assert_eq!(parse(br#"h - - [x] "GET / HTTP/1.1 200 5"#).status, None);
        assert_eq!(parse(br#"h - - [x] "GET /" 999 5"#).status, None);
        assert_eq!(parse(br#"h - - [x] "GET /" 20 5"#).status, None);
        assert_eq!(parse(b"just text 200 Bearer x"), LineContext::default());
        assert_eq!(parse(b""), LineContext::default());
        assert_eq!(parse(b"["), LineContext::default());
        // a truncated agent keeps what is there
        let c = parse(br#"h - - [t] "GET /" 200 5 "-" "Mozil"#);
        assert_eq!(c.user_agent, Some(&b"Mozil"[..]));
    }

    #[test]
    fn json_lines() {
        let line = concat!(
            r#"{"time":"2026-12-03T10:00:00Z","remote_addr":"192.0.2.1","status":200,"#,
            r#""user_agent":"Mozilla/5.0 (X)"}"#
        )
        .as_bytes();
        let c = parse(line);
        assert_eq!(c.time, Some(1_796_292_000.0));
        assert_eq!(c.status, Some(200));
        assert_eq!(c.client, Some(&b"192.0.2.1"[..]));
        assert_eq!(c.user_agent, Some(&b"Mozilla/5.0 (X)"[..]));
        // a string status, spaces around colons, the status last
        let c = parse(br#" { "ip" : "::1", "status" : "503"}"#);
        assert_eq!((c.client, c.status), (Some(&b"::1"[..]), Some(503)));
        let c = parse(br#"{"status":null,"ip":null,"user_agent":"a\"b"}"#);
        assert_eq!((c.status, c.client), (None, None));
        assert_eq!(c.user_agent, Some(&br#"a\"b"#[..]));
        // a member name that appears inside a value is skipped over
        let c = parse(br#"{"path":"/\"status\"","status":401}"#);
        assert_eq!(c.status, Some(401));
        assert_eq!(parse(br#"{"status":"#).status, None);
        assert_eq!(parse(br#"{"user_agent":"unterminated"#).user_agent, None);
    }

    #[test]
    fn text_fields_only_when_asked() {
        let line = br#"h - - [03/Dec/2026:10:00:00 +0000] "GET /" 200 5 "-" "ua""#;
        let c = parse_some(line, false);
        assert_eq!((c.status, c.client, c.user_agent), (Some(200), None, None));
        let c = parse_some(br#"{"status":401,"ip":"a"}"#, false);
        assert_eq!((c.status, c.client), (Some(401), None));
        // an escape at the very end
        let c = parse(br#"h - - [t] "GET /" 200 5 "-" "a\"#);
        assert_eq!(c.user_agent, Some(&br"a\"[..]));
    }

    #[test]
    fn status_classes() {
        assert_eq!(status_class(Some(204)), "2xx");
        assert_eq!(status_class(Some(503)), "5xx");
        assert_eq!(status_class(None), "(none)");
        assert!(is_success(Some(302)) && !is_success(Some(401)) && !is_success(None));
    }
}
