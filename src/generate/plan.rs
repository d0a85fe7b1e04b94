//! The layout of a generated log, decided before anything is signed: which
//! lines carry a token, which token each carries, and when each request
//! was made.
//!
//! Request times rise through the log, as in a real access log. Tokens
//! are laid along the log in order, and each line picks one of the few
//! tokens whose turn is near, so a token's uses cluster in a window (a
//! client sends its token many times in a session). Claims are then fitted
//! to the times at which each token is actually used, which is what makes
//! an intended verdict hold for every occurrence.

use super::rng;
use super::GenerateOptions;
use crate::alg::Alg;
use crate::verdict::Verdict;

/// A line with no token (noise).
pub(crate) const NO_TOKEN: u32 = u32::MAX;

/// How many neighbouring tokens, either side, a line may pick from.
const NEIGHBOURS: u64 = 4;

/// What is known of one distinct token before it is minted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TokenPlan {
    /// The verdict the token is made to have.
    pub verdict: Verdict,
    /// The algorithm it is signed with (where it is signed at all).
    pub alg: Alg,
    /// The earliest request time of a line that carries it.
    pub first_use: i64,
    /// The latest request time of a line that carries it.
    pub last_use: i64,
}

/// The whole layout.
#[derive(Debug)]
pub(crate) struct Plan {
    /// Per line, the token it carries or [`NO_TOKEN`].
    pub line_tokens: Vec<u32>,
    /// Per distinct token, in minting order.
    pub tokens: Vec<TokenPlan>,
}

impl Plan {
    /// Lays out the log for `opts`, which must already be validated.
    pub fn new(opts: &GenerateOptions) -> Plan {
        let mut line_tokens = noise_mask(opts);
        let token_lines = line_tokens.iter().filter(|&&t| t != NO_TOKEN).count();
        let count = opts.distinct.min(token_lines);
        let verdicts = apportion(opts.seed, &opts.mix, count);
        let mut tokens: Vec<TokenPlan> = verdicts
            .into_iter()
            .enumerate()
            .map(|(i, verdict)| TokenPlan {
                verdict,
                alg: opts.algs[i % opts.algs.len()],
                first_use: i64::MAX,
                last_use: i64::MIN,
            })
            .collect();

        assign(opts, &mut line_tokens, &mut tokens);
        Plan {
            line_tokens,
            tokens,
        }
    }

    /// How many lines carry a token.
    pub fn token_lines(&self) -> usize {
        self.line_tokens.iter().filter(|&&t| t != NO_TOKEN).count()
    }
}

/// The request time of line `line` (0-based): times rise evenly over
/// `[start, start + span)`.
pub(crate) fn request_time(opts: &GenerateOptions, line: usize) -> i64 {
    let offset = line as i128 * i128::from(opts.span_secs) / opts.lines.max(1) as i128;
    opts.start + offset as i64
}

/// Marks each line as noise ([`NO_TOKEN`]) or token-bearing (0 for now).
fn noise_mask(opts: &GenerateOptions) -> Vec<u32> {
    let mut rng = rng::stream(opts.seed, "noise", 0);
    (0..opts.lines)
        .map(|_| {
            if rng::chance(&mut rng, opts.noise) {
                NO_TOKEN
            } else {
                0
            }
        })
        .collect()
}

/// Splits `count` tokens among the verdicts of `mix` in proportion to the
/// weights (largest remainder, ties to precedence order), then shuffles
/// them so each verdict is spread over the whole log.
pub(crate) fn apportion(seed: u64, mix: &[(Verdict, u32)], count: usize) -> Vec<Verdict> {
    let total: u64 = mix.iter().map(|&(_, w)| u64::from(w)).sum();
    if total == 0 {
        return Vec::new();
    }
    let shares: Vec<(Verdict, u128)> = mix
        .iter()
        .map(|&(v, w)| (v, u128::from(w) * count as u128))
        .collect();
    let mut counts: Vec<(Verdict, usize, u128)> = shares
        .iter()
        .map(|&(v, s)| (v, (s / u128::from(total)) as usize, s % u128::from(total)))
        .collect();

    // hand the leftover tokens to the largest remainders
    let given: usize = counts.iter().map(|c| c.1).sum();
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by(|&a, &b| {
        counts[b]
            .2
            .cmp(&counts[a].2)
            .then(counts[a].0.cmp(&counts[b].0))
    });
    for &i in order.iter().take(count - given) {
        counts[i].1 += 1;
    }

    let mut verdicts: Vec<Verdict> = counts
        .iter()
        .flat_map(|&(v, n, _)| std::iter::repeat_n(v, n))
        .collect();
    rng::shuffle(&mut rng::stream(seed, "verdicts", 0), &mut verdicts);
    verdicts
}

