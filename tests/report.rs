//! Reports end to end: every format against a golden file, the merge of
//! JSON reports against one scan of all inputs, and the HTML page in a
//! real browser.
//!
//! Goldens are scans of `fixtures/demo/access.log` with `--at` fixed and
//! timings taken out. After an intended change, rewrite them with
//! `UPDATE_GOLDEN=1 cargo test --test report` and review the diff.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_jwtsweep");

/// The flags that make the demo log's verdicts hold.
const DEMO: [&str; 6] = [
    "--jwks",
    "fixtures/demo/keys/jwks.json",
    "--issuer",
    "https://issuer.example",
    "--audience",
    "api",
];

const LOG: &str = "fixtures/demo/access.log";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> Output {
    let o = Command::new(BIN)
        .args(args)
        .current_dir(root())
        .output()
        .expect("binary runs");
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// Scans the demo log (or `inputs`) with `--at` fixed.
fn scan(inputs: &[&str], extra: &[&str]) -> Output {
    let mut args = vec!["scan", "--at", "2026-12-03T12:00:00Z", "--color", "never"];
    args.extend(inputs);
    args.extend(DEMO);
    args.extend(extra);
    run(&args)
}

/// Compares with a golden file, or rewrites it under `UPDATE_GOLDEN`.
fn golden(name: &str, actual: &str) {
    let path = root().join("tests/golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run with UPDATE_GOLDEN=1", path.display()));
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "{name} differs from its golden at line {}:\n  golden: {:?}\n  actual: {:?}\n\
             (UPDATE_GOLDEN=1 rewrites it)",
            line + 1,
            expected.lines().nth(line),
            actual.lines().nth(line)
        );
    }
}

/// A JSON report without what differs from run to run.
fn comparable(text: &[u8]) -> Value {
    let mut report: Value = serde_json::from_slice(text).expect("JSON report");
    let obj = report.as_object_mut().unwrap();
    obj.remove("duration_secs");
    obj.remove("cache");
    report
}

#[test]
fn text_report_matches_golden() {
    let o = scan(&[LOG], &["--top", "5"]);
    let text = String::from_utf8(o.stdout).unwrap();
    // the timing on the second line
    let text: String = text
        .lines()
        .map(|l| match l.starts_with("read ") {
            true => l.split(" in ").next().unwrap_or(l).to_string() + " in (time)",
            false => l.to_string(),
        })
        .map(|l| l + "\n")
        .collect();
    assert!(text.contains("[critical] invalid_token_accepted"));
    golden("demo.txt", &text);

    // colour only when asked (stdout here is a pipe, so auto means none)
    let with_color = |choice: &str| {
        let mut args = vec!["scan", LOG, "--color", choice];
        args.extend(DEMO);
        String::from_utf8(run(&args).stdout).unwrap()
    };
    assert!(!with_color("auto").contains('\x1b'));
    let coloured = with_color("always");
    assert!(coloured.contains("\x1b[1;31m[critical]\x1b[0m invalid_token_accepted"));
}

