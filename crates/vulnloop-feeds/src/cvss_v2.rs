//! CVSS v2.0 base scores, from the base equation of the FIRST CVSS v2
//! guide, section 3.2.1 (<https://www.first.org/cvss/v2/guide>).
//!
//! The `cvss` crate scores versions 3.0, 3.1 and 4.0 for this crate.
//! Version 2.0 is computed here, so the old NVD scores are checked by a
//! second reading of the specification, independent of that crate.

/// A parsed CVSS v2.0 base vector: the weights of its six base metrics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct BaseVector {
    access_vector: f64,
    access_complexity: f64,
    authentication: f64,
    confidentiality: f64,
    integrity: f64,
    availability: f64,
}

/// Temporal and environmental metrics: allowed in a vector, not part of the base score.
const NON_BASE_METRICS: [&str; 8] = ["E", "RL", "RC", "CDP", "TD", "CR", "IR", "AR"];

/// Adds a rounding tolerance before rounding to one decimal: products such
/// as `10.41 * 0.275` land one ULP below a tie in `f64`, while the
/// specification's arithmetic is decimal.
const ROUNDING_TOLERANCE: f64 = 1e-9;

impl BaseVector {
    /// Parses a vector such as `AV:N/AC:L/Au:N/C:P/I:P/A:P`.
    ///
    /// A `CVSS:2.0/` prefix and surrounding parentheses, which some CNAs
    /// write, are accepted. Every base metric must appear exactly once.
    pub(crate) fn parse(vector: &str) -> Result<Self, String> {
        let trimmed = vector.trim();
        let unwrapped = trimmed
            .strip_prefix('(')
            .and_then(|inner| inner.strip_suffix(')'))
            .unwrap_or(trimmed);
        let body = unwrapped.strip_prefix("CVSS:2.0/").unwrap_or(unwrapped);

        let mut weights: [Option<f64>; 6] = [None; 6];
        for part in body.split('/') {
            let (metric, value) = part
                .split_once(':')
                .ok_or_else(|| format!("component {part:?} is not METRIC:VALUE"))?;
            if NON_BASE_METRICS.contains(&metric) {
                continue;
            }
            let (slot, weight) = base_weight(metric, value)?;
            if weights[slot].replace(weight).is_some() {
                return Err(format!("metric {metric} appears twice"));
            }
        }

        let names = ["AV", "AC", "Au", "C", "I", "A"];
        let mut found = [0.0; 6];
        for (slot, weight) in weights.iter().enumerate() {
            found[slot] =
                weight.ok_or_else(|| format!("base metric {} is missing", names[slot]))?;
        }
        let [access_vector, access_complexity, authentication, confidentiality, integrity, availability] =
            found;
        Ok(BaseVector {
            access_vector,
            access_complexity,
            authentication,
            confidentiality,
            integrity,
            availability,
        })
    }

    /// Computes the base score, rounded to one decimal.
    pub(crate) fn base_score(&self) -> f64 {
        let impact = 10.41
            * (1.0
                - (1.0 - self.confidentiality)
                    * (1.0 - self.integrity)
                    * (1.0 - self.availability));
        let exploitability =
            20.0 * self.access_vector * self.access_complexity * self.authentication;
        let impact_factor = if impact == 0.0 { 0.0 } else { 1.176 };
        let score = ((0.6 * impact) + (0.4 * exploitability) - 1.5) * impact_factor;
        round_to_one_decimal(score.max(0.0))
    }
}

/// Returns the slot (in `AV AC Au C I A` order) and weight of one base metric value.
fn base_weight(metric: &str, value: &str) -> Result<(usize, f64), String> {
    let weight = match (metric, value) {
        ("AV", "L") => (0, 0.395),
        ("AV", "A") => (0, 0.646),
        ("AV", "N") => (0, 1.0),
        ("AC", "H") => (1, 0.35),
        ("AC", "M") => (1, 0.61),
        ("AC", "L") => (1, 0.71),
        ("Au", "M") => (2, 0.45),
        ("Au", "S") => (2, 0.56),
        ("Au", "N") => (2, 0.704),
        ("C" | "I" | "A", impact) => {
            let slot = match metric {
                "C" => 3,
                "I" => 4,
                _ => 5,
            };
            let weight = match impact {
                "N" => 0.0,
                "P" => 0.275,
                "C" => 0.660,
                _ => return Err(format!("invalid value {impact:?} for metric {metric}")),
            };
            (slot, weight)
        }
        ("AV" | "AC" | "Au", _) => {
            return Err(format!("invalid value {value:?} for metric {metric}"))
        }
        _ => return Err(format!("unknown metric {metric:?}")),
    };
    Ok(weight)
}

/// Rounds half up to one decimal, as the specification's `round_to_1_decimal`.
fn round_to_one_decimal(value: f64) -> f64 {
    ((value + ROUNDING_TOLERANCE) * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(vector: &str) -> Option<f64> {
        BaseVector::parse(vector)
            .ok()
            .map(|parsed| parsed.base_score())
    }

    #[test]
    fn guide_examples_score() {
        // The three worked examples of the CVSS v2 guide, section 3.3.
        assert_eq!(score("AV:N/AC:L/Au:N/C:N/I:N/A:C"), Some(7.8));
        assert_eq!(score("AV:N/AC:L/Au:N/C:C/I:C/A:C"), Some(10.0));
        assert_eq!(score("AV:L/AC:H/Au:N/C:C/I:C/A:C"), Some(6.2));
        assert_eq!(score("AV:N/AC:L/Au:N/C:N/I:N/A:N"), Some(0.0));
    }

    #[test]
    fn prefixes_and_temporal_metrics_accepted() {
        assert_eq!(score("(AV:N/AC:L/Au:N/C:C/I:C/A:C)"), Some(10.0));
        assert_eq!(score("CVSS:2.0/AV:N/AC:L/Au:N/C:C/I:C/A:C"), Some(10.0));
        assert_eq!(
            score("AV:N/AC:L/Au:N/C:N/I:N/A:C/E:F/RL:OF/RC:C"),
            Some(7.8)
        );
    }

    #[test]
    fn invalid_vectors_rejected() {
        assert!(BaseVector::parse("AV:N/AC:L/Au:N/C:C/I:C").is_err());
        assert!(BaseVector::parse("AV:X/AC:L/Au:N/C:C/I:C/A:C").is_err());
        assert!(BaseVector::parse("AV:N/AV:N/AC:L/Au:N/C:C/I:C/A:C").is_err());
        assert!(BaseVector::parse("AV:N/AC:L/Au:N/C:C/I:C/A:C/ZZ:1").is_err());
        assert!(BaseVector::parse("").is_err());
    }

    #[test]
    fn every_vector_agrees_with_cvss_crate() {
        // All 729 base vectors, against the v2 scorer of the RustSec `cvss` crate.
        let impacts = ["N", "P", "C"];
        for av in ["L", "A", "N"] {
            for ac in ["H", "M", "L"] {
                for au in ["M", "S", "N"] {
                    for c in impacts {
                        for i in impacts {
                            for a in impacts {
                                let vector = format!("AV:{av}/AC:{ac}/Au:{au}/C:{c}/I:{i}/A:{a}");
                                let theirs = vector
                                    .parse::<cvss::v2::Vector>()
                                    .map(|parsed| parsed.score().value());
                                assert_eq!(score(&vector), theirs.ok(), "{vector}");
                            }
                        }
                    }
                }
            }
        }
    }
}
