//! Timestamps: the request time on a log line, and `--at`.
//!
//! Time is a rule, not a clock read: an occurrence is judged at the request
//! time its line records (nginx/Apache `[03/Dec/2026:10:00:00 +0000]`, or an
//! RFC 3339 time in a JSON line), else at a fixed time chosen once per run.
//! All times are seconds since the Unix epoch, as `f64`.

/// Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's
/// `days_from_civil`, public domain algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// Reads `n` ASCII digits at `at`.
fn digits(text: &[u8], at: usize, n: usize) -> Option<u32> {
    let field = text.get(at..at + n)?;
    field.iter().try_fold(0u32, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + (b - b'0') as u32)
    })
}

/// Seconds since the epoch for a validated civil date and time.
fn epoch(date: (i64, u32, u32), hms: (u32, u32, u32)) -> Option<f64> {
    let (year, month, day) = date;
    let (h, m, s) = hms;
    // Second 60 is a leap second; it is read as the next second.
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some((days * 86_400 + (h * 3600 + m * 60 + s) as i64) as f64)
}

/// Parses an RFC 3339 date-time at the start of `text`
/// (`2026-12-03T10:00:00Z`, `…T10:00:00.250+01:00`). Returns the time and
/// the number of bytes read.
pub fn parse_rfc3339(text: &[u8]) -> Option<(f64, usize)> {
    let year = digits(text, 0, 4)? as i64;
    let month = digits(text, 5, 2)?;
    let day = digits(text, 8, 2)?;
    let (h, m, s) = (
        digits(text, 11, 2)?,
        digits(text, 14, 2)?,
        digits(text, 17, 2)?,
    );
    let seps = [text[4], text[7], text[13], text[16]];
    if seps != [b'-', b'-', b':', b':'] || !matches!(text[10], b'T' | b't' | b' ') {
        return None;
    }
    let mut t = epoch((year, month, day), (h, m, s))?;
    let mut at = 19;

    // fraction
    if text.get(at) == Some(&b'.') {
        let start = at + 1;
        let len = text[start..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if len == 0 {
            return None;
        }
        let frac = std::str::from_utf8(&text[at..start + len]).ok()?;
        t += format!("0{frac}").parse::<f64>().ok()?;
        at = start + len;
    }

    // offset
    match text.get(at)? {
        b'Z' | b'z' => Some((t, at + 1)),
        sign @ (b'+' | b'-') => {
            let (oh, om) = (digits(text, at + 1, 2)?, digits(text, at + 4, 2)?);
            if text.get(at + 3) != Some(&b':') || oh > 23 || om > 59 {
                return None;
            }
            let offset = (oh * 3600 + om * 60) as f64;
            let t = if *sign == b'+' {
                t - offset
            } else {
                t + offset
            };
            Some((t, at + 6))
        }
        _ => None,
    }
}

/// Parses the common log format time `03/Dec/2026:10:00:00 +0000` at the
/// start of `text` (what follows `[`).
pub fn parse_clf(text: &[u8]) -> Option<f64> {
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    if text.len() < 26 {
        return None;
    }
    let day = digits(text, 0, 2)?;
    let name = text.get(3..6)?;
    let month = MONTHS.iter().position(|m| &m[..] == name)? as u32 + 1;
    let year = digits(text, 7, 4)? as i64;
    let (h, m, s) = (
        digits(text, 12, 2)?,
        digits(text, 15, 2)?,
        digits(text, 18, 2)?,
    );
    if [text[2], text[6], text[11], text[14], text[17], text[20]]
        != [b'/', b'/', b':', b':', b':', b' ']
    {
        return None;
    }
    let t = epoch((year, month, day), (h, m, s))?;
    let sign = *text.get(21)?;
    let (oh, om) = (digits(text, 22, 2)?, digits(text, 24, 2)?);
    if oh > 23 || om > 59 {
        return None;
    }
    let offset = (oh * 3600 + om * 60) as f64;
    match sign {
        b'+' => Some(t - offset),
        b'-' => Some(t + offset),
        _ => None,
    }
}

/// The last common log format time read and its value. A busy log writes
/// many lines within one second, and comparing 26 bytes costs a fraction
/// of reading them (reading was 3.5% of a scan).
#[derive(Clone, Debug, Default)]
pub struct ClfMemo {
    last: Option<([u8; 26], Option<f64>)>,
}

impl ClfMemo {
    /// [`parse_clf`], remembered for the text's first 26 bytes (all that
    /// it reads).
    pub fn parse(&mut self, text: &[u8]) -> Option<f64> {
        let key: [u8; 26] = text.get(..26)?.try_into().ok()?;
        match &self.last {
            Some((last, value)) if *last == key => *value,
            _ => {
                let value = parse_clf(&key);
                self.last = Some((key, value));
                value
            }
        }
    }
}

/// The request time recorded on a log line: the first `[` common log
/// format time, or the first RFC 3339 date-time, whichever comes first.
pub fn request_time(line: &[u8]) -> Option<f64> {
    request_time_with(line, &mut ClfMemo::default())
}

/// [`request_time`], remembering the last common log time in `memo`.
pub fn request_time_with(line: &[u8], memo: &mut ClfMemo) -> Option<f64> {
    for at in memchr::memchr2_iter(b'[', b'T', line) {
        let found = match line[at] {
            b'[' => memo.parse(&line[at + 1..]),
            _ if at >= 10 => parse_rfc3339(&line[at - 10..]).map(|(t, _)| t),
            _ => None,
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

/// Parses `--at`: RFC 3339, or seconds since the epoch (a fraction and a
/// sign are allowed).
pub fn parse_at(text: &str) -> Result<f64, String> {
    if let Some((t, used)) = parse_rfc3339(text.as_bytes()) {
        if used == text.len() {
            return Ok(t);
        }
    }
    match text.parse::<f64>() {
        Ok(t) if t.is_finite() => Ok(t),
        _ => Err(format!(
            "{text:?} is neither an RFC 3339 time (2026-12-03T10:00:00Z) nor epoch seconds"
        )),
    }
}

/// Formats epoch seconds as RFC 3339 UTC, to the second.
pub fn format_rfc3339(t: f64) -> String {
    if !t.is_finite() || t.abs() > 1e14 {
        return format!("{t}");
    }
    let secs = t.floor() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, mo, d) = civil_from_days(days);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// The wall clock, read once per run to date occurrences that carry no
/// request time.
pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEC3_10H: f64 = 1_796_292_000.0; // 2026-12-03T10:00:00Z

    #[test]
    fn rfc3339_forms() {
        assert_eq!(parse_rfc3339(b"2026-12-03T10:00:00Z"), Some((DEC3_10H, 20)));
        assert_eq!(parse_rfc3339(b"2026-12-03t10:00:00z").unwrap().0, DEC3_10H);
        assert_eq!(
            parse_rfc3339(b"2026-12-03T11:30:00+01:30").unwrap().0,
            DEC3_10H
        );
        assert_eq!(
            parse_rfc3339(b"2026-12-03T05:00:00-05:00").unwrap().0,
            DEC3_10H
        );
        assert_eq!(
            parse_rfc3339(b"2026-12-03T10:00:00.25Z").unwrap().0,
            DEC3_10H + 0.25
        );
        assert_eq!(parse_rfc3339(b"1970-01-01T00:00:00Z").unwrap().0, 0.0);
        assert_eq!(parse_rfc3339(b"1969-12-31T23:59:59Z").unwrap().0, -1.0);
        assert_eq!(
            parse_rfc3339(b"2024-02-29T00:00:00Z").unwrap().0,
            1_709_164_800.0
        );
        for bad in [
            &b"2026-13-03T10:00:00Z"[..],
            b"2026-02-30T10:00:00Z",
            b"2023-02-29T00:00:00Z",
            b"2026-12-03T24:00:00Z",
            b"2026-12-03T10:00:00",
            b"2026-12-03T10:00:00.Z",
            b"2026-12-03X10:00:00Z",
            b"2026-12-0",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn remembered_clf_times_are_the_parsed_ones() {
        let mut memo = ClfMemo::default();
        for text in [
            "03/Dec/2026:10:00:00 +0000]",
            "03/Dec/2026:10:00:00 +0000] again",
            "03/Dec/2026:10:00:01 +0000]",
            "31/Feb/2026:10:00:01 +0000]",
            "31/Feb/2026:10:00:01 +0000]",
            "03/Dec/2026:10:00:01 -0130]",
            "03/Dec/2026:10:00",
        ] {
            assert_eq!(
                memo.parse(text.as_bytes()),
                parse_clf(text.as_bytes()),
                "{text}"
            );
        }
        assert_eq!(
            memo.parse(b"03/Dec/2026:10:00:00 +0000"),
            Some(1_796_292_000.0)
        );
    }

    #[test]
    fn clf_forms() {
        assert_eq!(parse_clf(b"03/Dec/2026:10:00:00 +0000]"), Some(DEC3_10H));
        assert_eq!(parse_clf(b"03/Dec/2026:12:00:00 +0200]"), Some(DEC3_10H));
        assert_eq!(parse_clf(b"03/Dec/2026:02:00:00 -0800]"), Some(DEC3_10H));
        assert_eq!(parse_clf(b"03/Dex/2026:10:00:00 +0000]"), None);
        assert_eq!(parse_clf(b"31/Nov/2026:10:00:00 +0000]"), None);
        assert_eq!(parse_clf(b"03/Dec/2026:10:00:00 0000]"), None);
    }

    #[test]
    fn finds_the_time_on_a_line() {
        let clf = b"1.2.3.4 - - [03/Dec/2026:10:00:00 +0000] \"GET /T HTTP/1.1\" 200";
        assert_eq!(request_time(clf), Some(DEC3_10H));
        let json = br#"{"method":"GET","time":"2026-12-03T10:00:00Z","x":"T"}"#;
        assert_eq!(request_time(json), Some(DEC3_10H));
        assert_eq!(request_time(b"no time [here] T"), None);
        assert_eq!(request_time(b"T"), None);
    }

    #[test]
    fn at_accepts_both_forms() {
        assert_eq!(parse_at("2026-12-03T10:00:00Z"), Ok(DEC3_10H));
        assert_eq!(parse_at("1796292000"), Ok(DEC3_10H));
        assert_eq!(parse_at("-1.5"), Ok(-1.5));
        assert!(parse_at("yesterday").unwrap_err().contains("yesterday"));
        assert!(parse_at("2026-12-03T10:00:00Zjunk").is_err());
        assert!(parse_at("inf").is_err());
    }

    #[test]
    fn civil_round_trip() {
        for days in [-800_000, -1, 0, 1, 20_000, 20_790, 2_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(format_rfc3339(DEC3_10H), "2026-12-03T10:00:00Z");
        assert_eq!(format_rfc3339(-1.0), "1969-12-31T23:59:59Z");
    }
}
