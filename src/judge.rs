//! Turning a checked token and an evaluation time into one verdict.
//!
//! The signature and the identity claims are judged once per distinct
//! token ([`crate::verify::check`]); only the time claims are judged per
//! occurrence, against that occurrence's own evaluation time, because a
//! token that was valid at 10:00 may be expired at 11:00.

use crate::alg::AlgSet;
use crate::token::Claims;
use crate::verdict::Verdict;
use crate::verify::{Checked, Reason};

/// The default clock-skew allowance, in seconds.
pub const DEFAULT_LEEWAY: f64 = 60.0;

/// The rules a token must meet, beyond its signature.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Seconds of allowed clock skew for `exp` and `nbf` (default 60).
    pub leeway: f64,
    /// Accepted issuers; empty means `iss` is not checked.
    pub issuers: Vec<String>,
    /// Accepted audiences; empty means `aud` is not checked.
    pub audiences: Vec<String>,
    /// Algorithms accepted (default: all supported).
    pub algs: AlgSet,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            leeway: DEFAULT_LEEWAY,
            issuers: Vec::new(),
            audiences: Vec::new(),
            algs: AlgSet::all(),
        }
    }
}

/// How an occurrence's time claims fared.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TimeOutcome {
    /// Neither `exp` nor `nbf` objects.
    Holds,
    /// `at >= exp + leeway`; carries `at - exp` in seconds.
    Expired(f64),
    /// `at < nbf - leeway`; carries `nbf - at` in seconds.
    NotYetValid(f64),
}

impl Policy {
    /// Judges `iss` and `aud` (RFC 7519 §4.1.1, §4.1.3): when configured,
    /// the claim must be present and match one accepted value exactly.
    pub fn judge_identity(&self, claims: &Claims) -> Option<(Verdict, Reason)> {
        if !self.issuers.is_empty() {
            match claims.iss() {
                None => return Some((Verdict::WrongIssuer, Reason::NoIssuer)),
                Some(iss) if !self.issuers.iter().any(|i| i == iss) => {
                    return Some((Verdict::WrongIssuer, Reason::IssuerMismatch))
                }
                Some(_) => {}
            }
        }
        if !self.audiences.is_empty() {
            if !claims.has_aud {
                return Some((Verdict::WrongAudience, Reason::NoAudience));
            }
            if !claims
                .aud()
                .any(|a| self.audiences.iter().any(|want| want == a))
            {
                return Some((Verdict::WrongAudience, Reason::AudienceMismatch));
            }
        }
        None
    }

    /// Judges `exp` and `nbf` at evaluation time `at` (seconds since the
    /// epoch). Expired when `at >= exp + leeway`; not yet valid when
    /// `at < nbf - leeway`. Numbers compare as `f64`, so fractional and
    /// huge NumericDates neither overflow nor truncate.
    pub fn judge_time(&self, claims: &Claims, at: f64) -> TimeOutcome {
        if let Some(exp) = claims.exp {
            if at >= exp + self.leeway {
                return TimeOutcome::Expired(at - exp);
            }
        }
        if let Some(nbf) = claims.nbf {
            if at < nbf - self.leeway {
                return TimeOutcome::NotYetValid(nbf - at);
            }
        }
        TimeOutcome::Holds
    }

    /// The verdict of one occurrence of a checked token at time `at`.
    pub fn verdict(&self, checked: &Checked, at: f64) -> Verdict {
        self.judge(checked, at).0
    }

    /// The verdict of one occurrence, with the time outcome for reasons.
    pub fn judge(&self, checked: &Checked, at: f64) -> (Verdict, TimeOutcome) {
        if let Some((verdict, _)) = checked.before_time {
            return (verdict, TimeOutcome::Holds);
        }
        let time = self.judge_time(&checked.claims, at);
        let verdict = match time {
            TimeOutcome::Expired(_) => Verdict::Expired,
            TimeOutcome::NotYetValid(_) => Verdict::NotYetValid,
            TimeOutcome::Holds => checked.after_time.map_or(Verdict::Valid, |(v, _)| v),
        };
        (verdict, time)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: Option<f64>, nbf: Option<f64>) -> Claims {
        let mut claims = Claims::default();
        (claims.exp, claims.nbf) = (exp, nbf);
        claims
    }

    #[test]
    fn expiry_boundary_includes_leeway() {
        let p = Policy::default();
        let c = claims(Some(1000.0), None);
        assert_eq!(p.judge_time(&c, 1059.0), TimeOutcome::Holds);
        assert_eq!(p.judge_time(&c, 1060.0), TimeOutcome::Expired(60.0));
        let strict = Policy {
            leeway: 0.0,
            ..Policy::default()
        };
        assert_eq!(strict.judge_time(&c, 999.5), TimeOutcome::Holds);
        assert_eq!(strict.judge_time(&c, 1000.0), TimeOutcome::Expired(0.0));
    }

    #[test]
    fn not_before_boundary_includes_leeway() {
        let p = Policy::default();
        let c = claims(None, Some(1000.0));
        assert_eq!(p.judge_time(&c, 940.0), TimeOutcome::Holds);
        assert_eq!(p.judge_time(&c, 939.0), TimeOutcome::NotYetValid(61.0));
    }

    #[test]
    fn huge_negative_and_fractional_dates() {
        let p = Policy::default();
        assert_eq!(
            p.judge_time(&claims(Some(f64::INFINITY), None), 1e12),
            TimeOutcome::Holds
        );
        assert_eq!(
            p.judge_time(&claims(Some(1e300), None), 1e12),
            TimeOutcome::Holds
        );
        assert!(matches!(
            p.judge_time(&claims(Some(-5.0), None), 100.0),
            TimeOutcome::Expired(_)
        ));
        assert!(matches!(
            p.judge_time(&claims(Some(100.25), None), 160.25),
            TimeOutcome::Expired(_)
        ));
        assert_eq!(
            p.judge_time(&claims(Some(100.25), None), 160.0),
            TimeOutcome::Holds
        );
    }

    #[test]
    fn issuer_and_audience_must_be_present_and_exact() {
        let p = Policy {
            issuers: vec!["https://a".into()],
            audiences: vec!["api".into()],
            ..Policy::default()
        };
        let mut c = Claims::default();
        assert_eq!(p.judge_identity(&c).unwrap().1, Reason::NoIssuer);
        c.set_iss("https://a/");
        assert_eq!(p.judge_identity(&c).unwrap().1, Reason::IssuerMismatch);
        c.set_iss("https://a");
        assert_eq!(p.judge_identity(&c).unwrap().1, Reason::NoAudience);
        c.push_aud("web");
        c.push_aud("API");
        assert_eq!(p.judge_identity(&c).unwrap().1, Reason::AudienceMismatch);
        c.push_aud("api");
        assert_eq!(p.judge_identity(&c), None);
        assert_eq!(Policy::default().judge_identity(&Claims::default()), None);
    }
}