#[test]
fn json_report_matches_golden_and_answers_the_questions() {
    let o = scan(&[LOG], &["--format", "json"]);
    let report = comparable(&o.stdout);
    golden(
        "demo.json",
        &(serde_json::to_string_pretty(&report).unwrap() + "\n"),
    );

    // Was a bad token accepted? Everything answered 2xx or 3xx that is
    // not valid, per verdict, and the first place it happened.
    let accepted = &report["accepted"];
    let success = &report["by_status"]["2xx"];
    let redirect = &report["by_status"]["3xx"];
    for (verdict, n) in accepted["verdicts"].as_object().unwrap() {
        let n = n.as_u64().unwrap();
        let expected = match verdict.as_str() {
            "valid" => 0,
            _ => success[verdict].as_u64().unwrap() + redirect[verdict].as_u64().unwrap(),
        };
        assert_eq!(n, expected, "{verdict}");
    }
    assert_eq!(accepted["examples"][0]["line"], 1);
    assert_eq!(accepted["examples"][0]["status"], 200);
    let first = report["findings"].as_object().unwrap();
    assert_eq!(first["invalid_token_accepted"]["severity"], "critical");

    // Every occurrence is in one status class and in the timeline.
    let tokens = report["totals"]["tokens"].as_u64().unwrap();
    let in_classes: u64 = report["by_status"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|c| c.as_object().unwrap().values())
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(in_classes, tokens);
    let timeline = &report["timeline"];
    let dated: u64 = timeline["buckets"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|c| c.as_object().unwrap().values())
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(dated + timeline["undated"].as_u64().unwrap(), tokens);
    // The demo spans a day: hourly buckets, chosen from the span.
    assert_eq!(timeline["bucket"], "hour");
    assert_eq!(timeline["auto"], true);
    assert_eq!(timeline["first"], "2026-12-03T10:00:00Z");

    // Hygiene counts only verified tokens, at their request times.
    let hygiene = &report["hygiene"]["https://issuer.example"];
    let verified = hygiene["occurrences"].as_u64().unwrap();
    assert!(verified > 0 && verified < tokens);
    let after = &hygiene["used_after_exp"];
    let after_total: u64 = ["under_1m", "under_1h", "under_1d", "over_1d"]
        .iter()
        .map(|k| after[k].as_u64().unwrap())
        .sum();
    assert!(after_total > 0);
    assert_eq!(
        report["findings"]["expired_token_in_use"]["occurrences"],
        after_total
    );
}

#[test]
fn hygiene_limits_and_buckets_follow_flags() {
    let o = scan(
        &[LOG],
        &[
            "--format",
            "json",
            "--max-lifetime",
            "10m",
            "--bucket",
            "day",
        ],
    );
    let report = comparable(&o.stdout);
    let h = &report["hygiene"]["https://issuer.example"];
    let l = &h["lifetimes"];
    let over_10m = h["beyond_max_lifetime"].as_u64().unwrap();
    let longer_than_1h: u64 = ["up_to_1d", "up_to_30d", "over_30d"]
        .iter()
        .map(|k| l[k].as_u64().unwrap())
        .sum();
    assert!(over_10m >= longer_than_1h && over_10m > 0);
    assert_eq!(report["settings"]["max_lifetime_secs"], 600.0);
    assert_eq!(report["timeline"]["bucket"], "day");
    assert_eq!(report["timeline"]["auto"], false);
    assert_eq!(report["timeline"]["buckets"].as_object().unwrap().len(), 2);
}

#[test]
fn markdown_report_matches_golden() {
    let o = scan(&[LOG], &["--format", "md", "--top", "5"]);
    let md = String::from_utf8(o.stdout).unwrap();
    assert!(md.starts_with("# jwtsweep report"));
    golden("demo.md", &md);
}

#[test]
fn html_report_matches_golden_and_is_self_contained() {
    let o = scan(&[LOG], &["--format", "html", "--top", "5"]);
    let html = String::from_utf8(o.stdout).unwrap();
    for remote in ["http://", "https://", "<script", "<link", "src="] {
        let outside_text = html.replace("https://issuer.example", "");
        let outside_text = outside_text.replace("https://login.other.example", "");
        assert!(!outside_text.contains(remote), "{remote} in the page");
    }
    assert!(html.contains("<svg"));
    golden("demo.html", &html);
}

