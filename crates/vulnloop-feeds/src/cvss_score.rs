//! Scores CVSS vectors: versions 3.0, 3.1 and 4.0 with the RustSec `cvss`
//! crate, version 2.0 with [`crate::cvss_v2`].

use vulnloop_advisory::{Cvss, CvssVersion};

use crate::cvss_v2;

/// Parses `vector` and returns it with its computed base score.
///
/// `declared` is the version the feed files the vector under. A 3.x or 4.0
/// vector names its own version in its `CVSS:3.1/` prefix, and that prefix
/// wins over `declared`. Returns a reason when the vector does not parse.
pub(crate) fn score(declared: CvssVersion, vector: &str, scored_by: &str) -> Result<Cvss, String> {
    let vector = vector.trim();
    let (version, base_score) = if vector.starts_with("CVSS:3.0/") {
        (CvssVersion::V3_0, score_v3(vector)?)
    } else if vector.starts_with("CVSS:3.1/") {
        (CvssVersion::V3_1, score_v3(vector)?)
    } else if vector.starts_with("CVSS:4.0/") {
        // NOTE: a v4 vector that carries threat or environmental metrics is
        // scored with them (CVSS-BT, CVSS-BE), as the `cvss` crate does.
        require_base_metrics(vector, &V4_BASE_METRICS)?;
        let parsed: cvss::v4::Vector = vector.parse().map_err(|error| invalid(vector, error))?;
        (CvssVersion::V4_0, parsed.score().value())
    } else if declared == CvssVersion::V2 {
        let parsed = cvss_v2::BaseVector::parse(vector).map_err(|error| invalid(vector, error))?;
        (CvssVersion::V2, parsed.base_score())
    } else {
        return Err(format!(
            "invalid CVSS {} vector {vector:?}: it lacks the CVSS:{} prefix",
            declared.as_str(),
            declared.as_str()
        ));
    };
    Ok(Cvss {
        version,
        vector: vector.to_string(),
        base_score,
        scored_by: scored_by.to_string(),
    })
}

/// Base metrics every v3.x vector must carry, checked here because the `cvss`
/// crate parses a vector that lacks some of them.
const V3_BASE_METRICS: [&str; 8] = ["AV", "AC", "PR", "UI", "S", "C", "I", "A"];

/// Base metrics every v4.0 vector must carry.
const V4_BASE_METRICS: [&str; 11] = [
    "AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA",
];

/// Checks that every base metric appears in the vector.
fn require_base_metrics(vector: &str, required: &[&str]) -> Result<(), String> {
    let present: Vec<&str> = vector
        .split('/')
        .skip(1)
        .filter_map(|part| part.split_once(':').map(|(metric, _)| metric))
        .collect();
    match required.iter().find(|metric| !present.contains(metric)) {
        Some(missing) => Err(invalid(vector, format!("base metric {missing} is missing"))),
        None => Ok(()),
    }
}

fn score_v3(vector: &str) -> Result<f64, String> {
    require_base_metrics(vector, &V3_BASE_METRICS)?;
    let parsed: cvss::v3::Vector = vector.parse().map_err(|error| invalid(vector, error))?;
    Ok(parsed.score().value())
}

fn invalid(vector: &str, error: impl std::fmt::Display) -> String {
    format!("invalid CVSS vector {vector:?}: {error}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_follow_the_prefix() {
        let log4shell = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H";
        let scored = score(CvssVersion::V3_0, log4shell, "nvd@nist.gov").ok();
        assert_eq!(
            scored.as_ref().map(|cvss| cvss.version),
            Some(CvssVersion::V3_1)
        );
        assert_eq!(scored.map(|cvss| cvss.base_score), Some(10.0));
        let v4 = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N";
        assert_eq!(
            score(CvssVersion::V4_0, v4, "x").ok().map(|c| c.base_score),
            Some(9.3)
        );
        let v2 = "AV:N/AC:L/Au:N/C:P/I:P/A:P";
        assert_eq!(
            score(CvssVersion::V2, v2, "x").ok().map(|c| c.base_score),
            Some(7.5)
        );
    }

    #[test]
    fn unprefixed_v3_vector_rejected() {
        assert!(score(
            CvssVersion::V3_1,
            "AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "x"
        )
        .is_err());
        assert!(score(CvssVersion::V3_1, "CVSS:3.1/AV:N", "x").is_err());
        assert!(score(CvssVersion::V4_0, "CVSS:4.0/AV:N/AC:L", "x").is_err());
    }
}
