//! Writing access-log lines: nginx-style combined lines with a quoted
//! Authorization field at the end, or one JSON object per line.
//!
//! Every carrier the scanner must find is used: the `Bearer` scheme (in
//! three casings), the `access_token`, `id_token`, `jwt` and `token` query
//! parameters, and the `authorization`, `token`, `access_token`,
//! `id_token` and `jwt` JSON members. Lines are written straight into the
//! output buffer, and the time stamp is formatted once per second, so a
//! line costs no heap allocation.

use std::io::{self, Write};

use rand_chacha::ChaCha8Rng;
use rand_core::RngCore;

use super::rng;
use super::LogFormat;

/// The documentation address blocks of RFC 5737.
const NETWORKS: [&str; 3] = ["192.0.2", "198.51.100", "203.0.113"];

/// User agents a client may send (none needs JSON escaping).
const USER_AGENTS: [&str; 6] = [
    concat!(
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) ",
        "Chrome/124.0 Safari/537.36"
    ),
    concat!(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 ",
        "(KHTML, like Gecko) Version/17.4 Safari/605.1.15"
    ),
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "okhttp/4.12.0",
    "python-requests/2.31.0",
    "curl/8.5.0",
];

/// Request paths (no quotes, no spaces, no query).
const PATHS: [&str; 8] = [
    "/api/orders",
    "/api/orders/1042",
    "/api/users/me",
    "/api/cart",
    "/api/search",
    "/api/invoices",
    "/oauth/userinfo",
    "/health",
];

/// Query parameters that carry a token.
const QUERY_CARRIERS: [&str; 4] = ["access_token", "id_token", "jwt", "token"];

/// JSON members, other than `authorization`, that carry a bare token.
const MEMBER_CARRIERS: [&str; 4] = ["token", "access_token", "id_token", "jwt"];

/// Month abbreviations for the common log format.
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A token to put on a line, and the client that sends it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Carried<'a> {
    /// The token text.
    pub token: &'a str,
    /// A number naming the client; the same client keeps its address and
    /// user agent.
    pub client: u64,
}

/// The fields of one request that do not depend on the format.
struct Request {
    client: u64,
    method: &'static str,
    path: &'static str,
    page: Option<u64>,
    status: u16,
    bytes: u64,
}

/// Writes lines in one format, drawing its choices from one stream.
pub(crate) struct LineWriter {
    format: LogFormat,
    rng: ChaCha8Rng,
    clock: Clock,
}

impl LineWriter {
    /// A writer for `format`, its choices seeded by `seed`.
    pub fn new(format: LogFormat, seed: u64) -> LineWriter {
        LineWriter {
            format,
            rng: rng::stream(seed, "log", 0),
            clock: Clock::default(),
        }
    }

    /// Writes one line (LF-terminated) for a request at `time`.
    pub fn write_line(
        &mut self,
        out: &mut impl Write,
        time: i64,
        carried: Option<Carried<'_>>,
    ) -> io::Result<()> {
        self.clock.set(time);
        let json = match self.format {
            LogFormat::Combined => false,
            LogFormat::Json => true,
            LogFormat::Mixed => rng::chance(&mut self.rng, 0.5),
        };
        let client = carried.map_or_else(|| self.rng.next_u64(), |c| c.client);
        let request = self.request(client);
        if json {
            self.write_json(out, &request, carried)
        } else {
            self.write_combined(out, &request, carried)
        }
    }

    fn request(&mut self, client: u64) -> Request {
        let rng = &mut self.rng;
        let method = *rng::pick(
            rng,
            &["GET", "GET", "GET", "GET", "GET", "POST", "PUT", "DELETE"],
        );
        let path = *rng::pick(rng, &PATHS);
        let page = rng::chance(rng, 0.3).then(|| 1 + rng::below(rng, 20));
        let status = match rng::below(rng, 100) {
            0..=2 => 401,
            3..=4 => 403,
            5..=6 => 404,
            7..=9 => 304,
            10 => 500,
            _ if method == "POST" => 201,
            _ => 200,
        };
        let bytes = if status == 200 {
            120 + rng::below(rng, 20_000)
        } else {
            rng::below(rng, 300)
        };
        Request {
            client,
            method,
            path,
            page,
            status,
            bytes,
        }
    }

    fn write_combined(
        &mut self,
        out: &mut impl Write,
        request: &Request,
        carried: Option<Carried<'_>>,
    ) -> io::Result<()> {
        let rng = &mut self.rng;
        let in_query = carried.is_some() && rng::chance(rng, 0.4);
        write_ip(out, request.client)?;
        write!(
            out,
            " - - [{}] \"{} {}",
            self.clock.clf(),
            request.method,
            request.path
        )?;

        // the query string, which may carry the token
        match (carried, in_query, request.page) {
            (Some(c), true, page) => {
                let name = *rng::pick(rng, &QUERY_CARRIERS);
                match page {
                    Some(page) => write!(out, "?page={page}&{name}={}", c.token)?,
                    None => write!(out, "?{name}={}", c.token)?,
                }
            }
            (_, _, Some(page)) => write!(out, "?page={page}")?,
            _ => {}
        }

        let referer = if rng::chance(rng, 0.2) {
            "https://app.example/"
        } else {
            "-"
        };
        let agent = user_agent(request.client);
        write!(
            out,
            " HTTP/1.1\" {} {} \"{referer}\" \"{agent}\" \"",
            request.status, request.bytes
        )?;
        match carried {
            Some(c) if !in_query => writeln!(out, "{} {}\"", bearer(rng), c.token),
            _ => out.write_all(b"-\"\n"),
        }
    }