/// Gives each token-bearing line a token and records each token's first
/// and last use. Token `i` takes the line at its turn (so every token is
/// used at least once); other lines pick a token within [`NEIGHBOURS`].
fn assign(opts: &GenerateOptions, line_tokens: &mut [u32], tokens: &mut [TokenPlan]) {
    let count = tokens.len() as u128;
    let total = line_tokens.iter().filter(|&&t| t != NO_TOKEN).count() as u128;
    let mut rng = rng::stream(opts.seed, "assign", 0);
    let mut nth = 0u128;
    let mut previous_turn = u128::MAX;

    for (line, slot) in line_tokens.iter_mut().enumerate() {
        if *slot == NO_TOKEN {
            continue;
        }
        let turn = nth * count / total;
        nth += 1;
        let token = if turn == previous_turn {
            // uniform over the neighbours that exist, so the first and
            // last tokens are not over-used
            let low = (turn as u64).saturating_sub(NEIGHBOURS);
            let high = (turn as u64 + NEIGHBOURS).min(count as u64 - 1);
            low + rng::below(&mut rng, high - low + 1)
        } else {
            turn as u64
        };
        previous_turn = turn;

        let time = request_time(opts, line);
        let plan = &mut tokens[token as usize];
        plan.first_use = plan.first_use.min(time);
        plan.last_use = plan.last_use.max(time);
        *slot = token as u32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::tests::small_options;

    #[test]
    fn apportion_is_exact_and_proportional() {
        let mix = [
            (Verdict::Valid, 90),
            (Verdict::Expired, 5),
            (Verdict::BadSignature, 5),
        ];
        let verdicts = apportion(1, &mix, 100);
        assert_eq!(verdicts.len(), 100);
        let count = |v| verdicts.iter().filter(|&&x| x == v).count();
        assert_eq!((count(Verdict::Valid), count(Verdict::Expired)), (90, 5));

        let small = apportion(1, &mix, 3);
        assert_eq!(small.len(), 3);
        assert!(apportion(1, &mix, 0).is_empty());
        assert!(apportion(1, &[(Verdict::Valid, 0)], 5).is_empty());
    }

    #[test]
    fn every_token_is_used_and_windows_hold_its_lines() {
        let mut opts = small_options();
        opts.lines = 1000;
        opts.distinct = 60;
        opts.noise = 0.2;
        let plan = Plan::new(&opts);
        assert_eq!(plan.tokens.len(), 60);

        let mut used = vec![0usize; plan.tokens.len()];
        for (line, &token) in plan.line_tokens.iter().enumerate() {
            if token == NO_TOKEN {
                continue;
            }
            let t = request_time(&opts, line);
            let token_plan = &plan.tokens[token as usize];
            assert!(token_plan.first_use <= t && t <= token_plan.last_use);
            used[token as usize] += 1;
        }
        assert!(used.iter().all(|&n| n > 0));
        let noise = plan.line_tokens.len() - plan.token_lines();
        assert!((100..300).contains(&noise), "{noise}");
    }

    #[test]
    fn distinct_is_capped_by_token_lines() {
        let mut opts = small_options();
        opts.lines = 5;
        opts.distinct = 50;
        opts.noise = 0.0;
        let plan = Plan::new(&opts);
        assert_eq!(plan.tokens.len(), 5);
    }

    #[test]
    fn times_rise_over_the_span() {
        let mut opts = small_options();
        opts.lines = 10;
        opts.span_secs = 100;
        let times: Vec<i64> = (0..10).map(|l| request_time(&opts, l)).collect();
        assert_eq!(times[0], opts.start);
        assert_eq!(times[9], opts.start + 90);
    }
}