#[test]
fn csv_lists_every_occurrence_matching_golden() {
    let o = scan(&[LOG], &["--format", "csv"]);
    let csv = String::from_utf8(o.stdout).unwrap();
    let json = comparable(&scan(&[LOG], &["--format", "json"]).stdout);
    assert_eq!(
        csv.lines().count() as u64 - 1,
        json["totals"]["tokens"].as_u64().unwrap()
    );
    assert!(csv.starts_with("file,line,offset,token_sha256,verdict"));
    // tokens by fingerprint only
    assert!(!csv.contains("eyJ"));
    golden("demo.csv", &csv);

    // --output writes the same rows to a file
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.csv");
    let o = scan(&[LOG], &["--format", "csv", "-o", out.to_str().unwrap()]);
    assert!(o.stdout.is_empty());
    assert_eq!(std::fs::read_to_string(&out).unwrap(), csv);
}

/// Writes some lines of the demo log to a file.
fn part(dir: &Path, name: &str, lines: &[&str]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, lines.concat()).unwrap();
    path.to_str().unwrap().to_string()
}

/// Scans files into a JSON report file.
fn json_of(dir: &Path, name: &str, inputs: &[&str]) -> String {
    let o = scan(inputs, &["--format", "json"]);
    let path = dir.join(name);
    std::fs::write(&path, &o.stdout).unwrap();
    path.to_str().unwrap().to_string()
}

fn merge_raw(reports: &[&str]) -> Vec<u8> {
    let mut args = vec!["merge", "--format", "json"];
    args.extend(reports);
    run(&args).stdout
}

fn merge(reports: &[&str]) -> Value {
    comparable(&merge_raw(reports))
}

/// The distinct-token counts, which merging estimates, taken out and
/// returned; what is left must be equal.
fn split_distinct(report: &mut Value) -> (u64, Vec<u64>) {
    let totals = report["totals"].as_object_mut().unwrap();
    let distinct = totals.remove("distinct_tokens").unwrap().as_u64().unwrap();
    totals.remove("distinct_tokens_estimated");
    let mut per_finding = Vec::new();
    for f in report["findings"].as_object_mut().unwrap().values_mut() {
        let f = f.as_object_mut().unwrap();
        per_finding.push(f.remove("distinct_tokens").unwrap().as_u64().unwrap());
    }
    // Distinct tokens per verdict are lower bounds after a merge, too.
    let per_verdict = report
        .as_object_mut()
        .unwrap()
        .remove("distinct_per_verdict")
        .unwrap();
    per_finding.extend(
        per_verdict
            .as_object()
            .unwrap()
            .values()
            .map(|n| n.as_u64().unwrap()),
    );
    (distinct, per_finding)
}

#[test]
fn merge_of_parts_is_the_scan_of_the_whole() {
    let log = std::fs::read_to_string(root().join(LOG)).unwrap();
    let lines: Vec<&str> = log.split_inclusive('\n').collect();
    let dir = tempfile::tempdir().unwrap();

    // a few pseudo-random three-way splits, each line to one part
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for round in 0..4 {
        let mut parts: [Vec<&str>; 3] = Default::default();
        for line in &lines {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // round 0 keeps whole runs of lines together: separate days
            let which = match round {
                0 => 0,
                _ => (state % 3) as usize,
            };
            parts[which].push(line);
        }
        if round == 0 {
            let third = lines.len() / 3;
            parts = [
                lines[..third].to_vec(),
                lines[third..2 * third].to_vec(),
                lines[2 * third..].to_vec(),
            ];
        }
        let files: Vec<String> = parts
            .iter()
            .enumerate()
            .map(|(i, p)| part(dir.path(), &format!("p{round}{i}.log"), p))
            .collect();
        let names: Vec<&str> = files.iter().map(String::as_str).collect();
        let whole = comparable(&scan(&names, &["--format", "json"]).stdout);
        let reports: Vec<String> = (0..3)
            .map(|i| json_of(dir.path(), &format!("r{round}{i}.json"), &names[i..=i]))
            .collect();
        let (a, b, c) = (&reports[0][..], &reports[1][..], &reports[2][..]);

        // order-independent and associative
        let ab = dir.path().join(format!("ab{round}.json"));
        std::fs::write(&ab, merge_raw(&[a, b])).unwrap();
        let bc = dir.path().join(format!("bc{round}.json"));
        std::fs::write(&bc, merge_raw(&[b, c])).unwrap();
        let candidates = [
            merge(&[a, b, c]),
            merge(&[c, a, b]),
            merge(&[b, c, a]),
            merge(&[ab.to_str().unwrap(), c]),
            merge(&[a, bc.to_str().unwrap()]),
        ];
        let mut whole = whole;
        let (exact, exact_findings) = split_distinct(&mut whole);
        for mut merged in candidates {
            let (estimate, findings) = split_distinct(&mut merged);
            assert_eq!(merged, whole, "round {round}");
            let error = (estimate as f64 - exact as f64).abs() / exact as f64;
            assert!(error <= 0.05, "distinct {estimate} vs {exact}");
            for (m, w) in findings.iter().zip(&exact_findings) {
                assert!(m <= w, "finding distinct tokens never overcounted");
            }
        }
    }
}