    fn write_json(
        &mut self,
        out: &mut impl Write,
        request: &Request,
        carried: Option<Carried<'_>>,
    ) -> io::Result<()> {
        write!(
            out,
            "{{\"time\":\"{}\",\"remote_addr\":\"",
            self.clock.rfc3339()
        )?;
        write_ip(out, request.client)?;
        write!(
            out,
            "\",\"method\":\"{}\",\"path\":\"{}",
            request.method, request.path
        )?;
        if let Some(page) = request.page {
            write!(out, "?page={page}")?;
        }
        let agent = user_agent(request.client);
        write!(
            out,
            "\",\"status\":{},\"user_agent\":\"{agent}\"",
            request.status
        )?;

        // the member that carries the token
        let Some(c) = carried else {
            return out.write_all(b"}\n");
        };
        let rng = &mut self.rng;
        if rng::chance(rng, 0.5) {
            let scheme = bearer(rng);
            writeln!(out, ",\"authorization\":\"{scheme} {}\"}}", c.token)
        } else {
            let name = *rng::pick(rng, &MEMBER_CARRIERS);
            writeln!(out, ",\"{name}\":\"{}\"}}", c.token)
        }
    }
}

/// The `Bearer` scheme, mostly in its usual casing (RFC 6750 §2.1; the
/// scheme name is case-insensitive, RFC 9110 §11.1).
fn bearer(rng: &mut ChaCha8Rng) -> &'static str {
    match rng::below(rng, 10) {
        0 => "bearer",
        1 => "BEARER",
        _ => "Bearer",
    }
}

/// The address of a client, in the RFC 5737 documentation blocks.
fn write_ip(out: &mut impl Write, client: u64) -> io::Result<()> {
    let host = client % 254 + 1;
    let network = NETWORKS[(client / 254 % NETWORKS.len() as u64) as usize];
    write!(out, "{network}.{host}")
}

fn user_agent(client: u64) -> &'static str {
    USER_AGENTS[(client / 7 % USER_AGENTS.len() as u64) as usize]
}

/// The request time, formatted once per distinct second.
#[derive(Default)]
struct Clock {
    second: Option<i64>,
    clf: String,
    rfc3339: String,
}

impl Clock {
    fn set(&mut self, time: i64) {
        if self.second == Some(time) {
            return;
        }
        self.second = Some(time);
        let (year, month, day) = civil_date(time.div_euclid(86_400));
        let secs = time.rem_euclid(86_400);
        let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
        let mon = MONTHS[month as usize - 1];
        self.clf.clear();
        self.rfc3339.clear();
        use std::fmt::Write as _;
        // Writing into a String cannot fail.
        let _ = write!(
            self.clf,
            "{day:02}/{mon}/{year:04}:{h:02}:{m:02}:{s:02} +0000"
        );
        let _ = write!(
            self.rfc3339,
            "{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}Z"
        );
    }

    fn clf(&self) -> &str {
        &self.clf
    }

    fn rfc3339(&self) -> &str {
        &self.rfc3339
    }
}

/// The proleptic Gregorian (year, month, day) of a day count since
/// 1970-01-01.
///
/// Counts from 0000-03-01 so the leap day ends each year: a 400-year era
/// has 146097 days, and within a year, months from March run in a
/// five-month 153-day cycle.
pub(crate) fn civil_date(days: i64) -> (i64, u32, u32) {
    let from_march_0000 = days + 719_468;
    let era = from_march_0000.div_euclid(146_097);
    let day_of_era = from_march_0000.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = era * 400 + year_of_era + i64::from(month <= 2);
    (year, month as u32, day as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(format: LogFormat, n: usize) -> String {
        let mut writer = LineWriter::new(format, 5);
        let mut out = Vec::new();
        for i in 0..n {
            let carried = (i % 4 != 3).then_some(Carried {
                token: "eyJa.eyJb.c",
                client: i as u64,
            });
            writer
                .write_line(&mut out, 1_796_292_000 + i as i64, carried)
                .unwrap();
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn dates_are_gregorian() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(-1), (1969, 12, 31));
        assert_eq!(civil_date(11_016), (2000, 2, 29));
        assert_eq!(civil_date(20_790), (2026, 12, 3));
        assert_eq!(civil_date(2_932_896), (9999, 12, 31));
    }

    #[test]
    fn combined_lines_carry_the_token_once() {
        let text = lines(LogFormat::Combined, 200);
        for (i, line) in text.lines().enumerate() {
            assert_eq!(
                line.matches("eyJa.eyJb.c").count(),
                usize::from(i % 4 != 3),
                "{line}"
            );
            assert!(line.contains("[03/Dec/2026:10:"), "{line}");
            assert!(line.ends_with('"'));
        }
        for carrier in [
            "Bearer eyJ",
            "bearer eyJ",
            "BEARER eyJ",
            "?jwt=",
            "&id_token=",
            "?token=",
        ] {
            assert!(text.contains(carrier), "{carrier}");
        }
        assert!(!text.contains('\r'));
    }

    #[test]
    fn json_lines_parse_and_carry_the_token() {
        let text = lines(LogFormat::Json, 200);
        let mut members = std::collections::BTreeSet::new();
        for line in text.lines() {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            assert!(value["time"]
                .as_str()
                .unwrap()
                .starts_with("2026-12-03T10:"));
            for name in ["authorization", "token", "access_token", "id_token", "jwt"] {
                if value.get(name).is_some() {
                    members.insert(name);
                }
            }
        }
        assert_eq!(members.len(), 5);
    }

    #[test]
    fn mixed_has_both_formats() {
        let text = lines(LogFormat::Mixed, 50);
        assert!(text.lines().any(|l| l.starts_with('{')));
        assert!(text.lines().any(|l| !l.starts_with('{')));
    }
}
