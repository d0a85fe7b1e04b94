//! Nothing in the input can panic the run: mutated logs and tokens go
//! through the whole pipeline, and every occurrence still gets exactly one
//! verdict.

use jwtsweep::judge::Policy;
use jwtsweep::keys::Keyring;
use jwtsweep::scan::{scan_bytes, Occurrence, ScanConfig, Sink, TimeRule};
use jwtsweep::token::Scratch;

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn demo() -> Vec<u8> {
    let dir = env!("CARGO_MANIFEST_DIR");
    std::fs::read(format!("{dir}/fixtures/demo/access.log")).expect("demo log")
}

fn keyring() -> Keyring {
    let dir = env!("CARGO_MANIFEST_DIR");
    let mut keyring = Keyring::new();
    keyring
        .load_jwks(format!("{dir}/fixtures/demo/keys/jwks.json").as_ref())
        .unwrap();
    keyring
}

/// Bytes that matter to the parsers.
const INTERESTING: &[u8] = b".=\"{}[]:,\\ \r\n\teyJABwo0_-+/\x00\xff";

fn mutate(rng: &mut Rng, data: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(8) {
        if data.is_empty() {
            data.push(b'e');
        }
        let at = rng.below(data.len());
        match rng.below(5) {
            0 => data[at] = INTERESTING[rng.below(INTERESTING.len())],
            1 => data[at] ^= 1 << rng.below(8),
            2 => data.insert(at, INTERESTING[rng.below(INTERESTING.len())]),
            3 => {
                data.remove(at);
            }
            _ => data.truncate(at),
        }
    }
}

struct Count(u64);

impl Sink for Count {
    fn occurrence(&mut self, _: &Occurrence) -> std::io::Result<()> {
        self.0 += 1;
        Ok(())
    }
}

#[test]
fn mutated_logs_never_panic() {
    let log = demo();
    let lines: Vec<&[u8]> = log.split(|&b| b == b'\n').collect();
    let mut config = ScanConfig::new(keyring(), Policy::default(), TimeRule::RequestTimeElse(0.0));
    config.threads = 2;
    config.chunk_bytes = 512;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for round in 0..300 {
        // a handful of lines, each mutated
        let mut data = Vec::new();
        for _ in 0..1 + rng.below(6) {
            let mut line = lines[rng.below(lines.len())].to_vec();
            mutate(&mut rng, &mut line);
            data.extend_from_slice(&line);
            data.push(b'\n');
        }
        let mut count = Count(0);
        let report = scan_bytes(&data, "fuzz", &config, Some(&mut count)).unwrap();
        assert_eq!(report.totals.tokens, count.0, "round {round}");
        assert_eq!(
            report.verdicts.total(),
            count.0,
            "round {round}: one verdict each"
        );
    }
}

#[test]
fn mutated_tokens_never_panic() {
    let log = demo();
    let keyring = keyring();
    let policy = Policy::default();
    let mut scratch = Scratch::new();
    let text = String::from_utf8_lossy(&log);
    let tokens: Vec<&str> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
        .filter(|s| s.starts_with("ey") && s.matches('.').count() >= 2)
        .collect();
    assert!(tokens.len() > 50);
    let mut rng = Rng(42);
    for _ in 0..3000 {
        let mut token = tokens[rng.below(tokens.len())].as_bytes().to_vec();
        mutate(&mut rng, &mut token);
        let checked = jwtsweep::verify::check(&token, &keyring, &policy, &mut scratch);
        // Whatever happened, the judge gives a verdict at any time.
        let _ = policy.verdict(&checked, rng.next() as f64);
    }
}

#[test]
fn random_bytes_as_json_never_panic() {
    let mut rng = Rng(7);
    let mut reader = jwtsweep::json::Reader::new();
    for _ in 0..20_000 {
        let len = rng.below(40);
        let bytes: Vec<u8> = (0..len)
            .map(|_| INTERESTING[rng.below(INTERESTING.len())])
            .collect();
        let _ = reader.read_object(&bytes, |_, v| {
            let _ = (v.as_str(), v.as_f64(), v.elements().count());
        });
    }
}