#[test]
fn merge_of_one_report_keeps_it_and_refuses_old_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let one = json_of(dir.path(), "one.json", &[LOG]);
    let scanned = comparable(&std::fs::read(&one).unwrap());
    assert_eq!(merge(&[&one]), scanned);
    assert_eq!(scanned["totals"]["distinct_tokens_estimated"], false);

    let mut old = scanned.clone();
    old["schema_version"] = 1.into();
    let old_path = dir.path().join("old.json");
    std::fs::write(&old_path, serde_json::to_vec(&old).unwrap()).unwrap();
    let o = Command::new(BIN)
        .args(["merge", &one, old_path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("schema_version 1"));
}

/// Renders a page in headless Chromium; `None` when it is not installed.
fn screenshot(page: &Path, png: &Path) -> Option<Vec<u8>> {
    let url = format!("file://{}", page.display());
    let o = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--hide-scrollbars",
            "--window-size=1000,2400",
            &format!("--screenshot={}", png.display()),
            &url,
        ])
        .output()
        .ok()?;
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::read(png).ok()
}

#[test]
fn html_renders_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.html");
    let o = scan(
        &[LOG],
        &["--format", "html", "-o", report.to_str().unwrap()],
    );
    assert!(o.stdout.is_empty());
    let blank = dir.path().join("blank.html");
    std::fs::write(&blank, "<!DOCTYPE html><html><body></body></html>").unwrap();
    let Some(page) = screenshot(&report, &dir.path().join("report.png")) else {
        println!("chromium not installed: skipping the render check (scripts/render-html.sh)");
        return;
    };
    let empty = screenshot(&blank, &dir.path().join("blank.png")).unwrap();
    assert!(page.starts_with(b"\x89PNG"));
    // A blank page compresses to almost nothing; text, tables and charts
    // do not. (No PNG decoder in the dependencies; the script checks the
    // pixels.)
    assert!(
        page.len() > 10 * empty.len(),
        "screenshot of {} bytes against {} for a blank page",
        page.len(),
        empty.len()
    );
}

