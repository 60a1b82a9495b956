//! Version constraints of application advisories (`<= 6.3.1`, `>=4.9.0`).

use vulnloop_advisory::{Bound, Operator, VersionRange};

/// Parses one constraint: an operator and a version, with or without a
/// space between them. A bare version means equality, and `*` after the
/// operator means every version, which gives `Ok(None)`.
///
/// Wordfence writes some versions with a note after them
/// (`<= 44.0 (17-08-2023)`); the part in brackets is dropped.
pub(crate) fn parse_bound(text: &str) -> Result<Option<Bound>, String> {
    let text = text.trim();
    let operator_length = text
        .find(|c: char| !matches!(c, '<' | '>' | '=' | '!'))
        .unwrap_or(text.len());
    let (operator, version) = text.split_at(operator_length);
    let operator = if operator.is_empty() {
        Operator::Equal
    } else {
        Operator::parse(operator)
            .ok_or_else(|| format!("unknown operator {operator:?} in constraint {text:?}"))?
    };
    let version = version.split('(').next().unwrap_or_default().trim();
    if version == "*" {
        return Ok(None);
    }
    if version.is_empty() || version.contains(['<', '>', '=', ',', '|']) {
        return Err(format!(
            "invalid version {version:?} in constraint {text:?}"
        ));
    }
    Ok(Some(Bound {
        operator,
        version: version.to_string(),
    }))
}

/// Parses constraints that must all hold into one range.
pub(crate) fn parse_range<'a>(
    constraints: impl IntoIterator<Item = &'a str>,
) -> Result<VersionRange, String> {
    let mut bounds = Vec::new();
    for constraint in constraints {
        bounds.extend(parse_bound(constraint)?);
    }
    Ok(VersionRange { bounds })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_and_notes() {
        let bound = parse_bound("<= 44.0 (17-08-2023)").unwrap().unwrap();
        assert_eq!(
            (bound.operator, bound.version.as_str()),
            (Operator::LessOrEqual, "44.0")
        );
        let bound = parse_bound(">=4.9.0").unwrap().unwrap();
        assert_eq!(
            (bound.operator, bound.version.as_str()),
            (Operator::GreaterOrEqual, "4.9.0")
        );
        let bound = parse_bound("1.0").unwrap().unwrap();
        assert_eq!(bound.operator, Operator::Equal);
        assert_eq!(parse_bound("<= *"), Ok(None));
    }

    #[test]
    fn invalid_constraints_rejected() {
        assert!(parse_bound("=< 1.0")
            .unwrap_err()
            .contains("unknown operator \"=<\""));
        assert!(parse_bound("<")
            .unwrap_err()
            .contains("invalid version \"\""));
    }
}