#[test]
fn replay_finds_a_token_used_from_many_clients() {
    // line 7 of the demo log, sent again from three more addresses, and
    // once more by another agent from the first
    let log = std::fs::read_to_string(root().join(LOG)).unwrap();
    let line = log.lines().nth(6).unwrap();
    let (ip, rest) = line.split_once(' ').unwrap();
    let mut lines: Vec<String> = vec![format!("{line}\n")];
    for i in 1..=3 {
        lines.push(format!("198.51.100.{i} {rest}\n"));
    }
    lines.push(format!(
        "{ip} {}\n",
        rest.replacen("\"Mozilla/5.0", "\"curl/8.5 ", 1)
    ));
    for other in log.lines().take(40) {
        lines.push(format!("{other}\n"));
    }
    let dir = tempfile::tempdir().unwrap();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let file = part(dir.path(), "replayed.log", &refs);

    let mut reports = Vec::new();
    for extra in [
        ["-j", "1", "--chunk-bytes", "1000000"],
        ["-j", "2", "--chunk-bytes", "300"],
    ] {
        let mut flags = vec!["--format", "json", "--replay-ips", "3"];
        flags.extend(extra);
        reports.push(comparable(&scan(&[&file], &flags).stdout));
    }
    assert_eq!(reports[0], reports[1], "the same whatever the threads");
    let replay = &reports[0]["replay"];
    assert_eq!(replay["threshold"], 3);
    assert_eq!(replay["tokens"], 1);
    let shared = &replay["shared"][0];
    assert_eq!(shared["clients"], 4);
    assert_eq!(shared["user_agents"], 2);
    let token = line
        .split("access_token=")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    let in_demo = log.lines().take(40).filter(|l| l.contains(token)).count();
    assert_eq!(shared["occurrences"], 5 + in_demo as u64);
    assert!(shared["first_at"]
        .as_str()
        .unwrap()
        .ends_with("replayed.log:1"));
    assert!(shared["first_seen"].as_str().unwrap() <= "2026-12-03T10:21:36Z");
    assert!(shared["last_seen"].as_str().unwrap() >= "2026-12-03T10:21:36Z");
    assert!(!shared["token"].as_str().unwrap().contains("eyJ"));
    assert_eq!(reports[0]["findings"]["token_shared"]["severity"], "high");

    // off unless asked, and out of range refused
    let plain = comparable(&scan(&[&file], &["--format", "json"]).stdout);
    assert!(plain.get("replay").is_none());
    let o = Command::new(BIN)
        .args(["scan", "--replay-ips", "0", &file])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--replay-ips"));
}

#[test]
fn merge_renders_hostile_reports_without_panicking() {
    let dir = tempfile::tempdir().unwrap();
    let one = json_of(dir.path(), "one.json", &[LOG]);
    let mut report: Value = serde_json::from_slice(&std::fs::read(&one).unwrap()).unwrap();
    report["accepted"]["examples"][0]["token_sha256"] = "é|<b>`x".repeat(9).into();
    let counts = report["verdicts"].clone();
    let buckets = report["timeline"]["buckets"].as_object_mut().unwrap();
    buckets.insert(i64::MIN.to_string(), counts.clone());
    buckets.insert(i64::MAX.to_string(), counts);
    report["timeline"]["bucket"] = "fortnight".into();
    report["replay"] = serde_json::json!({"threshold": 2, "tokens": 0, "shared": [{
        "token": "jti <i>/x", "occurrences": 1, "clients": 3, "user_agents": 1,
        "capped": false, "first_seen": null, "last_seen": null, "first_at": ""}]});
    let hostile = dir.path().join("hostile.json");
    std::fs::write(&hostile, serde_json::to_vec(&report).unwrap()).unwrap();
    let hostile = hostile.to_str().unwrap();
    for format in ["text", "json", "md", "html"] {
        let o = run(&["merge", "--format", format, hostile, &one]);
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(!out.is_empty(), "{format}");
        if format == "html" {
            assert!(!out.contains("<b>") && !out.contains("<i>"), "escaped");
        }
    }
}

#[test]
fn csv_per_token_has_one_row_per_distinct_token() {
    let out = scan(&[LOG], &["--format", "csv-tokens"]);
    let text = String::from_utf8(out.stdout).unwrap();
    let json = scan(&[LOG], &["--format", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(
        rows.len() as u64,
        report["totals"]["distinct_tokens"].as_u64().unwrap()
    );
    // occurrences add up, and every row has a first and a last place
    let occurrences: u64 = rows
        .iter()
        .map(|r| r.split(',').nth(5).unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(occurrences, report["totals"]["tokens"].as_u64().unwrap());
    assert!(rows.iter().all(|r| r.contains("fixtures/demo/access.log:")));
    assert!(!text.contains("eyJ"), "tokens appear by fingerprint only");
}
